/**
 * The connections of one server: the pool machine running as an actor, carrying out what it
 * decides (open, close, move the primary) with {@link ServerConnection}s, and handing the call
 * path the least-loaded ready member.
 *
 * Hot path: `acquire` is a pure pick on the pool's context plus a counter; an event is sent only
 * when a call flips the pool's saturation (and never when the pool cannot grow).
 */
import { type Actor, createActor, type InspectionEvent } from 'xstate';
import { ReadyWaiters } from '../actors/ready-waiters.js';
import type { ConnectionStateChange, ServerConnection } from '../actors/server-connection.js';
import { CancelledError, ClosedError, type McpRuntimeError, TimeoutError } from '../errors/index.js';
import {
  acquireMember,
  type PoolConfig,
  type PoolOutput,
  pickMember,
  poolCounts,
  poolMachine,
  releaseMember,
  takePoolOutput,
} from '../machines/pool.js';

/** What the pool needs from its server handle. */
export interface ServerPoolDeps {
  server: string;
  config: PoolConfig;
  /** Creates (but does not connect) the connection of a new member. */
  createConnection: (memberId: string, onState: (change: ConnectionStateChange) => void) => ServerConnection;
  /** The server is failed (supervisor gave up): waiting calls reject with this. */
  failure: () => McpRuntimeError | undefined;
  /** A member's connection gave up (its machine reached `failed`). */
  onMemberFailed: (memberId: string, error: { code: string; message: string; permanent?: boolean }) => void;
  /** The primary member (the one holding subscriptions) changed. */
  onPrimary?: (memberId: string | null, previousId: string | null) => void;
  inspect?: (event: InspectionEvent) => void;
}

/** The connection pool of one server. */
export class ServerPool {
  private readonly actor: Actor<typeof poolMachine>;
  private readonly members = new Map<string, ServerConnection>();
  private readonly memberOf = new Map<ServerConnection, string>();
  private readonly waiters = new ReadyWaiters();
  /** Saturation only matters when the pool may grow. */
  private readonly tracksLoad: boolean;
  private started = false;
  private closing: Promise<void> | undefined;
  /** Closes of members the machine retired, until they are done. */
  private readonly retiring = new Set<Promise<void>>();

  constructor(private readonly deps: ServerPoolDeps) {
    this.tracksLoad = deps.config.max > Math.max(1, deps.config.min);
    this.actor = createActor(poolMachine, {
      input: { ...deps.config, server: deps.server, nowMs: Date.now() },
      ...(deps.inspect ? { inspect: deps.inspect } : {}),
    });
    // The pool's own timers (grow, trim, replace) produce instructions too: carry them out on every step.
    this.actor.subscribe(() => this.flush());
    this.actor.start();
  }

  /** Opens `min` members (once). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.send({ type: 'START', nowMs: Date.now() });
    if (this.members.size === 0) this.send({ type: 'DEMAND', nowMs: Date.now() });
  }

  /** The primary member's connection (subscriptions live there), or the first member's. */
  primary(): ServerConnection | undefined {
    const id = this.actor.getSnapshot().context.primaryId;
    return (id ? this.members.get(id) : undefined) ?? this.members.values().next().value;
  }

  /** Whether `memberId` is the primary (or, before one is chosen, the only member). */
  isPrimary(memberId: string): boolean {
    const primaryId = this.actor.getSnapshot().context.primaryId;
    return primaryId === null ? this.members.size <= 1 : primaryId === memberId;
  }

  /** Every member's connection. */
  connections(): ServerConnection[] {
    return [...this.members.values()];
  }

  /**
   * A ready connection for one call: synchronous when one is ready (the hot path), else a promise
   * that waits for one within `timeoutMs`. Pair every acquire with {@link release}.
   */
  acquire(timeoutMs: number, signal?: AbortSignal): ServerConnection | Promise<ServerConnection> {
    const ready = this.pickReady();
    if (ready) return ready;
    return this.waitReady(timeoutMs, signal).then(() => this.acquire(Math.max(1, timeoutMs), signal));
  }

  /** Ends a call started with {@link acquire}. */
  release(conn: ServerConnection): void {
    const id = this.memberOf.get(conn);
    if (id === undefined) return;
    const nowMs = Date.now();
    if (releaseMember(this.actor.getSnapshot().context, id, nowMs) && this.tracksLoad) {
      this.send({ type: 'UNSATURATED', nowMs });
    }
  }

  /** Resolves when some member is ready (connecting one if needed). */
  waitReady(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    this.start();
    if ([...this.members.values()].some((c) => c.isReady)) return Promise.resolve();
    const failure = this.deps.failure();
    if (failure) return Promise.reject(failure);
    if (this.closing)
      return Promise.reject(new ClosedError(`${this.deps.server} is closed`, { server: this.deps.server }));
    if (
      !this.actor.getSnapshot().context.members.some((m) => m.state === 'starting' || m.state === 'ready')
    ) {
      this.send({ type: 'DEMAND', nowMs: Date.now() });
    }
    for (const c of this.members.values()) {
      c.connect();
      c.callsWaiting();
    }
    return this.waiters.wait(
      timeoutMs,
      signal,
      () => this.notReadyError(timeoutMs),
      () =>
        new CancelledError(`${this.deps.server}: cancelled while waiting for a connection`, {
          server: this.deps.server,
          cause: signal?.reason,
        }),
    );
  }

  /**
   * After the first member is ready, waits (at most `timeoutMs`, never rejecting) until `count`
   * members are: a burst right after `start()` then spreads over the pool instead of queueing on
   * the one member that happened to connect first.
   */
  async waitMembersReady(count: number, timeoutMs: number): Promise<void> {
    const untilMs = Date.now() + timeoutMs;
    // Each round ends when some member becomes ready, so the loop runs at most `count` times.
    for (let round = 0; round < count; round++) {
      const ready = [...this.members.values()].filter((c) => c.isReady).length;
      const leftMs = untilMs - Date.now();
      if (ready >= count || leftMs <= 0 || this.closing || this.deps.failure()) return;
      const ok = await this.waiters
        .wait(
          leftMs,
          undefined,
          () => this.notReadyError(timeoutMs),
          () => this.notReadyError(timeoutMs),
        )
        .then(
          () => true,
          () => false,
        );
      if (!ok) return;
    }
  }

  /** Calls want this server: members backing off cut a grown backoff (see ServerConnection.callsWaiting). */
  callsWaiting(): void {
    for (const c of this.members.values()) c.callsWaiting();
  }

  /** Rejects every waiting call (the server failed or closed). */
  rejectWaiters(error: McpRuntimeError): void {
    this.waiters.rejectAll(error);
  }

  /** Brings failed members back (after `rt.restart`). */
  retryFailed(): void {
    for (const c of this.members.values()) {
      if (c.stateName === 'failed') c.retry();
      else c.connect();
    }
    this.send({ type: 'DEMAND', nowMs: Date.now() });
  }

  /** Pool figures for `snapshot()`. */
  snapshot() {
    const ctx = this.actor.getSnapshot().context;
    return {
      ...poolCounts(ctx),
      openedCount: ctx.openedCount,
      failedCount: ctx.failedCount,
      members: ctx.members.map((m) => ({
        id: m.id,
        state: m.state,
        connection: this.members.get(m.id)?.stateName ?? 'closed',
        inFlight: ctx.ledger.inFlight(m.id),
      })),
    };
  }

  /** Closes every member; waiting calls reject with CLOSED. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.rejectWaiters(new ClosedError(`${this.deps.server} was closed`, { server: this.deps.server }));
      this.send({ type: 'CLOSE', nowMs: Date.now() });
      // Members the machine retired (idle, failed, the CLOSE itself) are closing already: wait for
      // them too, so nothing (a stdio child, a late event) outlives close().
      await Promise.all([...[...this.members.values()].map((c) => c.close()), ...this.retiring]);
      this.actor.stop();
    })();
    return this.closing;
  }

  private pickReady(): ServerConnection | undefined {
    const ctx = this.actor.getSnapshot().context;
    const id = pickMember(ctx);
    let conn = id === undefined ? undefined : this.members.get(id);
    let memberId = id;
    if (!conn?.isReady) {
      // The pool's view lags a member that is reconnecting: take any connection that is ready.
      conn = undefined;
      for (const [mid, c] of this.members) {
        if (c.isReady) {
          conn = c;
          memberId = mid;
          break;
        }
      }
      if (!conn) return undefined;
    }
    const nowMs = Date.now();
    if (acquireMember(ctx, memberId!, nowMs) && this.tracksLoad) this.send({ type: 'SATURATED', nowMs });
    return conn;
  }

  private notReadyError(timeoutMs: number): TimeoutError {
    const first = this.members.values().next().value as ServerConnection | undefined;
    const last = first?.actor.getSnapshot().context.lastError;
    return new TimeoutError(
      `${this.deps.server} was not ready within ${timeoutMs} ms (state ${first?.stateName ?? 'idle'}${last ? `, last error: ${last.message}` : ''})`,
      timeoutMs,
      { server: this.deps.server },
    );
  }

  private send(event: Parameters<typeof this.actor.send>[0]): void {
    if (this.actor.getSnapshot().status !== 'active') return;
    this.actor.send(event);
  }

  private flush(): void {
    for (const o of takePoolOutput(this.actor.getSnapshot().context)) this.apply(o);
  }

  private apply(o: PoolOutput): void {
    switch (o.kind) {
      case 'open': {
        const conn = this.deps.createConnection(o.memberId, (change) =>
          this.onMemberState(o.memberId, change),
        );
        this.members.set(o.memberId, conn);
        this.memberOf.set(conn, o.memberId);
        // A failed server (given up on, or refused credentials) opens no new connections until restart.
        if (!this.deps.failure()) conn.connect();
        return;
      }
      case 'close': {
        const conn = this.members.get(o.memberId);
        if (!conn) return;
        this.members.delete(o.memberId);
        const retired = conn.close().then(() => {
          this.retiring.delete(retired);
          this.memberOf.delete(conn);
          if (o.reason !== 'failed')
            this.send({ type: 'MEMBER_CLOSED', memberId: o.memberId, nowMs: Date.now() });
        });
        this.retiring.add(retired);
        return;
      }
      case 'primary':
        this.deps.onPrimary?.(o.memberId, o.previousId);
        return;
    }
  }

  private onMemberState(memberId: string, change: ConnectionStateChange): void {
    if (change.to === 'ready') {
      this.send({ type: 'MEMBER_READY', memberId, nowMs: change.at });
      this.waiters.resolveAll();
    } else if (change.to === 'reconnecting') {
      // Calls still wait: the attempt that just failed must not leave them to a grown backoff.
      if (this.waiters.size > 0) this.members.get(memberId)?.callsWaiting();
    } else if (change.to === 'failed') {
      const error = change.lastError ?? { code: 'SERVER_FAILED', message: `${memberId} failed` };
      this.send({ type: 'MEMBER_FAILED', memberId, nowMs: change.at, error });
      this.deps.onMemberFailed(memberId, error);
    }
  }
}

/**
 * The session of one server as a live actor: the session machine (src/machines/session.ts) with
 * its I/O provided — re-initialise by making the connection reconnect, re-subscribe on the new
 * session, invalidate the server's cache — driven only by the connection's state CHANGES.
 *
 * It also wraps the requests of a connection that has an HTTP session id (`run`): when a request
 * hits HTTP 404 on that session id (the server forgot the session), the wrapper reports it once per
 * generation, waits for the shared re-initialisation and replays the request when it is safe to
 * replay. Requests on connections without a session id never reach it (see features.ts `send`).
 * Its health recorder is fed by the call path, once per settled call.
 */
import { type RequestOptions, SdkHttpError } from '@modelcontextprotocol/client';
import { type Actor, createActor, fromPromise, type InspectionEvent } from 'xstate';
import type { ConnectionStateChange, ServerConnection } from '../actors/server-connection.js';
import { ConnectionLostError, McpRuntimeError } from '../errors/index.js';
import { isRetrySafe, type ToolHints } from '../machines/retry-policy.js';
import { type SessionStateName, sessionMachine } from '../machines/session.js';
import { HealthRecorder } from './health.js';
import { requestKindOf } from './request-kind.js';

/** How long re-opening subscriptions after a reconnect may take. */
const RESUBSCRIBE_TIMEOUT_MS = 10_000;

/** Hooks through which a session reports to the runtime. */
export interface SessionHooks {
  /** Drop what the cache holds for the server (a new session may see different data). */
  invalidateCache?: (server: string) => void;
  /** The session changed state (`to === 'active'` after a restore: subscriptions are back). */
  onStateChange?: (server: string, from: SessionStateName, to: SessionStateName) => void;
  /** True when a `tools/call` of this tool may run twice (readOnlyHint / idempotentHint). */
  /** A tool's annotations, when known (for the replay-safety rule). */
  toolHints?: (server: string, tool: string) => ToolHints | undefined;
  inspect?: (event: InspectionEvent) => void;
}

/** Per-call facts the wrapper needs (a subset of the handle's CallOptions). */
export interface RunOptions {
  signal?: AbortSignal | undefined;
  retry?: boolean | undefined;
}

/** True when the error is HTTP 404 from a Streamable HTTP transport (the session id is unknown). */
export function isSessionNotFound(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; depth < 3 && e; depth++) {
    if (e instanceof SdkHttpError) return (e.data as { status?: unknown } | undefined)?.status === 404;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

function isConnectionClosed(error: unknown): boolean {
  if (error instanceof McpRuntimeError) return error.code === 'CONNECTION_LOST';
  // The SDK's own ConnectionClosed error, before the handle maps it.
  return (error as { code?: unknown })?.code === 'CONNECTION_CLOSED';
}

function flatten(value: unknown): SessionStateName {
  return (typeof value === 'string' ? value : Object.keys(value as object)[0]) as SessionStateName;
}

/** The session actor of one server. */
export class ServerSession {
  readonly actor: Actor<typeof sessionMachine>;
  readonly health = new HealthRecorder();
  private state: SessionStateName = 'idle';
  /** Changes waiting behind a deferred 2026 `ready` (see onConnectionState). */
  private deferred: ConnectionStateChange[] | undefined;

  constructor(
    readonly server: string,
    private readonly connection: () => ServerConnection | undefined,
    private readonly hooks: SessionHooks = {},
  ) {
    const machine = sessionMachine.provide({
      actors: {
        resubscribe: fromPromise<void, { server: string; uris: string[] }>(async ({ input }) => {
          // Calls that waited for this connection are released by the same `ready`: let them go
          // out first, so the server answers them before it sets up the subscriptions.
          await afterWaitingCalls();
          const conn = this.connection();
          if (!conn) return;
          if (conn.session?.era === 'modern') {
            // A 2026 server: one listen stream carries every subscription.
            await conn.listen(input.uris, RESUBSCRIBE_TIMEOUT_MS);
            return;
          }
          const failed: string[] = [];
          await Promise.all(
            input.uris.map((uri) =>
              conn.client.subscribeResource({ uri }).catch(() => {
                failed.push(uri);
              }),
            ),
          );
          if (failed.length > 0) {
            throw new ConnectionLostError(`${server}: re-subscribing ${failed.join(', ')} failed`, {
              server,
            });
          }
        }),
      },
      actions: {
        requestReinitialize: () => {
          // The connection machine treats it like a lost transport: dispose, back off, reconnect, initialize.
          this.connection()?.actor.send({
            type: 'TRANSPORT_CLOSED',
            error: { code: 'CONNECTION_LOST', message: `${server}: session expired (HTTP 404)` },
          });
        },
        invalidateCache: () => this.hooks.invalidateCache?.(server),
      },
    });
    this.actor = createActor(machine, {
      input: { server },
      systemId: `session:${server}`,
      ...(hooks.inspect ? { inspect: hooks.inspect } : {}),
    });
    this.actor.subscribe({
      next: (snapshot) => {
        const next = flatten(snapshot.value);
        if (next === this.state) return;
        const from = this.state;
        this.state = next;
        this.hooks.onStateChange?.(server, from, next);
      },
      error: () => {},
    });
    this.actor.start();
  }

  /** The session's state name. */
  get stateName(): SessionStateName {
    return this.state;
  }

  /** Sessions established so far (a field read). */
  get generation(): number {
    return this.actor.getSnapshot().context.generation;
  }

  /** URIs with an active subscription (restored after every re-initialisation). */
  get subscriptions(): readonly string[] {
    return this.actor.getSnapshot().context.subscriptions;
  }

  /** Whether a `CONNECTED` now starts `restoring`, which re-subscribes (see the session machine). */
  private restores(): boolean {
    return this.state === 'suspended' || this.state === 'expired';
  }

  /**
   * Feeds a connection state change (the only way the connection drives the session).
   *
   * A 2026 connection's `ready` reaches the session machine on the next turn of the event loop,
   * after the calls that waited for the connection have been sent: on such a server the step is
   * bookkeeping (generation, cache invalidation, the listen stream), and running it first held the
   * first call of every reconnect back by its cost. Changes that follow it wait behind it, in order.
   * A 2025 session is fed at once: a call's expiry check reads the generation it starts with.
   */
  onConnectionState(change: ConnectionStateChange): void {
    if (this.deferred) {
      this.deferred.push(change);
      return;
    }
    if (change.to === 'ready' && change.session?.era === 'modern') {
      const deferred = [change];
      this.deferred = deferred;
      setImmediate(() => {
        this.deferred = undefined;
        if (this.actor.getSnapshot().status !== 'active') return;
        for (const c of deferred) this.feed(c);
      });
      return;
    }
    this.feed(change);
  }

  private feed(change: ConnectionStateChange): void {
    if (change.to === 'ready') {
      const conn = this.connection();
      const info = conn?.session;
      if (!conn || !info) return;
      if (info.era === 'modern' && this.subscriptions.length === 0 && !this.restores()) {
        // List changes come only on a listen stream in 2026 (this runs after the calls that waited).
        // A session that restores opens it in `resubscribe` (opening it here too sent it twice).
        conn.listen([], RESUBSCRIBE_TIMEOUT_MS).catch(() => {});
      }
      this.actor.send({
        type: 'CONNECTED',
        info,
        capabilities: (conn.client.getServerCapabilities() as Record<string, unknown> | undefined) ?? null,
      });
    } else if (change.from === 'ready' || change.to === 'closing' || change.to === 'closed') {
      // A pool member closing (idle trim, replacement) is not the end of the server's session:
      // the session ends only when the runtime stops it.
      this.actor.send({ type: 'DISCONNECTED' });
    }
  }

  /** A transport-level error outside any call (e.g. the SSE stream's GET got 404). */
  onTransportError(error: unknown): void {
    if (isSessionNotFound(error) && this.actor.getSnapshot().context.info?.sessionId) {
      this.actor.send({ type: 'SESSION_EXPIRED', generation: this.generation });
    }
  }

  /** Records a subscription made on the current session (restored after re-initialisation). */
  subscribed(uri: string): void {
    this.actor.send({ type: 'SUBSCRIBED', uri });
  }

  /** Forgets a subscription. */
  unsubscribed(uri: string): void {
    this.actor.send({ type: 'UNSUBSCRIBED', uri });
  }

  /**
   * Runs one request on `conn`. A 404 on the current session id reports the expiry (once per
   * generation); a call that failed because of the expiry (its own 404, or the connection the
   * re-initialisation closed under it) waits for the new session and is replayed once when it is safe
   * to replay: list/read/get/ping/complete, a tool annotated read-only or idempotent, or `retry: true`.
   */
  run<C, T>(
    operation: string,
    options: RunOptions,
    conn: ServerConnection,
    client: C,
    opts: RequestOptions,
    run: (client: C, opts: RequestOptions) => Promise<T>,
  ): Promise<T> {
    const generation = this.generation;
    const started = performance.now();
    let sent: Promise<T>;
    try {
      sent = run(client, opts);
    } catch (error) {
      try {
        return this.afterFailure(operation, options, conn, client, opts, run, generation, started, error);
      } catch (rethrown) {
        return Promise.reject(rethrown);
      }
    }
    // No async frame and no work on success: only a failure needs a look.
    return sent.catch((error: unknown) =>
      this.afterFailure(operation, options, conn, client, opts, run, generation, started, error),
    );
  }

  /**
   * A request failed: rethrows (synchronously, so the failure surfaces as soon as before) unless
   * the session's expiry caused it and it is safe to replay; then replays it on the new session.
   */
  private afterFailure<C, T>(
    operation: string,
    options: RunOptions,
    conn: ServerConnection,
    client: C,
    opts: RequestOptions,
    run: (client: C, opts: RequestOptions) => Promise<T>,
    generation: number,
    started: number,
    error: unknown,
  ): Promise<T> {
    const expired = isSessionNotFound(error) && conn.session?.sessionId !== undefined;
    if (expired) this.actor.send({ type: 'SESSION_EXPIRED', generation });
    const causedByExpiry =
      expired ||
      (isConnectionClosed(error) && this.actor.getSnapshot().context.expiredGeneration === generation);
    if (!causedByExpiry || !this.isSafe(operation, options) || options.signal?.aborted) throw error;
    return this.replay(options, conn, client, opts, run, started);
  }

  /** Waits for the new session, then sends the request once more within what is left of its timeout. */
  private async replay<C, T>(
    options: RunOptions,
    conn: ServerConnection,
    client: C,
    opts: RequestOptions,
    run: (client: C, opts: RequestOptions) => Promise<T>,
    started: number,
  ): Promise<T> {
    const timeoutMs = opts.timeout ?? 60_000;
    const remainingMs = Math.max(1, timeoutMs - (performance.now() - started));
    const waitStarted = performance.now();
    await conn.whenReady(remainingMs, options.signal);
    const replayOpts = { ...opts, timeout: Math.max(1, remainingMs - (performance.now() - waitStarted)) };
    return run(client, replayOpts);
  }

  /** True when the operation may be sent twice without changing the outcome. */
  isSafe(operation: string, options: RunOptions): boolean {
    // The same rule as retries (machines/retry-policy.ts): one answer to "may this be sent twice?".
    const { kind, tool } = requestKindOf(operation);
    return isRetrySafe(kind, tool ? this.hooks.toolHints?.(this.server, tool) : undefined, options.retry);
  }

  /** JSON view for `snapshot()`: no session id, no instructions. */
  snapshot() {
    const c = this.actor.getSnapshot().context;
    return {
      state: this.state,
      generation: c.generation,
      reinitCount: c.reinitCount,
      reason: c.reason,
      protocolVersion: c.info?.protocolVersion ?? null,
      server: c.info ? { name: c.info.serverName, version: c.info.serverVersion } : null,
      capabilities: c.capabilities,
      subscriptions: [...c.subscriptions],
      lastError: c.lastError,
      health: this.health.snapshot(),
    };
  }

  /** Stops the actor. */
  stop(): void {
    this.actor.stop();
  }
}

/** Resolves on the next turn of the event loop, after the calls a `ready` released have been sent. */
function afterWaitingCalls(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The call path of one server: queue → breaker → connection → (retry) → settle.
 *
 *   submit ─► Queue (admit below the window, or wait past it, without an event; an ENQUEUE only
 *              when the machine must act: arming the deadline timer, QUEUE_FULL, a paused queue)
 *          ─► Breaker (canPass: a field read; BREAKER_OPEN fails fast; a probe is one event)
 *          ─► Connection (wait for ready within the deadline, then the SDK request)
 *          ─► Breaker (an event only when the outcome changes its state)
 *          ─► Queue (free the slot and start the next waiting call, without an event)
 *          ─► retry after backoff (safe calls only, within budget and deadline) or settle once.
 *
 * On a healthy server a call costs two Set operations, two switch statements and the SDK
 * request: no xstate event at all. Every state CHANGE (queueing, breaker trips, probes) still
 * goes through the machines, so it stays visible and model-tested.
 */
import type { Client, RequestOptions } from '@modelcontextprotocol/client';
import { type Actor, createActor, type InspectionEvent } from 'xstate';
import { toRuntimeError } from '../actors/map-error.js';
import type { ServerConnection } from '../actors/server-connection.js';
import {
  BreakerOpenError,
  CancelledError,
  ClosedError,
  type McpRuntimeError,
  ProtocolError,
  QueueFullError,
  TimeoutError,
  ValidationError,
} from '../errors/index.js';
import {
  type BreakerConfig,
  type BreakerPersisted,
  type BreakerTransition,
  breakerMachine,
  breakerPersistedState,
  canPass,
  needsEvent,
  outcomeEvent,
} from '../machines/breaker.js';
import { classifyBreakerOutcome } from '../machines/breaker-failure-policy.js';
import {
  type QueuePriority,
  type QueueRejectReason,
  queueCounts,
  queueMachine,
  takeQueueOutput,
  tryAdmitFast,
  tryEnqueueFast,
  trySettleFast,
} from '../machines/queue.js';
import { nextRandom } from '../machines/random.js';
import {
  isRetrySafe,
  isTransientFailure,
  type RequestKind,
  RetryBudget,
  type RetryBudgetState,
  type RetryPolicy,
  retryAfterOf,
  retryDelayMs,
  type ToolHints,
} from '../machines/retry-policy.js';
import { DEFAULT_MAX_INPUT_ROUNDS } from './config.js';
import type { SharedBreakers } from './fleet/shared-breaker.js';
import type { RetryBudgetLike } from './fleet/shared-retry-budget.js';
import {
  answerInputRound,
  asksNothing,
  type InputLeg,
  type InputRequiredValue,
  type InputRound,
  inputKindsOf,
  isInputRequired,
  STATE_ONLY_LEG_DELAY_MS,
} from './input-rounds.js';
import { type CallSpan, NOOP_CALL_SPAN } from './telemetry/call-span.js';
import type { CallTelemetry } from './telemetry/call-telemetry.js';
import type { TelemetryServer } from './telemetry/server-info.js';

/** Per-call options every runtime method accepts. */
export interface CallOptions {
  /** Deadline of the call, including queueing, waiting for a connection and retries. Default: the server's. */
  timeoutMs?: number;
  /** Cancels the call: a queued call leaves the queue at once, a sent one gets `notifications/cancelled`. */
  signal?: AbortSignal;
  /** Progress notifications of this call. */
  onProgress?: (progress: { progress: number; total?: number; message?: string }) => void;
  /** Progress extends the timeout (default true when `onProgress` is given), never past `maxTotalTimeoutMs`. */
  resetTimeoutOnProgress?: boolean;
  /** Hard cap on the total time when progress extends the timeout. */
  maxTotalTimeoutMs?: number;
  /**
   * A 2026 server asked this call for input (one `input_required` round), before the handlers
   * answer it: which handlers it asks and how many requests (never what they say).
   */
  onInputRound?: (round: InputRound) => void;
  /** `true` allows retrying a tool the runtime cannot prove idempotent; `false` forbids any retry. */
  retry?: boolean;
  /** Queue priority (default `normal`). */
  priority?: QueuePriority;
}

/**
 * One call as the facade hands it to the path. `run` sends it; `arg` is handed to `run` as is (so
 * the facade can pass one function for every call instead of a closure per call); `check` vets a
 * result (throwing fails the attempt like a rejection); `mapError` turns a raw rejection into a
 * better one before the path maps it to a runtime error.
 */
export interface CallSpec<T> {
  operation: string;
  kind: RequestKind;
  tool?: string | undefined;
  options: CallOptions;
  run: (client: Client, opts: RequestOptions, arg: unknown) => Promise<T>;
  arg?: unknown;
  /**
   * The request can take 2026 input rounds (MRTR) driven by the path: given, the request is sent
   * with `allowInputRequired`, and each `input_required` answer is answered with the Client's
   * handlers, then the next leg is sent as an attempt of its own with `withInput(arg, leg)`.
   */
  withInput?: ((arg: unknown, leg: InputLeg) => unknown) | undefined;
  check?: ((value: T, spec: CallSpec<T>, server: string) => T) | undefined;
  mapError?: ((error: unknown, spec: CallSpec<T>, server: string) => unknown) | undefined;
}

/** What the path needs from the server handle. */
export interface CallPathDeps {
  server: string;
  timeoutMs: number;
  retry: RetryPolicy;
  breaker: BreakerConfig;
  perToolBreakers: boolean;
  queue: { concurrency: number; maxQueued: number };
  /**
   * The connection to send on: the pool's least-loaded ready member, synchronously when one is
   * ready, else a promise that waits for one within `timeoutMs`. Every acquire is released.
   */
  acquire: (timeoutMs: number, signal?: AbortSignal) => ServerConnection | Promise<ServerConnection>;
  release: (conn: ServerConnection) => void;
  /** Annotations of a tool, when the runtime has seen them. */
  toolHints: (tool: string) => ToolHints | undefined;
  /** A breaker changed state. */
  onBreaker: (change: BreakerTransition & { tool?: string }) => void;
  /**
   * Sends one attempt on `conn` in place of `spec.run(conn.client, opts, spec.arg)` (the session
   * wraps requests that can meet an expired HTTP session).
   */
  send?: <T>(conn: ServerConnection, spec: CallSpec<T>, opts: RequestOptions, arg: unknown) => Promise<T>;
  /** `input_required` rounds one call may take before it fails with PROTOCOL (default 8). */
  maxInputRounds?: number;
  /**
   * A call was refused by a breaker the connection opened: calls want the server, so a reconnect
   * backoff grown meanwhile must not delay the probe (the pool sends CALLS_WAITING).
   */
  onCallsWaiting?: () => void;
  /**
   * Each settled call: its duration (queueing and retries included) and its error, if it failed.
   * The one measurement of a call: health (and the inspector) and `mcp.client.operation.duration`
   * both get this value.
   */
  onOutcome?: (durationMs: number, error: McpRuntimeError | undefined) => void;
  inspect?: (event: InspectionEvent) => void;
  /** Last touch on every error before it leaves (redaction of the server's secrets). */
  surfaceError?: (error: McpRuntimeError) => McpRuntimeError;
  /** Seed of the retry jitter (random by default; fixed in tests for reproducible delays). */
  seed?: number;
  /** Breakers (by key, `*` = the server's) and retry budget to resume from a persisted runtime. */
  restore?: { breakers: Record<string, BreakerPersisted>; retryBudget: RetryBudgetState | null };
  /** One span per logical call (the shared no-op when nothing records) and the server it describes. */
  telemetry?: { calls: CallTelemetry; server: TelemetryServer };
}

/**
 * What the path shares with the fleet (runtime/fleet), attached once the fleet's store is up.
 * Without a fleet none of it exists and the path is exactly the single-process one.
 */
export interface CallPathFleet {
  breakers: Pick<
    SharedBreakers,
    | 'recordSuccess'
    | 'recordFailure'
    | 'localTransition'
    | 'acquireProbe'
    | 'guarded'
    | 'reserve'
    | 'declare'
    | 'settle'
  >;
  retryBudget: RetryBudgetLike;
}

/** A breaker change the fleet asks for: `trip` (the fleet count reached the threshold here), or a remote `open` / `close`. */
export type FleetBreakerChange = { kind: 'trip' } | { kind: 'open'; openForMs: number } | { kind: 'close' };

/** Counters of the path, for `snapshot()`. */
export interface CallPathStats {
  calls: number;
  ok: number;
  failed: number;
  retries: number;
  retriesDeniedByBudget: number;
  breakerRejections: number;
  queueRejections: number;
  /** State changes of the breakers (the server's and per-tool ones). */
  breakerTransitions: number;
  failuresByCode: Record<string, number>;
}

interface Pending {
  id: string;
  spec: CallSpec<unknown>;
  attempt: number;
  deadlineAt: number;
  timeoutMs: number;
  /** The half-open phase this call probes, when it is a probe. */
  probePhase: number | undefined;
  breakerKey: string;
  /** The fleet failure slot this call holds (guarded keys only; see shared-breaker.ts). */
  slot: string | undefined;
  /** Sent (between startAttempt and finish). */
  inFlight: boolean;
  /** True while the call is in {@link CallPath.waiting} (handed to the queue, not dispatched). */
  waiting: boolean;
  /** `performance.now()` when the call was submitted: its duration is measured once, at settle. */
  startedAtMs: number;
  settled: boolean;
  resolve: (value: unknown) => void;
  reject: (error: McpRuntimeError) => void;
  onAbort: (() => void) | undefined;
  /** The call's span (the shared no-op when nothing records). */
  span: CallSpan;
  /** When the call entered the queue (0 when it was admitted at once). */
  enqueuedAtMs: number;
  /** What `run` is handed: `spec.arg`, or the params of the current input round's leg. */
  arg: unknown;
  /** `input_required` answers so far (2026 MRTR). */
  inputRounds: number;
}

type BreakerActor = Actor<typeof breakerMachine>;

function emptyStats(): CallPathStats {
  return {
    calls: 0,
    ok: 0,
    failed: 0,
    retries: 0,
    retriesDeniedByBudget: 0,
    breakerRejections: 0,
    queueRejections: 0,
    breakerTransitions: 0,
    failuresByCode: {},
  };
}

/** The call path of one server. */
export class CallPath {
  readonly stats: CallPathStats = emptyStats();
  private readonly queue;
  private readonly breakers = new Map<string, BreakerActor>();
  /** Calls the queue holds (it hands back ids): admitted calls never enter this map. */
  private readonly waiting = new Map<string, Pending>();
  /** Calls submitted and not settled yet (for drain). */
  private live = 0;
  private readonly retryTimers = new Map<ReturnType<typeof setTimeout>, Pending>();
  /** Calls whose input round is being answered by the handlers (no slot, no connection held). */
  private readonly answering = new Map<Pending, AbortController>();
  private budget: RetryBudgetLike;
  private fleet: CallPathFleet | undefined;
  /** Calls in flight, kept only in a fleet (its breaker reserves slots around them; see declareInFlight). */
  private readonly fleetInFlight = new Set<Pending>();
  /** Set while a change heard from the fleet is applied: it must not be published back. */
  private applyingFleet = false;
  private readonly countedLoss = new WeakMap<ServerConnection, number>();
  private nextId = 0;
  private rng: number;
  private closed = false;

  constructor(private readonly deps: CallPathDeps) {
    this.queue = createActor(queueMachine, {
      input: { ...deps.queue, nowMs: Date.now() },
      ...(deps.inspect ? { inspect: deps.inspect } : {}),
    }).start();
    // A step no call of ours drove (the deadline timer expiring queued calls) leaves instructions
    // in the box: carry them out at once. Steps we drive are flushed by their sender.
    this.queue.subscribe(() => {
      if (this.queue.getSnapshot().context.store.hasOutput) this.flush();
    });
    this.budget = new RetryBudget(
      deps.retry.budgetRatio,
      deps.retry.budgetWindowMs,
      deps.retry.budgetMinRetries,
    );
    if (deps.restore?.retryBudget) this.budget.restore(deps.restore.retryBudget);
    // A restored open breaker must refuse calls (and probe after its deadline) from the start.
    for (const key of Object.keys(deps.restore?.breakers ?? {})) this.breaker(key);
    this.rng = (deps.seed ?? Math.random() * 2 ** 32) >>> 0;
  }

  /** Runs a call through queue, breaker, connection and retries; settles exactly once. */
  submit<T>(spec: CallSpec<T>): Promise<T> {
    if (this.closed)
      return Promise.reject(new ClosedError(`${this.deps.server} is closed`, { server: this.deps.server }));
    const signal = spec.options.signal;
    if (signal?.aborted) return Promise.reject(this.cancelled(spec.operation, signal.reason));
    const timeoutMs = spec.options.timeoutMs ?? this.deps.timeoutMs;
    const nowMs = Date.now();
    const telemetry = this.deps.telemetry;
    this.stats.calls++;
    this.budget.recordCall(nowMs);
    return new Promise<T>((resolve, reject) => {
      const p: Pending = {
        id: String(++this.nextId),
        spec: spec as CallSpec<unknown>,
        attempt: 1,
        deadlineAt: nowMs + timeoutMs,
        timeoutMs,
        probePhase: undefined,
        breakerKey: this.deps.perToolBreakers && spec.tool ? spec.tool : '*',
        slot: undefined,
        inFlight: false,
        waiting: false,
        startedAtMs: performance.now(),
        settled: false,
        resolve: resolve as (value: unknown) => void,
        reject,
        onAbort: undefined,
        span: telemetry ? telemetry.calls.startOperation(telemetry.server, spec.operation) : NOOP_CALL_SPAN,
        enqueuedAtMs: 0,
        arg: spec.arg,
        inputRounds: 0,
      };
      if (signal) {
        p.onAbort = () => this.abortQueued(p);
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.live++;
      this.admit(p, nowMs);
    });
  }

  /** The server's breaker (or a tool's, with per-tool breakers). Created on first use. */
  breaker(key = '*'): BreakerActor {
    let b = this.breakers.get(key);
    if (!b) {
      const restore = this.deps.restore?.breakers[key];
      b = createActor(breakerMachine, {
        input: { config: this.deps.breaker, nowMs: Date.now(), ...(restore ? { restore } : {}) },
        ...(this.deps.inspect ? { inspect: this.deps.inspect } : {}),
      });
      let last: BreakerTransition | null = null;
      b.subscribe((snap) => {
        const t = snap.context.lastTransition;
        if (t && t !== last) {
          last = t;
          this.stats.breakerTransitions++;
          this.deps.onBreaker(key === '*' ? t : { ...t, tool: key });
          if (this.fleet && !this.applyingFleet) {
            const openForMs = t.to === 'open' ? Math.max(0, (snap.context.openUntil ?? t.atMs) - t.atMs) : 0;
            this.fleet.breakers.localTransition(key, t.to, openForMs);
          }
        }
      });
      b.start();
      this.breakers.set(key, b);
    }
    return b;
  }

  /** Shares breakers and the retry budget with the fleet from now on (runtime/fleet). */
  attachFleet(fleet: CallPathFleet): void {
    if (this.closed) return;
    fleet.retryBudget.restore(this.budget.state());
    this.budget = fleet.retryBudget;
    this.fleet = fleet;
  }

  /**
   * A connection of the server became ready: every breaker the connection opened probes now (the
   * reconnect is evidence), instead of waiting out its reset timeout.
   */
  connectionReady(): void {
    if (this.closed) return;
    for (const b of this.breakers.values()) {
      const ctx = b.getSnapshot().context;
      if (ctx.circuit === 'open' && ctx.openedByConnection)
        b.send({ type: 'CONNECTION_READY', nowMs: Date.now() });
    }
  }

  /** Applies a breaker change decided by the fleet (see {@link FleetBreakerChange}). */
  applyFleet(key: string, change: FleetBreakerChange): void {
    if (this.closed) return;
    const breaker = this.breaker(key);
    const nowMs = Date.now();
    // A trip decided here is this process's own open: it is published like any other.
    this.applyingFleet = change.kind !== 'trip';
    try {
      if (change.kind === 'close') {
        if (breaker.getSnapshot().context.circuit !== 'closed') breaker.send({ type: 'RESET', nowMs });
      } else {
        breaker.send({
          type: 'TRIP',
          nowMs,
          ...(change.kind === 'open' ? { openForMs: change.openForMs } : {}),
        });
      }
    } finally {
      this.applyingFleet = false;
    }
  }

  /**
   * The fleet has un-reset failures on `key` (shared-breaker.ts): each call in flight on it that
   * holds no slot declares one, so the fleet reserves around the calls it cannot stop.
   */
  declareInFlight(key: string): void {
    const fleet = this.fleet;
    if (!fleet || this.closed) return;
    for (const p of this.fleetInFlight) {
      if (p.inFlight && p.slot === undefined && p.probePhase === undefined && p.breakerKey === key)
        p.slot = fleet.breakers.declare(key, Math.max(1, p.deadlineAt - Date.now()) + 1_000);
    }
  }

  /** Stops dispatching queued calls (in-flight ones finish). */
  pause(): void {
    this.queue.send({ type: 'PAUSE' });
  }

  /** Dispatches again after {@link pause}. */
  resume(): void {
    this.queue.send({ type: 'RESUME', nowMs: Date.now() });
    this.flush();
  }

  /** Refuses new calls and resolves once everything queued and in flight has settled. */
  drain(): Promise<void> {
    this.queue.send({ type: 'DRAIN', nowMs: Date.now() });
    this.flush();
    return new Promise((resolve) => {
      const check = (): boolean =>
        queueCounts(this.queue.getSnapshot().context).inFlight === 0 && this.live === 0;
      if (check()) return resolve();
      const sub = this.queue.subscribe(() => {
        if (check()) {
          sub.unsubscribe();
          resolve();
        }
      });
    });
  }

  /** JSON view: queue counts and mode, breakers, retry counters. */
  snapshot() {
    const q = this.queue.getSnapshot();
    return {
      queue: { mode: (q.value as { mode: string }).mode, ...queueCounts(q.context) },
      breakers: Object.fromEntries(
        [...this.breakers].map(([key, b]) => {
          const c = b.getSnapshot().context;
          return [
            key,
            {
              state: c.circuit,
              openUntil: c.openUntil,
              openedCount: c.openedCount,
              resetTimeoutMs: c.resetTimeoutMs,
            },
          ];
        }),
      ),
      retryBudget: this.budget.state(),
      stats: { ...this.stats, failuresByCode: { ...this.stats.failuresByCode } },
    };
  }

  /** What survives a process restart: breaker states with deadlines, the retry budget. */
  persist(): { breakers: Record<string, BreakerPersisted>; retryBudget: RetryBudgetState } {
    return {
      breakers: Object.fromEntries(
        [...this.breakers].map(([key, b]) => [key, breakerPersistedState(b.getSnapshot().context)]),
      ),
      retryBudget: this.budget.state(),
    };
  }

  /** What {@link snapshot} shows for a server that has not been used yet. */
  static idleSnapshot(): ReturnType<CallPath['snapshot']> {
    return {
      queue: { mode: 'accepting', queued: 0, inFlight: 0, high: 0, normal: 0, low: 0 },
      breakers: {},
      retryBudget: { calls: [], retries: [], bucketStartMs: 0 },
      stats: emptyStats(),
    };
  }

  /** Rejects everything queued or waiting to retry with CLOSED and stops the actors. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [timer, p] of this.retryTimers) {
      clearTimeout(timer);
      this.settle(
        p,
        new ClosedError(`${p.spec.operation} on ${this.deps.server}: the runtime was closed`, {
          server: this.deps.server,
        }),
      );
    }
    this.retryTimers.clear();
    for (const [p, round] of this.answering) {
      round.abort();
      this.settle(p, this.closedError(p, undefined));
    }
    this.answering.clear();
    this.queue.send({ type: 'CLOSE' });
    this.flush();
    this.queue.stop();
    for (const b of this.breakers.values()) b.stop();
  }

  /** Whether the path was closed. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Settles a call that failed after the path was closed (its connection went with it). */
  private closedError(p: Pending, cause: unknown): ClosedError {
    return new ClosedError(`${p.spec.operation} on ${this.deps.server}: the runtime was closed`, {
      server: this.deps.server,
      cause,
    });
  }

  private admit(p: Pending, nowMs: number): void {
    const ctx = this.queue.getSnapshot().context;
    if (tryAdmitFast(ctx, p.id)) {
      this.dispatch(p);
      return;
    }
    p.enqueuedAtMs = nowMs;
    if (p.span !== NOOP_CALL_SPAN) p.span.queued(queueCounts(this.queue.getSnapshot().context).queued);
    // Past the window the call waits in the store; an event only when the machine must act.
    p.waiting = true;
    this.waiting.set(p.id, p);
    if (tryEnqueueFast(ctx, p.id, p.spec.options.priority ?? 'normal', p.deadlineAt, nowMs)) return;
    this.queue.send({
      type: 'ENQUEUE',
      id: p.id,
      nowMs,
      ...(p.spec.options.priority ? { priority: p.spec.options.priority } : {}),
      deadlineAt: p.deadlineAt,
    });
    this.flush();
  }

  /** Carries out what the queue's last steps decided: dispatch or reject. */
  private flush(): void {
    for (const o of takeQueueOutput(this.queue.getSnapshot().context)) {
      const p = this.waiting.get(o.id);
      if (!p) continue;
      this.waiting.delete(o.id);
      p.waiting = false;
      if (o.kind === 'dispatch') this.dispatch(p);
      else this.settle(p, this.queueError(p, o.reason));
    }
  }

  private release(p: Pending, nowMs: number): void {
    if (this.closed) return; // the queue is gone with the path; stragglers only settle
    const ctx = this.queue.getSnapshot().context;
    if (trySettleFast(ctx, p.id, nowMs)) {
      // The freed slot went to the next waiting call, if any (no event either way).
      if (ctx.store.hasOutput) this.flush();
      return;
    }
    this.queue.send({ type: 'SETTLE', id: p.id, nowMs });
    this.flush();
  }

  /**
   * Breaker check, connection, request. Synchronous up to the request on a ready connection (no
   * async frame per call); the outcome is handled once the request's promise settles.
   */
  private dispatch(p: Pending): void {
    const breaker = this.breaker(p.breakerKey);
    const nowMs = Date.now();
    if (p.enqueuedAtMs !== 0) {
      p.span.dequeued(nowMs - p.enqueuedAtMs);
      p.enqueuedAtMs = 0;
    }
    const decision = canPass(breaker.getSnapshot().context, nowMs);
    if (!decision.allow) {
      this.stats.breakerRejections++;
      if (breaker.getSnapshot().context.openedByConnection) this.deps.onCallsWaiting?.();
      p.span.breakerRejected(decision.retryAfterMs);
      this.release(p, nowMs);
      this.settle(
        p,
        new BreakerOpenError(
          `${p.spec.operation} on ${this.deps.server}: circuit breaker is open`,
          decision.retryAfterMs,
          { server: this.deps.server },
        ),
      );
      return;
    }
    if (decision.probe && this.fleet) {
      this.admitFleetProbe(p, breaker, decision.phase);
      return;
    }
    // Fleet with un-reset failures on this key: reserve one of the remaining failures first.
    if (!decision.probe && this.fleet?.breakers.guarded(p.breakerKey)) {
      this.admitFleetGuarded(p, breaker);
      return;
    }
    this.startAttempt(p, breaker, decision.probe ? decision.phase : undefined);
  }

  /**
   * A half-open probe in a fleet: one process of the fleet runs it (a store round trip, only in
   * half-open). The others fail fast with BREAKER_OPEN until the fleet's verdict arrives.
   */
  private admitFleetProbe(p: Pending, breaker: BreakerActor, phase: number): void {
    const fleet = this.fleet as CallPathFleet;
    fleet.breakers.acquireProbe(p.breakerKey).then((won) => {
      if (p.settled) return;
      const d = canPass(breaker.getSnapshot().context, Date.now());
      if (won && d.allow && d.probe && d.phase === phase && !this.closed) {
        this.startAttempt(p, breaker, phase);
        return;
      }
      this.stats.breakerRejections++;
      p.span.breakerRejected(d.allow ? 0 : d.retryAfterMs);
      this.release(p, Date.now());
      this.settle(
        p,
        new BreakerOpenError(
          `${p.spec.operation} on ${this.deps.server}: circuit breaker is open (another process of the fleet is probing)`,
          d.allow ? 0 : d.retryAfterMs,
          { server: this.deps.server },
        ),
      );
    });
  }

  /**
   * A call while the fleet has un-reset failures: it runs only with a slot (failures + calls in
   * flight stay within the threshold fleet-wide); `full` refuses it, `over` opens the breaker.
   */
  private admitFleetGuarded(p: Pending, breaker: BreakerActor): void {
    const fleet = this.fleet as CallPathFleet;
    fleet.breakers.reserve(p.breakerKey, Math.max(1, p.deadlineAt - Date.now()) + 1_000).then((d) => {
      if (p.settled || this.closed) {
        if (d.kind === 'go' && d.slot) fleet.breakers.settle(p.breakerKey, d.slot, 'ignored');
        if (!p.settled) this.settle(p, this.closedError(p, undefined));
        return;
      }
      if (d.kind === 'over') this.applyFleet(p.breakerKey, { kind: 'trip' });
      const pass = canPass(breaker.getSnapshot().context, Date.now());
      if (d.kind === 'go' && pass.allow && !pass.probe) {
        p.slot = d.slot;
        this.startAttempt(p, breaker, undefined);
        return;
      }
      if (d.kind === 'go' && d.slot) fleet.breakers.settle(p.breakerKey, d.slot, 'ignored');
      this.stats.breakerRejections++;
      p.span.breakerRejected(pass.allow ? p.timeoutMs : pass.retryAfterMs);
      this.release(p, Date.now());
      this.settle(
        p,
        new BreakerOpenError(
          `${p.spec.operation} on ${this.deps.server}: circuit breaker is open${d.kind === 'full' ? ' (the fleet is at its failure threshold with calls in flight)' : ''}`,
          pass.allow ? p.timeoutMs : pass.retryAfterMs,
          { server: this.deps.server },
        ),
      );
    });
  }

  /** Connection and request of an admitted call (`probePhase` when it is the half-open probe). */
  private startAttempt(p: Pending, breaker: BreakerActor, probePhase: number | undefined): void {
    p.probePhase = probePhase;
    p.inFlight = true;
    if (this.fleet) this.fleetInFlight.add(p);
    if (probePhase !== undefined) breaker.send({ type: 'PROBE_STARTED', nowMs: Date.now() });
    let leased: ServerConnection | Promise<ServerConnection>;
    try {
      leased = this.deps.acquire(Math.max(1, p.deadlineAt - Date.now()), p.spec.options.signal);
    } catch (e) {
      this.finish(p, breaker, undefined, this.mapError(p, e), undefined);
      return;
    }
    if (leased instanceof Promise) {
      const waitFromMs = Date.now();
      leased.then(
        (conn) => {
          p.span.connectionWaited(Date.now() - waitFromMs);
          this.request(p, breaker, conn);
        },
        (e: unknown) => this.finish(p, breaker, undefined, this.mapError(p, e), undefined),
      );
    } else {
      this.request(p, breaker, leased);
    }
  }

  /** Sends the request on `conn` and hands its outcome to {@link finish}. */
  private request(p: Pending, breaker: BreakerActor, conn: ServerConnection): void {
    let sent: Promise<unknown>;
    try {
      const options = p.spec.options;
      const opts: RequestOptions = { timeout: Math.max(1, p.deadlineAt - Date.now()) };
      if (options.signal) opts.signal = options.signal;
      if (options.onProgress) opts.onprogress = options.onProgress;
      if (options.resetTimeoutOnProgress ?? options.onProgress !== undefined) {
        // With progress the timeout is an inactivity window: each notification restarts a full one.
        opts.resetTimeoutOnProgress = true;
        opts.timeout = p.timeoutMs;
      }
      if (options.maxTotalTimeoutMs !== undefined) opts.maxTotalTimeout = options.maxTotalTimeoutMs;
      const spec = p.spec;
      if (spec.withInput !== undefined) opts.allowInputRequired = true;
      const arg = p.arg;
      const send = this.deps.send;
      const telemetry = this.deps.telemetry;
      // With telemetry the attempt runs as the call's, down to the transport (_meta, request id).
      sent = telemetry
        ? telemetry.calls.run(
            p.span,
            (conn2: ServerConnection, o: RequestOptions) =>
              send ? send(conn2, spec, o, arg) : spec.run(conn2.client, o, arg),
            conn,
            opts,
          )
        : send
          ? send(conn, spec, opts, arg)
          : spec.run(conn.client, opts, arg);
    } catch (e) {
      this.finish(p, breaker, conn, this.mapError(p, e), undefined);
      return;
    }
    // One `then` per attempt: the result's check runs here, not in a promise layer of its own.
    sent.then(
      (value) => {
        if (p.spec.withInput !== undefined && isInputRequired(value))
          return this.inputRequired(p, breaker, conn, value);
        const check = p.spec.check;
        if (check === undefined) return this.finish(p, breaker, conn, undefined, value);
        let checked: unknown;
        try {
          checked = check(value, p.spec, this.deps.server);
        } catch (e) {
          return this.finish(p, breaker, conn, this.mapError(p, e), undefined);
        }
        this.finish(p, breaker, conn, undefined, checked);
      },
      (e: unknown) => this.finish(p, breaker, conn, this.mapError(p, e), undefined),
    );
  }

  /** The request's outcome: release, breaker, queue slot, then retry or settle. */
  private finish(
    p: Pending,
    breaker: BreakerActor,
    conn: ServerConnection | undefined,
    error: McpRuntimeError | undefined,
    value: unknown,
  ): void {
    const nowMs = this.endAttempt(p, breaker, conn, error);
    if (error === undefined) {
      this.settle(p, undefined, value);
    } else if (this.shouldRetry(p, error, nowMs)) {
      this.scheduleRetry(p, error, nowMs);
    } else {
      this.settle(p, error);
    }
  }

  /**
   * The server answered a leg with `input_required` (2026 MRTR). The leg was a success: the
   * connection and the queue slot go back, and the breaker hears a success. The handlers answer
   * (their time is the user's, not the server's: no deadline runs meanwhile, the call's signal and
   * `close()` still end it), then the next leg is admitted like a new attempt with a full
   * `timeoutMs`, on whichever connection is ready by then.
   */
  private inputRequired(
    p: Pending,
    breaker: BreakerActor,
    conn: ServerConnection,
    value: InputRequiredValue,
  ): void {
    this.endAttempt(p, breaker, conn, undefined);
    // The answer came after the call was given up: the handlers are not asked.
    const signal = p.spec.options.signal;
    if (this.closed || signal?.aborted) {
      this.settle(
        p,
        this.closed ? this.closedError(p, undefined) : this.cancelled(p.spec.operation, signal?.reason),
      );
      return;
    }
    p.inputRounds++;
    const maxRounds = this.deps.maxInputRounds ?? DEFAULT_MAX_INPUT_ROUNDS;
    if (p.inputRounds > maxRounds) {
      this.settle(
        p,
        new ProtocolError(
          `${p.spec.operation} on ${this.deps.server}: the server still asks for input after ${maxRounds} rounds (maxInputRounds)`,
          { server: this.deps.server },
        ),
      );
      return;
    }
    const onInputRound = p.spec.options.onInputRound;
    if (onInputRound) onInputRound({ round: p.inputRounds, ...inputKindsOf(value.inputRequests) });
    const round = new AbortController();
    this.answering.set(p, round);
    const nextLeg = (inputResponses: Record<string, unknown> | undefined): void => {
      if (this.answering.get(p) !== round) return; // aborted or closed meanwhile: already settled
      this.answering.delete(p);
      const leg: InputLeg = {};
      if (inputResponses !== undefined) leg.inputResponses = inputResponses;
      if (value.requestState !== undefined) leg.requestState = value.requestState;
      p.arg = (p.spec.withInput as NonNullable<CallSpec<unknown>['withInput']>)(p.spec.arg, leg);
      const nowMs = Date.now();
      p.deadlineAt = nowMs + p.timeoutMs;
      this.admit(p, nowMs);
    };
    if (asksNothing(value)) {
      // Only state to carry back: paced like the SDK's driver, so a server that keeps answering
      // that way is not hammered before maxInputRounds ends it.
      const timer = setTimeout(() => nextLeg(undefined), STATE_ONLY_LEG_DELAY_MS);
      round.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
      return;
    }
    answerInputRound(conn.client, value, this.deps.server, p.spec.operation, round.signal).then(
      nextLeg,
      (e: unknown) => {
        if (this.answering.get(p) !== round) return;
        this.answering.delete(p);
        this.settle(p, this.mapError(p, e));
      },
    );
  }

  /** Ends one attempt: connection, fleet slot, breaker, queue slot. Returns the time it used. */
  private endAttempt(
    p: Pending,
    breaker: BreakerActor,
    conn: ServerConnection | undefined,
    error: McpRuntimeError | undefined,
  ): number {
    p.inFlight = false;
    if (this.fleet) this.fleetInFlight.delete(p);
    if (conn) this.deps.release(conn);
    const nowMs = Date.now();
    const outcome = this.breakerOutcome(error, conn);
    // Fleet: outcomes of calls admitted while closed count fleet-wide (a success is a field read).
    if (p.slot !== undefined) {
      this.fleet?.breakers.settle(p.breakerKey, p.slot, outcome);
      p.slot = undefined;
    } else if (
      this.fleet &&
      p.probePhase === undefined &&
      breaker.getSnapshot().context.circuit === 'closed'
    ) {
      if (outcome === 'failure') this.fleet.breakers.recordFailure(p.breakerKey);
      else if (outcome === 'success') this.fleet.breakers.recordSuccess(p.breakerKey);
    }
    if (needsEvent(breaker.getSnapshot().context, outcome, p.probePhase)) {
      // No connection to send on (none ready in time) or a lost one: the way to the server failed.
      const byConnection = conn === undefined || error?.code === 'CONNECTION_LOST';
      breaker.send(outcomeEvent(outcome, nowMs, p.probePhase, byConnection));
    }
    this.release(p, nowMs);
    return nowMs;
  }

  /**
   * One lost connection fails every call in flight on it at once; for the breaker that is one
   * failure, not one per call (else a pool member dying would open the server's breaker).
   */
  private breakerOutcome(error: McpRuntimeError | undefined, conn: ServerConnection | undefined) {
    const outcome = classifyBreakerOutcome(error);
    if (outcome !== 'failure' || error?.code !== 'CONNECTION_LOST' || !conn) return outcome;
    const counted = this.countedLoss.get(conn);
    if (counted !== undefined && counted === conn.lossCount) return 'ignored';
    this.countedLoss.set(conn, conn.lossCount);
    return outcome;
  }

  private mapError(p: Pending, raw: unknown): McpRuntimeError {
    const e = p.spec.mapError ? p.spec.mapError(raw, p.spec, this.deps.server) : raw;
    if (this.closed) return this.closedError(p, e);
    if (p.spec.options.signal?.aborted) return this.cancelled(p.spec.operation, e);
    return toRuntimeError(e, {
      server: this.deps.server,
      operation: p.spec.operation,
      timeoutMs: p.timeoutMs,
    });
  }

  private shouldRetry(p: Pending, error: McpRuntimeError, nowMs: number): boolean {
    if (this.closed || p.attempt >= this.deps.retry.maxAttempts || !isTransientFailure(error)) return false;
    const hints = p.spec.tool ? this.deps.toolHints(p.spec.tool) : undefined;
    if (!isRetrySafe(p.spec.kind, hints, p.spec.options.retry)) return false;
    if (nowMs >= p.deadlineAt) return false;
    if (!this.budget.tryTakeRetry(nowMs)) {
      this.stats.retriesDeniedByBudget++;
      return false;
    }
    return true;
  }

  private scheduleRetry(p: Pending, error: McpRuntimeError, nowMs: number): void {
    const [r, next] = nextRandom(this.rng);
    this.rng = next;
    const delayMs = retryDelayMs(p.attempt, this.deps.retry, r, retryAfterOf(error));
    if (nowMs + delayMs >= p.deadlineAt) {
      this.settle(p, error);
      return;
    }
    p.attempt++;
    this.stats.retries++;
    p.span.retry(p.attempt, delayMs, error.code);
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      if (p.settled) return;
      this.admit(p, Date.now());
    }, delayMs);
    this.retryTimers.set(timer, p);
  }

  /** A caller's abort: a queued call leaves the queue now; a call waiting to retry is dropped. */
  private abortQueued(p: Pending): void {
    if (p.settled) return;
    for (const [timer, waiting] of this.retryTimers) {
      if (waiting === p) {
        clearTimeout(timer);
        this.retryTimers.delete(timer);
        this.settle(p, this.cancelled(p.spec.operation, p.spec.options.signal?.reason));
        return;
      }
    }
    const round = this.answering.get(p);
    if (round) {
      this.answering.delete(p);
      round.abort(p.spec.options.signal?.reason);
      this.settle(p, this.cancelled(p.spec.operation, p.spec.options.signal?.reason));
      return;
    }
    // ABORT is a no-op for an entry in flight: the SDK request sees the same signal.
    this.queue.send({ type: 'ABORT', id: p.id, nowMs: Date.now() });
    this.flush();
  }

  private queueError(p: Pending, reason: QueueRejectReason): McpRuntimeError {
    const server = this.deps.server;
    const op = p.spec.operation;
    switch (reason) {
      case 'full':
        this.stats.queueRejections++;
        return new QueueFullError(
          `${op} on ${server}: queue is full (${this.deps.queue.maxQueued} waiting)`,
          this.deps.queue.maxQueued,
          { server },
        );
      case 'closed':
        return new ClosedError(`${op} on ${server}: the queue is closed`, { server });
      case 'aborted':
        return this.cancelled(op, p.spec.options.signal?.reason);
      case 'expired':
        return new TimeoutError(
          `${op} on ${server} timed out after ${p.timeoutMs} ms while queued`,
          p.timeoutMs,
          { server },
        );
      default:
        return new ValidationError(`${op} on ${server}: queue refused the request (${reason})`, 'id', {
          server,
        });
    }
  }

  private cancelled(operation: string, cause: unknown): CancelledError {
    return new CancelledError(`${operation} on ${this.deps.server} was cancelled`, {
      server: this.deps.server,
      cause,
    });
  }

  private settle(p: Pending, error: McpRuntimeError | undefined, value?: unknown): void {
    if (p.settled) return;
    p.settled = true;
    this.live--;
    if (p.waiting) this.waiting.delete(p.id);
    if (p.onAbort) p.spec.options.signal?.removeEventListener('abort', p.onAbort);
    const durationMs = performance.now() - p.startedAtMs;
    this.deps.onOutcome?.(durationMs, error);
    p.span.end(error, value, durationMs);
    if (error === undefined) {
      this.stats.ok++;
      p.resolve(value);
    } else {
      this.stats.failed++;
      this.stats.failuresByCode[error.code] = (this.stats.failuresByCode[error.code] ?? 0) + 1;
      p.reject(this.deps.surfaceError ? this.deps.surfaceError(error) : error);
    }
  }
}

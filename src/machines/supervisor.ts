/**
 * The supervisor of one server: it owns the server's children (session, queue, breaker, pool -
 * to the supervisor they are only names) and restarts a child that fails, one-for-one, within a
 * restart intensity: at most `maxRestarts` restarts (all children together) in any `withinMs`
 * sliding window. Past it the server is given up on: `failed`, with the reason in context, until
 * RESTART (`rt.restart(server)`).
 *
 *   stopped ─START─► running ─CHILD_FAILED─► restarting ─(every restarted child reported)─► running
 *                        └────────── past the intensity ──► failed ─RESTART─► restarting
 *   STOP from running / restarting / failed ─► stopped
 *
 * Output seam (as the queue's and the pool's): the machine never touches a child. Each instruction
 * - restart child X, the server failed (escalate), stop every child - is appended, in order, to the
 * output box; the runtime takes them with {@link takeSupervisorOutput} after each `send`, recreates
 * the child and reports CHILD_RESTARTED. `failed` + `context.failure` is the escalation a runtime
 * turns into a `serverStatus` event, and that the embedding API forwards to a parent actor.
 *
 * Pure: no timers; the sliding window is the list of restart timestamps in context, pruned with the
 * `nowMs` every event carries.
 */
import { assign, setup } from 'xstate';
import { ConfigError, type ConfigIssue } from '../errors/index.js';

/** The children a server supervisor owns by default. */
export const SUPERVISOR_CHILDREN: readonly string[] = ['session', 'queue', 'breaker', 'pool'];

/** Restart intensity: at most `maxRestarts` restarts in any `withinMs` window. */
export interface RestartIntensity {
  /** Restarts allowed in the window (integer >= 0; 0 gives up at the first failure). */
  maxRestarts: number;
  /** The sliding window (ms > 0). */
  withinMs: number;
}

/** Input of the supervisor machine. */
export interface SupervisorInput extends Partial<RestartIntensity> {
  server: string;
  /** Names of the supervised children (default {@link SUPERVISOR_CHILDREN}). */
  children?: readonly string[];
  /** The time the actor starts (epoch ms). */
  nowMs?: number;
}

/** A serialisable summary of a child's error. */
export interface ChildErrorSummary {
  readonly code: string;
  readonly message: string;
}

/** Why the supervisor gave up on the server. */
export interface SupervisorFailure {
  readonly reason: 'restartIntensity';
  /** The child whose failure exceeded the intensity. */
  readonly child: string;
  readonly error: ChildErrorSummary;
  /** Restarts already made in the window when it failed. */
  readonly restartsInWindow: number;
  readonly maxRestarts: number;
  readonly withinMs: number;
  readonly atMs: number;
}

/** What the supervisor tells the runtime to do. */
export type SupervisorOutput =
  /** Stop child `child` (if still there) and create it afresh; then send CHILD_RESTARTED. */
  | { readonly kind: 'restart'; readonly child: string; readonly restartCount: number }
  /** The server is failed: fail its calls with SERVER_FAILED, emit, escalate to a parent. */
  | { readonly kind: 'escalate'; readonly failure: SupervisorFailure }
  /** Stop every child (the supervisor is stopped). */
  | { readonly kind: 'stop' };

/** The supervisor's mutable output box (the rest of the context is plain, immutable JSON). */
export class SupervisorOutbox {
  private out: SupervisorOutput[] = [];

  /** Adds an instruction. */
  output(item: SupervisorOutput): void {
    this.out.push(item);
  }

  /** Takes every instruction, in order, and empties the box. */
  take(): SupervisorOutput[] {
    if (this.out.length === 0) return [];
    const taken = this.out;
    this.out = [];
    return taken;
  }

  /** Snapshots show how many instructions wait. */
  toJSON(): { pendingOutput: number } {
    return { pendingOutput: this.out.length };
  }
}

/** The supervisor's context. */
export interface SupervisorContext extends RestartIntensity {
  readonly server: string;
  readonly children: readonly string[];
  /** Restarts made per child since the supervisor was created (RESTART included). */
  readonly restarts: Readonly<Record<string, number>>;
  /** Timestamps of the restarts inside the current window (oldest first). */
  readonly recentRestartsAtMs: readonly number[];
  /** Children asked to restart that have not reported CHILD_RESTARTED yet. */
  readonly pending: readonly string[];
  /** Why the server is failed (set on entering `failed`, cleared by RESTART). */
  readonly failure: SupervisorFailure | null;
  readonly lastChildError: (ChildErrorSummary & { child: string; atMs: number }) | null;
  readonly nowMs: number;
  readonly outbox: SupervisorOutbox;
}

/** Events the supervisor accepts. Events naming an unknown child are ignored. */
export type SupervisorEvent =
  | { type: 'START'; nowMs: number }
  | { type: 'CHILD_FAILED'; child: string; error: unknown; nowMs: number }
  | { type: 'CHILD_RESTARTED'; child: string; nowMs: number }
  /** Leave `failed`: restart every child with a fresh window (`rt.restart(server)`). */
  | { type: 'RESTART'; nowMs: number }
  /** Stop every child; clears a failure (START runs the server again). */
  | { type: 'STOP'; nowMs: number };

/** The state names, for snapshots. */
export type SupervisorStateName = 'stopped' | 'running' | 'restarting' | 'failed';

/**
 * Validates a restart intensity (defaults: 3 restarts in 60 s).
 *
 * @throws {ConfigError} naming every bad field.
 * @example
 * resolveRestartIntensity({ maxRestarts: 5, withinMs: 10_000 });
 */
export function resolveRestartIntensity(
  intensity: Partial<RestartIntensity> = {},
  path = 'supervisor',
): RestartIntensity {
  const maxRestarts = intensity.maxRestarts ?? 3;
  const withinMs = intensity.withinMs ?? 60_000;
  const issues: ConfigIssue[] = [];
  if (typeof maxRestarts !== 'number' || !Number.isInteger(maxRestarts) || maxRestarts < 0) {
    issues.push({
      path: `${path}.maxRestarts`,
      message: `must be a whole number >= 0, got ${String(maxRestarts)}`,
    });
  }
  if (typeof withinMs !== 'number' || !Number.isFinite(withinMs) || withinMs <= 0) {
    issues.push({
      path: `${path}.withinMs`,
      message: `must be a duration in ms > 0, got ${String(withinMs)}`,
    });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return { maxRestarts, withinMs };
}

/**
 * Restarts made in the window ending at `nowMs` (restarts at or before `nowMs - withinMs` are out).
 *
 * @example
 * restartsInWindow(actor.getSnapshot().context, Date.now()); // for snapshots
 */
export function restartsInWindow(context: SupervisorContext, nowMs: number): number {
  let n = 0;
  for (const at of context.recentRestartsAtMs) if (at > nowMs - context.withinMs) n++;
  return n;
}

/**
 * Takes the instructions the last step(s) produced, in order, and empties the box.
 *
 * @example
 * for (const o of takeSupervisorOutput(actor.getSnapshot().context)) if (o.kind === 'restart') recreate(o.child);
 */
export function takeSupervisorOutput(context: SupervisorContext): SupervisorOutput[] {
  return context.outbox.take();
}

/** A short summary of any error (a child's error object stays in the runtime). */
export function summarizeChildError(error: unknown): ChildErrorSummary {
  if (error !== null && typeof error === 'object') {
    const e = error as { code?: unknown; message?: unknown };
    return {
      code: typeof e.code === 'string' ? e.code : 'UNKNOWN',
      message: typeof e.message === 'string' ? e.message : String(error),
    };
  }
  return { code: 'UNKNOWN', message: String(error) };
}

type ChildEvent = Extract<SupervisorEvent, { child: string }>;
type FailedEvent = Extract<SupervisorEvent, { type: 'CHILD_FAILED' }>;

function eventNow(context: SupervisorContext, event: SupervisorEvent): number {
  return typeof event.nowMs === 'number' && Number.isFinite(event.nowMs)
    ? Math.max(context.nowMs, event.nowMs)
    : context.nowMs;
}

function isKnownChild(context: SupervisorContext, event: SupervisorEvent): boolean {
  const child = (event as ChildEvent).child;
  return typeof child === 'string' && context.children.includes(child);
}

/** The supervisor statechart. Input: {@link SupervisorInput}. */
export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
    input: {} as SupervisorInput,
  },
  guards: {
    isKnownChild: ({ context, event }) => isKnownChild(context, event),
    withinIntensity: ({ context, event }) =>
      isKnownChild(context, event) &&
      restartsInWindow(context, eventNow(context, event)) < context.maxRestarts,
    isPendingChild: ({ context, event }) => context.pending.includes((event as ChildEvent).child),
    nothingPending: ({ context }) => context.pending.length === 0,
  },
  actions: {
    noteTime: assign(({ context, event }) => ({ nowMs: eventNow(context, event) })),
    restartChild: assign(({ context, event }) => {
      const e = event as FailedEvent;
      const nowMs = eventNow(context, event);
      const restartCount = (context.restarts[e.child] ?? 0) + 1;
      context.outbox.output({ kind: 'restart', child: e.child, restartCount });
      return {
        nowMs,
        restarts: { ...context.restarts, [e.child]: restartCount },
        recentRestartsAtMs: [
          ...context.recentRestartsAtMs.filter((at) => at > nowMs - context.withinMs),
          nowMs,
        ],
        pending: context.pending.includes(e.child) ? context.pending : [...context.pending, e.child],
        lastChildError: { child: e.child, ...summarizeChildError(e.error), atMs: nowMs },
      };
    }),
    escalate: assign(({ context, event }) => {
      const e = event as FailedEvent;
      const nowMs = eventNow(context, event);
      const error = summarizeChildError(e.error);
      const failure: SupervisorFailure = {
        reason: 'restartIntensity',
        child: e.child,
        error,
        restartsInWindow: restartsInWindow(context, nowMs),
        maxRestarts: context.maxRestarts,
        withinMs: context.withinMs,
        atMs: nowMs,
      };
      context.outbox.output({ kind: 'escalate', failure });
      return { nowMs, failure, pending: [], lastChildError: { child: e.child, ...error, atMs: nowMs } };
    }),
    markRestarted: assign(({ context, event }) => ({
      nowMs: eventNow(context, event),
      pending: context.pending.filter((c) => c !== (event as ChildEvent).child),
    })),
    restartAll: assign(({ context, event }) => {
      const restarts = { ...context.restarts };
      for (const child of context.children) {
        restarts[child] = (restarts[child] ?? 0) + 1;
        context.outbox.output({ kind: 'restart', child, restartCount: restarts[child] });
      }
      return {
        nowMs: eventNow(context, event),
        restarts,
        recentRestartsAtMs: [],
        pending: [...context.children],
        failure: null,
      };
    }),
    stopAll: assign(({ context, event }) => {
      context.outbox.output({ kind: 'stop' });
      return { nowMs: eventNow(context, event), pending: [], failure: null };
    }),
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => {
    const children = input.children ?? SUPERVISOR_CHILDREN;
    if (
      !Array.isArray(children) ||
      children.length === 0 ||
      children.some((c) => typeof c !== 'string' || !c)
    ) {
      throw new ConfigError([{ path: 'supervisor.children', message: 'must be a non-empty list of names' }]);
    }
    return {
      server: input.server,
      ...resolveRestartIntensity(input),
      children: [...children],
      restarts: Object.fromEntries(children.map((c) => [c, 0])),
      recentRestartsAtMs: [],
      pending: [],
      failure: null,
      lastChildError: null,
      nowMs: input.nowMs ?? 0,
      outbox: new SupervisorOutbox(),
    };
  },
  initial: 'stopped',
  states: {
    stopped: {
      on: { START: { target: 'running', actions: 'noteTime' } },
    },
    running: {
      on: {
        CHILD_FAILED: [
          { guard: 'withinIntensity', target: 'restarting', actions: 'restartChild' },
          { guard: 'isKnownChild', target: 'failed', actions: 'escalate' },
        ],
        STOP: { target: 'stopped', actions: 'stopAll' },
      },
    },
    restarting: {
      always: { guard: 'nothingPending', target: 'running' },
      on: {
        CHILD_RESTARTED: { guard: 'isPendingChild', actions: 'markRestarted' },
        CHILD_FAILED: [
          { guard: 'withinIntensity', actions: 'restartChild' },
          { guard: 'isKnownChild', target: 'failed', actions: 'escalate' },
        ],
        STOP: { target: 'stopped', actions: 'stopAll' },
      },
    },
    failed: {
      on: {
        RESTART: { target: 'restarting', actions: 'restartAll' },
        STOP: { target: 'stopped', actions: 'stopAll' },
      },
    },
  },
});

/** The supervisor machine's type. */
export type SupervisorMachine = typeof supervisorMachine;

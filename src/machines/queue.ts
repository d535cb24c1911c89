/**
 * The request queue of one server: a bounded FIFO-per-priority queue in front of a concurrency
 * window. Requests are entries in the context's {@link QueueStore}, never actors.
 *
 * Two parallel regions:
 * - `mode`: accepting (admit, queue, dispatch) / paused (queue, no dispatch) / draining (finish
 *   what is queued and in flight, refuse new) / closed (refuse; in-flight stragglers still settle).
 *   drain() goes to `closed` by itself once nothing is queued or in flight.
 * - `deadline`: idle / armed. When a queued entry has a deadline, `armed` waits the named delay
 *   `untilNextDeadline` (earliest deadline - nowMs) and then expires every due entry. Deadlines are
 *   timestamps in the entries; the machine is pure and learns the time from `nowMs` in events, so
 *   an event whose `nowMs` is past a deadline also expires it at once (a late timer cannot keep an
 *   expired entry queued). The timer is not moved when the earliest entry leaves; it fires early,
 *   finds nothing due and re-arms.
 *
 * Output seam (the machine never starts I/O): every instruction a step produces - dispatch entry X,
 * or reject entry Y with a reason - is appended, in order, to the store's output box. The caller
 * takes it with {@link takeQueueOutput} after each `send` (or in a snapshot subscriber). Being a
 * box rather than an emitted event, it is visible to pure `machine.transition` (tests assert it),
 * costs no listener dispatch, and survives re-entrant sends (a nested step appends, nothing is
 * overwritten). Reasons map to errors: full -> QueueFullError, closed -> ClosedError, aborted ->
 * CancelledError, expired -> TimeoutError; duplicate and invalid are caller bugs.
 *
 * Hot path: in `accepting` a call needs no event, below the window or past it. {@link tryAdmitFast}
 * admits synchronously (nothing queued, a free slot); {@link tryEnqueueFast} queues past the window
 * (room left, and the deadline timer already armed at or before the entry's deadline); and
 * {@link trySettleFast} frees the slot and starts what waits (dispatch/reject instructions go to
 * the output box, as a SETTLE step would put them). They apply exactly what the ENQUEUE / SETTLE
 * transitions of `accepting` do, and touch only the store. Events remain for what changes a state:
 * a mode change, the deadline timer arming or moving earlier, a rejection, an ABORT. Only when a
 * helper returns false does the caller send ENQUEUE / SETTLE.
 *
 * Mutation: the store is mutated in place inside the named `assign` actions (see queue-store.ts
 * for why: immutable copies would make n queued requests cost O(n^2)).
 */
import { assign, setup } from 'xstate';
import { ConfigError, type ConfigIssue } from '../errors/index.js';
import {
  QUEUE_PRIORITIES,
  type QueueCounts,
  type QueueOutput,
  type QueuePriority,
  QueueStore,
} from './queue-store.js';

export type {
  QueueCounts,
  QueueEntry,
  QueueOutput,
  QueuePriority,
  QueueRejectReason,
} from './queue-store.js';
export { QueueStore } from './queue-store.js';

/** Options of one server's queue. */
export interface QueueConfig {
  /** Requests in flight at once (integer >= 1). */
  concurrency: number;
  /** Requests waiting beyond the window (integer >= 0); past it ENQUEUE is rejected `full`. */
  maxQueued: number;
}

/** Input of the queue machine. */
export interface QueueInput extends QueueConfig {
  /** The time the actor starts (epoch ms). */
  nowMs?: number;
}

/** The queue's context. `store` is mutable by design; JSON shows its counts. */
export interface QueueContext {
  readonly concurrency: number;
  readonly maxQueued: number;
  readonly store: QueueStore;
  /** The latest time seen in an event (or the deadline a timer fired at). */
  readonly nowMs: number;
  /**
   * When the `armed` timer fires (epoch ms): the earliest deadline, or sooner when that is beyond
   * what one timer can wait ({@link MAX_TIMER_MS}; the timer then re-arms). Null when idle.
   */
  readonly armedDeadlineAt: number | null;
}

/** The longest delay a JS timer honours (2^31 - 1 ms); longer ones fire at once in Node. */
export const MAX_TIMER_MS = 2_147_483_647;

/** Events the queue accepts. */
export type QueueEvent =
  | { type: 'ENQUEUE'; id: string; nowMs: number; priority?: QueuePriority; deadlineAt?: number }
  /** An in-flight request finished (success or failure alike): frees its slot. */
  | { type: 'SETTLE'; id: string; nowMs: number }
  /** The caller aborted: a queued entry leaves at once (rejected `aborted`); in flight is ignored. */
  | { type: 'ABORT'; id: string; nowMs: number }
  | { type: 'PAUSE' }
  | { type: 'RESUME'; nowMs: number }
  | { type: 'DRAIN'; nowMs: number }
  /** Reject everything queued (`closed`) and refuse new entries. */
  | { type: 'CLOSE' };

/**
 * Validates a queue configuration.
 *
 * @throws {ConfigError} naming every bad field.
 * @example
 * resolveQueueConfig({ concurrency: 16, maxQueued: 1_000 });
 */
export function resolveQueueConfig(config: QueueConfig, path = 'queue'): QueueConfig {
  const issues: ConfigIssue[] = [];
  if (config === null || typeof config !== 'object')
    throw new ConfigError([{ path, message: 'must be an object' }]);
  const c = config.concurrency;
  if (typeof c !== 'number' || !Number.isInteger(c) || c < 1) {
    issues.push({ path: `${path}.concurrency`, message: `must be a whole number >= 1, got ${String(c)}` });
  }
  const m = config.maxQueued;
  if (typeof m !== 'number' || !Number.isInteger(m) || m < 0) {
    issues.push({ path: `${path}.maxQueued`, message: `must be a whole number >= 0, got ${String(m)}` });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return { concurrency: c, maxQueued: m };
}

/**
 * Fast-path admission: starts `id` now without an event when the queue is accepting, nobody is
 * waiting and the window has a free slot. Returns false when the caller must send ENQUEUE.
 *
 * @example
 * if (tryAdmitFast(ctx, id)) start(id); else { actor.send({ type: 'ENQUEUE', id, nowMs }); run(takeQueueOutput(ctx)); }
 */
export function tryAdmitFast(context: QueueContext, id: string): boolean {
  const store = context.store;
  if (!store.acceptingFast || store.queuedCount !== 0 || store.inFlight.size >= context.concurrency)
    return false;
  if (typeof id !== 'string' || id === '' || store.inFlight.has(id)) return false;
  store.inFlight.add(id);
  return true;
}

/**
 * Fast-path queueing: queues `id` past the window without an event when the queue is accepting,
 * has room, and the deadline timer needs no change (no deadline, or the armed timer fires at or
 * before it: when it fires it expires what is due and re-arms for the next). Returns false when
 * the caller must send ENQUEUE (the request is then admitted, queued, or rejected by the machine).
 *
 * @example
 * if (!tryAdmitFast(ctx, id) && !tryEnqueueFast(ctx, id, 'normal', deadlineAt, nowMs)) actor.send({ type: 'ENQUEUE', id, nowMs, deadlineAt });
 */
export function tryEnqueueFast(
  context: QueueContext,
  id: string,
  priority: QueuePriority,
  deadlineAt: number | undefined,
  nowMs: number,
): boolean {
  const store = context.store;
  if (!store.acceptingFast || store.queuedCount >= context.maxQueued) return false;
  // Below the window with nothing queued the request is admitted, not queued.
  if (store.queuedCount === 0 && store.inFlight.size < context.concurrency) return false;
  if (deadlineAt !== undefined) {
    const armed = context.armedDeadlineAt;
    if (armed === null || deadlineAt < armed || !(deadlineAt > nowMs)) return false;
  }
  if (typeof id !== 'string' || id === '' || store.has(id)) return false;
  store.enqueue(id, priority, deadlineAt, nowMs);
  return true;
}

/**
 * Fast-path settlement: frees the slot of in-flight `id` without an event when the queue is
 * accepting, and starts the entries waiting for the window (as the SETTLE step does: a `dispatch`
 * for each, or a `reject` `expired` for one already past its deadline at `nowMs`) into the output
 * box. Returns false when the caller must send SETTLE. Take the output after a true return too.
 *
 * @example
 * if (!trySettleFast(ctx, id, nowMs)) actor.send({ type: 'SETTLE', id, nowMs }); run(takeQueueOutput(ctx));
 */
export function trySettleFast(context: QueueContext, id: string, nowMs: number): boolean {
  const store = context.store;
  if (!store.acceptingFast || !store.inFlight.has(id)) return false;
  store.inFlight.delete(id);
  if (store.queuedCount !== 0) fillWindow(context, nowMs);
  return true;
}

/**
 * Takes the instructions the last step(s) produced, in order, and empties the box.
 *
 * @example
 * for (const o of takeQueueOutput(actor.getSnapshot().context)) o.kind === 'dispatch' ? start(o.id) : reject(o);
 */
export function takeQueueOutput(context: QueueContext): QueueOutput[] {
  return context.store.takeOutput();
}

/** Queued and in-flight counts (for snapshots and metrics). */
export function queueCounts(context: QueueContext): QueueCounts {
  return context.store.counts();
}

type EnqueueEvent = Extract<QueueEvent, { type: 'ENQUEUE' }>;
type IdEvent = Extract<QueueEvent, { id: string }>;

function eventNow(context: QueueContext, event: QueueEvent): number {
  return 'nowMs' in event && typeof event.nowMs === 'number' && Number.isFinite(event.nowMs)
    ? Math.max(context.nowMs, event.nowMs)
    : context.nowMs;
}

function badEnqueue(event: EnqueueEvent): boolean {
  return (
    typeof event.id !== 'string' ||
    event.id === '' ||
    typeof event.nowMs !== 'number' ||
    !Number.isFinite(event.nowMs) ||
    (event.priority !== undefined && !QUEUE_PRIORITIES.includes(event.priority)) ||
    (event.deadlineAt !== undefined &&
      (typeof event.deadlineAt !== 'number' || Number.isNaN(event.deadlineAt)))
  );
}

/** Starts queued entries while the window has room; entries already past their deadline expire. */
function fillWindow(context: QueueContext, nowMs: number): void {
  const store = context.store;
  while (store.inFlight.size < context.concurrency) {
    const entry = store.shift();
    if (entry === undefined) return;
    if (entry.deadlineAt !== undefined && entry.deadlineAt <= nowMs) {
      store.output({ kind: 'reject', id: entry.id, reason: 'expired' });
    } else {
      store.inFlight.add(entry.id);
      store.output({ kind: 'dispatch', id: entry.id });
    }
  }
}

function rejectAllQueued(context: QueueContext): void {
  for (let e = context.store.shift(); e !== undefined; e = context.store.shift()) {
    context.store.output({ kind: 'reject', id: e.id, reason: 'closed' });
  }
}

/** The queue statechart. Input: {@link QueueInput}. */
export const queueMachine = setup({
  types: {
    context: {} as QueueContext,
    events: {} as QueueEvent,
    input: {} as QueueInput,
  },
  guards: {
    isUnacceptable: ({ context, event }) => {
      const e = event as EnqueueEvent;
      return (
        badEnqueue(e) || context.store.has(e.id) || (e.deadlineAt !== undefined && e.deadlineAt <= e.nowMs)
      );
    },
    hasFreeSlot: ({ context }) =>
      context.store.queuedCount === 0 && context.store.inFlight.size < context.concurrency,
    hasRoom: ({ context }) => context.store.queuedCount < context.maxQueued,
    isInFlight: ({ context, event }) => context.store.inFlight.has((event as IdEvent).id),
    isQueued: ({ context, event }) => context.store.isQueued((event as IdEvent).id),
    isIdle: ({ context }) => context.store.queuedCount === 0 && context.store.inFlight.size === 0,
    hasPendingDeadline: ({ context }) => context.store.nextDeadline() !== null,
    noPendingDeadline: ({ context }) => context.store.nextDeadline() === null,
    /** The timer must move: an earlier deadline arrived, or an event's time shows one is already due. */
    deadlineNeedsRearm: ({ context }) => {
      const next = context.store.nextDeadline();
      const armed = context.armedDeadlineAt;
      return next !== null && armed !== null && (next < armed || next <= context.nowMs);
    },
  },
  actions: {
    enableFastPath: assign(({ context }) => {
      context.store.acceptingFast = true;
      return {};
    }),
    disableFastPath: assign(({ context }) => {
      context.store.acceptingFast = false;
      return {};
    }),
    rejectUnacceptable: assign(({ context, event }) => {
      const e = event as EnqueueEvent;
      const reason = badEnqueue(e) ? 'invalid' : context.store.has(e.id) ? 'duplicate' : 'expired';
      context.store.output({ kind: 'reject', id: String(e.id), reason });
      return { nowMs: eventNow(context, event) };
    }),
    dispatchNow: assign(({ context, event }) => {
      const e = event as EnqueueEvent;
      context.store.inFlight.add(e.id);
      context.store.output({ kind: 'dispatch', id: e.id });
      return { nowMs: eventNow(context, event) };
    }),
    enqueueEntry: assign(({ context, event }) => {
      const e = event as EnqueueEvent;
      const nowMs = eventNow(context, event);
      context.store.enqueue(e.id, e.priority ?? 'normal', e.deadlineAt, nowMs);
      return { nowMs };
    }),
    rejectFull: assign(({ context, event }) => {
      context.store.output({ kind: 'reject', id: (event as EnqueueEvent).id, reason: 'full' });
      return { nowMs: eventNow(context, event) };
    }),
    rejectClosed: assign(({ context, event }) => {
      context.store.output({ kind: 'reject', id: String((event as EnqueueEvent).id), reason: 'closed' });
      return { nowMs: eventNow(context, event) };
    }),
    settleAndDispatch: assign(({ context, event }) => {
      const nowMs = eventNow(context, event);
      context.store.inFlight.delete((event as IdEvent).id);
      fillWindow(context, nowMs);
      return { nowMs };
    }),
    settleOnly: assign(({ context, event }) => {
      context.store.inFlight.delete((event as IdEvent).id);
      return { nowMs: eventNow(context, event) };
    }),
    abortQueued: assign(({ context, event }) => {
      const id = (event as IdEvent).id;
      context.store.remove(id);
      context.store.output({ kind: 'reject', id, reason: 'aborted' });
      return { nowMs: eventNow(context, event) };
    }),
    dispatchWhileRoom: assign(({ context, event }) => {
      const nowMs = eventNow(context, event);
      fillWindow(context, nowMs);
      return { nowMs };
    }),
    rejectQueued: assign(({ context }) => {
      rejectAllQueued(context);
      return {};
    }),
    armDeadline: assign(({ context }) => {
      const next = context.store.nextDeadline();
      return { armedDeadlineAt: next === null ? null : Math.min(next, context.nowMs + MAX_TIMER_MS) };
    }),
    disarmDeadline: assign({ armedDeadlineAt: null }),
    /** A timer can fire late and the machine has no clock: an event whose time is past a deadline expires it. */
    expireDueByEventTime: assign(({ context }) => {
      for (const e of context.store.expire(context.nowMs)) {
        context.store.output({ kind: 'reject', id: e.id, reason: 'expired' });
      }
      return {};
    }),
    expireDue: assign(({ context }) => {
      const nowMs = Math.max(context.nowMs, context.armedDeadlineAt ?? context.nowMs);
      for (const e of context.store.expire(nowMs))
        context.store.output({ kind: 'reject', id: e.id, reason: 'expired' });
      return { nowMs };
    }),
  },
  delays: {
    untilNextDeadline: ({ context }) =>
      Math.max(0, (context.armedDeadlineAt ?? context.nowMs) - context.nowMs),
  },
}).createMachine({
  id: 'queue',
  type: 'parallel',
  context: ({ input }) => {
    const config = resolveQueueConfig(input);
    return { ...config, store: new QueueStore(), nowMs: input.nowMs ?? 0, armedDeadlineAt: null };
  },
  states: {
    mode: {
      initial: 'accepting',
      states: {
        accepting: {
          entry: 'enableFastPath',
          exit: 'disableFastPath',
          on: {
            ENQUEUE: [
              { guard: 'isUnacceptable', actions: 'rejectUnacceptable' },
              { guard: 'hasFreeSlot', actions: 'dispatchNow' },
              { guard: 'hasRoom', actions: 'enqueueEntry' },
              { actions: 'rejectFull' },
            ],
            SETTLE: { guard: 'isInFlight', actions: 'settleAndDispatch' },
            ABORT: { guard: 'isQueued', actions: 'abortQueued' },
            PAUSE: { target: 'paused' },
            DRAIN: { target: 'draining' },
            CLOSE: { target: 'closed', actions: 'rejectQueued' },
          },
        },
        paused: {
          on: {
            ENQUEUE: [
              { guard: 'isUnacceptable', actions: 'rejectUnacceptable' },
              { guard: 'hasRoom', actions: 'enqueueEntry' },
              { actions: 'rejectFull' },
            ],
            SETTLE: { guard: 'isInFlight', actions: 'settleOnly' },
            ABORT: { guard: 'isQueued', actions: 'abortQueued' },
            RESUME: { target: 'accepting', actions: 'dispatchWhileRoom' },
            DRAIN: { target: 'draining', actions: 'dispatchWhileRoom' },
            CLOSE: { target: 'closed', actions: 'rejectQueued' },
          },
        },
        draining: {
          always: { guard: 'isIdle', target: 'closed' },
          on: {
            ENQUEUE: { actions: 'rejectClosed' },
            SETTLE: { guard: 'isInFlight', actions: 'settleAndDispatch' },
            ABORT: { guard: 'isQueued', actions: 'abortQueued' },
            CLOSE: { target: 'closed', actions: 'rejectQueued' },
          },
        },
        closed: {
          on: {
            ENQUEUE: { actions: 'rejectClosed' },
            SETTLE: { guard: 'isInFlight', actions: 'settleOnly' },
          },
        },
      },
    },
    deadline: {
      initial: 'idle',
      states: {
        idle: {
          entry: 'disarmDeadline',
          always: { guard: 'hasPendingDeadline', target: 'armed' },
        },
        armed: {
          entry: 'armDeadline',
          always: [
            { guard: 'noPendingDeadline', target: 'idle' },
            { guard: 'deadlineNeedsRearm', target: 'armed', reenter: true, actions: 'expireDueByEventTime' },
          ],
          after: { untilNextDeadline: { target: 'armed', reenter: true, actions: 'expireDue' } },
        },
      },
    },
  },
});

/** The queue machine's type. */
export type QueueMachine = typeof queueMachine;

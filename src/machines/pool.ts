/**
 * The connection pool of one server: between `min` and `max` members (each one connection, for
 * stdio each its own child process), least-loaded dispatch, growth under sustained load, idle
 * trimming, replacement of failed members, and one PRIMARY member that holds the resource
 * subscriptions.
 *
 *   idle ─START─► active ─CLOSE─► closing ─(no members left)─► closed
 *
 * `active` has three parallel regions, each a timer over a deadline kept in context:
 * - `growth`: calm / waiting. When every ready member is busy (SATURATED, sent by the runtime when
 *   {@link acquireMember} says so) and there is room and nothing is starting, `waiting` arms the
 *   named delay `growAfterBusy`; when it fires one member is opened. A member becoming ready (or
 *   UNSATURATED) ends the saturation.
 * - `trim`: idle / armed. While more than `min` members are live, `armed` waits the named delay
 *   `trimIdle` until the earliest idle deadline (last activity + `maxIdleMs`), then closes the idle
 *   members that are due, down to `min`. Activity on the hot path moves deadlines later without an
 *   event: a timer that fires early finds nothing due and re-arms.
 * - `repair`: idle / armed. A failed member stays in the table as `failed` for `replaceDelayMs`
 *   (named delay `replaceDelay`; the connection already spent its own reconnect attempts), then is
 *   removed and replaced one-for-one.
 *
 * Output seam (as the queue's): the machine never starts I/O. Each instruction - open member X,
 * close member Y, the primary is now Z - is appended, in order, to the ledger's output box; the
 * runtime takes them with {@link takePoolOutput} after each `send` and reports back with
 * MEMBER_READY / MEMBER_FAILED / MEMBER_CLOSED.
 *
 * Hot path: {@link pickMember} (pure) picks the least-loaded ready member; {@link acquireMember} and
 * {@link releaseMember} count the call on the ledger without an event and return true only when
 * the pool's saturation flips, i.e. when the caller must send SATURATED / UNSATURATED.
 *
 * Time: every event carries `nowMs`; deadlines (`busySinceMs`, `trimAt`, `replaceAt`) live in context.
 */
import { assign, setup } from 'xstate';
import { MAX_DELAY_MS, type PoolConfig, type ResolvedPoolConfig, resolvePoolConfig } from './pool-config.js';
import { type PoolCloseReason, PoolLedger, type PoolOutput } from './pool-ledger.js';
import {
  allReadyBusy,
  choosePrimary,
  findMember,
  hasMemberIn,
  leastLoadedReady,
  liveCount,
  nextReplaceAt,
  type PoolMember,
  type PoolMemberState,
  trimCandidates,
} from './pool-members.js';

export type { PoolConfig, ResolvedPoolConfig } from './pool-config.js';
export { resolvePoolConfig } from './pool-config.js';
export type { PoolCloseReason, PoolOutput } from './pool-ledger.js';
export { PoolLedger } from './pool-ledger.js';
export type { PoolMember, PoolMemberState } from './pool-members.js';

/** Input of the pool machine. */
export interface PoolInput extends PoolConfig {
  /** The server's name; member ids are `${server}#${n}`. */
  server: string;
  /** The time the actor starts (epoch ms). */
  nowMs?: number;
}

/** The last member failure, for snapshots and events. */
export interface PoolFailure {
  readonly memberId: string;
  readonly code: string;
  readonly message: string;
  readonly atMs: number;
}

/** The pool's context. Plain JSON except the shared, mutable {@link PoolLedger}. */
export interface PoolContext {
  readonly server: string;
  readonly config: ResolvedPoolConfig;
  /** The member table, in creation order. */
  readonly members: readonly PoolMember[];
  /** The member holding resource subscriptions: always a ready member when one exists, else null. */
  readonly primaryId: string | null;
  readonly ledger: PoolLedger;
  /** The latest time seen in an event (or the deadline a timer fired at). */
  readonly nowMs: number;
  /** Sequence number of the next member id. */
  readonly nextSeq: number;
  /** Since when every ready member is busy (set by SATURATED), or null. */
  readonly busySinceMs: number | null;
  /** When the `trim` timer fires (epoch ms), or null when idle. */
  readonly trimAt: number | null;
  /** When the `repair` timer fires (epoch ms), or null when idle. */
  readonly replaceAt: number | null;
  readonly openedCount: number;
  readonly failedCount: number;
  /** Member failures since a member last became ready. */
  readonly consecutiveFailures: number;
  readonly lastFailure: PoolFailure | null;
}

/** Events the pool accepts. Member events naming an unknown member (or one in the wrong state) are ignored. */
export type PoolEvent =
  /** Opens `min` members. */
  | { type: 'START'; nowMs: number }
  /** A call needs a member and none is ready or starting: opens one (when there is room). */
  | { type: 'DEMAND'; nowMs: number }
  | { type: 'MEMBER_READY'; memberId: string; nowMs: number }
  /** A starting or ready member's connection gave up (or, while closing, died). */
  | { type: 'MEMBER_FAILED'; memberId: string; nowMs: number; error?: { code: string; message: string } }
  /** A member the pool asked to close is closed. */
  | { type: 'MEMBER_CLOSED'; memberId: string; nowMs: number }
  /** Every ready member is busy ({@link acquireMember} returned true). */
  | { type: 'SATURATED'; nowMs: number }
  /** A ready member is no longer busy ({@link releaseMember} returned true). */
  | { type: 'UNSATURATED'; nowMs: number }
  /** Closes every member; the machine ends in `closed`. */
  | { type: 'CLOSE'; nowMs: number };

/** Counts for snapshots and metrics. */
export interface PoolCounts {
  readonly size: number;
  readonly starting: number;
  readonly ready: number;
  readonly closing: number;
  readonly failed: number;
  readonly inFlight: number;
  readonly primaryId: string | null;
}

/**
 * The member a call should go to: the least-loaded ready member (the primary wins ties), or
 * undefined when none is ready (then send DEMAND and wait for MEMBER_READY). Pure, no event.
 *
 * @example
 * const id = pickMember(ctx); if (id !== undefined && acquireMember(ctx, id, now)) actor.send({ type: 'SATURATED', nowMs: now });
 */
export function pickMember(context: PoolContext): string | undefined {
  return leastLoadedReady(context.members, context.ledger, context.primaryId)?.id;
}

/**
 * Counts a call starting on `memberId` (no event). Returns true when this call made every ready
 * member busy and the machine does not know yet: the caller must send `{ type: 'SATURATED', nowMs }`.
 * Pass the CURRENT context (`actor.getSnapshot().context`).
 *
 * @example
 * if (acquireMember(actor.getSnapshot().context, id, Date.now())) actor.send({ type: 'SATURATED', nowMs: Date.now() });
 */
export function acquireMember(context: PoolContext, memberId: string, nowMs: number): boolean {
  context.ledger.acquire(memberId, nowMs);
  return (
    context.busySinceMs === null &&
    allReadyBusy(context.members, context.ledger, context.config.busyAtInFlight)
  );
}

/**
 * Counts a call finishing on `memberId` (no event). Returns true when a ready member is no longer
 * busy while the machine believes all are: the caller must send `{ type: 'UNSATURATED', nowMs }`.
 *
 * @example
 * if (releaseMember(actor.getSnapshot().context, id, Date.now())) actor.send({ type: 'UNSATURATED', nowMs: Date.now() });
 */
export function releaseMember(context: PoolContext, memberId: string, nowMs: number): boolean {
  context.ledger.release(memberId, nowMs);
  return (
    context.busySinceMs !== null &&
    !allReadyBusy(context.members, context.ledger, context.config.busyAtInFlight)
  );
}

/**
 * Takes the instructions the last step(s) produced, in order, and empties the box.
 *
 * @example
 * for (const o of takePoolOutput(actor.getSnapshot().context)) if (o.kind === 'open') openConnection(o.memberId);
 */
export function takePoolOutput(context: PoolContext): PoolOutput[] {
  return context.ledger.takeOutput();
}

/** Counts for snapshots and metrics. */
export function poolCounts(context: PoolContext): PoolCounts {
  const by: Record<PoolMemberState, number> = { starting: 0, ready: 0, closing: 0, failed: 0 };
  let inFlight = 0;
  for (const m of context.members) {
    by[m.state]++;
    inFlight += context.ledger.inFlight(m.id);
  }
  return { size: context.members.length, ...by, inFlight, primaryId: context.primaryId };
}

type MemberEvent = Extract<PoolEvent, { memberId: string }>;
type FailedEvent = Extract<PoolEvent, { type: 'MEMBER_FAILED' }>;

function eventNow(context: PoolContext, event: PoolEvent): number {
  return typeof event.nowMs === 'number' && Number.isFinite(event.nowMs)
    ? Math.max(context.nowMs, event.nowMs)
    : context.nowMs;
}

function memberOf(context: PoolContext, event: PoolEvent): PoolMember | undefined {
  return findMember(context.members, (event as MemberEvent).memberId);
}

function withState(members: readonly PoolMember[], id: string, state: PoolMemberState, nowMs: number) {
  return members.map((m) => (m.id === id ? { id, state, sinceMs: nowMs } : m));
}

/** Appends `count` new starting members (an `open` instruction each). */
function openMembers(context: PoolContext, count: number, nowMs: number) {
  const added: PoolMember[] = [];
  let seq = context.nextSeq;
  for (let i = 0; i < count; i++) {
    const id = `${context.server}#${seq++}`;
    added.push({ id, state: 'starting', sinceMs: nowMs });
    context.ledger.output({ kind: 'open', memberId: id });
  }
  return {
    members: [...context.members, ...added],
    nextSeq: seq,
    openedCount: context.openedCount + count,
    nowMs,
  };
}

/** The primary after a table change; outputs the move when it changed. */
function rePrimary(context: PoolContext, members: readonly PoolMember[]): string | null {
  const next = choosePrimary(members, context.ledger, context.primaryId);
  if (next !== context.primaryId) {
    context.ledger.output({ kind: 'primary', memberId: next, previousId: context.primaryId });
  }
  return next;
}

function closeMember(context: PoolContext, id: string, reason: PoolCloseReason): void {
  context.ledger.output({ kind: 'close', memberId: id, reason });
}

function shouldWaitToGrow(context: PoolContext): boolean {
  return (
    context.busySinceMs !== null &&
    context.members.length < context.config.max &&
    !hasMemberIn(context.members, 'starting')
  );
}

function candidates(context: PoolContext) {
  const { min, maxIdleMs } = context.config;
  return trimCandidates(context.members, context.ledger, context.primaryId, min, maxIdleMs);
}

/** The pool statechart. Input: {@link PoolInput}. */
export const poolMachine = setup({
  types: {
    context: {} as PoolContext,
    events: {} as PoolEvent,
    input: {} as PoolInput,
  },
  guards: {
    needsDemandMember: ({ context }) =>
      !hasMemberIn(context.members, 'ready') &&
      !hasMemberIn(context.members, 'starting') &&
      context.members.length < context.config.max,
    isStartingMember: ({ context, event }) => memberOf(context, event)?.state === 'starting',
    isLiveMember: ({ context, event }) => {
      const state = memberOf(context, event)?.state;
      return state === 'starting' || state === 'ready';
    },
    isClosingMember: ({ context, event }) => memberOf(context, event)?.state === 'closing',
    isMember: ({ context, event }) => memberOf(context, event) !== undefined,
    isSaturated: ({ context }) => context.busySinceMs !== null,
    isNotSaturated: ({ context }) => context.busySinceMs === null,
    shouldWaitToGrow: ({ context }) => shouldWaitToGrow(context),
    shouldNotWaitToGrow: ({ context }) => !shouldWaitToGrow(context),
    hasTrimCandidate: ({ context }) => candidates(context).length > 0,
    noTrimCandidate: ({ context }) => candidates(context).length === 0,
    hasFailedMember: ({ context }) => hasMemberIn(context.members, 'failed'),
    noFailedMember: ({ context }) => !hasMemberIn(context.members, 'failed'),
    hasNoMembers: ({ context }) => context.members.length === 0,
  },
  actions: {
    openMinimum: assign(({ context, event }) =>
      openMembers(context, context.config.min, eventNow(context, event)),
    ),
    openOne: assign(({ context, event }) => openMembers(context, 1, eventNow(context, event))),
    markReady: assign(({ context, event }) => {
      const nowMs = eventNow(context, event);
      const members = withState(context.members, (event as MemberEvent).memberId, 'ready', nowMs);
      // A fresh ready member has nothing in flight: the pool is not saturated any more.
      return {
        members,
        nowMs,
        busySinceMs: null,
        consecutiveFailures: 0,
        primaryId: rePrimary(context, members),
      };
    }),
    markFailed: assign(({ context, event }) => {
      const e = event as FailedEvent;
      const nowMs = eventNow(context, event);
      const members = withState(context.members, e.memberId, 'failed', nowMs);
      closeMember(context, e.memberId, 'failed');
      return {
        members,
        nowMs,
        primaryId: rePrimary(context, members),
        failedCount: context.failedCount + 1,
        consecutiveFailures: context.consecutiveFailures + 1,
        lastFailure: {
          memberId: e.memberId,
          code: e.error?.code ?? 'CONNECTION_LOST',
          message: e.error?.message ?? 'member failed',
          atMs: nowMs,
        },
      };
    }),
    removeMember: assign(({ context, event }) => {
      const id = (event as MemberEvent).memberId;
      context.ledger.forget(id);
      return { members: context.members.filter((m) => m.id !== id), nowMs: eventNow(context, event) };
    }),
    noteSaturated: assign(({ context, event }) => {
      const nowMs = eventNow(context, event);
      return { nowMs, busySinceMs: nowMs };
    }),
    clearSaturated: assign(({ context, event }) => ({ nowMs: eventNow(context, event), busySinceMs: null })),
    growOne: assign(({ context }) => {
      const firedAt = Math.max(
        context.nowMs,
        (context.busySinceMs ?? context.nowMs) + context.config.growAfterBusyMs,
      );
      return { ...openMembers(context, 1, firedAt), busySinceMs: firedAt };
    }),
    armTrim: assign(({ context }) => ({ trimAt: candidates(context)[0]?.dueAtMs ?? null })),
    disarmTrim: assign({ trimAt: null }),
    closeIdle: assign(({ context }) => {
      const nowMs = Math.max(context.nowMs, context.trimAt ?? context.nowMs);
      let live = liveCount(context.members);
      let members = context.members;
      for (const c of candidates(context)) {
        if (c.dueAtMs > nowMs || live <= context.config.min) break;
        members = withState(members, c.id, 'closing', nowMs);
        closeMember(context, c.id, 'idle');
        live--;
      }
      return { members, nowMs, primaryId: rePrimary(context, members) };
    }),
    armRepair: assign(({ context }) => ({
      replaceAt: nextReplaceAt(context.members, context.config.replaceDelayMs),
    })),
    disarmRepair: assign({ replaceAt: null }),
    replaceFailed: assign(({ context }) => {
      const nowMs = Math.max(context.nowMs, context.replaceAt ?? context.nowMs);
      const due = context.members.filter(
        (m) => m.state === 'failed' && m.sinceMs + context.config.replaceDelayMs <= nowMs,
      );
      for (const m of due) context.ledger.forget(m.id);
      const kept = context.members.filter((m) => !due.includes(m));
      return openMembers({ ...context, members: kept }, due.length, nowMs);
    }),
    closeAll: assign(({ context, event }) => {
      const nowMs = eventNow(context, event);
      const members: PoolMember[] = [];
      for (const m of context.members) {
        if (m.state === 'failed') {
          context.ledger.forget(m.id);
          continue;
        }
        if (m.state !== 'closing') closeMember(context, m.id, 'shutdown');
        members.push(m.state === 'closing' ? m : { id: m.id, state: 'closing', sinceMs: nowMs });
      }
      if (context.primaryId !== null) {
        context.ledger.output({ kind: 'primary', memberId: null, previousId: context.primaryId });
      }
      return { members, nowMs, primaryId: null, busySinceMs: null };
    }),
  },
  delays: {
    growAfterBusy: ({ context }) =>
      Math.max(0, (context.busySinceMs ?? context.nowMs) + context.config.growAfterBusyMs - context.nowMs),
    trimIdle: ({ context }) =>
      Math.min(MAX_DELAY_MS, Math.max(0, (context.trimAt ?? context.nowMs) - context.nowMs)),
    replaceDelay: ({ context }) => Math.max(0, (context.replaceAt ?? context.nowMs) - context.nowMs),
  },
}).createMachine({
  id: 'pool',
  context: ({ input }) => ({
    server: input.server,
    config: resolvePoolConfig(input),
    members: [],
    primaryId: null,
    ledger: new PoolLedger(),
    nowMs: input.nowMs ?? 0,
    nextSeq: 1,
    busySinceMs: null,
    trimAt: null,
    replaceAt: null,
    openedCount: 0,
    failedCount: 0,
    consecutiveFailures: 0,
    lastFailure: null,
  }),
  initial: 'idle',
  states: {
    idle: {
      on: {
        START: { target: 'active', actions: 'openMinimum' },
        CLOSE: { target: 'closed' },
      },
    },
    active: {
      type: 'parallel',
      on: {
        DEMAND: { guard: 'needsDemandMember', actions: 'openOne' },
        MEMBER_READY: { guard: 'isStartingMember', actions: 'markReady' },
        MEMBER_FAILED: { guard: 'isLiveMember', actions: 'markFailed' },
        MEMBER_CLOSED: { guard: 'isClosingMember', actions: 'removeMember' },
        SATURATED: { guard: 'isNotSaturated', actions: 'noteSaturated' },
        UNSATURATED: { guard: 'isSaturated', actions: 'clearSaturated' },
        CLOSE: { target: 'closing', actions: 'closeAll' },
      },
      states: {
        growth: {
          initial: 'calm',
          states: {
            calm: { always: { guard: 'shouldWaitToGrow', target: 'waiting' } },
            waiting: {
              always: { guard: 'shouldNotWaitToGrow', target: 'calm' },
              after: { growAfterBusy: { target: 'waiting', reenter: true, actions: 'growOne' } },
            },
          },
        },
        trim: {
          initial: 'idle',
          states: {
            idle: { entry: 'disarmTrim', always: { guard: 'hasTrimCandidate', target: 'armed' } },
            armed: {
              entry: 'armTrim',
              always: { guard: 'noTrimCandidate', target: 'idle' },
              after: { trimIdle: { target: 'armed', reenter: true, actions: 'closeIdle' } },
            },
          },
        },
        repair: {
          initial: 'idle',
          states: {
            idle: { entry: 'disarmRepair', always: { guard: 'hasFailedMember', target: 'armed' } },
            armed: {
              entry: 'armRepair',
              always: { guard: 'noFailedMember', target: 'idle' },
              after: { replaceDelay: { target: 'armed', reenter: true, actions: 'replaceFailed' } },
            },
          },
        },
      },
    },
    closing: {
      always: { guard: 'hasNoMembers', target: 'closed' },
      on: {
        MEMBER_CLOSED: { guard: 'isMember', actions: 'removeMember' },
        MEMBER_FAILED: { guard: 'isMember', actions: 'removeMember' },
      },
    },
    closed: { type: 'final' },
  },
});

/** The pool machine's type. */
export type PoolMachine = typeof poolMachine;

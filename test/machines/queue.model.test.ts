/**
 * Model-based test of the queue machine. xstate/graph walks the chart (shortest paths to every
 * abstract state, keyed by the edge that led there, so every transition gets a path); each path
 * is replayed on a real actor whose deadline timer is driven by a SimulatedClock, and every step
 * is asserted: same abstract state as the model, invariants, and a per-transition check of the
 * output box. The transitions taken must equal the transitions the machine defines.
 *
 * The store is mutated in place by design, so the graph explores through a wrapper that clones
 * the store before each pure transition (otherwise sibling branches would share one queue).
 */

import { describe, expect, it } from 'vitest';
import {
  type AnyTransitionDefinition,
  createActor,
  initialTransition,
  SimulatedClock,
  type SnapshotFrom,
} from 'xstate';
import { getShortestPaths, getStateNodes } from 'xstate/graph';
import {
  type QueueContext,
  type QueueEvent,
  type QueueOutput,
  queueMachine,
  takeQueueOutput,
  tryAdmitFast,
} from '../../src/machines/queue.js';

type Snap = SnapshotFrom<typeof queueMachine>;
type Role =
  | 'fresh'
  | 'freshHigh'
  | 'freshLowShort'
  | 'freshLowLong'
  | 'dupInFlight'
  | 'invalid'
  | 'inFlight'
  | 'queued'
  | 'unknown';
type Ev = (QueueEvent | { type: typeof AFTER }) & { role?: Role };

const AFTER = 'xstate.after.untilNextDeadline.queue.deadline.armed';
const INPUT = { concurrency: 1, maxQueued: 2, nowMs: 0 };

const cloneSnap = (s: Snap): Snap =>
  queueMachine.resolveState({ value: s.value, context: { ...s.context, store: s.context.store.clone() } });

/** The machine as graph logic, cloning the mutable store before every transition. */
const explorable = {
  config: queueMachine.config,
  transition: (s: Snap, e: QueueEvent, scope: unknown) =>
    queueMachine.transition(cloneSnap(s), e, scope as Parameters<typeof queueMachine.transition>[2]),
  getInitialSnapshot: (scope: unknown, input: unknown) =>
    queueMachine.getInitialSnapshot(scope as never, input as never),
  getPersistedSnapshot: (s: Snap) => s,
  restoreSnapshot: (s: Snap) => s,
};

function definedTransitions(): Map<AnyTransitionDefinition, string> {
  const keys = new Map<AnyTransitionDefinition, string>();
  for (const node of new Set([queueMachine.root, ...getStateNodes(queueMachine.root)])) {
    for (const [type, defs] of node.transitions) {
      for (const [i, d] of defs.entries()) keys.set(d, `${node.id}:${type}#${i}`);
    }
    for (const [i, d] of (node.always ?? []).entries()) keys.set(d, `${node.id}:always#${i}`);
  }
  return keys;
}

/** Turns a role into a concrete event against a context (the model's, or the actor's on replay). */
function materialize(type: QueueEvent['type'], role: Role | undefined, c: QueueContext): Ev {
  const nowMs = c.nowMs + 1;
  const queued = c.store.entries();
  const inFlight = [...c.store.inFlight];
  const id =
    role === 'inFlight' || role === 'dupInFlight'
      ? inFlight[0]
      : role === 'queued'
        ? queued[0]?.id
        : role === 'invalid'
          ? ''
          : role === 'unknown'
            ? 'nobody'
            : `f${nowMs}`;
  switch (type) {
    case 'ENQUEUE': {
      const priority = role === 'freshHigh' ? 'high' : role?.startsWith('freshLow') ? 'low' : 'normal';
      const deadlineAt =
        role === 'freshLowShort' ? nowMs + 2 : role === 'freshLowLong' ? nowMs + 4 : undefined;
      return { type, id: id as string, nowMs, priority, ...(deadlineAt ? { deadlineAt } : {}), role };
    }
    case 'SETTLE':
    case 'ABORT':
      return { type, id: id as string, nowMs, role };
    case 'RESUME':
    case 'DRAIN':
      return { type, nowMs };
    default:
      return { type } as Ev;
  }
}

function eventsFor(s: Snap): Ev[] {
  const c = s.context;
  const after: Ev[] = c.armedDeadlineAt !== null ? [{ type: AFTER }] : [];
  // Time cannot pass an armed deadline without its timer firing: only the timer (and the
  // time-less events) may happen at the deadline.
  if (c.armedDeadlineAt !== null && c.nowMs + 1 >= c.armedDeadlineAt) {
    return [...after, materialize('PAUSE', undefined, c), materialize('CLOSE', undefined, c)];
  }
  const list: Ev[] = [...after];
  const roles: Role[] = ['fresh', 'freshHigh', 'freshLowShort', 'freshLowLong', 'invalid'];
  if (c.store.inFlight.size > 0) roles.push('dupInFlight');
  for (const role of roles) list.push(materialize('ENQUEUE', role, c));
  for (const role of ['inFlight', 'unknown'] as const) {
    if (role === 'inFlight' && c.store.inFlight.size === 0) continue;
    list.push(materialize('SETTLE', role, c));
  }
  for (const role of ['queued', 'unknown'] as const) {
    if (role === 'queued' && c.store.queuedCount === 0) continue;
    list.push(materialize('ABORT', role, c));
  }
  for (const type of ['PAUSE', 'RESUME', 'DRAIN', 'CLOSE'] as const)
    list.push(materialize(type, undefined, c));
  return list;
}

function abstract(s: Snap): string {
  const c = s.context;
  const n = c.store.counts();
  const deadlines = c.store
    .entries()
    .map((e) => (e.deadlineAt === undefined ? '-' : e.deadlineAt - c.nowMs))
    .join('/');
  const armed = c.armedDeadlineAt === null ? 'x' : c.armedDeadlineAt - c.nowMs;
  return `${JSON.stringify(s.value)}:${n.inFlight}:${n.high}.${n.normal}.${n.low}:${deadlines}:${armed}`;
}

function eventKey(e: Ev | undefined): string {
  return e ? `${e.type}${e.role ? `(${e.role})` : ''}` : '';
}

function serializeEdge(s: Snap, e: Ev | undefined, prev?: Snap): string {
  return `${prev ? abstract(prev) : ''}>${eventKey(e)}>${abstract(s)}`;
}

const modeOf = (s: Snap) => (s.value as { mode: string }).mode;
const deadlineOf = (s: Snap) => (s.value as { deadline: string }).deadline;

function checkState(s: Snap): void {
  const c = s.context;
  const n = c.store.counts();
  expect(n.inFlight).toBeLessThanOrEqual(c.concurrency);
  expect(n.queued).toBeLessThanOrEqual(c.maxQueued);
  expect(n.high + n.normal + n.low).toBe(n.queued);
  expect(c.store.acceptingFast).toBe(modeOf(s) === 'accepting');
  if (modeOf(s) === 'accepting' && n.queued > 0) expect(n.inFlight).toBe(c.concurrency);
  if (modeOf(s) === 'closed') expect(n.queued).toBe(0);
  if (modeOf(s) === 'draining') expect(n.queued + n.inFlight).toBeGreaterThan(0);
  const withDeadline = c.store.entries().filter((e) => e.deadlineAt !== undefined);
  expect(deadlineOf(s)).toBe(withDeadline.length > 0 ? 'armed' : 'idle');
  if (withDeadline.length > 0) {
    // Armed for the earliest deadline, or earlier: when that entry left (dispatched, aborted) the
    // timer is not moved; it fires, finds nothing due and re-arms (cheaper than re-arming per step).
    expect(c.armedDeadlineAt).toBeLessThanOrEqual(
      Math.min(...withDeadline.map((e) => e.deadlineAt as number)),
    );
    expect(c.armedDeadlineAt).toBeGreaterThan(c.nowMs);
  }
  // The fast path admits exactly when the chart would dispatch at once (tried on a copy).
  const copy = { ...c, store: c.store.clone() };
  expect(tryAdmitFast(copy, 'probe-id')).toBe(
    modeOf(s) === 'accepting' && n.queued === 0 && n.inFlight < c.concurrency,
  );
}

interface StepInfo {
  prev: Snap;
  prevEntries: ReturnType<QueueContext['store']['entries']>;
  event: Ev;
  next: Snap;
  out: QueueOutput[];
}
type Check = (x: StepInfo) => void;

const idOf = (e: Ev) => ('id' in e ? e.id : '');
const rejects = (reason: string, ids: string[]) => ids.map((id) => ({ kind: 'reject', id, reason }));
/** The entries a freed window takes, in dispatch order (priority, then FIFO). */
function expectFill(x: StepInfo, slots: number): void {
  const expected = x.prevEntries.slice(0, slots).map((e) => ({ kind: 'dispatch', id: e.id }));
  expect(x.out).toEqual(expected);
}
const enqueueChecks = (prefix: string, immediate: boolean): Record<string, Check> => {
  const checks: Record<string, Check> = {
    [`${prefix}:ENQUEUE#0`]: (x) => {
      expect(x.out).toHaveLength(1);
      expect(x.out[0]).toMatchObject({ kind: 'reject', id: idOf(x.event) });
      expect(['invalid', 'duplicate']).toContain((x.out[0] as { reason: string }).reason);
    },
  };
  let i = 1;
  if (immediate) {
    checks[`${prefix}:ENQUEUE#${i++}`] = (x) => {
      expect(x.out).toEqual([{ kind: 'dispatch', id: idOf(x.event) }]);
      expect(x.next.context.store.inFlight.has(idOf(x.event))).toBe(true);
    };
  }
  checks[`${prefix}:ENQUEUE#${i++}`] = (x) => {
    expect(x.out).toEqual([]);
    expect(x.next.context.store.isQueued(idOf(x.event))).toBe(true);
  };
  checks[`${prefix}:ENQUEUE#${i++}`] = (x) => {
    expect(x.out).toEqual(rejects('full', [idOf(x.event)]));
    expect(x.prev.context.store.queuedCount).toBe(INPUT.maxQueued);
  };
  return checks;
};
const settleChecks =
  (state: string, dispatches: boolean): Check =>
  (x) => {
    expect(x.prev.context.store.inFlight.has(idOf(x.event))).toBe(true);
    expect(x.next.context.store.inFlight.has(idOf(x.event))).toBe(false);
    if (dispatches) expectFill(x, 1);
    else expect(x.out).toEqual([]);
    expect(modeOf(x.next) === state || modeOf(x.next) === 'closed').toBe(true);
  };
const abortCheck: Check = (x) => {
  expect(x.out).toEqual(rejects('aborted', [idOf(x.event)]));
  expect(x.next.context.store.has(idOf(x.event))).toBe(false);
};
const closeCheck: Check = (x) => {
  expect(modeOf(x.next)).toBe('closed');
  expect(x.out).toEqual(
    rejects(
      'closed',
      x.prevEntries.map((e) => e.id),
    ),
  );
};
const rejectClosed: Check = (x) => expect(x.out).toEqual(rejects('closed', [idOf(x.event)]));

const CHECKS: Record<string, Check> = {
  ...enqueueChecks('queue.mode.accepting', true),
  ...enqueueChecks('queue.mode.paused', false),
  'queue.mode.accepting:SETTLE#0': settleChecks('accepting', true),
  'queue.mode.accepting:ABORT#0': abortCheck,
  'queue.mode.accepting:PAUSE#0': (x) => {
    expect(modeOf(x.next)).toBe('paused');
    expect(x.out).toEqual([]);
  },
  'queue.mode.accepting:DRAIN#0': (x) => expect(['draining', 'closed']).toContain(modeOf(x.next)),
  'queue.mode.accepting:CLOSE#0': closeCheck,
  'queue.mode.paused:SETTLE#0': settleChecks('paused', false),
  'queue.mode.paused:ABORT#0': abortCheck,
  'queue.mode.paused:RESUME#0': (x) => {
    expect(modeOf(x.next)).toBe('accepting');
    expectFill(x, INPUT.concurrency - x.prev.context.store.inFlight.size);
  },
  'queue.mode.paused:DRAIN#0': (x) => {
    expect(['draining', 'closed']).toContain(modeOf(x.next));
    expectFill(x, INPUT.concurrency - x.prev.context.store.inFlight.size);
  },
  'queue.mode.paused:CLOSE#0': closeCheck,
  'queue.mode.draining:ENQUEUE#0': rejectClosed,
  'queue.mode.draining:SETTLE#0': settleChecks('draining', true),
  'queue.mode.draining:ABORT#0': abortCheck,
  'queue.mode.draining:CLOSE#0': closeCheck,
  'queue.mode.draining:always#0': (x) => {
    expect(modeOf(x.next)).toBe('closed');
    expect(x.next.context.store.queuedCount + x.next.context.store.inFlight.size).toBe(0);
  },
  'queue.mode.closed:ENQUEUE#0': rejectClosed,
  'queue.mode.closed:SETTLE#0': settleChecks('closed', false),
  'queue.deadline.idle:always#0': (x) => expect(deadlineOf(x.next)).toBe('armed'),
  'queue.deadline.armed:always#0': (x) => expect(x.next.context.store.nextDeadline()).toBeNull(),
  'queue.deadline.armed:always#1': (x) => {
    // re-armed for an earlier deadline that just arrived (or for the next one once the due expired)
    expect(x.next.context.armedDeadlineAt).toBeLessThan(x.prev.context.armedDeadlineAt as number);
    expect(
      x.next.context.store.entries().every((e) => (e.deadlineAt ?? Infinity) > x.next.context.nowMs),
    ).toBe(true);
  },
  [`queue.deadline.armed:${AFTER}#0`]: (x) => {
    const at = x.prev.context.armedDeadlineAt as number;
    const due = x.prevEntries
      .filter((e) => e.deadlineAt !== undefined && e.deadlineAt <= at)
      .map((e) => e.id);
    expect(x.out.filter((o) => o.kind === 'reject')).toEqual(
      rejects('expired', due).sort((a, b) => (a.id < b.id ? -1 : 1)),
    );
    expect(x.next.context.nowMs).toBe(at);
  },
};

describe('queue machine (model-based)', () => {
  it('every path replays on a clock-driven actor; every state and transition is covered', () => {
    const defined = definedTransitions();
    const covered = new Set<string>();
    const modes = new Set<string>();
    const deadlines = new Set<string>();
    const [start] = initialTransition(queueMachine, INPUT);
    const paths = getShortestPaths(explorable as unknown as typeof queueMachine, {
      fromState: start,
      events: eventsFor as (s: Snap) => QueueEvent[],
      serializeState: serializeEdge as (s: Snap, e: QueueEvent | undefined, p?: Snap) => string,
      limit: 200_000,
    });
    expect(paths.length).toBeGreaterThan(100);
    for (const path of paths) {
      const clock = new SimulatedClock();
      let taken: string[] = [];
      const actor = createActor(queueMachine, {
        input: INPUT,
        clock,
        inspect: (ev) => {
          if (ev.type !== '@xstate.microstep') return;
          for (const t of (ev as unknown as { _transitions: AnyTransitionDefinition[] })._transitions) {
            const key = defined.get(t);
            if (key === undefined) throw new Error(`undefined transition from ${t.source.id}`);
            taken.push(key);
          }
        },
      });
      actor.start();
      for (const k of taken) covered.add(k);
      for (const step of path.steps.filter((s) => (s.event as { type: string }).type !== 'xstate.init')) {
        taken = [];
        const prev = actor.getSnapshot();
        const prevEntries = prev.context.store.entries();
        const prevStore = prev.context.store.clone(); // `prev` shares the live store
        const modelEvent = step.event as Ev;
        let event: Ev = modelEvent;
        if (modelEvent.type === AFTER) {
          const at = prev.context.armedDeadlineAt as number;
          clock.set(at - 1);
          expect(takeQueueOutput(actor.getSnapshot().context)).toEqual([]); // not a millisecond early
          clock.set(at);
        } else {
          event = materialize(modelEvent.type, modelEvent.role, prev.context);
          if ('nowMs' in event) clock.set(event.nowMs);
          actor.send(event as QueueEvent);
        }
        const next = actor.getSnapshot();
        const out = takeQueueOutput(next.context);
        expect(abstract(next)).toBe(abstract(step.state));
        checkState(next);
        const info: StepInfo = {
          prev: { ...prev, context: { ...prev.context, store: prevStore } } as Snap,
          prevEntries,
          event,
          next,
          out,
        };
        if (taken.length === 0) expect(out).toEqual([]);
        for (const key of taken) {
          const check = CHECKS[key];
          expect(check, `a check for ${key}`).toBeDefined();
          if (!key.startsWith('queue.deadline') || key.includes(AFTER)) check?.(info);
          else check?.({ ...info, out: [] });
          covered.add(key);
        }
        modes.add(modeOf(next));
        deadlines.add(deadlineOf(next));
      }
      actor.stop();
    }
    expect([...modes].sort()).toEqual(['accepting', 'closed', 'draining', 'paused']);
    expect([...deadlines].sort()).toEqual(['armed', 'idle']);
    expect([...covered].sort()).toEqual([...defined.values()].sort());
    expect(Object.keys(CHECKS).sort()).toEqual([...defined.values()].sort());
  });
});

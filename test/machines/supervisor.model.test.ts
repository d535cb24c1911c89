/**
 * Model-based test of the supervisor machine: xstate/graph walks the chart (shortest paths to
 * every abstract state reached by every incoming event), each path is replayed on a live actor
 * under vi fake timers (events re-timed from the actor's own clock: one ms later, or just past the
 * restart window), and every step is asserted: same abstract state, invariants, and the output
 * box against what the transition changed. Every defined transition must be taken.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor, type SnapshotFrom } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { ConfigError } from '../../src/errors/index.js';
import {
  resolveRestartIntensity,
  restartsInWindow,
  type SupervisorEvent,
  type SupervisorInput,
  type SupervisorOutput,
  supervisorMachine,
  takeSupervisorOutput,
} from '../../src/machines/supervisor.js';
import { definedStates, definedTransitions, recordTransitions } from '../helpers/model.js';

type Snap = SnapshotFrom<typeof supervisorMachine>;
/** `late` events come just after the restart window has slid past every earlier restart. */
type ModelEvent = SupervisorEvent & { late?: boolean };

const WITHIN_MS = 1_000;
const input: SupervisorInput = {
  server: 's',
  children: ['queue', 'pool'],
  maxRestarts: 2,
  withinMs: WITHIN_MS,
};
const lost = { code: 'CONNECTION_LOST', message: 'socket closed' };

function eventsFor(s: Snap): ModelEvent[] {
  const nowMs = s.context.nowMs + 1;
  const list: ModelEvent[] = [
    { type: 'START', nowMs },
    { type: 'STOP', nowMs },
    { type: 'RESTART', nowMs },
    { type: 'CHILD_FAILED', child: 'nope', error: lost, nowMs },
    { type: 'CHILD_RESTARTED', child: 'nope', nowMs },
  ];
  for (const child of ['queue', 'pool']) {
    list.push(
      { type: 'CHILD_FAILED', child, error: lost, nowMs },
      { type: 'CHILD_FAILED', child, error: new Error('boom'), nowMs: nowMs + WITHIN_MS, late: true },
      { type: 'CHILD_RESTARTED', child, nowMs },
    );
  }
  return list;
}

function abstract(s: Snap): string {
  const c = s.context;
  return JSON.stringify([s.value, c.pending, restartsInWindow(c, c.nowMs), c.failure?.child ?? null]);
}

function serialize(s: Snap, e: ModelEvent | undefined, prev?: Snap): string {
  const child = e && 'child' in e ? e.child : '';
  return JSON.stringify([prev ? abstract(prev) : null, e?.type, child, e?.late === true, abstract(s)]);
}

function checkInvariants(s: Snap): void {
  const c = s.context;
  expect(c.pending.every((p) => c.children.includes(p))).toBe(true);
  expect(c.pending.length > 0).toBe(s.matches('restarting'));
  expect(c.failure !== null).toBe(s.matches('failed'));
  expect(restartsInWindow(c, c.nowMs)).toBeLessThanOrEqual(c.maxRestarts);
  expect(c.recentRestartsAtMs.length).toBeLessThanOrEqual(c.maxRestarts + c.children.length);
}

/** The output of one step must match what changed. */
function checkOutput(prev: Snap, next: Snap, out: SupervisorOutput[]): void {
  const expected: SupervisorOutput[] = [];
  for (const child of next.context.children) {
    const before = prev.context.restarts[child] ?? 0;
    const after = next.context.restarts[child] ?? 0;
    expect(after - before).toBeGreaterThanOrEqual(0);
    expect(after - before).toBeLessThanOrEqual(1);
    if (after > before) expected.push({ kind: 'restart', child, restartCount: after });
  }
  if (next.matches('failed') && !prev.matches('failed')) {
    expected.push({
      kind: 'escalate',
      failure: next.context.failure as NonNullable<typeof next.context.failure>,
    });
  }
  if (next.matches('stopped') && !prev.matches('stopped')) expected.push({ kind: 'stop' });
  expect(out).toEqual(expected);
}

describe('supervisor machine (model-based, virtual clock)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('every path from the graph replays on a live actor, covering every state and transition', async () => {
    const paths = getShortestPaths(supervisorMachine, {
      input,
      events: eventsFor as (s: Snap) => SupervisorEvent[],
      serializeState: serialize as (s: Snap, e: SupervisorEvent | undefined, p?: Snap) => string,
      filterEvents: (snap, event) => snap.status === 'active' && snap.can(event),
      limit: 20_000,
    });
    expect(paths.length).toBeGreaterThan(30);
    const taken = new Set<string>();
    const visited = new Set<string>();
    for (const path of paths) {
      vi.setSystemTime(0);
      const actor = createActor(supervisorMachine, { input, inspect: recordTransitions(taken) });
      actor.start();
      for (const step of path.steps) {
        const event = step.event as ModelEvent;
        const prev = actor.getSnapshot();
        const nowMs = prev.context.nowMs + (event.late ? WITHIN_MS + 1 : 1);
        await vi.advanceTimersByTimeAsync(nowMs - Date.now());
        actor.send({ ...event, nowMs });
        const live = actor.getSnapshot();
        const where = path.steps.map(
          (s) => `${s.event.type}${'child' in s.event ? `(${s.event.child})` : ''}`,
        );
        expect(abstract(live), where.join(' → ')).toBe(abstract(step.state));
        checkInvariants(live);
        checkOutput(prev, live, takeSupervisorOutput(live.context));
        for (const node of live._nodes) visited.add(node.id);
      }
      actor.stop();
    }
    expect([...definedStates(supervisorMachine)].filter((s) => !visited.has(s))).toEqual([]);
    expect([...definedTransitions(supervisorMachine)].filter((t) => !taken.has(t))).toEqual([]);
  });
});

describe('supervisor restart intensity', () => {
  function running(config: Partial<SupervisorInput> = {}) {
    const actor = createActor(supervisorMachine, { input: { server: 'demo', nowMs: 0, ...config } }).start();
    actor.send({ type: 'START', nowMs: 0 });
    return actor;
  }

  it('restarts one-for-one, counts per child, and escalates past N restarts in T ms (sliding)', () => {
    const actor = running({ maxRestarts: 2, withinMs: 1_000 });
    const ctx = () => actor.getSnapshot().context;
    actor.send({ type: 'CHILD_FAILED', child: 'queue', error: lost, nowMs: 100 });
    expect(takeSupervisorOutput(ctx())).toEqual([{ kind: 'restart', child: 'queue', restartCount: 1 }]);
    expect(actor.getSnapshot().value).toBe('restarting');
    actor.send({ type: 'CHILD_RESTARTED', child: 'queue', nowMs: 110 });
    expect(actor.getSnapshot().value).toBe('running');
    actor.send({ type: 'CHILD_FAILED', child: 'pool', error: lost, nowMs: 600 });
    actor.send({ type: 'CHILD_RESTARTED', child: 'pool', nowMs: 610 });
    // The restart at 100 leaves the window at 1100: a third failure at 1100 is within the intensity.
    actor.send({ type: 'CHILD_FAILED', child: 'queue', error: lost, nowMs: 1_100 });
    expect(actor.getSnapshot().value).toBe('restarting');
    actor.send({ type: 'CHILD_RESTARTED', child: 'queue', nowMs: 1_110 });
    expect(ctx().restarts).toEqual({ session: 0, queue: 2, breaker: 0, pool: 1 });
    takeSupervisorOutput(ctx());
    // Restarts at 600 and 1100 are in the window at 1500: the third one there escalates.
    actor.send({
      type: 'CHILD_FAILED',
      child: 'breaker',
      error: { code: 'PROTOCOL', message: 'bad' },
      nowMs: 1_500,
    });
    expect(actor.getSnapshot().value).toBe('failed');
    const failure = {
      reason: 'restartIntensity',
      child: 'breaker',
      error: { code: 'PROTOCOL', message: 'bad' },
      restartsInWindow: 2,
      maxRestarts: 2,
      withinMs: 1_000,
      atMs: 1_500,
    };
    expect(ctx().failure).toEqual(failure);
    expect(takeSupervisorOutput(ctx())).toEqual([{ kind: 'escalate', failure }]);
    // Failed stays failed: further child failures change nothing.
    actor.send({ type: 'CHILD_FAILED', child: 'queue', error: lost, nowMs: 9_000 });
    expect(actor.getSnapshot().value).toBe('failed');
    expect(takeSupervisorOutput(ctx())).toEqual([]);
    actor.send({ type: 'RESTART', nowMs: 9_000 });
    expect(takeSupervisorOutput(ctx()).map((o) => (o.kind === 'restart' ? o.child : o.kind))).toEqual([
      'session',
      'queue',
      'breaker',
      'pool',
    ]);
    for (const child of ['session', 'queue', 'breaker', 'pool']) {
      actor.send({ type: 'CHILD_RESTARTED', child, nowMs: 9_001 });
    }
    expect(actor.getSnapshot().value).toBe('running');
    expect(ctx().failure).toBeNull();
    expect(restartsInWindow(ctx(), 9_001)).toBe(0);
    actor.stop();
  });

  it('maxRestarts 0 gives up at the first failure', () => {
    const actor = running({ maxRestarts: 0 });
    actor.send({ type: 'CHILD_FAILED', child: 'session', error: 'plain string', nowMs: 1 });
    expect(actor.getSnapshot().value).toBe('failed');
    expect(actor.getSnapshot().context.failure?.error).toEqual({ code: 'UNKNOWN', message: 'plain string' });
    actor.stop();
  });

  it('rejects a bad intensity or child list with ConfigError naming the field', () => {
    expect(() => resolveRestartIntensity({ maxRestarts: -1, withinMs: 0 })).toThrow(
      /supervisor\.maxRestarts.*supervisor\.withinMs/,
    );
    const bad = createActor(supervisorMachine, { input: { server: 's', children: [] } });
    bad.subscribe({ error: () => {} });
    bad.start();
    expect(bad.getSnapshot().error).toBeInstanceOf(ConfigError);
    expect((bad.getSnapshot().error as ConfigError).issues[0]?.path).toBe('supervisor.children');
  });
});

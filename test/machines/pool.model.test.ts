/**
 * Model-based test of the pool machine: xstate/graph walks the chart (shortest paths to every
 * abstract state reached by every incoming event, so every transition gets a path), each path is
 * replayed on a live actor under vi fake timers (the named delays fire by advancing the clock to
 * the deadline in context), and every step is asserted: same state and member table as the model,
 * the invariants, and the output box against the change of the member table. The transitions the
 * live actors took must be every transition the machine defines.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor, type SnapshotFrom } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { ConfigError } from '../../src/errors/index.js';
import {
  acquireMember,
  type PoolContext,
  type PoolEvent,
  type PoolInput,
  type PoolOutput,
  pickMember,
  poolCounts,
  poolMachine,
  releaseMember,
  resolvePoolConfig,
  takePoolOutput,
} from '../../src/machines/pool.js';
import { definedStates, definedTransitions, recordTransitions } from '../helpers/model.js';

type Snap = SnapshotFrom<typeof poolMachine>;
type AnyEvent = PoolEvent | { type: string };

const input: PoolInput = {
  server: 's',
  min: 1,
  max: 2,
  maxIdleMs: 1_000,
  growAfterBusyMs: 100,
  replaceDelayMs: 500,
  nowMs: 0,
};

const AFTER_GROW = 'xstate.after.growAfterBusy.pool.active.growth.waiting';
const AFTER_TRIM = 'xstate.after.trimIdle.pool.active.trim.armed';
const AFTER_REPLACE = 'xstate.after.replaceDelay.pool.active.repair.armed';

/** The armed timers of a state with their deadlines (fake epoch ms). */
function timersOf(s: Snap): Array<{ type: string; atMs: number }> {
  const c = s.context;
  const timers: Array<{ type: string; atMs: number }> = [];
  if (s.matches({ active: { growth: 'waiting' } })) {
    timers.push({ type: AFTER_GROW, atMs: (c.busySinceMs as number) + c.config.growAfterBusyMs });
  }
  if (s.matches({ active: { trim: 'armed' } })) timers.push({ type: AFTER_TRIM, atMs: c.trimAt as number });
  if (s.matches({ active: { repair: 'armed' } }))
    timers.push({ type: AFTER_REPLACE, atMs: c.replaceAt as number });
  return timers;
}

/**
 * The events a state may take: plain ones one ms after the last, member events for each member,
 * and the timer that fires first (a real clock fires timers in deadline order, so the model must too).
 */
function eventsFor(s: Snap): AnyEvent[] {
  const nowMs = s.context.nowMs + 1;
  const timers = timersOf(s);
  const firstAtMs = Math.min(...timers.map((t) => t.atMs));
  const list: AnyEvent[] = timers.filter((t) => t.atMs === firstAtMs).map((t) => ({ type: t.type }));
  if (firstAtMs <= nowMs) return list;
  list.push(
    { type: 'START', nowMs },
    { type: 'DEMAND', nowMs },
    { type: 'SATURATED', nowMs },
    { type: 'UNSATURATED', nowMs },
    { type: 'CLOSE', nowMs },
  );
  for (const m of s.context.members) {
    list.push(
      { type: 'MEMBER_READY', memberId: m.id, nowMs },
      { type: 'MEMBER_FAILED', memberId: m.id, nowMs, error: { code: 'CONNECTION_LOST', message: 'gone' } },
      { type: 'MEMBER_CLOSED', memberId: m.id, nowMs },
    );
  }
  return list;
}

/**
 * The abstract state: chart state, member ids and states, primary, saturation. Ids are part of it
 * so a path's member events name the members the replay has; absolute times are not, so a vertex
 * stands for every timing of it (the replay is checked against the abstract state).
 */
function abstract(s: Snap): string {
  const c = s.context;
  return JSON.stringify([
    s.value,
    c.members.map((m) => `${m.id}:${m.state}`),
    c.primaryId,
    c.busySinceMs !== null,
  ]);
}

function serialize(s: Snap, e: AnyEvent | undefined, prev?: Snap): string {
  return JSON.stringify([prev ? abstract(prev) : null, e?.type, abstract(s)]);
}

/** Members ever opened in the model (bounds the ids, so the graph is finite). */
const MAX_OPENED = 3;

/** The deadline (fake epoch ms) at which a timer event fires. */
function deadlineOf(type: string, s: Snap): number {
  const timer = timersOf(s).find((t) => t.type === type);
  if (!timer) throw new Error(`timer ${type} is not armed`);
  return timer.atMs;
}

/** Invariants of every state. */
function checkInvariants(s: Snap): void {
  const c = s.context;
  expect(c.members.length).toBeLessThanOrEqual(c.config.max);
  const ready = c.members.filter((m) => m.state === 'ready');
  if (ready.length > 0) expect(ready.map((m) => m.id)).toContain(c.primaryId);
  else expect(c.primaryId).toBeNull();
  expect(new Set(c.members.map((m) => m.id)).size).toBe(c.members.length);
  if (s.matches('active')) {
    // Never below min while active: failed members count until their replacement is opened.
    expect(c.members.filter((m) => m.state !== 'closing').length).toBeGreaterThanOrEqual(c.config.min);
    expect(s.matches({ active: { trim: 'armed' } })).toBe(c.trimAt !== null);
    expect(s.matches({ active: { repair: 'armed' } })).toBe(c.replaceAt !== null);
  }
  if (s.matches('closing')) expect(c.members.every((m) => m.state === 'closing')).toBe(true);
  if (s.matches('idle') || s.matches('closed')) expect(c.members).toEqual([]);
  expect(pickMember(c)).toBe(ready.length > 0 ? c.primaryId : undefined);
}

/** The output of one step must be exactly the change of the member table, in member order. */
function checkOutput(prev: PoolContext, nextSnap: Snap, out: PoolOutput[]): void {
  const next = nextSnap.context;
  const expected: PoolOutput[] = [];
  const before = new Map(prev.members.map((m) => [m.id, m.state]));
  const closeReason = nextSnap.matches('active') ? 'idle' : 'shutdown';
  for (const m of next.members) {
    const was = before.get(m.id);
    if (was === undefined) expected.push({ kind: 'open', memberId: m.id });
    else if (was !== m.state && m.state === 'failed') {
      expected.push({ kind: 'close', memberId: m.id, reason: 'failed' });
    } else if (was !== m.state && m.state === 'closing') {
      expected.push({ kind: 'close', memberId: m.id, reason: closeReason });
    }
  }
  if (prev.primaryId !== next.primaryId) {
    expected.push({ kind: 'primary', memberId: next.primaryId, previousId: prev.primaryId });
  }
  const order = (o: PoolOutput) => (o.kind === 'primary' ? 1 : 0);
  const sort = (list: PoolOutput[]) => [...list].sort((a, b) => order(a) - order(b));
  expect(sort(out)).toEqual(sort(expected));
}

describe('pool machine (model-based, virtual clock)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('every path from the graph replays on a live actor, covering every state and transition', async () => {
    const paths = getShortestPaths(poolMachine, {
      input,
      events: eventsFor as (s: Snap) => PoolEvent[],
      serializeState: serialize as (s: Snap, e: PoolEvent | undefined, p?: Snap) => string,
      filterEvents: (snap, event) =>
        snap.status === 'active' && snap.context.openedCount < MAX_OPENED && snap.can(event),
      limit: 20_000,
    });
    expect(paths.length).toBeGreaterThan(40);
    const taken = new Set<string>();
    const visited = new Set<string>();
    for (const path of paths) {
      vi.setSystemTime(0);
      const actor = createActor(poolMachine, { input, inspect: recordTransitions(taken) });
      actor.start();
      for (const step of path.steps) {
        const event = step.event as AnyEvent;
        const prev = actor.getSnapshot().context;
        if (event.type.startsWith('xstate.after.')) {
          await vi.advanceTimersByTimeAsync(deadlineOf(event.type, actor.getSnapshot()) - Date.now());
        } else {
          // The graph's vertices stand for every timing: re-time the event one ms after the actor's last.
          const nowMs = prev.nowMs + 1;
          await vi.advanceTimersByTimeAsync(nowMs - Date.now());
          actor.send({ ...event, nowMs } as PoolEvent);
        }
        const live = actor.getSnapshot();
        const where = path.steps.map((s) => s.event.type.replace('xstate.after.', '')).join(' → ');
        expect(abstract(live), where).toBe(abstract(step.state));
        checkInvariants(live);
        checkOutput(prev, live, takePoolOutput(live.context));
        for (const node of live._nodes) visited.add(node.id);
      }
      actor.stop();
    }
    expect([...definedStates(poolMachine)].filter((s) => !visited.has(s))).toEqual([]);
    expect([...definedTransitions(poolMachine)].filter((t) => !taken.has(t))).toEqual([]);
  });
});

describe('pool hot path and configuration', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function readyPool(config: Partial<PoolInput> = {}) {
    const actor = createActor(poolMachine, { input: { ...input, min: 2, max: 3, ...config } }).start();
    actor.send({ type: 'START', nowMs: 0 });
    for (const o of takePoolOutput(actor.getSnapshot().context)) {
      if (o.kind === 'open') actor.send({ type: 'MEMBER_READY', memberId: o.memberId, nowMs: 0 });
    }
    takePoolOutput(actor.getSnapshot().context);
    return actor;
  }

  it('picks the least-loaded ready member and signals saturation only when it flips', () => {
    const actor = readyPool();
    const ctx = () => actor.getSnapshot().context;
    expect(ctx().primaryId).toBe('s#1');
    expect(pickMember(ctx())).toBe('s#1');
    expect(acquireMember(ctx(), 's#1', 1)).toBe(false);
    expect(pickMember(ctx())).toBe('s#2');
    expect(acquireMember(ctx(), 's#2', 1)).toBe(true);
    actor.send({ type: 'SATURATED', nowMs: 1 });
    expect(acquireMember(ctx(), 's#1', 2)).toBe(false);
    expect(poolCounts(ctx())).toMatchObject({ size: 2, ready: 2, inFlight: 3, primaryId: 's#1' });
    expect(releaseMember(ctx(), 's#1', 3)).toBe(false);
    expect(releaseMember(ctx(), 's#2', 3)).toBe(true);
    actor.send({ type: 'UNSATURATED', nowMs: 3 });
    expect(ctx().busySinceMs).toBeNull();
    expect(releaseMember(ctx(), 's#2', 3)).toBe(false);
    actor.stop();
  });

  it('grows after the busy threshold, then trims the idle member after maxIdleMs (activity postpones it)', async () => {
    const actor = readyPool();
    const ctx = () => actor.getSnapshot().context;
    acquireMember(ctx(), 's#1', 0);
    expect(acquireMember(ctx(), 's#2', 0)).toBe(true);
    actor.send({ type: 'SATURATED', nowMs: 0 });
    await vi.advanceTimersByTimeAsync(99);
    expect(takePoolOutput(ctx())).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(takePoolOutput(ctx())).toEqual([{ kind: 'open', memberId: 's#3' }]);
    actor.send({ type: 'MEMBER_READY', memberId: 's#3', nowMs: 150 });
    expect(ctx().busySinceMs).toBeNull();
    releaseMember(ctx(), 's#1', 150);
    releaseMember(ctx(), 's#2', 150);
    // s#3 is used at 900 without any event: its idle deadline moves from 1150 to 1900.
    acquireMember(ctx(), 's#3', 900);
    releaseMember(ctx(), 's#3', 900);
    await vi.advanceTimersByTimeAsync(1_000);
    // s#2 (idle since 150) is closed at 1150; one member above min only, so s#3 stays.
    expect(takePoolOutput(ctx())).toEqual([{ kind: 'close', memberId: 's#2', reason: 'idle' }]);
    actor.send({ type: 'MEMBER_CLOSED', memberId: 's#2', nowMs: 1_200 });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(takePoolOutput(ctx())).toEqual([]);
    expect(ctx().members.map((m) => m.id)).toEqual(['s#1', 's#3']);
    actor.stop();
  });

  it('moves the primary to a ready member when it fails, and replaces the failed one later', async () => {
    const actor = readyPool();
    const ctx = () => actor.getSnapshot().context;
    actor.send({
      type: 'MEMBER_FAILED',
      memberId: 's#1',
      nowMs: 10,
      error: { code: 'AUTH', message: '401' },
    });
    expect(takePoolOutput(ctx())).toEqual([
      { kind: 'close', memberId: 's#1', reason: 'failed' },
      { kind: 'primary', memberId: 's#2', previousId: 's#1' },
    ]);
    expect(ctx().lastFailure).toEqual({ memberId: 's#1', code: 'AUTH', message: '401', atMs: 10 });
    await vi.advanceTimersByTimeAsync(510);
    expect(takePoolOutput(ctx())).toEqual([{ kind: 'open', memberId: 's#3' }]);
    expect(ctx().members.map((m) => `${m.id}:${m.state}`)).toEqual(['s#2:ready', 's#3:starting']);
    actor.stop();
  });

  it('rejects a bad configuration naming every field', () => {
    expect(() => resolvePoolConfig({ min: 3, max: 2, maxIdleMs: 1 })).toThrow(/pool\.min: must be <= max/);
    try {
      resolvePoolConfig({ min: -1, max: 0.5, maxIdleMs: -1, growAfterBusyMs: Number.NaN, busyAtInFlight: 0 });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues.map((i) => i.path)).toEqual([
        'pool.min',
        'pool.max',
        'pool.maxIdleMs',
        'pool.growAfterBusyMs',
        'pool.busyAtInFlight',
      ]);
    }
    const bad = createActor(poolMachine, { input: { server: 's', min: 0, max: 0, maxIdleMs: 1 } });
    bad.subscribe({ error: () => {} });
    bad.start();
    expect(bad.getSnapshot().status).toBe('error');
    expect(bad.getSnapshot().error).toBeInstanceOf(ConfigError);
  });
});

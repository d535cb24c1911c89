/**
 * Property test of the pool machine with its hot-path helpers, against a reference model of the
 * calls in flight (fast-check `fc.commands`, virtual time through xstate's SimulatedClock):
 * size within [0, max]; never below `min` live-or-failed members while active; dispatch always
 * picks a least-loaded ready member; the primary is a ready member whenever one exists; the
 * instructions in the output box are consistent with the member table.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Actor, createActor, SimulatedClock } from 'xstate';
import {
  acquireMember,
  type PoolMachine,
  type PoolMemberState,
  pickMember,
  poolMachine,
  releaseMember,
  takePoolOutput,
} from '../../src/machines/pool.js';

const CONFIG = { server: 'p', min: 2, max: 4, maxIdleMs: 500, growAfterBusyMs: 50, replaceDelayMs: 200 };

interface Real {
  actor: Actor<PoolMachine>;
  clock: SimulatedClock;
  /** Calls in flight: the member each went to. */
  calls: string[];
  /** Every member id the pool asked to open, and those it asked to close. */
  opened: Set<string>;
  closeAsked: Set<string>;
}

interface Model {
  started: boolean;
}

type Cmd = fc.Command<Model, Real>;

const ctx = (r: Real) => r.actor.getSnapshot().context;
const now = (r: Real) => r.clock.now();
const membersIn = (r: Real, state: PoolMemberState) => ctx(r).members.filter((m) => m.state === state);

/** Applies the output box: checks every instruction against the table and records it. */
function drain(r: Real): void {
  for (const o of takePoolOutput(ctx(r))) {
    if (o.kind === 'open') {
      expect(r.opened.has(o.memberId)).toBe(false);
      r.opened.add(o.memberId);
      expect(ctx(r).members.find((m) => m.id === o.memberId)).toBeDefined();
    } else if (o.kind === 'close') {
      expect(r.opened.has(o.memberId)).toBe(true);
      expect(r.closeAsked.has(o.memberId)).toBe(false);
      r.closeAsked.add(o.memberId);
    } else if (o.memberId !== null) {
      expect(ctx(r).members.find((m) => m.id === o.memberId)?.state).toBe('ready');
    }
  }
}

function checkInvariants(m: Model, r: Real): void {
  const snap = r.actor.getSnapshot();
  const c = snap.context;
  expect(c.members.length).toBeGreaterThanOrEqual(0);
  expect(c.members.length).toBeLessThanOrEqual(CONFIG.max);
  if (m.started && snap.matches('active')) {
    expect(c.members.filter((x) => x.state !== 'closing').length).toBeGreaterThanOrEqual(CONFIG.min);
  }
  const ready = c.members.filter((x) => x.state === 'ready');
  if (ready.length > 0) expect(ready.map((x) => x.id)).toContain(c.primaryId);
  else expect(c.primaryId).toBeNull();
  // The ledger agrees with the calls we know are in flight.
  for (const x of c.members) {
    expect(c.ledger.inFlight(x.id)).toBe(r.calls.filter((id) => id === x.id).length);
  }
  // Saturation is known to the machine exactly when every ready member is busy (or it was told and nothing freed yet).
  if (c.busySinceMs !== null) expect(snap.matches('active')).toBe(true);
}

function step(
  run: (m: Model, r: Real) => void,
  label: string,
  check: (m: Model) => boolean = () => true,
): Cmd {
  return {
    check,
    run(m, r) {
      run(m, r);
      drain(r);
      checkInvariants(m, r);
    },
    toString: () => label,
  };
}

const commands = [
  fc.nat(5).map((i) =>
    step((_m, r) => {
      const list = membersIn(r, 'starting');
      const x = list[i % Math.max(1, list.length)];
      if (x) r.actor.send({ type: 'MEMBER_READY', memberId: x.id, nowMs: now(r) });
    }, `ready(${i})`),
  ),
  fc.nat(5).map((i) =>
    step((_m, r) => {
      const list = ctx(r).members.filter((x) => x.state === 'starting' || x.state === 'ready');
      const x = list[i % Math.max(1, list.length)];
      if (x) r.actor.send({ type: 'MEMBER_FAILED', memberId: x.id, nowMs: now(r) });
    }, `fail(${i})`),
  ),
  fc.nat(5).map((i) =>
    step((_m, r) => {
      const list = membersIn(r, 'closing');
      const x = list[i % Math.max(1, list.length)];
      if (x) r.actor.send({ type: 'MEMBER_CLOSED', memberId: x.id, nowMs: now(r) });
    }, `closed(${i})`),
  ),
  fc.constant(
    step((_m, r) => {
      const c = ctx(r);
      const id = pickMember(c);
      const ready = c.members.filter((x) => x.state === 'ready');
      if (id === undefined) {
        expect(ready).toEqual([]);
        r.actor.send({ type: 'DEMAND', nowMs: now(r) });
        return;
      }
      const loadOf = (mid: string) => r.calls.filter((x) => x === mid).length;
      expect(ready.map((x) => x.id)).toContain(id);
      expect(loadOf(id)).toBe(Math.min(...ready.map((x) => loadOf(x.id))));
      r.calls.push(id);
      if (acquireMember(c, id, now(r))) r.actor.send({ type: 'SATURATED', nowMs: now(r) });
    }, 'dispatch'),
  ),
  fc.nat(20).map((i) =>
    step((_m, r) => {
      if (r.calls.length === 0) return;
      const [id] = r.calls.splice(i % r.calls.length, 1) as [string];
      if (releaseMember(ctx(r), id, now(r))) r.actor.send({ type: 'UNSATURATED', nowMs: now(r) });
    }, `complete(${i})`),
  ),
  fc.integer({ min: 1, max: 700 }).map((ms) =>
    step((_m, r) => {
      r.clock.increment(ms);
    }, `advance(${ms})`),
  ),
];

describe('pool machine properties (fast-check, virtual clock)', () => {
  it('size, min, least-loaded dispatch and the primary hold under any sequence', () => {
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 80, size: 'large' }), (cmds) => {
        const clock = new SimulatedClock();
        const actor = createActor(poolMachine, { input: { ...CONFIG, nowMs: 0 }, clock });
        actor.start();
        actor.send({ type: 'START', nowMs: 0 });
        const real: Real = { actor, clock, calls: [], opened: new Set(), closeAsked: new Set() };
        drain(real);
        fc.modelRun(() => ({ model: { started: true }, real }), cmds);
        actor.stop();
      }),
      { numRuns: 120 },
    );
  });
});

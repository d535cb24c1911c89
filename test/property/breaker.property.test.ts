/**
 * Property test of the breaker as the runtime drives it: calls go through canPass (and
 * PROBE_STARTED when told), outcomes are sent only when needsEvent says so, time moves on a
 * SimulatedClock. Checked against a reference model after every command:
 * - the circuit opens after exactly `failureThreshold` consecutive counted failures while closed;
 * - no more than `halfOpenProbes` probes are admitted per half-open phase (a probe that ends
 *   `ignored`, e.g. cancelled, gives no verdict and hands its slot back; a probe of an earlier
 *   phase that ends late decides nothing);
 * - an outcome the hot path skips (needsEvent false) really is a no-op for the machine;
 * - an open breaker rejects with retryAfterMs = openUntil - now and never hangs past its deadline.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Actor, createActor, SimulatedClock, transition } from 'xstate';
import {
  type BreakerMachine,
  breakerMachine,
  canPass,
  needsEvent,
  outcomeEvent,
} from '../../src/machines/breaker.js';
import type { BreakerOutcome } from '../../src/machines/breaker-failure-policy.js';

const NUM_RUNS = 300;
const CONFIG = {
  failureThreshold: 3,
  resetTimeoutMs: 1000,
  halfOpenProbes: 2,
  resetBackoffFactor: 2,
  maxResetTimeoutMs: 4000,
};

interface Model {
  /** Counted failures in a row finished while closed. */
  consecutive: number;
  /** Probes admitted in the current half-open phase, less those that ended `ignored`. */
  admittedThisPhase: number;
  phaseId: number;
}

interface Real {
  actor: Actor<BreakerMachine>;
  clock: SimulatedClock;
  inFlight: { probe: boolean; phase: number; probePhase: number | undefined }[];
  lastState: string;
}

const now = (r: Real) => r.clock.now();

/** How often the runs got where the properties bite (asserted, so a toothless generator fails). */
const reached = { opened: 0, fullHalfOpen: 0, closedAgain: 0 };

function track(m: Model, r: Real): void {
  const state = String(r.actor.getSnapshot().value);
  if (state !== r.lastState && state === 'halfOpen') {
    m.phaseId++;
    m.admittedThisPhase = 0;
  }
  if (state !== r.lastState && state === 'closed') {
    m.consecutive = 0;
    reached.closedAgain++;
  }
  if (state !== r.lastState && state === 'open') reached.opened++;
  if (state === 'halfOpen' && m.admittedThisPhase === CONFIG.halfOpenProbes) reached.fullHalfOpen++;
  r.lastState = state;
  expect(m.admittedThisPhase).toBeLessThanOrEqual(CONFIG.halfOpenProbes);
  const c = r.actor.getSnapshot().context;
  if (state === 'open') {
    expect(c.openUntil).not.toBeNull();
    expect(now(r)).toBeLessThan(c.openUntil as number); // a passed deadline never leaves it hanging in open
  }
}

class CallCommand implements fc.Command<Model, Real> {
  check = () => true;
  run(m: Model, r: Real): void {
    const ctx = r.actor.getSnapshot().context;
    const d = canPass(ctx, now(r));
    if (!d.allow) {
      expect(r.actor.getSnapshot().value).not.toBe('closed');
      if (ctx.circuit === 'open') expect(d.retryAfterMs).toBe((ctx.openUntil as number) - now(r));
      return;
    }
    if (d.probe) {
      r.actor.send({ type: 'PROBE_STARTED', nowMs: now(r) });
      expect(r.actor.getSnapshot().value).toBe('halfOpen');
      track(m, r);
      m.admittedThisPhase++;
    } else {
      expect(r.actor.getSnapshot().value).toBe('closed');
    }
    r.inFlight.push({ probe: d.probe, phase: m.phaseId, probePhase: d.probe ? d.phase : undefined });
    track(m, r);
  }
  toString = () => 'call';
}

class FinishCommand implements fc.Command<Model, Real> {
  constructor(
    readonly pick: number,
    readonly outcome: BreakerOutcome,
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    if (r.inFlight.length === 0) return;
    const [call] = r.inFlight.splice(this.pick % r.inFlight.length, 1);
    if (call === undefined) return;
    const before = r.actor.getSnapshot();
    const event = outcomeEvent(this.outcome, now(r), call.probePhase);
    if (!needsEvent(before.context, this.outcome, call.probePhase)) {
      const [after] = transition(breakerMachine, before, event);
      expect(after.value).toEqual(before.value);
      expect(after.context).toEqual(before.context);
    } else {
      r.actor.send(event);
    }
    // A probe that ends `ignored` (e.g. cancelled) gave no verdict and hands its slot back.
    if (call.probe && call.phase === m.phaseId && before.value === 'halfOpen' && this.outcome === 'ignored') {
      m.admittedThisPhase--;
    }
    const wasClosed = before.value === 'closed';
    if (wasClosed && this.outcome === 'success') m.consecutive = 0;
    if (wasClosed && this.outcome === 'failure') {
      m.consecutive++;
      const state = r.actor.getSnapshot().value;
      if (m.consecutive === CONFIG.failureThreshold) {
        expect(state).toBe('open');
        expect(r.actor.getSnapshot().context.lastTransition?.reason).toBe('consecutive');
      } else {
        expect(state).toBe('closed');
      }
    }
    track(m, r);
  }
  toString = () => `finish(${this.pick}, ${this.outcome})`;
}

class AdvanceCommand implements fc.Command<Model, Real> {
  constructor(readonly ms: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    r.clock.increment(this.ms);
    track(m, r);
  }
  toString = () => `advance(${this.ms})`;
}

describe('breaker properties', () => {
  it(`opens after exactly failureThreshold failures; half-open admits at most halfOpenProbes (numRuns ${NUM_RUNS})`, () => {
    const commands = [
      fc.constant(new CallCommand()),
      fc
        .tuple(fc.nat(20), fc.constantFrom<BreakerOutcome>('success', 'failure', 'failure', 'ignored'))
        .map(([p, o]) => new FinishCommand(p, o)),
      fc.integer({ min: 1, max: 1500 }).map((ms) => new AdvanceCommand(ms)),
    ];
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 150, size: 'large' }), (cmds) => {
        const clock = new SimulatedClock();
        const actor = createActor(breakerMachine, { clock, input: { config: CONFIG, nowMs: 0 } }).start();
        const real: Real = { actor, clock, inFlight: [], lastState: 'closed' };
        fc.modelRun(() => ({ model: { consecutive: 0, admittedThisPhase: 0, phaseId: 0 }, real }), cmds);
        actor.stop();
      }),
      { numRuns: NUM_RUNS },
    );
    expect(reached.opened).toBeGreaterThan(NUM_RUNS / 10);
    expect(reached.fullHalfOpen).toBeGreaterThan(0);
    expect(reached.closedAgain).toBeGreaterThan(0);
  });
});

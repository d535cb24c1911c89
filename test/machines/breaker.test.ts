/** Unit tests of the breaker's pieces the model test does not walk: policy, config, rate, persistence. */

import { describe, expect, it } from 'vitest';
import { createActor, initialTransition, SimulatedClock, transition } from 'xstate';
import {
  AuthError,
  BreakerOpenError,
  CancelledError,
  ConfigError,
  ConnectionLostError,
  ProtocolError,
  RemoteError,
  TimeoutError,
  ToolError,
  ValidationError,
} from '../../src/errors/index.js';
import {
  breakerMachine,
  breakerPersistedState,
  canPass,
  needsEvent,
  outcomeEvent,
} from '../../src/machines/breaker.js';
import { MAX_TIMER_MS, resolveBreakerConfig } from '../../src/machines/breaker-config.js';
import { classifyBreakerOutcome, countsAsBreakerFailure } from '../../src/machines/breaker-failure-policy.js';
import { createRateState, rateStrategy, rateTotals } from '../../src/machines/breaker-rate.js';

describe('countsAsBreakerFailure / classifyBreakerOutcome', () => {
  const cases: [string, unknown, boolean, string][] = [
    ['connection lost', new ConnectionLostError('gone'), true, 'failure'],
    ['timeout', new TimeoutError('slow', 100), true, 'failure'],
    ['protocol', new ProtocolError('bad frame'), true, 'failure'],
    ['internal error -32603', new RemoteError('boom', -32603, null), true, 'failure'],
    ['server error -32000', new RemoteError('srv', -32000, null), true, 'failure'],
    ['server error -32099', new RemoteError('srv', -32099, null), true, 'failure'],
    ['HTTP 503 as rpcCode', new RemoteError('unavailable', 503, null), true, 'failure'],
    ['HTTP 502 in data', new RemoteError('bad gw', -1, { status: 502 }), true, 'failure'],
    ['HTTP 500 in cause', new RemoteError('x', -1, null, { cause: { code: 500 } }), true, 'failure'],
    ['invalid params -32602', new RemoteError('bad', -32602, null), false, 'success'],
    ['method not found -32601', new RemoteError('nf', -32601, null), false, 'success'],
    ['-32100 is outside the server range', new RemoteError('x', -32100, null), false, 'success'],
    ['HTTP 404 in data', new RemoteError('nf', -1, { status: 404 }), false, 'success'],
    ['tool isError', new ToolError('no', 'echo', {}), false, 'success'],
    ['auth', new AuthError('401', { status: 401 }), false, 'success'],
    ['cancelled', new CancelledError(), false, 'ignored'],
    ['validation', new ValidationError('bad', 'args.x'), false, 'ignored'],
    ['breaker open', new BreakerOpenError('open', 10), false, 'ignored'],
    ['foreign error', new Error('x'), false, 'ignored'],
    ['a thrown string', 'boom', false, 'ignored'],
    ['null', null, false, 'ignored'],
  ];
  for (const [name, error, counts, outcome] of cases) {
    it(`${name}: counts=${counts}, outcome=${outcome}`, () => {
      expect(countsAsBreakerFailure(error)).toBe(counts);
      expect(classifyBreakerOutcome(error)).toBe(outcome);
    });
  }
  it('no error is a success', () => expect(classifyBreakerOutcome(undefined)).toBe('success'));
});

describe('resolveBreakerConfig', () => {
  it('fills defaults', () => {
    expect(resolveBreakerConfig({ failureThreshold: 5, resetTimeoutMs: 60_000 })).toEqual({
      failureThreshold: 5,
      resetTimeoutMs: 60_000,
      halfOpenProbes: 1,
      resetBackoffFactor: 1,
      maxResetTimeoutMs: 600_000,
      rate: null,
    });
  });
  const bad: [string, object, string][] = [
    ['zero threshold', { failureThreshold: 0, resetTimeoutMs: 1 }, 'breaker.failureThreshold'],
    ['fractional threshold', { failureThreshold: 1.5, resetTimeoutMs: 1 }, 'breaker.failureThreshold'],
    ['negative reset', { failureThreshold: 1, resetTimeoutMs: -1 }, 'breaker.resetTimeoutMs'],
    [
      'reset beyond a timer',
      { failureThreshold: 1, resetTimeoutMs: MAX_TIMER_MS + 1 },
      'breaker.resetTimeoutMs',
    ],
    ['NaN reset', { failureThreshold: 1, resetTimeoutMs: Number.NaN }, 'breaker.resetTimeoutMs'],
    ['zero probes', { failureThreshold: 1, resetTimeoutMs: 1, halfOpenProbes: 0 }, 'breaker.halfOpenProbes'],
    [
      'shrinking factor',
      { failureThreshold: 1, resetTimeoutMs: 1, resetBackoffFactor: 0.5 },
      'breaker.resetBackoffFactor',
    ],
    [
      'max below reset',
      { failureThreshold: 1, resetTimeoutMs: 10, maxResetTimeoutMs: 5 },
      'breaker.maxResetTimeoutMs',
    ],
    ['rate above 1', { failureThreshold: 1, resetTimeoutMs: 1, rateThreshold: 1.5 }, 'breaker.rateThreshold'],
    [
      'window without rate',
      { failureThreshold: 1, resetTimeoutMs: 1, windowMs: 10 },
      'breaker.rateThreshold',
    ],
    ['string threshold', { failureThreshold: '5', resetTimeoutMs: 1 }, 'breaker.failureThreshold'],
  ];
  for (const [name, config, path] of bad) {
    it(`rejects ${name} naming ${path}`, () => {
      let caught: unknown;
      try {
        resolveBreakerConfig(config as never);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).code).toBe('CONFIG');
      expect((caught as ConfigError).issues.map((i) => i.path)).toContain(path);
    });
  }
  it('the machine refuses a bad config with a ConfigError', () => {
    const [s] = initialTransition(breakerMachine, {
      config: { failureThreshold: 0, resetTimeoutMs: 1 },
      nowMs: 0,
    });
    expect(s.status).toBe('error');
    expect((s as { error?: unknown }).error).toBeInstanceOf(ConfigError);
  });
});

describe('rate strategy', () => {
  it('opens only past minimumCalls and at the threshold share', () => {
    let s = createRateState({ rateThreshold: 0.5, windowMs: 1000, minimumCalls: 4 });
    s = rateStrategy.failure(s, 0);
    s = rateStrategy.failure(s, 1);
    expect(rateStrategy.shouldOpen(s)).toBe(false); // 2 calls < minimumCalls
    s = rateStrategy.success(s, 2);
    s = rateStrategy.success(s, 3);
    expect(rateTotals(s)).toEqual({ failures: 2, calls: 4 });
    expect(rateStrategy.shouldOpen(s)).toBe(true);
  });
  it('forgets buckets that slid out of the window', () => {
    let s = createRateState({ rateThreshold: 0.5, windowMs: 1000, minimumCalls: 1, bucketCount: 10 });
    s = rateStrategy.failure(s, 0);
    s = rateStrategy.success(s, 1500);
    expect(rateTotals(s)).toEqual({ failures: 0, calls: 1 });
    expect(s.buckets).toHaveLength(10);
  });
  it('the machine opens on the rate with reason "rate" while the consecutive count is low', () => {
    const input = {
      config: {
        failureThreshold: 100,
        resetTimeoutMs: 50,
        rateThreshold: 0.5,
        windowMs: 10_000,
        minimumCalls: 4,
      },
      nowMs: 0,
    };
    let [s] = initialTransition(breakerMachine, input);
    for (const [i, type] of (['SUCCESS', 'FAILURE', 'SUCCESS', 'FAILURE'] as const).entries()) {
      expect(needsEvent(s.context, type === 'FAILURE' ? 'failure' : 'success')).toBe(true); // rate counts successes
      [s] = transition(breakerMachine, s, { type, nowMs: i + 1 });
    }
    expect(s.value).toBe('open');
    expect(s.context.lastTransition?.reason).toBe('rate');
  });
});

describe('hot-path helpers', () => {
  const input = { config: { failureThreshold: 1, resetTimeoutMs: 100, halfOpenProbes: 1 }, nowMs: 0 };
  it('closed: allow without probe; successes with no failures need no event', () => {
    const [s] = initialTransition(breakerMachine, input);
    expect(canPass(s.context, 5)).toEqual({ allow: true, probe: false });
    expect(needsEvent(s.context, 'success')).toBe(false);
    expect(needsEvent(s.context, 'ignored')).toBe(false);
    expect(needsEvent(s.context, 'failure')).toBe(true);
  });
  it('open: rejects with the time left, then admits one probe once the deadline passed', () => {
    let [s] = initialTransition(breakerMachine, input);
    [s] = transition(breakerMachine, s, { type: 'FAILURE', nowMs: 10 });
    expect(canPass(s.context, 40)).toEqual({ allow: false, retryAfterMs: 70 });
    expect(needsEvent(s.context, 'failure')).toBe(false); // stragglers do not count
    expect(canPass(s.context, 110)).toEqual({ allow: true, probe: true, phase: 1 });
    [s] = transition(breakerMachine, s, { type: 'PROBE_STARTED', nowMs: 110 });
    expect(s.value).toBe('halfOpen');
    expect(canPass(s.context, 111)).toEqual({ allow: false, retryAfterMs: 0 });
    expect(needsEvent(s.context, 'success')).toBe(false); // a straggler from the closed era
    expect(needsEvent(s.context, 'success', 0)).toBe(false); // a probe of an older phase
    expect(needsEvent(s.context, 'success', 1)).toBe(true);
    const [stale] = transition(breakerMachine, s, outcomeEvent('success', 112, 0));
    expect(stale.context).toBe(s.context);
    [s] = transition(breakerMachine, s, outcomeEvent('success', 112, 1));
    expect(s.value).toBe('closed');
  });
  it('outcomeEvent maps outcomes to events', () => {
    expect(outcomeEvent('failure', 3, 2)).toEqual({ type: 'FAILURE', nowMs: 3, probePhase: 2 });
    expect(outcomeEvent('ignored', 4)).toEqual({ type: 'IGNORED', nowMs: 4 });
  });
});

describe('persistence', () => {
  const config = {
    failureThreshold: 1,
    resetTimeoutMs: 1000,
    resetBackoffFactor: 2,
    maxResetTimeoutMs: 8000,
  };
  it('an open breaker restored before its deadline stays open and re-arms its timer', () => {
    let [s] = initialTransition(breakerMachine, { config, nowMs: 0 });
    [s] = transition(breakerMachine, s, { type: 'FAILURE', nowMs: 100 });
    const persisted = JSON.parse(JSON.stringify(breakerPersistedState(s.context)));
    expect(persisted).toEqual({ circuit: 'open', openUntil: 1100, resetTimeoutMs: 1000, openedCount: 1 });
    const clock = new SimulatedClock();
    const actor = createActor(breakerMachine, {
      clock,
      input: { config, nowMs: 600, restore: persisted },
    }).start();
    expect(actor.getSnapshot().value).toBe('open');
    clock.increment(499);
    expect(actor.getSnapshot().value).toBe('open');
    clock.increment(1);
    expect(actor.getSnapshot().value).toBe('halfOpen');
    actor.stop();
  });
  it('a breaker restored after its deadline goes to halfOpen at once, keeping the grown timeout', () => {
    const restore = { circuit: 'halfOpen' as const, openUntil: 1100, resetTimeoutMs: 4000, openedCount: 3 };
    const actor = createActor(breakerMachine, { input: { config, nowMs: 5000, restore } }).start();
    expect(actor.getSnapshot().value).toBe('halfOpen');
    actor.send({ type: 'PROBE_STARTED', nowMs: 5001 });
    actor.send({ type: 'FAILURE', nowMs: 5002, probePhase: 3 });
    expect(actor.getSnapshot().context.openUntil).toBe(5002 + 8000);
    actor.stop();
  });
  it('a deadline beyond the longest reset timeout is clamped (corrupt store, clock jump)', () => {
    const restore = { circuit: 'open' as const, openUntil: 1e15, resetTimeoutMs: 1000, openedCount: 1 };
    const [s] = initialTransition(breakerMachine, { config, nowMs: 0, restore });
    expect(s.context.openUntil).toBe(8000);
  });
  it('a restored closed breaker starts closed', () => {
    const restore = { circuit: 'closed' as const, openUntil: null, resetTimeoutMs: 1000, openedCount: 2 };
    const [s] = initialTransition(breakerMachine, { config, nowMs: 0, restore });
    expect(s.value).toBe('closed');
    expect(s.context.openedCount).toBe(2);
  });
});

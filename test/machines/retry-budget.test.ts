/**
 * The retry budget: retries over the window stay within `ratio` × calls, or `minRetries` when that
 * is more, so a quiet server's few calls caught by one restart all retry while a storm at volume
 * is bounded by the ratio. The default floor is 10 (config.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RetryBudget } from '../../src/machines/retry-policy.js';
import { resolveConfig } from '../../src/runtime/config.js';

/** Retries granted when `calls` first attempts each ask for `asksPerCall` retries. */
function granted(budget: RetryBudget, calls: number, asks: number, nowMs = 1_000): number {
  for (let i = 0; i < calls; i++) budget.recordCall(nowMs);
  let n = 0;
  for (let i = 0; i < asks; i++) if (budget.tryTakeRetry(nowMs)) n++;
  return n;
}

describe('retry budget', () => {
  it('a quiet server: two calls caught by a restart both retry (default floor 10)', () => {
    const { retry } = resolveConfig({ servers: { s: { url: 'ws://127.0.0.1:9' } } }).servers.get('s')!;
    expect(retry.budgetMinRetries).toBe(10);
    const budget = new RetryBudget(retry.budgetRatio, retry.budgetWindowMs, retry.budgetMinRetries);
    expect(granted(budget, 2, 2)).toBe(2);
    // The floor is a bound too: the eleventh retry in the window is denied.
    expect(granted(budget, 0, 20)).toBe(8);
  });

  it('at volume the ratio bounds the retries; the window forgets old calls and retries', () => {
    const budget = new RetryBudget(0.2, 10_000, 10);
    expect(granted(budget, 200, 100)).toBe(40);
    // A window later, nothing is counted any more: the floor again.
    expect(granted(budget, 0, 100, 1_000 + 10_001)).toBe(10);
  });

  it('never more than max(minRetries, floor(calls × ratio)) retries in a window (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 0, max: 500 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 50 }),
        (calls, asks, ratio, minRetries) => {
          const budget = new RetryBudget(ratio, 10_000, minRetries);
          const allowed = Math.max(1, minRetries, Math.floor(calls * ratio));
          expect(granted(budget, calls, asks)).toBe(Math.min(asks, allowed));
        },
      ),
      { numRuns: 300 },
    );
  });
});

/**
 * The bench's statistics (bench/report.ts): a verdict is only as good as the interval behind it.
 * No timing here: fixed samples in, known figures out.
 */
import { describe, expect, it } from 'vitest';
import { bootstrap, pooledPercentileRatio, verdictOf } from '../bench/report.js';

const rounds = (...xs: number[][]) => xs.map((x) => Float64Array.from(x).sort());

describe('bench statistics', () => {
  it('verdicts: PASS when the whole interval clears the target, MISS when none of it does', () => {
    const atMost = { on: 'ratio', op: '<=', limit: 1.1 } as const;
    expect(verdictOf([0.9, 1.05], atMost)).toBe('PASS');
    expect(verdictOf([1.05, 1.2], atMost)).toBe('UNSURE');
    expect(verdictOf([1.15, 1.2], atMost)).toBe('MISS');
  });

  it('bootstrap: seeded, inside the sample range', () => {
    const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const a = bootstrap([1, 2, 3, 4], mean);
    expect(bootstrap([1, 2, 3, 4], mean)).toEqual(a);
    expect(a[0]).toBeGreaterThanOrEqual(1);
    expect(a[1]).toBeLessThanOrEqual(4);
  });

  it('pooled percentile: of every sample of every round, not a median of per-round percentiles', () => {
    // Five slow calls, all in one round: per-round p99s are 1000, 100, 100 (median 100); pooled,
    // the p99 of the 300 calls is 1000.
    const fast = (n: number) => Array.from({ length: n }, () => 100);
    const slow = Array.from({ length: 5 }, () => 1_000);
    const subject = rounds([...fast(95), ...slow], fast(100), fast(100));
    const baseline = rounds(fast(100), fast(100), fast(100));
    const q = pooledPercentileRatio(subject, baseline, 0.99);
    expect(q.subject).toBe(1_000);
    expect(q.baseline).toBe(100);
    expect(q.ratio).toBe(10);
    expect(q.interval[0]).toBe(1);
    expect(q.interval[1]).toBe(10);
    const median = pooledPercentileRatio(subject, baseline, 0.5);
    expect(median.ratio).toBe(1);
  });

  it('pooled percentile: the interval resamples whole rounds, so a round that differs widens it', () => {
    const subject = rounds([100, 100, 100], [100, 100, 100], [300, 300, 300]);
    const baseline = rounds([100, 100, 100], [100, 100, 100], [100, 100, 100]);
    const q = pooledPercentileRatio(subject, baseline, 0.5);
    expect(q.ratio).toBe(1);
    expect(q.interval[0]).toBe(1);
    expect(q.interval[1]).toBe(3);
  });
});

/**
 * Failure-rate strategy: opens when, over the last `windowMs`, at least `minimumCalls` calls
 * finished and the share of counted failures is >= `rateThreshold`.
 *
 * The window is a ring of `bucketCount` fixed buckets of `windowMs / bucketCount` each, keyed by
 * epoch (`floor(nowMs / bucketMs)`); a stale bucket is reset when its slot comes round again. So an
 * outcome costs O(bucketCount) = O(1) whatever the call rate, and the state stays small JSON.
 * Successes change the window, so with this strategy a success is one breaker event.
 */
import type { BreakerStrategy } from './breaker-strategy.js';

/** One bucket of the window. */
export interface RateBucket {
  /** `floor(nowMs / bucketMs)` of the calls counted here; -1 for an unused bucket. */
  readonly epoch: number;
  readonly failures: number;
  readonly calls: number;
}

/** Serialisable state of the rate strategy. */
export interface RateState {
  readonly kind: 'rate';
  /** Failure share in (0, 1] that opens the circuit. */
  readonly rateThreshold: number;
  readonly windowMs: number;
  /** Calls the window must hold before the rate is trusted. */
  readonly minimumCalls: number;
  readonly bucketMs: number;
  readonly buckets: readonly RateBucket[];
}

const EMPTY: RateBucket = { epoch: -1, failures: 0, calls: 0 };

function record(s: RateState, nowMs: number, failed: boolean): RateState {
  const epoch = Math.floor(nowMs / s.bucketMs);
  const slot = epoch % s.buckets.length;
  const old = s.buckets[slot] ?? EMPTY;
  const base = old.epoch === epoch ? old : { epoch, failures: 0, calls: 0 };
  const buckets = s.buckets.slice();
  buckets[slot] = { epoch, failures: base.failures + (failed ? 1 : 0), calls: base.calls + 1 };
  return { ...s, buckets };
}

/** Failures and calls in the window that ends at the newest bucket seen. */
export function rateTotals(s: RateState): { failures: number; calls: number } {
  let newest = -1;
  for (const b of s.buckets) if (b.epoch > newest) newest = b.epoch;
  let failures = 0;
  let calls = 0;
  for (const b of s.buckets) {
    if (b.epoch >= 0 && b.epoch > newest - s.buckets.length) {
      failures += b.failures;
      calls += b.calls;
    }
  }
  return { failures, calls };
}

/**
 * The rate strategy.
 *
 * @example
 * let s = createRateState({ rateThreshold: 0.5, windowMs: 10_000, minimumCalls: 2 });
 * s = rateStrategy.failure(rateStrategy.success(s, 0), 1);
 * rateStrategy.shouldOpen(s); // true: 1 of 2 failed
 */
export const rateStrategy: BreakerStrategy<RateState> = {
  successMatters: () => true,
  success: (s, nowMs) => record(s, nowMs, false),
  failure: (s, nowMs) => record(s, nowMs, true),
  shouldOpen: (s) => {
    const { failures, calls } = rateTotals(s);
    return calls >= s.minimumCalls && calls > 0 && failures / calls >= s.rateThreshold;
  },
  reset: (s) => ({ ...s, buckets: s.buckets.map(() => EMPTY) }),
};

/** Options of the rate strategy. */
export interface RateOptions {
  rateThreshold: number;
  windowMs: number;
  minimumCalls: number;
  /** Buckets in the window (default 10). */
  bucketCount?: number;
}

/** A fresh rate state. */
export function createRateState(options: RateOptions): RateState {
  const count = Math.max(1, Math.floor(options.bucketCount ?? 10));
  return {
    kind: 'rate',
    rateThreshold: options.rateThreshold,
    windowMs: options.windowMs,
    minimumCalls: options.minimumCalls,
    bucketMs: Math.max(1, Math.ceil(options.windowMs / count)),
    buckets: Array.from({ length: count }, () => EMPTY),
  };
}

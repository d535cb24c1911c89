/**
 * Consecutive-failure strategy: opens after `threshold` counted failures in a row; any success
 * resets the count. A success with a zero count changes nothing, so on a healthy server the
 * runtime sends no breaker event at all.
 */
import type { BreakerStrategy } from './breaker-strategy.js';

/** Serialisable state of the consecutive strategy. */
export interface ConsecutiveState {
  readonly kind: 'consecutive';
  /** Failures in a row that open the circuit (>= 1). */
  readonly threshold: number;
  /** Counted failures in a row so far. */
  readonly failures: number;
}

/**
 * The consecutive strategy.
 *
 * @example
 * const s = consecutiveStrategy.failure({ kind: 'consecutive', threshold: 1, failures: 0 }, 0);
 * consecutiveStrategy.shouldOpen(s); // true
 */
export const consecutiveStrategy: BreakerStrategy<ConsecutiveState> = {
  successMatters: (s) => s.failures !== 0,
  success: (s) => (s.failures === 0 ? s : { ...s, failures: 0 }),
  failure: (s) => ({ ...s, failures: s.failures + 1 }),
  shouldOpen: (s) => s.failures >= s.threshold,
  reset: (s) => (s.failures === 0 ? s : { ...s, failures: 0 }),
};

/** A fresh consecutive state. */
export function createConsecutiveState(threshold: number): ConsecutiveState {
  return { kind: 'consecutive', threshold, failures: 0 };
}

/**
 * The breaker's counting strategies, cockatiel `IBreaker` style: a tiny interface that decides,
 * from the outcomes it has seen, whether the circuit should open. Unlike cockatiel the state is
 * plain JSON data held in the machine's context (so a persisted breaker restores), and every
 * method is a pure function returning the next state.
 *
 * Strategies shipped: {@link consecutiveStrategy} (N consecutive counted failures) and
 * {@link rateStrategy} (failure rate over a sliding window of fixed buckets). The machine runs
 * every configured strategy; the first that wants to open names the reason.
 */
import { type ConsecutiveState, consecutiveStrategy } from './breaker-consecutive.js';
import { type RateState, rateStrategy } from './breaker-rate.js';

/** A counting strategy: pure functions over its own serialisable state. */
export interface BreakerStrategy<TState extends { readonly kind: string }> {
  /** Whether recording a success would change `state` (false lets the hot path skip the event). */
  successMatters(state: TState): boolean;
  /** The state after a successful call at `nowMs`. */
  success(state: TState, nowMs: number): TState;
  /** The state after a counted failure at `nowMs`. */
  failure(state: TState, nowMs: number): TState;
  /** Whether the circuit should open now. */
  shouldOpen(state: TState): boolean;
  /** The state after the circuit opened or closed (counts start again). */
  reset(state: TState): TState;
}

/** The state of any shipped strategy (a discriminated union on `kind`). */
export type StrategyState = ConsecutiveState | RateState;

/** The reason a strategy gives for opening: its `kind`. */
export type StrategyKind = StrategyState['kind'];

function strategyOf(state: StrategyState): BreakerStrategy<StrategyState> {
  // The union is closed, so a lookup by kind is exhaustive; the cast erases the per-kind pairing.
  return (
    state.kind === 'consecutive' ? consecutiveStrategy : rateStrategy
  ) as BreakerStrategy<StrategyState>;
}

/**
 * Whether any strategy would change on a success.
 *
 * @example
 * successMattersFor([{ kind: 'consecutive', threshold: 3, failures: 0 }]); // false: skip the event
 */
export function successMattersFor(states: readonly StrategyState[]): boolean {
  for (const s of states) if (strategyOf(s).successMatters(s)) return true;
  return false;
}

/** Every strategy's state after a success at `nowMs`. */
export function recordSuccess(states: readonly StrategyState[], nowMs: number): StrategyState[] {
  return states.map((s) => strategyOf(s).success(s, nowMs));
}

/** Every strategy's state after a counted failure at `nowMs`. */
export function recordFailure(states: readonly StrategyState[], nowMs: number): StrategyState[] {
  return states.map((s) => strategyOf(s).failure(s, nowMs));
}

/** The kind of the first strategy that wants the circuit open, or `undefined`. */
export function openingStrategy(states: readonly StrategyState[]): StrategyKind | undefined {
  for (const s of states) if (strategyOf(s).shouldOpen(s)) return s.kind;
  return undefined;
}

/** Every strategy's state reset (after opening or closing). */
export function resetStrategies(states: readonly StrategyState[]): StrategyState[] {
  return states.map((s) => strategyOf(s).reset(s));
}

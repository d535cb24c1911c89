/**
 * Circuit breaker for one server (or one tool): closed / open / halfOpen.
 *
 * - closed: calls pass. Counted failures feed the strategies (consecutive, and the failure rate
 *   over a window when configured); the first that wants it opens the circuit.
 * - open: calls fail fast (BREAKER_OPEN with `retryAfterMs`) until `openUntil`, a timestamp in
 *   context. The named delay `resetTimeout` is computed from context (`openUntil - nowMs`).
 * - halfOpen: `halfOpenProbes` probes are admitted; when all succeed the circuit closes, any probe
 *   failure re-opens it with the reset timeout grown by `resetBackoffFactor` (capped).
 *
 * - Opened by the connection: when the failure that opened the circuit was the way to the server
 *   (a lost connection, or no ready connection in time: FAILURE with `connection: true`), the
 *   reconnect is evidence the server is back: CONNECTION_READY moves open → halfOpen at once,
 *   without waiting out the reset timeout. A circuit opened by anything else ignores it.
 *
 * Pure: time comes in with every event (`nowMs`), never from a clock of its own.
 *
 * Hot path: the runtime does not send an event per call. It asks {@link canPass} synchronously
 * on the current context, and sends an outcome only when {@link needsEvent} says it changes state.
 * With the default consecutive strategy a success on a healthy server costs no event at all.
 * Outcomes of calls admitted while closed that finish later (stragglers) are ignored in open and
 * halfOpen: only probes of the current phase (`probePhase`) decide a half-open phase.
 *
 * Restore: pass {@link breakerPersistedState} back as `input.restore`. The machine starts in the
 * transient `init` state, which routes to `open` when a deadline was persisted; `open` checks the
 * deadline on entry (eventless), so a deadline already in the past goes straight to halfOpen and a
 * future one re-arms its timer. (A snapshot restored with xstate's own `snapshot:` option gets no
 * timers back; prefer `input.restore`.)
 */
import { assign, setup } from 'xstate';
import { type BreakerConfig, type ResolvedBreakerConfig, resolveBreakerConfig } from './breaker-config.js';
import { createConsecutiveState } from './breaker-consecutive.js';
import type { BreakerOutcome } from './breaker-failure-policy.js';
import { createRateState } from './breaker-rate.js';
import {
  openingStrategy,
  recordFailure,
  recordSuccess,
  resetStrategies,
  type StrategyState,
  successMattersFor,
} from './breaker-strategy.js';

export type { BreakerConfig, ResolvedBreakerConfig } from './breaker-config.js';

/** The three circuit states. */
export type BreakerCircuit = 'closed' | 'open' | 'halfOpen';

/** Why the circuit last changed state (for `breaker` events). */
export type BreakerReason =
  | 'consecutive'
  | 'rate'
  | 'resetTimeout'
  | 'probeFailed'
  | 'probesSucceeded'
  | 'reset'
  /** The connection the circuit was opened by became ready again. */
  | 'connectionReady'
  /** Opened by the fleet: another process opened it, or the fleet-wide failure count tripped it. */
  | 'fleet';

/** The last state change: what the runtime turns into a `breaker` event. */
export interface BreakerTransition {
  readonly from: BreakerCircuit;
  readonly to: BreakerCircuit;
  readonly reason: BreakerReason;
  readonly atMs: number;
}

/** What survives a process restart (plain JSON). */
export interface BreakerPersisted {
  readonly circuit: BreakerCircuit;
  /** Open-until deadline (epoch ms) when open or half-open; null when closed. */
  readonly openUntil: number | null;
  /** The current (possibly grown) reset timeout. */
  readonly resetTimeoutMs: number;
  readonly openedCount: number;
}

/** Input of the breaker machine. */
export interface BreakerInput {
  config: BreakerConfig;
  /** The time the actor starts (epoch ms; the machine has no clock). */
  nowMs: number;
  /** A persisted breaker to resume from. */
  restore?: BreakerPersisted;
}

/** The breaker's context. Plain JSON: it is what a snapshot shows and persists. */
export interface BreakerContext {
  readonly config: ResolvedBreakerConfig;
  /** Mirror of the state value, so the hot-path helpers need only the context. */
  readonly circuit: BreakerCircuit;
  readonly strategies: readonly StrategyState[];
  /** Deadline (epoch ms) of the current open phase; null when closed. */
  readonly openUntil: number | null;
  /** Reset timeout for the next open phase (grows on probe failures, back to base on close). */
  readonly resetTimeoutMs: number;
  /** Probes admitted in this half-open phase (minus those that ended `ignored`). */
  readonly probesAdmitted: number;
  readonly probeSuccesses: number;
  /** The latest time seen in an event. */
  readonly nowMs: number;
  readonly openedCount: number;
  /** The current open phase was started by a connection failure (CONNECTION_READY ends it). */
  readonly openedByConnection: boolean;
  readonly lastTransition: BreakerTransition | null;
}

/**
 * Events the breaker accepts. `probePhase` marks the outcome of a call admitted as a probe: the
 * `phase` {@link canPass} returned for it. A probe outcome from an earlier half-open phase (the
 * circuit re-opened meanwhile) decides nothing.
 */
export type BreakerEvent =
  | { type: 'SUCCESS'; nowMs: number; probePhase?: number }
  /** `connection`: the failure was the way to the server (lost connection, none ready in time). */
  | { type: 'FAILURE'; nowMs: number; probePhase?: number; connection?: boolean }
  | { type: 'IGNORED'; nowMs: number; probePhase?: number }
  | { type: 'PROBE_STARTED'; nowMs: number }
  | { type: 'RESET'; nowMs: number }
  /** The server's connection became ready: probes at once if the circuit was opened by the connection. */
  | { type: 'CONNECTION_READY'; nowMs: number }
  /**
   * Opens the circuit from outside (the fleet, see runtime/fleet): for `openForMs` (default the
   * reset timeout), never shortening an open phase already running. Starts a new phase, so
   * outcomes of earlier probes decide nothing.
   */
  | { type: 'TRIP'; nowMs: number; openForMs?: number };

/** The hot-path verdict for one call. A probe carries the `phase` its outcome must report. */
export type BreakerDecision =
  | { readonly allow: true; readonly probe: false }
  | { readonly allow: true; readonly probe: true; readonly phase: number }
  | { readonly allow: false; readonly retryAfterMs: number };

const ALLOW: BreakerDecision = { allow: true, probe: false };

/**
 * May a call pass now? Synchronous, no event, no allocation when closed.
 * On `{ allow: true, probe: true, phase }` the caller must send `PROBE_STARTED` before starting the
 * call (check and send happen in the same tick, so they are atomic) and report its outcome with
 * `probePhase: phase`. `retryAfterMs` is 0 while the half-open verdict is pending.
 *
 * @example
 * const d = canPass(actor.getSnapshot().context, Date.now());
 * if (!d.allow) throw new BreakerOpenError('open', d.retryAfterMs, { server });
 * if (d.probe) actor.send({ type: 'PROBE_STARTED', nowMs }); // keep d.phase with the call
 */
export function canPass(context: BreakerContext, nowMs: number): BreakerDecision {
  switch (context.circuit) {
    case 'closed':
      return ALLOW;
    case 'open': {
      const until = context.openUntil ?? nowMs;
      return nowMs >= until
        ? { allow: true, probe: true, phase: context.openedCount }
        : { allow: false, retryAfterMs: until - nowMs };
    }
    default:
      return context.probesAdmitted < context.config.halfOpenProbes
        ? { allow: true, probe: true, phase: context.openedCount }
        : { allow: false, retryAfterMs: 0 };
  }
}

/**
 * Does this outcome change the breaker? When false, sending it would be a no-op: skip the event.
 *
 * @example
 * const outcome = classifyBreakerOutcome(error);
 * if (needsEvent(ctx, outcome, call.probePhase)) actor.send(outcomeEvent(outcome, Date.now(), call.probePhase));
 */
export function needsEvent(context: BreakerContext, outcome: BreakerOutcome, probePhase?: number): boolean {
  switch (context.circuit) {
    case 'closed':
      return outcome === 'failure' || (outcome === 'success' && successMattersFor(context.strategies));
    case 'halfOpen':
      return probePhase === context.openedCount && context.probesAdmitted > context.probeSuccesses;
    default:
      return false;
  }
}

/**
 * The event reporting `outcome`.
 *
 * @example
 * actor.send(outcomeEvent('failure', Date.now())); // { type: 'FAILURE', nowMs }
 */
export function outcomeEvent(
  outcome: BreakerOutcome,
  nowMs: number,
  probePhase?: number,
  connection?: boolean,
): BreakerEvent {
  const type = outcome === 'success' ? 'SUCCESS' : outcome === 'failure' ? 'FAILURE' : 'IGNORED';
  const event: BreakerEvent = probePhase === undefined ? { type, nowMs } : { type, nowMs, probePhase };
  return connection && type === 'FAILURE' ? { ...event, type, connection: true } : event;
}

/**
 * What to persist so the breaker survives a restart (pass it back as `input.restore`).
 * A half-open breaker persists as open with its (past) deadline, so it resumes probing.
 *
 * @example
 * store.set(server, breakerPersistedState(actor.getSnapshot().context));
 */
export function breakerPersistedState(context: BreakerContext): BreakerPersisted {
  return {
    circuit: context.circuit,
    openUntil: context.circuit === 'closed' ? null : context.openUntil,
    resetTimeoutMs: context.resetTimeoutMs,
    openedCount: context.openedCount,
  };
}

function initialStrategies(config: ResolvedBreakerConfig): StrategyState[] {
  const list: StrategyState[] = [createConsecutiveState(config.failureThreshold)];
  if (config.rate) list.push(createRateState(config.rate));
  return list;
}

function createContext(input: BreakerInput): BreakerContext {
  const config = resolveBreakerConfig(input.config);
  const restore = input.restore;
  // A restored deadline is trusted only up to the longest reset timeout from now (a clock jump or
  // a corrupt store must neither keep the circuit open for ever nor overflow the timer).
  const openUntil =
    restore &&
    restore.circuit !== 'closed' &&
    typeof restore.openUntil === 'number' &&
    !Number.isNaN(restore.openUntil)
      ? Math.min(restore.openUntil, input.nowMs + config.maxResetTimeoutMs)
      : null;
  const restoredTimeout = restore?.resetTimeoutMs;
  return {
    config,
    circuit: 'closed',
    strategies: initialStrategies(config),
    openUntil,
    resetTimeoutMs:
      typeof restoredTimeout === 'number' && restoredTimeout >= config.resetTimeoutMs
        ? Math.min(restoredTimeout, config.maxResetTimeoutMs)
        : config.resetTimeoutMs,
    probesAdmitted: 0,
    probeSuccesses: 0,
    nowMs: input.nowMs,
    openedCount: restore?.openedCount ?? 0,
    openedByConnection: false,
    lastTransition: null,
  };
}

function transitionNote(from: BreakerCircuit, to: BreakerCircuit, reason: BreakerReason, atMs: number) {
  return { from, to, reason, atMs };
}

/** A probe outcome counts only for the current phase and while a probe is outstanding. */
function isOutstandingProbe(context: BreakerContext, event: BreakerEvent): boolean {
  return (
    'probePhase' in event &&
    event.probePhase === context.openedCount &&
    context.probesAdmitted > context.probeSuccesses
  );
}

/** The breaker statechart. Input: {@link BreakerInput}. */
export const breakerMachine = setup({
  types: {
    context: {} as BreakerContext,
    events: {} as BreakerEvent,
    input: {} as BreakerInput,
  },
  guards: {
    restoredOpen: ({ context }) => context.openUntil !== null,
    successMatters: ({ context }) => successMattersFor(context.strategies),
    failureOpensCircuit: ({ context, event }) =>
      openingStrategy(recordFailure(context.strategies, event.nowMs)) !== undefined,
    resetDeadlinePassed: ({ context }) => context.nowMs >= (context.openUntil ?? Number.NEGATIVE_INFINITY),
    eventPastDeadline: ({ context, event }) => event.nowMs >= (context.openUntil ?? Number.NEGATIVE_INFINITY),
    openedByConnection: ({ context }) => context.openedByConnection,
    probeSlotFree: ({ context }) => context.probesAdmitted < context.config.halfOpenProbes,
    isOutstandingProbe: ({ context, event }) => isOutstandingProbe(context, event),
    probeClosesCircuit: ({ context, event }) =>
      isOutstandingProbe(context, event) && context.probeSuccesses + 1 >= context.config.halfOpenProbes,
  },
  actions: {
    enterClosed: assign({
      circuit: 'closed',
      openUntil: null,
      openedByConnection: false,
      probesAdmitted: 0,
      probeSuccesses: 0,
      resetTimeoutMs: ({ context }) => context.config.resetTimeoutMs,
    }),
    enterOpen: assign({ circuit: 'open', probesAdmitted: 0, probeSuccesses: 0 }),
    enterHalfOpen: assign({ circuit: 'halfOpen' }),
    countSuccess: assign(({ context, event }) => ({
      nowMs: event.nowMs,
      strategies: recordSuccess(context.strategies, event.nowMs),
    })),
    countFailure: assign(({ context, event }) => ({
      nowMs: event.nowMs,
      strategies: recordFailure(context.strategies, event.nowMs),
    })),
    trip: assign(({ context, event }) => ({
      nowMs: event.nowMs,
      strategies: resetStrategies(context.strategies),
      openUntil: event.nowMs + context.resetTimeoutMs,
      openedCount: context.openedCount + 1,
      openedByConnection: event.type === 'FAILURE' && event.connection === true,
      lastTransition: transitionNote(
        'closed',
        'open',
        openingStrategy(recordFailure(context.strategies, event.nowMs)) ?? 'consecutive',
        event.nowMs,
      ),
    })),
    noteResetElapsed: assign(({ context }) => {
      const atMs = Math.max(context.nowMs, context.openUntil ?? context.nowMs);
      return { nowMs: atMs, lastTransition: transitionNote('open', 'halfOpen', 'resetTimeout', atMs) };
    }),
    // The deadline moves to now: a half-open breaker persists as open with a past deadline.
    noteConnectionReady: assign(({ event }) => ({
      nowMs: event.nowMs,
      openUntil: event.nowMs,
      lastTransition: transitionNote('open', 'halfOpen', 'connectionReady', event.nowMs),
    })),
    startProbeAfterReset: assign(({ context, event }) => ({
      nowMs: event.nowMs,
      probesAdmitted: context.probesAdmitted + 1,
      lastTransition: transitionNote('open', 'halfOpen', 'resetTimeout', event.nowMs),
    })),
    startProbe: assign(({ context, event }) => ({
      nowMs: event.nowMs,
      probesAdmitted: context.probesAdmitted + 1,
    })),
    countProbeSuccess: assign(({ context, event }) => ({
      nowMs: event.nowMs,
      probeSuccesses: context.probeSuccesses + 1,
    })),
    releaseProbe: assign(({ context, event }) => ({
      nowMs: event.nowMs,
      probesAdmitted: Math.max(0, context.probesAdmitted - 1),
    })),
    closeCircuit: assign(({ context, event }) => ({
      nowMs: event.nowMs,
      strategies: resetStrategies(context.strategies),
      lastTransition: transitionNote('halfOpen', 'closed', 'probesSucceeded', event.nowMs),
    })),
    reopen: assign(({ context, event }) => {
      const grown = Math.min(
        context.config.maxResetTimeoutMs,
        context.resetTimeoutMs * context.config.resetBackoffFactor,
      );
      return {
        nowMs: event.nowMs,
        resetTimeoutMs: grown,
        openUntil: event.nowMs + grown,
        openedCount: context.openedCount + 1,
        openedByConnection: event.type === 'FAILURE' && event.connection === true,
        lastTransition: transitionNote('halfOpen', 'open', 'probeFailed', event.nowMs),
      };
    }),
    fleetTrip: assign(({ context, event }) => {
      const openForMs =
        event.type === 'TRIP' ? (event.openForMs ?? context.resetTimeoutMs) : context.resetTimeoutMs;
      const until = Math.min(
        event.nowMs + Math.max(0, openForMs),
        event.nowMs + context.config.maxResetTimeoutMs,
      );
      return {
        nowMs: event.nowMs,
        strategies: resetStrategies(context.strategies),
        openUntil: context.circuit === 'open' ? Math.max(context.openUntil ?? until, until) : until,
        openedCount: context.openedCount + 1,
        openedByConnection: false,
        lastTransition: transitionNote(context.circuit, 'open', 'fleet', event.nowMs),
      };
    }),
    // A fleet open heard while already open (this process tripped too, or a late message): the
    // phase may only grow; no transition is noted, so no open→open event and nothing is published.
    extendOpen: assign(({ context, event }) => {
      const openForMs = event.type === 'TRIP' ? (event.openForMs ?? context.resetTimeoutMs) : 0;
      const until = Math.min(
        event.nowMs + Math.max(0, openForMs),
        event.nowMs + context.config.maxResetTimeoutMs,
      );
      return { nowMs: event.nowMs, openUntil: Math.max(context.openUntil ?? until, until) };
    }),
    manualReset: assign(({ context, event }) => ({
      nowMs: event.nowMs,
      strategies: resetStrategies(context.strategies),
      lastTransition: transitionNote(context.circuit, 'closed', 'reset', event.nowMs),
    })),
  },
  delays: {
    resetTimeout: ({ context }) => Math.max(0, (context.openUntil ?? context.nowMs) - context.nowMs),
  },
}).createMachine({
  id: 'breaker',
  context: ({ input }) => createContext(input),
  initial: 'init',
  on: {
    RESET: { target: '.closed', actions: 'manualReset' },
    TRIP: { target: '.open', actions: 'fleetTrip' },
  },
  states: {
    init: {
      always: [{ guard: 'restoredOpen', target: 'open' }, { target: 'closed' }],
    },
    closed: {
      entry: 'enterClosed',
      on: {
        SUCCESS: { guard: 'successMatters', actions: 'countSuccess' },
        FAILURE: [
          { guard: 'failureOpensCircuit', target: 'open', actions: 'trip' },
          { actions: 'countFailure' },
        ],
      },
    },
    open: {
      entry: 'enterOpen',
      always: { guard: 'resetDeadlinePassed', target: 'halfOpen', actions: 'noteResetElapsed' },
      after: { resetTimeout: { target: 'halfOpen', actions: 'noteResetElapsed' } },
      on: {
        // Re-entered so the reset timer restarts from the (possibly later) deadline.
        TRIP: { target: 'open', reenter: true, actions: 'extendOpen' },
        PROBE_STARTED: { guard: 'eventPastDeadline', target: 'halfOpen', actions: 'startProbeAfterReset' },
        CONNECTION_READY: { guard: 'openedByConnection', target: 'halfOpen', actions: 'noteConnectionReady' },
      },
    },
    halfOpen: {
      entry: 'enterHalfOpen',
      on: {
        PROBE_STARTED: { guard: 'probeSlotFree', actions: 'startProbe' },
        SUCCESS: [
          { guard: 'probeClosesCircuit', target: 'closed', actions: 'closeCircuit' },
          { guard: 'isOutstandingProbe', actions: 'countProbeSuccess' },
        ],
        FAILURE: { guard: 'isOutstandingProbe', target: 'open', actions: 'reopen' },
        IGNORED: { guard: 'isOutstandingProbe', actions: 'releaseProbe' },
      },
    },
  },
});

/** The breaker machine's type, for `ActorRefFrom<BreakerMachine>` and friends. */
export type BreakerMachine = typeof breakerMachine;

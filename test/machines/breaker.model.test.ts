/**
 * Model-based test of the breaker machine: xstate/graph walks the chart (shortest paths to every
 * state reached by every incoming event), each path is replayed on a real actor whose `after`
 * timer is driven by a SimulatedClock, and every step is asserted: same state as the model,
 * per-state invariants, and a per-transition check of what that transition must do. The set of
 * transitions taken must equal the set the machine defines.
 */

import { describe, expect, it } from 'vitest';
import {
  type AnyTransitionDefinition,
  createActor,
  initialTransition,
  SimulatedClock,
  type SnapshotFrom,
} from 'xstate';
import { getShortestPaths, getStateNodes } from 'xstate/graph';
import {
  type BreakerContext,
  type BreakerEvent,
  type BreakerInput,
  breakerMachine,
  canPass,
  needsEvent,
} from '../../src/machines/breaker.js';
import type { BreakerOutcome } from '../../src/machines/breaker-failure-policy.js';

type Snap = SnapshotFrom<typeof breakerMachine>;
type AnyEvent = BreakerEvent | { type: typeof AFTER_RESET };

const AFTER_RESET = 'xstate.after.resetTimeout.breaker.open';
const CONFIG = {
  failureThreshold: 2,
  resetTimeoutMs: 1000,
  halfOpenProbes: 2,
  resetBackoffFactor: 2,
  maxResetTimeoutMs: 4000,
};
const INPUTS: Record<string, BreakerInput> = {
  fresh: { config: CONFIG, nowMs: 0 },
  restoredOpen: {
    config: CONFIG,
    nowMs: 0,
    restore: { circuit: 'open', openUntil: 500, resetTimeoutMs: 2000, openedCount: 3 },
  },
  restoredPastDeadline: {
    config: CONFIG,
    nowMs: 1000,
    restore: { circuit: 'halfOpen', openUntil: 500, resetTimeoutMs: 1000, openedCount: 1 },
  },
};

/** Every transition the machine defines, keyed `stateId:eventType#index`. */
function definedTransitions(): Map<AnyTransitionDefinition, string> {
  const keys = new Map<AnyTransitionDefinition, string>();
  for (const node of new Set([breakerMachine.root, ...getStateNodes(breakerMachine.root)])) {
    for (const [type, defs] of node.transitions) {
      for (const [i, d] of defs.entries()) keys.set(d, `${node.id}:${type}#${i}`);
    }
    for (const [i, d] of (node.always ?? []).entries()) keys.set(d, `${node.id}:always#${i}`);
  }
  return keys;
}

function eventsFor(s: Snap): AnyEvent[] {
  const t = s.context.nowMs + 1;
  const list: AnyEvent[] = [];
  // Outcomes of a plain call, of a probe of the current phase, and of a probe of an older phase.
  for (const probe of ['none', 'current', 'stale'] as const) {
    const extra =
      probe === 'none' ? {} : { probePhase: s.context.openedCount - (probe === 'stale' ? 1 : 0), probe };
    for (const type of ['SUCCESS', 'FAILURE', 'IGNORED'] as const)
      list.push({ type, nowMs: t, ...extra } as BreakerEvent);
    // A failure on the way to the server (lost connection, none ready in time).
    if (probe !== 'stale')
      list.push({ type: 'FAILURE', nowMs: t, connection: true, ...extra } as BreakerEvent);
  }
  list.push(
    { type: 'CONNECTION_READY', nowMs: t },
    { type: 'PROBE_STARTED', nowMs: t },
    { type: 'RESET', nowMs: t },
    { type: 'TRIP', nowMs: t, openForMs: 250 },
  );
  if (s.value === 'open' && s.context.openUntil !== null) {
    list.push({ type: 'PROBE_STARTED', nowMs: s.context.openUntil, atDeadline: true } as BreakerEvent, {
      type: AFTER_RESET,
    });
  }
  return list;
}

/**
 * The model's states are abstract (the key leaves absolute times out), so a path's events are
 * re-timed against the actor's own context: one millisecond after its last event, or exactly at
 * its open-until deadline.
 */
function retime(e: AnyEvent, c: BreakerContext): AnyEvent {
  if (!('nowMs' in e)) return e;
  const atDeadline = (e as { atDeadline?: boolean }).atDeadline === true;
  const probe = (e as { probe?: string }).probe;
  const phase = probe === undefined ? {} : { probePhase: c.openedCount - (probe === 'stale' ? 1 : 0) };
  return { ...e, ...phase, nowMs: atDeadline ? (c.openUntil as number) : c.nowMs + 1 };
}

function failures(c: BreakerContext): number {
  const s = c.strategies[0];
  return s?.kind === 'consecutive' ? s.failures : -1;
}

/** Key of a graph vertex: the abstract state plus the edge that led to it (so every edge gets a path). */
function serializeEdge(s: Snap, e: AnyEvent | undefined, prev?: Snap): string {
  return `${prev ? serialize(prev, undefined) : ''}>${serialize(s, e)}`;
}

function serialize(s: Snap, e: AnyEvent | undefined): string {
  const c = s.context;
  const state = [
    s.value,
    failures(c),
    c.probesAdmitted,
    c.probeSuccesses,
    c.resetTimeoutMs,
    c.openUntil === null,
    c.openedByConnection,
  ].join();
  const ev = e
    ? `${e.type}${(e as { connection?: boolean }).connection ? 'conn' : ''}${(e as { probe?: string }).probe ?? ''}${e.type === 'PROBE_STARTED' && s.value !== 'closed' ? e.nowMs - c.nowMs : ''}`
    : '';
  return `${state}|${ev}`;
}

/** Invariants that hold in every state. */
function checkState(s: Snap): void {
  const c = s.context;
  expect(c.circuit).toBe(s.value);
  expect(failures(c)).toBeLessThan(CONFIG.failureThreshold);
  if (s.value === 'closed') {
    expect(c.openUntil).toBeNull();
    expect(c.openedByConnection).toBe(false);
    expect(c.probesAdmitted).toBe(0);
    expect(c.resetTimeoutMs).toBe(CONFIG.resetTimeoutMs);
    expect(canPass(c, c.nowMs)).toEqual({ allow: true, probe: false });
  } else if (s.value === 'open') {
    expect(c.openUntil).not.toBeNull();
    expect(c.nowMs).toBeLessThan(c.openUntil as number);
    expect(c.probesAdmitted).toBe(0);
    expect(canPass(c, c.nowMs)).toEqual({ allow: false, retryAfterMs: (c.openUntil as number) - c.nowMs });
  } else {
    expect(c.probesAdmitted).toBeLessThanOrEqual(CONFIG.halfOpenProbes);
    expect(c.probeSuccesses).toBeLessThanOrEqual(c.probesAdmitted);
    expect(c.probeSuccesses).toBeLessThan(CONFIG.halfOpenProbes);
    expect(canPass(c, c.nowMs).allow).toBe(c.probesAdmitted < CONFIG.halfOpenProbes);
  }
  expect(c.resetTimeoutMs).toBeLessThanOrEqual(CONFIG.maxResetTimeoutMs);
}

type Check = (prev: BreakerContext | undefined, event: AnyEvent | undefined, next: Snap) => void;
const nowOf = (e: AnyEvent | undefined) => (e && 'nowMs' in e ? e.nowMs : Number.NaN);
const byConnection = (e: AnyEvent | undefined) =>
  (e as { connection?: boolean } | undefined)?.connection === true;

/** What each defined transition must do. */
const CHECKS: Record<string, Check> = {
  'breaker:RESET#0': (_p, e, n) => {
    expect(n.value).toBe('closed');
    expect(n.context.lastTransition).toMatchObject({ to: 'closed', reason: 'reset', atMs: nowOf(e) });
  },
  'breaker:TRIP#0': (p, e, n) => {
    expect(n.value).toBe('open');
    const until = nowOf(e) + 250;
    // Never shortens an open phase already running; always starts a new phase.
    expect(n.context.openUntil).toBe(p?.circuit === 'open' ? Math.max(p.openUntil ?? until, until) : until);
    expect(n.context.openedCount).toBe((p?.openedCount ?? 0) + 1);
    expect(n.context.probesAdmitted).toBe(0);
    expect(failures(n.context)).toBe(0);
    expect(n.context.openedByConnection).toBe(false);
    expect(n.context.lastTransition).toMatchObject({
      from: p?.circuit,
      to: 'open',
      reason: 'fleet',
      atMs: nowOf(e),
    });
  },
  'breaker.init:always#0': (_p, _e, n) => expect(['open', 'halfOpen']).toContain(n.value),
  'breaker.init:always#1': (_p, _e, n) => expect(n.value).toBe('closed'),
  'breaker.closed:SUCCESS#0': (p, _e, n) => {
    expect(p && failures(p)).toBeGreaterThan(0);
    expect(failures(n.context)).toBe(0);
  },
  'breaker.closed:FAILURE#0': (p, e, n) => {
    expect(n.value).toBe('open');
    expect(p && failures(p)).toBe(CONFIG.failureThreshold - 1);
    expect(n.context.openUntil).toBe(nowOf(e) + CONFIG.resetTimeoutMs);
    expect(n.context.openedCount).toBe((p?.openedCount ?? 0) + 1);
    expect(n.context.openedByConnection).toBe(byConnection(e));
    expect(n.context.lastTransition).toMatchObject({ from: 'closed', to: 'open', reason: 'consecutive' });
  },
  'breaker.closed:FAILURE#1': (p, _e, n) => {
    expect(n.value).toBe('closed');
    expect(failures(n.context)).toBe((p ? failures(p) : 0) + 1);
  },
  'breaker.open:always#0': (_p, _e, n) => {
    expect(n.value).toBe('halfOpen');
    expect(n.context.nowMs).toBeGreaterThanOrEqual(n.context.openUntil as number);
    expect(n.context.lastTransition?.reason).toBe('resetTimeout');
  },
  [`breaker.open:${AFTER_RESET}#0`]: (p, _e, n) => {
    expect(n.value).toBe('halfOpen');
    expect(n.context.nowMs).toBe(p?.openUntil);
    expect(n.context.probesAdmitted).toBe(0);
  },
  'breaker.open:PROBE_STARTED#0': (p, e, n) => {
    expect(n.value).toBe('halfOpen');
    expect(nowOf(e)).toBeGreaterThanOrEqual(p?.openUntil as number);
    expect(n.context.probesAdmitted).toBe(1);
  },
  'breaker.open:TRIP#0': (p, e, n) => {
    // Already open: the phase only grows, and no transition is noted (no open→open event).
    expect(n.value).toBe('open');
    const until = nowOf(e) + 250;
    expect(n.context.openUntil).toBe(Math.max(p?.openUntil ?? until, until));
    expect(n.context.openedCount).toBe(p?.openedCount);
    expect(n.context.lastTransition).toBe(p?.lastTransition);
  },
  'breaker.open:CONNECTION_READY#0': (p, e, n) => {
    // Only a circuit the connection opened probes early; the deadline moves to the event.
    expect(p?.openedByConnection).toBe(true);
    expect(nowOf(e)).toBeLessThan(p?.openUntil as number);
    expect(n.value).toBe('halfOpen');
    expect(n.context.probesAdmitted).toBe(0);
    expect(n.context.openUntil).toBe(nowOf(e));
    expect(canPass(n.context, nowOf(e))).toEqual({ allow: true, probe: true, phase: p?.openedCount });
    expect(n.context.lastTransition).toMatchObject({
      from: 'open',
      to: 'halfOpen',
      reason: 'connectionReady',
      atMs: nowOf(e),
    });
  },
  'breaker.halfOpen:PROBE_STARTED#0': (p, _e, n) =>
    expect(n.context.probesAdmitted).toBe((p?.probesAdmitted ?? 0) + 1),
  'breaker.halfOpen:SUCCESS#0': (p, _e, n) => {
    expect(n.value).toBe('closed');
    expect(p?.probeSuccesses).toBe(CONFIG.halfOpenProbes - 1);
    expect(n.context.lastTransition).toMatchObject({
      from: 'halfOpen',
      to: 'closed',
      reason: 'probesSucceeded',
    });
  },
  'breaker.halfOpen:SUCCESS#1': (p, _e, n) => {
    expect(n.value).toBe('halfOpen');
    expect(n.context.probeSuccesses).toBe((p?.probeSuccesses ?? 0) + 1);
  },
  'breaker.halfOpen:FAILURE#0': (p, e, n) => {
    const grown = Math.min(CONFIG.maxResetTimeoutMs, (p?.resetTimeoutMs ?? 0) * CONFIG.resetBackoffFactor);
    expect(n.value).toBe('open');
    expect(n.context.resetTimeoutMs).toBe(grown);
    expect(n.context.openUntil).toBe(nowOf(e) + grown);
    expect(n.context.openedByConnection).toBe(byConnection(e));
    expect(n.context.lastTransition?.reason).toBe('probeFailed');
  },
  'breaker.halfOpen:IGNORED#0': (p, _e, n) =>
    expect(n.context.probesAdmitted).toBe((p?.probesAdmitted ?? 0) - 1),
};

function outcomeOf(e: AnyEvent): BreakerOutcome | undefined {
  return e.type === 'SUCCESS'
    ? 'success'
    : e.type === 'FAILURE'
      ? 'failure'
      : e.type === 'IGNORED'
        ? 'ignored'
        : undefined;
}

describe('breaker machine (model-based)', () => {
  const defined = definedTransitions();
  const covered = new Set<string>();
  const statesSeen = new Set<string>();

  for (const [name, input] of Object.entries(INPUTS)) {
    it(`every path from the ${name} start replays on a clock-driven actor`, () => {
      const [start] = initialTransition(breakerMachine, input);
      const paths = getShortestPaths(breakerMachine, {
        fromState: start,
        events: eventsFor as (s: Snap) => BreakerEvent[],
        serializeState: serializeEdge as (s: Snap, e: BreakerEvent | undefined, p?: Snap) => string,
        limit: 20_000,
      });
      expect(paths.length).toBeGreaterThan(name === 'fresh' ? 20 : 5);
      for (const path of paths) {
        const clock = new SimulatedClock();
        let taken: string[] = [];
        const actor = createActor(breakerMachine, {
          input,
          clock,
          inspect: (ev) => {
            if (ev.type !== '@xstate.microstep') return;
            for (const t of (ev as unknown as { _transitions: AnyTransitionDefinition[] })._transitions) {
              const key = defined.get(t);
              if (key === undefined) throw new Error(`undefined transition from ${t.source.id}`);
              taken.push(key);
            }
          },
        });
        actor.start();
        for (const key of taken) CHECKS[key]?.(undefined, undefined, actor.getSnapshot());
        for (const k of taken) covered.add(k);
        for (const step of path.steps.filter((s) => (s.event as { type: string }).type !== 'xstate.init')) {
          taken = [];
          const prev = actor.getSnapshot();
          const event = retime(step.event as AnyEvent, prev.context);
          if (event.type === AFTER_RESET) {
            const delay = (prev.context.openUntil as number) - prev.context.nowMs;
            clock.increment(delay - 1);
            expect(actor.getSnapshot().value).toBe('open'); // not a millisecond early
            clock.increment(1);
          } else {
            actor.send(event as BreakerEvent);
          }
          const next = actor.getSnapshot();
          expect(next.value).toEqual(step.state.value);
          expect(serialize(next, undefined)).toBe(serialize(step.state, undefined));
          checkState(next);
          const outcome = outcomeOf(event);
          if (outcome && !needsEvent(prev.context, outcome, (event as { probePhase?: number }).probePhase)) {
            expect(taken).toEqual([]); // the hot path may skip exactly these events
            expect(next.context).toBe(prev.context);
          }
          for (const key of taken) {
            const check = CHECKS[key];
            expect(check, `a check for ${key}`).toBeDefined();
            check?.(prev.context, event, next);
            covered.add(key);
          }
          statesSeen.add(String(next.value));
        }
        statesSeen.add(String(actor.getSnapshot().value));
        actor.stop();
      }
    });
  }

  it('reached every state and took every defined transition', () => {
    const leaves = getStateNodes(breakerMachine.root).filter((n) => n.type === 'atomic' && n.key !== 'init');
    expect([...statesSeen].sort()).toEqual(leaves.map((n) => n.key).sort());
    expect([...covered].sort()).toEqual([...defined.values()].sort());
    expect(Object.keys(CHECKS).sort()).toEqual([...defined.values()].sort());
  });
});

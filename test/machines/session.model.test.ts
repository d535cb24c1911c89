import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor, type SnapshotFrom } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import type { SessionInfo } from '../../src/machines/connection.js';
import { type SessionEvent, sessionMachine } from '../../src/machines/session.js';
import {
  definedStates,
  definedTransitions,
  PromiseActorDriver,
  recordTransitions,
} from '../helpers/model.js';

const info: SessionInfo = {
  protocolVersion: '2025-06-18',
  era: 'legacy',
  liveness: 'mcp-ping',
  serverName: 'demo',
  serverVersion: '1.0.0',
  instructions: 'be nice',
  sessionId: 'sid-1',
};
const capabilities = { resources: { subscribe: true } };
const MAX_GENERATION = 3;

/** A resubscribe that never settles (the property only looks at expiry reports). */
const neverSettles = new PromiseActorDriver().actor<void, { server: string; uris: string[] }>('resubscribe');

/** Every event the model may take; invoke outcomes settle the parked `resubscribe`. */
const modelEvents = [
  { type: 'CONNECTED', info, capabilities },
  { type: 'DISCONNECTED' },
  { type: 'SESSION_EXPIRED', generation: 1 },
  { type: 'SESSION_EXPIRED', generation: 2 },
  { type: 'SUBSCRIBED', uri: 'demo://a' },
  { type: 'UNSUBSCRIBED', uri: 'demo://a' },
  { type: 'CLOSE' },
  { type: 'xstate.done.actor.resubscribe' },
  { type: 'xstate.error.actor.resubscribe', error: { code: 'REMOTE', message: 'no such resource' } },
] as unknown as SessionEvent[];

type Snap = SnapshotFrom<typeof sessionMachine>;

function serialize(snap: Snap, event: SessionEvent | undefined, prev?: Snap): string {
  const e = event as unknown as { type: string; generation?: number } | undefined;
  const c = snap.context;
  return JSON.stringify([
    prev?.value,
    e?.type,
    e?.generation,
    snap.value,
    c.generation,
    c.expiredGeneration,
    c.subscriptions,
  ]);
}

interface Calls {
  reinitialize: number;
  invalidate: number;
}

function liveActor(driver: PromiseActorDriver, taken: Set<string>, calls: Calls) {
  const machine = sessionMachine.provide({
    actors: { resubscribe: driver.actor('resubscribe') },
    actions: {
      requestReinitialize: () => {
        calls.reinitialize++;
      },
      invalidateCache: () => {
        calls.invalidate++;
      },
    },
  });
  return createActor(machine, { input: { server: 'demo' }, inspect: recordTransitions(taken) });
}

describe('session machine (model-based, virtual clock)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('every path from the graph replays on a live actor, covering every state and transition', async () => {
    const paths = getShortestPaths(sessionMachine, {
      input: { server: 'demo' },
      events: modelEvents,
      serializeState: serialize,
      filterEvents: (snap, event) =>
        snap.status === 'active' &&
        snap.can(event) &&
        !(event.type === 'CONNECTED' && snap.context.generation >= MAX_GENERATION),
      limit: 20_000,
    });
    expect(paths.length).toBeGreaterThan(30);
    const taken = new Set<string>();
    const visited = new Set<string>();
    for (const path of paths) {
      const driver = new PromiseActorDriver();
      const calls: Calls = { reinitialize: 0, invalidate: 0 };
      const actor = liveActor(driver, taken, calls);
      actor.start();
      let expectedReinit = 0;
      let expectedInvalidate = 0;
      for (const step of path.steps) {
        const before = actor.getSnapshot();
        const event = step.event as unknown as {
          type: string;
          generation?: number;
          output?: unknown;
          error?: unknown;
        };
        if (!driver.settle(event.type, event)) actor.send(step.event);
        await vi.advanceTimersByTimeAsync(0);
        const live = actor.getSnapshot();
        const trail = path.steps.map((s) => s.event.type).join(' → ');
        expect(live.value, trail).toEqual(step.state.value);
        expect(live.context.generation).toBe(step.state.context.generation);
        expect(live.context.subscriptions).toEqual(step.state.context.subscriptions);
        // Re-initialisation is requested only for a report on the current generation, from active/restoring.
        if (
          event.type === 'SESSION_EXPIRED' &&
          event.generation === before.context.generation &&
          (before.value === 'active' || before.value === 'restoring')
        ) {
          expectedReinit++;
          expect(live.value).toBe('expired');
          expect(live.context.expiredGeneration).toBe(before.context.generation);
        }
        if (event.type === 'CONNECTED' && before.value !== 'idle') {
          expectedInvalidate++;
          expect(live.value).toBe('restoring');
          expect(live.context.reinitCount).toBe(before.context.reinitCount + 1);
          expect(live.context.reason).toBe(before.value === 'expired' ? 'expired' : 'reconnect');
        }
        expect(calls.reinitialize).toBe(expectedReinit);
        expect(calls.invalidate).toBe(expectedInvalidate);
        for (const node of live._nodes) visited.add(node.id);
      }
      actor.stop();
    }
    expect([...definedStates(sessionMachine)].filter((s) => !visited.has(s))).toEqual([]);
    expect([...definedTransitions(sessionMachine)].filter((t) => !taken.has(t))).toEqual([]);
  });

  it('the restore re-subscribes exactly the active subscriptions, on the new generation', async () => {
    const driver = new PromiseActorDriver();
    const inputs: Array<{ server: string; uris: string[] }> = [];
    const machine = sessionMachine.provide({
      actors: {
        resubscribe: driver.actor<void, { server: string; uris: string[] }>('resubscribe'),
      },
    });
    const actor = createActor(machine, {
      input: { server: 'demo' },
      inspect: (e) => {
        if (e.type === '@xstate.actor' && (e.actorRef as { id?: string }).id === 'resubscribe') {
          inputs.push((e.actorRef as unknown as { options: { input: never } }).options.input);
        }
      },
    }).start();
    actor.send({ type: 'CONNECTED', info, capabilities });
    actor.send({ type: 'SUBSCRIBED', uri: 'demo://a' });
    actor.send({ type: 'SUBSCRIBED', uri: 'demo://b' });
    actor.send({ type: 'SUBSCRIBED', uri: 'demo://a' });
    actor.send({ type: 'UNSUBSCRIBED', uri: 'demo://b' });
    actor.send({ type: 'SUBSCRIBED', uri: 'demo://c' });
    actor.send({ type: 'SESSION_EXPIRED', generation: 1 });
    actor.send({ type: 'CONNECTED', info: { ...info, sessionId: 'sid-2' }, capabilities });
    expect(actor.getSnapshot().value).toBe('restoring');
    expect(inputs).toEqual([{ server: 'demo', uris: ['demo://a', 'demo://c'] }]);
    driver.settle('xstate.done.actor.resubscribe', {});
    await vi.advanceTimersByTimeAsync(0);
    const c = actor.getSnapshot().context;
    expect(actor.getSnapshot().value).toBe('active');
    expect(c.info?.sessionId).toBe('sid-2');
    expect(c.capabilities).toEqual(capabilities);
    expect(c.generation).toBe(2);
    expect(c.reason).toBe('expired');
    actor.stop();
  });

  it('a restore failure is recorded and the session still becomes active', async () => {
    const driver = new PromiseActorDriver();
    const actor = createActor(
      sessionMachine.provide({ actors: { resubscribe: driver.actor('resubscribe') } }),
      {
        input: { server: 'demo' },
      },
    ).start();
    actor.send({ type: 'CONNECTED', info, capabilities });
    actor.send({ type: 'DISCONNECTED' });
    actor.send({ type: 'CONNECTED', info, capabilities });
    driver.settle('xstate.error.actor.resubscribe', { error: new Error('boom') });
    await vi.advanceTimersByTimeAsync(0);
    expect(actor.getSnapshot().value).toBe('active');
    expect(actor.getSnapshot().context.lastError).toEqual({ code: 'PROTOCOL', message: 'boom' });
    expect(actor.getSnapshot().context.reason).toBe('reconnect');
    actor.stop();
  });

  it('property: any number of expiry reports, in any order and from any generation, reinitialise once per generation', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ lag: fc.nat(2), reconnectAfter: fc.boolean() }), {
          minLength: 1,
          maxLength: 60,
        }),
        (reports) => {
          let reinit = 0;
          const actor = createActor(
            sessionMachine.provide({
              actors: { resubscribe: neverSettles },
              actions: { requestReinitialize: () => reinit++ },
            }),
            { input: { server: 'demo' } },
          ).start();
          actor.send({ type: 'CONNECTED', info, capabilities });
          const expiredGenerations = new Set<number>();
          for (const r of reports) {
            const gen = Math.max(1, actor.getSnapshot().context.generation - r.lag);
            const before = actor.getSnapshot();
            actor.send({ type: 'SESSION_EXPIRED', generation: gen });
            if (gen === before.context.generation && before.value !== 'expired') expiredGenerations.add(gen);
            if (r.reconnectAfter && actor.getSnapshot().value === 'expired') {
              actor.send({ type: 'CONNECTED', info, capabilities });
            }
          }
          actor.stop();
          expect(reinit).toBe(expiredGenerations.size);
          expect(reinit).toBeLessThanOrEqual(reports.length);
        },
      ),
      { numRuns: 200 },
    );
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor, type SnapshotFrom } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import {
  backoffCeilingMs,
  type ConnectionEvent,
  type ConnectionInput,
  connectionMachine,
  type SessionInfo,
} from '../../src/machines/connection.js';
import {
  definedStates,
  definedTransitions,
  PromiseActorDriver,
  recordTransitions,
} from '../helpers/model.js';

const session: SessionInfo = {
  protocolVersion: '2025-06-18',
  serverName: 'demo',
  serverVersion: '1.0.0',
  instructions: undefined,
  sessionId: undefined,
};

const input: ConnectionInput = {
  server: 'demo',
  backoff: { initialDelayMs: 100, factor: 2, maxDelayMs: 400, maxAttempts: 3, jitter: true },
  heartbeat: { intervalMs: 1_000, timeoutMs: 200, maxMissed: 2 },
  connectTimeoutMs: 5_000,
  initializeTimeoutMs: 7_000,
  seed: 42,
};

const lost = { code: 'CONNECTION_LOST', message: 'socket closed' };
const auth = { code: 'AUTH', message: '401' };

/** Every event the model may take, including invoke outcomes and delays (driven by the clock). */
const modelEvents = [
  { type: 'CONNECT' },
  { type: 'RETRY' },
  { type: 'CLOSE' },
  { type: 'TRANSPORT_CLOSED', error: lost },
  { type: 'TRANSPORT_CLOSED', error: auth, fatal: true },
  { type: 'xstate.done.actor.openTransport' },
  { type: 'xstate.error.actor.openTransport', error: lost },
  { type: 'xstate.error.actor.openTransport', error: auth },
  { type: 'xstate.done.actor.initializeSession', output: session },
  { type: 'xstate.error.actor.initializeSession', error: lost },
  { type: 'xstate.error.actor.initializeSession', error: auth },
  { type: 'xstate.done.actor.ping' },
  { type: 'xstate.error.actor.ping', error: { code: 'TIMEOUT', message: 'pong late' } },
  { type: 'xstate.done.actor.closeTransport' },
  { type: 'xstate.error.actor.closeTransport', error: lost },
  { type: 'xstate.after.connectTimeout.connection.connecting' },
  { type: 'xstate.after.initializeTimeout.connection.initializing' },
  { type: 'xstate.after.heartbeatInterval.connection.ready.waiting' },
  { type: 'xstate.after.retryBackoff.connection.reconnecting' },
] as unknown as ConnectionEvent[];

type Snap = SnapshotFrom<typeof connectionMachine>;

/** Milliseconds to advance the virtual clock so the named delay fires. */
function delayFor(eventType: string, snap: Snap): number {
  const delay = eventType.split('.')[2];
  const c = snap.context;
  switch (delay) {
    case 'connectTimeout':
      return c.connectTimeoutMs;
    case 'initializeTimeout':
      return c.initializeTimeoutMs;
    case 'heartbeatInterval':
      return c.heartbeat.intervalMs;
    case 'retryBackoff':
      return c.retryDelayMs;
    default:
      throw new Error(`unknown delay ${delay}`);
  }
}

/** A vertex is (previous state, event, state): shortest paths to every vertex then cover every transition. */
function serialize(snap: Snap, event: ConnectionEvent | undefined, prev?: Snap): string {
  const e = event as unknown as { type: string; error?: { code: string } } | undefined;
  const c = snap.context;
  return JSON.stringify([prev?.value, e?.type, e?.error?.code, snap.value, c.attempt, c.missedPongs]);
}

function liveActor(driver: PromiseActorDriver, taken: Set<string>) {
  const machine = connectionMachine.provide({
    actors: {
      openTransport: driver.actor('openTransport'),
      initializeSession: driver.actor('initializeSession'),
      ping: driver.actor('ping'),
      closeTransport: driver.actor('closeTransport'),
    },
  });
  return createActor(machine, { input, inspect: recordTransitions(taken) });
}

describe('connection machine (model-based, virtual clock)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('every path from the graph replays on a live actor, covering every state and transition', async () => {
    const paths = getShortestPaths(connectionMachine, {
      input,
      events: modelEvents,
      serializeState: serialize,
      filterEvents: (snap, event) => snap.status === 'active' && snap.can(event),
      limit: 5_000,
    });
    expect(paths.length).toBeGreaterThan(20);
    const taken = new Set<string>();
    const visited = new Set<string>();
    for (const path of paths) {
      const driver = new PromiseActorDriver();
      const actor = liveActor(driver, taken);
      actor.start();
      for (const step of path.steps) {
        const event = step.event as unknown as { type: string; output?: unknown; error?: unknown };
        if (event.type.startsWith('xstate.after.')) {
          await vi.advanceTimersByTimeAsync(delayFor(event.type, actor.getSnapshot()));
        } else if (!driver.settle(event.type, event)) {
          actor.send(step.event);
        }
        await vi.advanceTimersByTimeAsync(0);
        const live = actor.getSnapshot();
        expect(live.value, `${path.steps.map((s) => s.event.type).join(' → ')}`).toEqual(step.state.value);
        expect(live.context.attempt).toBe(step.state.context.attempt);
        expect(live.context.missedPongs).toBe(step.state.context.missedPongs);
        for (const node of live._nodes) visited.add(node.id);
      }
      actor.stop();
    }
    expect([...definedStates(connectionMachine)].filter((s) => !visited.has(s))).toEqual([]);
    // autoConnect is off in this model; its eventless idle → connecting is covered below.
    const missing = [...definedTransitions(connectionMachine)].filter(
      (t) => !taken.has(t) && !t.startsWith('connection.idle --always'),
    );
    expect(missing).toEqual([]);
  });

  it('autoConnect goes straight to connecting', () => {
    const taken = new Set<string>();
    const actor = liveActor(new PromiseActorDriver(), taken);
    const auto = createActor(connectionMachine.provide({}), { input: { ...input, autoConnect: true } });
    auto.start();
    expect(auto.getSnapshot().value).toBe('connecting');
    auto.stop();
    actor.stop();
  });

  it('backoff ceilings grow by the factor and cap; attempts are bounded', async () => {
    const driver = new PromiseActorDriver();
    const machine = connectionMachine.provide({
      actors: {
        openTransport: driver.actor('openTransport'),
        initializeSession: driver.actor('initializeSession'),
        ping: driver.actor('ping'),
        closeTransport: driver.actor('closeTransport'),
      },
    });
    const noJitter = { ...input, backoff: { ...input.backoff, jitter: false, maxAttempts: 5 } };
    const actor = createActor(machine, { input: noJitter }).start();
    actor.send({ type: 'CONNECT' });
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      driver.settle('xstate.error.actor.openTransport', { error: lost });
      await vi.advanceTimersByTimeAsync(0);
      expect(actor.getSnapshot().value).toBe('reconnecting');
      const { retryDelayMs, retryAt } = actor.getSnapshot().context;
      expect(retryAt).toBe(Date.now() + retryDelayMs);
      delays.push(retryDelayMs);
      await vi.advanceTimersByTimeAsync(retryDelayMs - 1);
      expect(actor.getSnapshot().value).toBe('reconnecting');
      await vi.advanceTimersByTimeAsync(1);
      expect(actor.getSnapshot().value).toBe('connecting');
    }
    expect(delays).toEqual([100, 200, 400, 400]);
    driver.settle('xstate.error.actor.openTransport', { error: lost });
    await vi.advanceTimersByTimeAsync(0);
    expect(actor.getSnapshot().value).toBe('failed');
    expect(actor.getSnapshot().context.lastError).toEqual(lost);
    actor.stop();
  });

  it('full jitter keeps every delay inside [0, ceiling) and is reproducible from the seed', async () => {
    const run = async (seed: number): Promise<number[]> => {
      const driver = new PromiseActorDriver();
      const machine = connectionMachine.provide({ actors: { openTransport: driver.actor('openTransport') } });
      const actor = createActor(machine, {
        input: { ...input, seed, backoff: { ...input.backoff, maxAttempts: 50, maxDelayMs: 10_000 } },
      }).start();
      actor.send({ type: 'CONNECT' });
      const out: number[] = [];
      for (let attempt = 1; attempt <= 8; attempt++) {
        driver.settle('xstate.error.actor.openTransport', { error: lost });
        await vi.advanceTimersByTimeAsync(0);
        const d = actor.getSnapshot().context.retryDelayMs;
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(backoffCeilingMs({ ...input.backoff, maxDelayMs: 10_000 }, attempt));
        out.push(d);
        await vi.advanceTimersByTimeAsync(d);
      }
      actor.stop();
      return out;
    };
    const a = await run(7);
    expect(await run(7)).toEqual(a);
    expect(await run(8)).not.toEqual(a);
  });

  it('missed pongs up to the limit declare the peer dead and reconnect', async () => {
    const driver = new PromiseActorDriver();
    const machine = connectionMachine.provide({
      actors: {
        openTransport: driver.actor('openTransport'),
        initializeSession: driver.actor('initializeSession'),
        ping: driver.actor('ping'),
      },
    });
    const actor = createActor(machine, {
      input: { ...input, heartbeat: { ...input.heartbeat, maxMissed: 3 } },
    });
    actor.start();
    actor.send({ type: 'CONNECT' });
    driver.settle('xstate.done.actor.openTransport', {});
    await vi.advanceTimersByTimeAsync(0);
    driver.settle('xstate.done.actor.initializeSession', { output: session });
    await vi.advanceTimersByTimeAsync(0);
    expect(actor.getSnapshot().matches({ ready: 'waiting' })).toBe(true);
    expect(actor.getSnapshot().context.session).toEqual(session);
    for (let missed = 1; missed <= 3; missed++) {
      await vi.advanceTimersByTimeAsync(1_000);
      expect(actor.getSnapshot().matches({ ready: 'pinging' })).toBe(true);
      driver.settle('xstate.error.actor.ping', { error: { code: 'TIMEOUT', message: 'late' } });
      await vi.advanceTimersByTimeAsync(0);
      if (missed < 3) expect(actor.getSnapshot().context.missedPongs).toBe(missed);
    }
    expect(actor.getSnapshot().value).toBe('reconnecting');
    expect(actor.getSnapshot().context.lastError?.message).toMatch(/missed 3 heartbeat/);
    actor.stop();
  });
});

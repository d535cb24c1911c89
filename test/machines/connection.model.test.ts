import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor, fromPromise, type SnapshotFrom } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import {
  backoffCeilingMs,
  type ConnectionEvent,
  type ConnectionInput,
  connectionMachine,
  minRetryGapMs,
  type NegotiationMode,
  type ProtocolPreference,
  type SessionInfo,
} from '../../src/machines/connection.js';
import {
  definedStates,
  definedTransitions,
  PromiseActorDriver,
  recordTransitions,
} from '../helpers/model.js';

const session: SessionInfo = {
  protocolVersion: '2025-11-25',
  era: 'legacy',
  liveness: 'mcp-ping',
  serverName: 'demo',
  serverVersion: '1.0.0',
  instructions: undefined,
  sessionId: undefined,
};
/** A 2026 server over WebSocket: liveness by ping frames. */
const modern: SessionInfo = { ...session, protocolVersion: '2026-07-28', era: 'modern', liveness: 'ws-ping' };
/** A 2026 server over HTTP or stdio: no liveness probe (the next request is the probe). */
const modernNoProbe: SessionInfo = { ...modern, liveness: 'none' };

const input: ConnectionInput = {
  server: 'demo',
  backoff: { initialDelayMs: 100, factor: 2, maxDelayMs: 400, maxAttempts: 4, jitter: true },
  heartbeat: { intervalMs: 1_000, timeoutMs: 200, maxMissed: 2 },
  connectTimeoutMs: 5_000,
  initializeTimeoutMs: 7_000,
  seed: 42,
};

const lost = { code: 'CONNECTION_LOST', message: 'socket closed' };
const auth = { code: 'AUTH', message: '401' };
/** A stdio server that exits on server/discover: a legacy one. */
const legacyHint = { code: 'CONNECTION_LOST', message: 'closed on discover', legacyHint: true };
/** A refused protocol version / no MCP endpoint: reconnecting cannot help. */
const refused = { code: 'PROTOCOL', message: 'refused', permanent: true };

/** Every event the model may take, including invoke outcomes and delays (driven by the clock). */
const modelEvents = [
  { type: 'CONNECT' },
  { type: 'RETRY' },
  { type: 'CLOSE' },
  { type: 'CALLS_WAITING' },
  { type: 'TRANSPORT_CLOSED', error: lost },
  { type: 'TRANSPORT_CLOSED', error: auth, fatal: true },
  { type: 'xstate.done.actor.openTransport' },
  // Over a stream, with a modern verdict known, the transport opens with it adopted.
  { type: 'xstate.done.actor.openTransport', output: modern },
  { type: 'xstate.error.actor.openTransport', error: lost },
  { type: 'xstate.error.actor.openTransport', error: auth },
  { type: 'xstate.done.actor.negotiateSession', output: session },
  { type: 'xstate.done.actor.negotiateSession', output: modern },
  { type: 'xstate.done.actor.negotiateSession', output: modernNoProbe },
  { type: 'xstate.error.actor.negotiateSession', error: lost },
  { type: 'xstate.error.actor.negotiateSession', error: auth },
  { type: 'xstate.error.actor.negotiateSession', error: legacyHint },
  { type: 'xstate.error.actor.negotiateSession', error: refused },
  { type: 'xstate.done.actor.ping' },
  { type: 'xstate.error.actor.ping', error: { code: 'TIMEOUT', message: 'pong late' } },
  { type: 'xstate.done.actor.closeTransport' },
  { type: 'xstate.error.actor.closeTransport', error: lost },
  { type: 'xstate.after.connectTimeout.connection.connecting' },
  { type: 'xstate.after.initializeTimeout.connection.negotiating' },
  { type: 'xstate.after.heartbeatInterval.connection.ready.waiting' },
  { type: 'xstate.after.retryBackoff.connection.reconnecting.backingOff' },
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
  const e = event as unknown as
    | { type: string; error?: { code: string; legacyHint?: boolean }; output?: SessionInfo }
    | undefined;
  const c = snap.context;
  return JSON.stringify([
    prev?.value,
    e?.type,
    e?.error?.code,
    e?.error?.legacyHint,
    e?.output?.liveness,
    snap.value,
    c.attempt,
    c.missedPongs,
    c.verdict?.era,
    c.session?.liveness,
    c.hurried,
  ]);
}

/** The machine with every I/O actor driven by `driver` (settled by hand on the virtual clock). */
function drivenMachine(driver: PromiseActorDriver) {
  return connectionMachine.provide({
    actors: {
      openTransport: driver.actor('openTransport'),
      negotiateSession: driver.actor('negotiateSession'),
      ping: driver.actor('ping'),
      closeTransport: driver.actor('closeTransport'),
    },
  });
}

function liveActor(driver: PromiseActorDriver, taken: Set<string>) {
  return createActor(drivenMachine(driver), { input, inspect: recordTransitions(taken) });
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
        expect(live.context.verdict?.era).toEqual(step.state.context.verdict?.era);
        expect(live.context.hurried).toBe(step.state.context.hurried);
        for (const node of live._nodes) visited.add(node.id);
      }
      actor.stop();
    }
    // `negotiating.choosing` is transient (eventless only): never at rest, so never in a snapshot;
    // each of its eventless transitions is asserted taken below.
    expect(
      [...definedStates(connectionMachine)].filter(
        (s) => !visited.has(s) && s !== 'connection.negotiating.choosing',
      ),
    ).toEqual([]);
    // autoConnect is off in this model, and its backoff never draws a 0 ms delay: the eventless
    // idle → connecting and backingOff → connecting are covered below.
    const missing = [...definedTransitions(connectionMachine)].filter(
      (t) =>
        !taken.has(t) &&
        !t.startsWith('connection.idle --always') &&
        !t.startsWith('connection.reconnecting.backingOff --always [noRetryDelay]'),
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

  it('a retry delay of 0 reconnects at once, without a timer turn; attempts still count', async () => {
    const driver = new PromiseActorDriver();
    const taken = new Set<string>();
    const machine = connectionMachine.provide({ actors: { openTransport: driver.actor('openTransport') } });
    const backoff = { ...input.backoff, initialDelayMs: 0, jitter: false, maxAttempts: 3 };
    const actor = createActor(machine, { input: { ...input, backoff }, inspect: recordTransitions(taken) });
    actor.start();
    actor.send({ type: 'CONNECT' });
    for (const attempt of [1, 2]) {
      driver.settle('xstate.error.actor.openTransport', { error: lost });
      // Only promise callbacks run here: no timer is advanced.
      await Promise.resolve();
      await Promise.resolve();
      expect(actor.getSnapshot().value).toBe('connecting');
      expect(actor.getSnapshot().context.attempt).toBe(attempt);
    }
    expect(
      taken.has('connection.reconnecting.backingOff --always [noRetryDelay]--> connection.connecting'),
    ).toBe(true);
    driver.settle('xstate.error.actor.openTransport', { error: lost });
    await vi.advanceTimersByTimeAsync(0);
    expect(actor.getSnapshot().value).toBe('failed');
    actor.stop();
  });

  it('backoff ceilings grow by the factor and cap; attempts are bounded', async () => {
    const driver = new PromiseActorDriver();
    const machine = drivenMachine(driver);
    const noJitter = { ...input, backoff: { ...input.backoff, jitter: false, maxAttempts: 5 } };
    const actor = createActor(machine, { input: noJitter }).start();
    actor.send({ type: 'CONNECT' });
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      driver.settle('xstate.error.actor.openTransport', { error: lost });
      await vi.advanceTimersByTimeAsync(0);
      expect(actor.getSnapshot().matches('reconnecting')).toBe(true);
      const { retryDelayMs, retryAt } = actor.getSnapshot().context;
      expect(retryAt).toBe(Date.now() + retryDelayMs);
      delays.push(retryDelayMs);
      await vi.advanceTimersByTimeAsync(retryDelayMs - 1);
      expect(actor.getSnapshot().matches('reconnecting')).toBe(true);
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

  it('calls waiting cut a grown backoff to the first step after the minimum gap; hurried attempts do not count', async () => {
    const driver = new PromiseActorDriver();
    const machine = connectionMachine.provide({ actors: { openTransport: driver.actor('openTransport') } });
    const backoff = { ...input.backoff, jitter: false, maxAttempts: 5, maxDelayMs: 10_000 };
    const actor = createActor(machine, { input: { ...input, backoff } }).start();
    actor.send({ type: 'CONNECT' });
    const fail = async (): Promise<void> => {
      driver.settle('xstate.error.actor.openTransport', { error: lost });
      await vi.advanceTimersByTimeAsync(0);
    };
    // Grow the backoff with nobody waiting: attempts 1..4, the last delay 800 ms.
    for (let i = 0; i < 3; i++) {
      await fail();
      await vi.advanceTimersByTimeAsync(actor.getSnapshot().context.retryDelayMs);
    }
    await fail();
    expect(actor.getSnapshot().context).toMatchObject({ attempt: 4, retryDelayMs: 800, hurried: false });
    for (let round = 0; round < 10; round++) {
      const failedAtMs = Date.now();
      actor.send({ type: 'CALLS_WAITING' });
      const hurried = actor.getSnapshot().context;
      // Right after a failure the minimum gap rules: the retry comes initialDelayMs after it.
      expect(hurried).toMatchObject({
        attempt: 4,
        hurried: true,
        retryAt: failedAtMs + backoff.initialDelayMs,
      });
      actor.send({ type: 'CALLS_WAITING' }); // already a first-step retry: nothing changes
      expect(actor.getSnapshot().context).toBe(hurried);
      await vi.advanceTimersByTimeAsync(backoff.initialDelayMs - 1);
      expect(actor.getSnapshot().matches('reconnecting')).toBe(true); // not a millisecond early
      await vi.advanceTimersByTimeAsync(1);
      expect(actor.getSnapshot().value).toBe('connecting');
      await fail();
      // The hurried attempt did not count: the plain backoff stays at its step.
      expect(actor.getSnapshot().context).toMatchObject({ attempt: 4, retryDelayMs: 800, hurried: false });
    }
    // With nobody waiting the plain backoff resumes and counts: the fifth attempt gives up.
    await vi.advanceTimersByTimeAsync(800);
    await fail();
    expect(actor.getSnapshot().value).toBe('failed');
    actor.stop();
  });

  it('a hurried retry keeps full jitter over the first step once the gap has passed', async () => {
    const driver = new PromiseActorDriver();
    const machine = connectionMachine.provide({ actors: { openTransport: driver.actor('openTransport') } });
    const backoff = { ...input.backoff, maxAttempts: 100, maxDelayMs: 10_000 };
    const actor = createActor(machine, { input: { ...input, seed: 11, backoff } }).start();
    actor.send({ type: 'CONNECT' });
    const fail = async (): Promise<void> => {
      driver.settle('xstate.error.actor.openTransport', { error: lost });
      await vi.advanceTimersByTimeAsync(0);
    };
    const jitters: number[] = [];
    const afterFailure: number[] = [];
    for (let round = 0; round < 60; round++) {
      await fail();
      const c = actor.getSnapshot().context;
      if (c.retryDelayMs > 2 * backoff.initialDelayMs && round % 3 === 0) {
        // Right after the failure: the minimum gap (half the first step), then jitter over the other half.
        actor.send({ type: 'CALLS_WAITING' });
        const sinceFailureMs = (actor.getSnapshot().context.retryAt as number) - c.retryFromMs;
        expect(sinceFailureMs).toBeGreaterThanOrEqual(minRetryGapMs(backoff));
        expect(sinceFailureMs).toBeLessThan(backoffCeilingMs(backoff, 1));
        afterFailure.push(sinceFailureMs);
      } else if (c.retryDelayMs > 2 * backoff.initialDelayMs) {
        await vi.advanceTimersByTimeAsync(backoff.initialDelayMs); // past the minimum gap
        actor.send({ type: 'CALLS_WAITING' });
        const h = actor.getSnapshot().context;
        expect(h.hurried).toBe(true);
        expect(h.retryDelayMs).toBeGreaterThanOrEqual(0);
        expect(h.retryDelayMs).toBeLessThan(backoffCeilingMs(backoff, 1) - minRetryGapMs(backoff));
        jitters.push(h.retryDelayMs);
      }
      await vi.advanceTimersByTimeAsync(actor.getSnapshot().context.retryDelayMs);
    }
    expect(jitters.length).toBeGreaterThan(15);
    // Spread over the whole first step, not a narrowed part of it.
    expect(Math.min(...jitters)).toBeLessThan(12);
    expect(Math.max(...jitters)).toBeGreaterThanOrEqual(37);
    // Retries right after a failure are spread too (clients that failed together do not align).
    expect(afterFailure.length).toBeGreaterThan(5);
    expect(new Set(afterFailure).size).toBeGreaterThan(3);
    actor.stop();
  });

  it('missed pongs up to the limit declare the peer dead and reconnect', async () => {
    const driver = new PromiseActorDriver();
    const machine = connectionMachine.provide({
      actors: {
        openTransport: driver.actor('openTransport'),
        negotiateSession: driver.actor('negotiateSession'),
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
    driver.settle('xstate.done.actor.negotiateSession', { output: session });
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
    expect(actor.getSnapshot().matches('reconnecting')).toBe(true);
    expect(actor.getSnapshot().context.lastError?.message).toMatch(/missed 3 heartbeat/);
    actor.stop();
  });

  it('negotiation: discover first; the verdict is kept, so a reconnect adopts (modern) or initializes (legacy)', async () => {
    const run = async (output: SessionInfo): Promise<string[]> => {
      const driver = new PromiseActorDriver();
      const modes: string[] = [];
      const parked = driver.actor<SessionInfo, { mode: string }>('negotiateSession');
      const machine = connectionMachine.provide({
        actors: {
          openTransport: driver.actor('openTransport'),
          negotiateSession: fromPromise<
            SessionInfo,
            { server: string; mode: NegotiationMode; protocol: ProtocolPreference }
          >((args) => {
            modes.push(args.input.mode);
            return (parked.config as (a: typeof args) => Promise<SessionInfo>)(args);
          }),
          ping: driver.actor('ping'),
        },
      });
      const actor = createActor(machine, { input }).start();
      actor.send({ type: 'CONNECT' });
      for (let i = 0; i < 2; i++) {
        driver.settle('xstate.done.actor.openTransport', {});
        await vi.advanceTimersByTimeAsync(0);
        driver.settle('xstate.done.actor.negotiateSession', { output });
        await vi.advanceTimersByTimeAsync(0);
        expect(actor.getSnapshot().context.verdict).toEqual({
          era: output.era,
          protocolVersion: output.protocolVersion,
        });
        actor.send({ type: 'TRANSPORT_CLOSED', error: lost });
        await vi.advanceTimersByTimeAsync(actor.getSnapshot().context.retryDelayMs);
      }
      actor.stop();
      return modes;
    };
    expect(await run(modern)).toEqual(['discover', 'adopt']);
    expect(await run(session)).toEqual(['discover', 'initialize']);
  });

  it('a pinned 2025 server initializes at once; a refused version fails without a reconnect loop', async () => {
    const driver = new PromiseActorDriver();
    const machine = connectionMachine.provide({
      actors: {
        openTransport: driver.actor('openTransport'),
        negotiateSession: driver.actor('negotiateSession'),
      },
    });
    const actor = createActor(machine, { input: { ...input, protocol: '2025-11-25' } }).start();
    actor.send({ type: 'CONNECT' });
    driver.settle('xstate.done.actor.openTransport', {});
    await vi.advanceTimersByTimeAsync(0);
    expect(actor.getSnapshot().value).toEqual({ negotiating: 'initializing' });
    driver.settle('xstate.error.actor.negotiateSession', { error: refused });
    await vi.advanceTimersByTimeAsync(0);
    expect(actor.getSnapshot().value).toBe('failed');
    expect(actor.getSnapshot().context.attempt).toBe(0);
    expect(driver.invocations.get('openTransport')).toBe(1);
    actor.stop();
  });

  it('a restored modern verdict is adopted at once; when it fails permanently in auto, the next attempt discovers', async () => {
    const driver = new PromiseActorDriver();
    const machine = connectionMachine.provide({
      actors: {
        openTransport: driver.actor('openTransport'),
        negotiateSession: driver.actor('negotiateSession'),
      },
    });
    const actor = createActor(machine, {
      input: { ...input, verdict: { era: 'modern', protocolVersion: '2026-07-28' } },
    }).start();
    actor.send({ type: 'CONNECT' });
    driver.settle('xstate.done.actor.openTransport', {});
    await vi.advanceTimersByTimeAsync(0);
    expect(actor.getSnapshot().value).toEqual({ negotiating: 'adopting' });
    driver.settle('xstate.error.actor.negotiateSession', { error: refused });
    await vi.advanceTimersByTimeAsync(0);
    expect(actor.getSnapshot().matches('reconnecting')).toBe(true);
    expect(actor.getSnapshot().context.verdict).toBeNull();
    await vi.advanceTimersByTimeAsync(actor.getSnapshot().context.retryDelayMs);
    driver.settle('xstate.done.actor.openTransport', {});
    await vi.advanceTimersByTimeAsync(0);
    expect(actor.getSnapshot().value).toEqual({ negotiating: 'discovering' });
    actor.stop();
  });

  it('with a modern verdict the transport may open with it adopted: straight to ready, no negotiating', async () => {
    const driver = new PromiseActorDriver();
    const machine = drivenMachine(driver);
    const seen: string[] = [];
    const actor = createActor(machine, {
      input: { ...input, verdict: { era: 'modern', protocolVersion: '2026-07-28' } },
    });
    actor.subscribe((s) => seen.push(JSON.stringify(s.value)));
    actor.start();
    actor.send({ type: 'CONNECT' });
    driver.settle('xstate.done.actor.openTransport', { output: modern });
    await vi.advanceTimersByTimeAsync(0);
    expect(actor.getSnapshot().matches('ready')).toBe(true);
    expect(actor.getSnapshot().context.session).toEqual(modern);
    expect(seen.some((v) => v.includes('negotiating'))).toBe(false);
    expect(driver.invocations.get('negotiateSession') ?? 0).toBe(0);
    actor.stop();
  });

  it('without a verdict, an output from openTransport is ignored: the handshake still runs', async () => {
    const driver = new PromiseActorDriver();
    const machine = drivenMachine(driver);
    const actor = createActor(machine, { input }).start();
    actor.send({ type: 'CONNECT' });
    driver.settle('xstate.done.actor.openTransport', { output: modern });
    await vi.advanceTimersByTimeAsync(0);
    expect(actor.getSnapshot().value).toEqual({ negotiating: 'discovering' });
    actor.stop();
  });
});

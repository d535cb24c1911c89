/**
 * The shared breaker against a real redis-server: fleet-wide failure counting, open propagation
 * (timed), one half-open probe per phase, close propagation; lease expiry of a dead prober on the
 * in-memory store with a virtual clock.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetContext } from '../../src/runtime/fleet/fleet-context.js';
import { MemoryFleetStore } from '../../src/runtime/fleet/memory-store.js';
import { type SharedBreakerHooks, SharedBreakers } from '../../src/runtime/fleet/shared-breaker.js';
import {
  type RedisServerProcess,
  redisAvailable,
  redisMissingReason,
  startRedisServer,
} from '../helpers/redis-server.js';
import { closeAll, counter, members, within } from './kit.js';

interface Recorded {
  trips: string[];
  opens: { key: string; openForMs: number; atMs: number }[];
  closes: string[];
}

function recordingHooks(): {
  hooks: SharedBreakerHooks;
  rec: Recorded;
  opened: ReturnType<typeof counter>;
  closed: ReturnType<typeof counter>;
  tripped: ReturnType<typeof counter>;
} {
  const rec: Recorded = { trips: [], opens: [], closes: [] };
  const opened = counter();
  const closed = counter();
  const tripped = counter();
  return {
    rec,
    opened,
    closed,
    tripped,
    hooks: {
      onFleetTrip: (key) => {
        rec.trips.push(key);
        tripped.hit();
      },
      onRemoteOpen: (key, openForMs) => {
        rec.opens.push({ key, openForMs, atMs: performance.now() });
        opened.hit();
      },
      onRemoteClose: (key) => {
        rec.closes.push(key);
        closed.hit();
      },
    },
  };
}

if (!redisAvailable) console.warn(`[fleet] ${redisMissingReason}`);

describe.skipIf(!redisAvailable)('shared breaker on Redis', () => {
  let redis: RedisServerProcess;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  async function fleetOf(n: number, ns: string, threshold = 5) {
    const ctxs = await members(redis.url, n, ns);
    const parts = ctxs.map((ctx) => {
      const r = recordingHooks();
      return { ctx, ...r, shared: new SharedBreakers(ctx, 'demo', { failureThreshold: threshold }, r.hooks) };
    });
    await Promise.all(parts.map((p) => p.shared.start()));
    return {
      parts,
      close: async () => {
        for (const p of parts) p.shared.close();
        await closeAll(ctxs);
      },
    };
  }

  it('counts failures across the fleet: one trip at the threshold, in one process', async () => {
    const f = await fleetOf(4, 'count');
    try {
      for (let i = 0; i < 5; i++) f.parts[i % 4]!.shared.recordFailure('*');
      await within(Promise.race(f.parts.map((p) => p.tripped.wait(1))), 1_000, 'a fleet trip');
      for (let i = 0; i < 3; i++) f.parts[i]!.shared.recordFailure('*'); // stragglers past the threshold
      await Promise.all(f.parts.map((p) => p.ctx.settled()));
      expect(f.parts.map((p) => p.rec.trips.length).reduce((a, b) => a + b)).toBe(1);
    } finally {
      await f.close();
    }
  });

  it('a success resets the fleet count (consecutive failures, fleet-wide)', async () => {
    const f = await fleetOf(2, 'reset');
    try {
      for (let i = 0; i < 4; i++) f.parts[0]!.shared.recordFailure('*');
      await f.parts[0]!.ctx.settled();
      f.parts[0]!.shared.recordSuccess('*');
      await f.parts[0]!.ctx.settled();
      for (let i = 0; i < 4; i++) f.parts[1]!.shared.recordFailure('*');
      await f.parts[1]!.ctx.settled();
      expect(f.parts[0]!.rec.trips.length + f.parts[1]!.rec.trips.length).toBe(0);
      f.parts[1]!.shared.recordFailure('*');
      await within(f.parts[1]!.tripped.wait(1), 1_000, 'trip at 5 after the reset');
    } finally {
      await f.close();
    }
  });

  it('an open reaches every other process within 50 ms; exactly one probe; the close reaches all', async () => {
    const f = await fleetOf(4, 'open');
    try {
      const t0 = performance.now();
      f.parts[0]!.shared.localTransition('*', 'open', 500);
      await within(Promise.all(f.parts.slice(1).map((p) => p.opened.wait(1))), 1_000, 'open everywhere');
      const delays = f.parts.slice(1).map((p) => p.rec.opens[0]!.atMs - t0);
      expect(Math.max(...delays)).toBeLessThan(50);
      expect(f.parts[0]!.rec.opens).toEqual([]); // its own message is not applied back
      expect(f.parts[1]!.rec.opens[0]!.openForMs).toBe(500);

      const verdicts = await Promise.all(f.parts.map((p) => p.shared.acquireProbe('*')));
      expect(verdicts.filter(Boolean)).toHaveLength(1);
      // A second round in the same phase admits nobody.
      expect(
        (await Promise.all(f.parts.map((p) => p.shared.acquireProbe('*')))).filter(Boolean),
      ).toHaveLength(0);

      const prober = f.parts[verdicts.indexOf(true)]!;
      prober.shared.localTransition('*', 'closed');
      const others = f.parts.filter((p) => p !== prober);
      await within(Promise.all(others.map((p) => p.closed.wait(1))), 1_000, 'close everywhere');
      expect(prober.rec.closes).toEqual([]);
    } finally {
      await f.close();
    }
  });

  it('concurrent openers agree on one phase: still one probe', async () => {
    const f = await fleetOf(3, 'concurrent');
    try {
      f.parts[0]!.shared.localTransition('*', 'open', 500);
      f.parts[1]!.shared.localTransition('*', 'open', 500);
      await Promise.all(f.parts.map((p) => p.ctx.settled()));
      await within(f.parts[2]!.opened.wait(1), 1_000, 'open at the third');
      const verdicts = await Promise.all(f.parts.map((p) => p.shared.acquireProbe('*')));
      expect(verdicts.filter(Boolean)).toHaveLength(1);
    } finally {
      await f.close();
    }
  });

  it('a failed probe reopens the fleet: a new phase with its own single probe', async () => {
    const f = await fleetOf(3, 'reopen');
    try {
      f.parts[0]!.shared.localTransition('*', 'open', 500);
      await within(Promise.all(f.parts.slice(1).map((p) => p.opened.wait(1))), 1_000, 'first open');
      const first = await Promise.all(f.parts.map((p) => p.shared.acquireProbe('*')));
      const prober = f.parts[first.indexOf(true)]!;
      prober.shared.localTransition('*', 'open', 800); // its probe failed
      const others = f.parts.filter((p) => p !== prober);
      await within(Promise.all(others.map((p) => p.opened.wait(p === f.parts[0] ? 1 : 2))), 1_000, 'reopen');
      expect(others.every((p) => p.rec.opens.at(-1)?.openForMs === 800)).toBe(true);
      const second = await Promise.all(f.parts.map((p) => p.shared.acquireProbe('*')));
      expect(second.filter(Boolean)).toHaveLength(1);
    } finally {
      await f.close();
    }
  });

  it("no failure slot before every member acknowledged the episode: a late listener's call in flight is covered", async () => {
    const ctxs = await members(redis.url, 4, 'acks');
    // The fourth process hears the fleet late: its messages wait until released.
    const held: (() => void)[] = [];
    let deaf = true;
    const real = ctxs[3]!.store;
    const late = new Proxy(real, {
      get(target, prop) {
        if (prop === 'subscribe')
          return (channel: string, on: (m: string) => void) =>
            target.subscribe(channel, (m) => (deaf ? held.push(() => on(m)) : on(m)));
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    ctxs[3] = new FleetContext(late, 'acks', 'p3');
    const noop: SharedBreakerHooks = { onFleetTrip() {}, onRemoteOpen() {}, onRemoteClose() {} };
    const tripped = counter();
    const options = { failureThreshold: 5, ackWaitMs: 100 };
    const [a, b, c] = ctxs
      .slice(0, 3)
      .map((ctx) => new SharedBreakers(ctx, 'demo', options, { ...noop, onFleetTrip: () => tripped.hit() }));
    // d has one call in flight, sent on the free path: it declares it when it learns of the episode.
    let declared: string | undefined;
    const d: SharedBreakers = new SharedBreakers(ctxs[3]!, 'demo', options, {
      ...noop,
      onFleetTrip: () => tripped.hit(),
      onGuard: (key) => {
        declared ??= d.declare(key, 5_000);
      },
    });
    const all = [a!, b!, c!, d];
    try {
      await Promise.all(all.map((s) => s.start()));
      for (const s of [a!, b!, c!]) s.recordFailure('*');
      await Promise.all(ctxs.map((ctx) => ctx.settled()));
      // 3 failures, d's call at risk unknown to the fleet: no slot may be granted.
      expect(await a!.reserve('*', 5_000)).toEqual({ kind: 'full' });
      deaf = false;
      for (const deliver of held.splice(0)) deliver();
      await ctxs[3]!.settled();
      expect(declared).toBeDefined();
      // 3 failures + d's declared call: one slot left, for one caller.
      const first = await a!.reserve('*', 5_000);
      const second = await b!.reserve('*', 5_000);
      expect(first.kind).toBe('go');
      expect(second).toEqual({ kind: 'full' });
      d.settle('*', declared as string, 'failure');
      a!.settle('*', (first as { slot: string }).slot, 'failure');
      await within(tripped.wait(1), 1_000, 'the fleet trip');
      await Promise.all(ctxs.map((ctx) => ctx.settled()));
      expect(Number(await real.get('mcp-actors:acks:brk:demo:*:failures'))).toBe(5);
    } finally {
      for (const s of all) s.close();
      await Promise.all(ctxs.map((ctx) => ctx.settled()));
      await closeAll(ctxs);
    }
  });

  it('a process that joins while the fleet is open adopts the open phase from the store', async () => {
    const f = await fleetOf(1, 'late');
    try {
      f.parts[0]!.shared.localTransition('*', 'open', 5_000);
      await f.parts[0]!.ctx.settled();
      const late = await fleetOf(1, 'late');
      try {
        expect(late.parts[0]!.rec.opens).toHaveLength(1);
        expect(late.parts[0]!.rec.opens[0]!.openForMs).toBeGreaterThan(4_000);
      } finally {
        await late.close();
      }
    } finally {
      await f.close();
    }
  });
});

describe('shared breaker on the in-memory store (virtual clock)', () => {
  it('a prober that dies loses the probe when its lease expires; a dead member blocks slots until its lease lapses; the store down lets the local breaker decide', async () => {
    let now = 1_000;
    const store = new MemoryFleetStore({ nowMs: () => now });
    const noop: SharedBreakerHooks = { onFleetTrip() {}, onRemoteOpen() {}, onRemoteClose() {} };
    const a = new SharedBreakers(
      new FleetContext(store, 'mem', 'a'),
      'demo',
      { failureThreshold: 3, probeLeaseMs: 1_000, memberLeaseMs: 60_000, ackWaitMs: 0 },
      noop,
    );
    const b = new SharedBreakers(
      new FleetContext(store, 'mem', 'b'),
      'demo',
      { failureThreshold: 3, probeLeaseMs: 1_000, memberLeaseMs: 60_000, ackWaitMs: 0 },
      noop,
    );
    await a.start();
    await b.start();
    expect(await a.acquireProbe('*')).toBe(true);
    expect(await b.acquireProbe('*')).toBe(false);
    now += 999;
    expect(await b.acquireProbe('*')).toBe(false);
    now += 1; // a died holding it: the lease is over
    expect(await b.acquireProbe('*')).toBe(true);
    // A member that died unacknowledged (never renewed) blocks failure slots until its lease lapses.
    await store.heartbeat('mcp-actors:mem:brk:demo:members', 'dead', 1_000);
    a.recordFailure('*');
    await new Promise((resolve) => setImmediate(resolve));
    expect(await a.reserve('*', 1_000)).toEqual({ kind: 'full' });
    now += 1_000;
    expect((await a.reserve('*', 1_000)).kind).toBe('go');
    store.fail();
    expect(await a.acquireProbe('*')).toBe(true); // advisory: no store, the local breaker decides
    expect(() => a.recordFailure('*')).not.toThrow();
  });
});

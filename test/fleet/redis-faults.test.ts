/**
 * Redis faults against a real redis-server: SIGKILL mid-run (every operation settles within its
 * timeout, the store reports degraded, fails fast meanwhile, rejoins after the restart and its
 * subscriptions deliver again), a hung Redis (SIGSTOP: operations time out, then rejoin on
 * SIGCONT), an unreachable Redis at start (a degraded fleet, no hang), and bad fleet config.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/index.js';
import { Fleet } from '../../src/runtime/fleet/fleet.js';
import { MemoryFleetStore } from '../../src/runtime/fleet/memory-store.js';
import { createRedisFleetStore } from '../../src/runtime/fleet/redis-store.js';
import type { FleetStore, FleetStoreStateChange } from '../../src/runtime/fleet/store.js';
import {
  freePort,
  type RedisServerProcess,
  redisAvailable,
  redisMissingReason,
  startRedisServer,
} from '../helpers/redis-server.js';
import { counter, nextState, TEST_TIMEOUT_MS, within } from './kit.js';

if (!redisAvailable) console.warn(`[fleet] ${redisMissingReason}`);

/** Slack over the store timeout for timers on a loaded 2-core machine. */
const SETTLE_LIMIT_MS = TEST_TIMEOUT_MS + 150;

/** Runs `op` and returns how long it took to settle and whether it resolved. */
async function timed(op: () => Promise<unknown>): Promise<{ ms: number; ok: boolean }> {
  const t0 = performance.now();
  const ok = await op().then(
    () => true,
    () => false,
  );
  return { ms: performance.now() - t0, ok };
}

describe.skipIf(!redisAvailable)('Redis faults', () => {
  let redis: RedisServerProcess;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('SIGKILL mid-run: no operation hangs, degraded then rejoined, subscriptions resume', async () => {
    const store = await createRedisFleetStore({
      url: redis.url,
      timeoutMs: TEST_TIMEOUT_MS,
      probeIntervalMs: 50,
    });
    const changes: FleetStoreStateChange[] = [];
    store.onStateChange((c) => changes.push(c));
    const heard = counter();
    await store.subscribe('ch', () => heard.hit());
    try {
      const ops = (i: number): (() => Promise<unknown>)[] => [
        () => store.get(`k${i}`),
        () => store.set(`k${i}`, 'v', { ttlMs: 10_000 }),
        () => store.incr('n', 1, 10_000),
        () => store.set(`lock${i}`, 'me', { ttlMs: 1_000, onlyIfAbsent: true }),
        () => store.setIf({ key: `lock${i}`, equals: 'me' }, `g${i}`, 'x'),
        () => store.publish('ch', 'm'),
      ];
      // Steady load: 4 loops of operations; Redis is SIGKILLed while they run.
      const results: { ms: number; ok: boolean }[] = [];
      let killed = false;
      const loops = Array.from({ length: 4 }, async (_, w) => {
        for (let i = 0; i < 60; i++) {
          for (const op of ops(w * 100 + i)) results.push(await timed(op));
          if (w === 0 && i === 20) {
            await redis.kill('SIGKILL');
            killed = true;
          }
        }
      });
      await within(Promise.all(loops), 10_000, 'the load');
      expect(killed).toBe(true);
      const worst = Math.max(...results.map((r) => r.ms));
      expect(worst).toBeLessThan(SETTLE_LIMIT_MS);
      expect(results.some((r) => !r.ok)).toBe(true);
      expect(store.state).toBe('degraded');
      expect(changes.map((c) => c.state)).toEqual(['degraded']);
      expect(changes[0]!.reason).not.toMatch(/redis:\/\//);

      // Degraded: operations fail at once, without a round trip.
      const fast = await timed(() => store.get('k'));
      expect(fast.ok).toBe(false);
      expect(fast.ms).toBeLessThan(20);

      const rejoined = nextState(store, 'rejoined');
      await redis.restart();
      await within(rejoined, 3_000, 'rejoin');
      expect(await store.set('after', '1')).toBe(true);
      // The subscription made before the kill delivers again (re-subscribed on reconnect).
      const before = heard.count();
      for (let i = 0; i < 50 && heard.count() === before; i++) {
        await store.publish('ch', 'again');
        await within(heard.wait(before + 1), 100, 'message').catch(() => {});
      }
      expect(heard.count()).toBeGreaterThan(before);
    } finally {
      await store.close();
    }
  });

  it('a hung Redis (SIGSTOP): operations time out at the store timeout; SIGCONT rejoins', async () => {
    const store = await createRedisFleetStore({
      url: redis.url,
      timeoutMs: TEST_TIMEOUT_MS,
      probeIntervalMs: 50,
    });
    try {
      expect(await store.set('x', '1')).toBe(true);
      const degraded = nextState(store, 'degraded');
      const rejoined = nextState(store, 'rejoined');
      process.kill(redis.pid, 'SIGSTOP');
      let r: { ms: number; ok: boolean };
      try {
        r = await timed(() => store.get('x'));
        await within(degraded, 1_000, 'degraded');
      } finally {
        process.kill(redis.pid, 'SIGCONT'); // before any assertion, so Redis is never left stopped
      }
      expect(r.ok).toBe(false);
      expect(r.ms).toBeGreaterThanOrEqual(TEST_TIMEOUT_MS - 5);
      expect(r.ms).toBeLessThan(SETTLE_LIMIT_MS);
      await within(rejoined, 3_000, 'rejoin after SIGCONT');
      expect(await store.get('x')).toBe('1');
    } finally {
      await store.close();
    }
  });

  it('Redis unreachable at start: a degraded fleet at once, serving from local state', async () => {
    const port = await freePort();
    const states: string[] = [];
    const t0 = performance.now();
    const fleet = await Fleet.create(
      { redis: { url: `redis://127.0.0.1:${port}` }, namespace: 'down', timeoutMs: TEST_TIMEOUT_MS },
      (c) => states.push(c.state),
    );
    try {
      expect(performance.now() - t0).toBeLessThan(1_000);
      expect(fleet.state).toBe('degraded');
      expect(states).toEqual(['degraded']);
      const budget = fleet.retryBudget('demo', { ratio: 0.2, windowMs: 10_000 });
      budget.recordCall(Date.now());
      expect(budget.tryTakeRetry(Date.now())).toBe(true); // local budget: the floor of one retry
    } finally {
      await fleet.close();
    }
  });
});

describe('fleet config', () => {
  it('names the bad field', async () => {
    const store: FleetStore = new MemoryFleetStore();
    await expect(Fleet.create({ namespace: 'a b', store }, () => {})).rejects.toThrow(ConfigError);
    await expect(Fleet.create({ namespace: 'ok', store, key: 'short' }, () => {})).rejects.toThrow(
      /fleet\.key/,
    );
    await expect(Fleet.create({ namespace: 'ok' }, () => {})).rejects.toThrow(/fleet\.redis\.url/);
    const fleet = await Fleet.create({ namespace: 'ok', store }, () => {});
    await expect(fleet.tokens('demo', { refresh: async () => ({ accessToken: 'x' }) })).rejects.toThrow(
      /fleet\.key/,
    );
    await fleet.close();
  });
});

/**
 * The shared retry budget against a real redis-server: calls counted in one process pay for
 * retries in another, the fleet's retries stay within ratio × calls, and a dead store hands the
 * decision back to the local budget.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SharedRetryBudget } from '../../src/runtime/fleet/shared-retry-budget.js';
import {
  type RedisServerProcess,
  redisAvailable,
  redisMissingReason,
  startRedisServer,
} from '../helpers/redis-server.js';
import { closeAll, members, nextState, within } from './kit.js';

if (!redisAvailable) console.warn(`[fleet] ${redisMissingReason}`);

describe.skipIf(!redisAvailable)('shared retry budget on Redis', () => {
  let redis: RedisServerProcess;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('is counted across the fleet: ratio × the fleet calls, whoever made them', async () => {
    const ctxs = await members(redis.url, 3, 'budget');
    const budgets = ctxs.map((ctx) => new SharedRetryBudget(ctx, 'demo', { ratio: 0.2, windowMs: 60_000 }));
    try {
      const now = Date.now();
      for (let i = 0; i < 30; i++) budgets[0]!.recordCall(now); // 30 calls → 6 retries for the fleet
      budgets[1]!.recordCall(now);
      budgets[2]!.recordCall(now);
      await Promise.all(budgets.map((b) => b.flush(now)));
      // 32 calls in all: floor(32 × 0.2) = 6 retries, taken in turn with an exchange after each.
      let granted = 0;
      for (let round = 0; round < 8; round++) {
        for (const b of budgets) {
          await b.flush(now); // read the fleet's counts, then decide
          if (b.tryTakeRetry(now)) granted++;
          await b.flush(now); // and publish the retry taken
        }
      }
      expect(granted).toBe(6);
      // Process 1 alone made one call; its local budget would have allowed 1 retry, the fleet's allowed more.
      expect(budgets.every((b) => b.fleetViewUsable(now))).toBe(true);
    } finally {
      for (const b of budgets) b.close();
      await closeAll(ctxs);
    }
  });

  it('without the exchange the overshoot is bounded by what each process takes before it syncs', async () => {
    const ctxs = await members(redis.url, 3, 'budget-lag');
    const budgets = ctxs.map((ctx) => new SharedRetryBudget(ctx, 'demo', { ratio: 0.2, windowMs: 60_000 }));
    try {
      const now = Date.now();
      for (const b of budgets) for (let i = 0; i < 10; i++) b.recordCall(now);
      await Promise.all(budgets.map((b) => b.flush(now)));
      // All three decide on the same view (30 calls → 6) without exchanging: at most 6 each.
      const granted = budgets.map((b) => {
        let n = 0;
        for (let i = 0; i < 10; i++) if (b.tryTakeRetry(now)) n++;
        return n;
      });
      expect(granted).toEqual([6, 6, 6]);
      await Promise.all(budgets.map((b) => b.flush(now)));
      expect(budgets.map((b) => b.tryTakeRetry(now))).toEqual([false, false, false]); // the fleet is over budget now
    } finally {
      for (const b of budgets) b.close();
      await closeAll(ctxs);
    }
  });

  it('falls back to the local budget when Redis is down, and back to the fleet when it returns', async () => {
    const ctxs = await members(redis.url, 2, 'budget-down');
    const [a, b] = ctxs.map((ctx) => new SharedRetryBudget(ctx, 'demo', { ratio: 0.2, windowMs: 60_000 }));
    try {
      const now = Date.now();
      for (let i = 0; i < 30; i++) a!.recordCall(now);
      b!.recordCall(now);
      await Promise.all([a!.flush(now), b!.flush(now)]);
      expect(b!.fleetViewUsable(now)).toBe(true);
      await redis.kill('SIGKILL');
      b!.recordCall(now);
      const t0 = Date.now();
      await b!.flush(now); // fails within the store timeout
      expect(Date.now() - t0).toBeLessThan(500);
      expect(b!.fleetViewUsable(now)).toBe(false);
      // Local: 2 calls → max(1, floor(0.4)) = 1 retry.
      expect([b!.tryTakeRetry(now), b!.tryTakeRetry(now)]).toEqual([true, false]);
      const rejoined = nextState(ctxs[1]!.store, 'rejoined');
      await redis.restart();
      await within(rejoined, 3_000, 'rejoin after the restart');
      b!.recordCall(Date.now());
      await b!.flush();
      expect(b!.fleetViewUsable(Date.now())).toBe(true);
    } finally {
      a!.close();
      b!.close();
      await closeAll(ctxs);
    }
  });
});

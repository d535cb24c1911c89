/**
 * The shared response cache against a real redis-server: a value shared by one process is a hit
 * in another, invalidations reach every process, values can be sealed, a dead Redis is a miss
 * within the store timeout.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SharedInvalidation, SharedResponseCache } from '../../src/runtime/fleet/shared-cache.js';
import { TokenCipher } from '../../src/runtime/fleet/token-cipher.js';
import { cacheHintsOf } from '../../src/runtime/resource-cache.js';
import {
  type RedisServerProcess,
  redisAvailable,
  redisMissingReason,
  startRedisServer,
} from '../helpers/redis-server.js';
import { closeAll, counter, members, TEST_TIMEOUT_MS, within } from './kit.js';

if (!redisAvailable) console.warn(`[fleet] ${redisMissingReason}`);

describe('cacheHintsOf (the one reader of 2026 caching hints; only `public` is shared)', () => {
  it('reads ttlMs and cacheScope, ignoring anything else', () => {
    expect(cacheHintsOf({ contents: [], cacheScope: 'public', ttlMs: 5_000 })).toEqual({
      ttlMs: 5_000,
      scope: 'public',
    });
    expect(cacheHintsOf({ contents: [], cacheScope: 'public' })).toEqual({
      ttlMs: undefined,
      scope: 'public',
    });
    expect(cacheHintsOf({ contents: [], cacheScope: 'private', ttlMs: 5_000 })).toEqual({
      ttlMs: 5_000,
      scope: 'private',
    });
    expect(cacheHintsOf({ contents: [] })).toEqual({ ttlMs: undefined, scope: undefined });
    expect(cacheHintsOf(null)).toEqual({ ttlMs: undefined, scope: undefined });
  });
});

describe.skipIf(!redisAvailable)('shared response cache on Redis', () => {
  let redis: RedisServerProcess;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  async function fleet(n: number, ns: string, cipher?: TokenCipher) {
    const ctxs = await members(redis.url, n, ns);
    const heard = ctxs.map(() => ({ list: [] as SharedInvalidation[], c: counter() }));
    const caches = ctxs.map(
      (ctx) => new SharedResponseCache(ctx, { defaultTtlMs: 60_000, ...(cipher ? { cipher } : {}) }),
    );
    await Promise.all(
      caches.map((c, i) =>
        c.start((inv) => {
          heard[i]!.list.push(inv);
          heard[i]!.c.hit();
        }),
      ),
    );
    return {
      ctxs,
      caches,
      heard,
      close: async () => {
        for (const c of caches) c.close();
        await closeAll(ctxs);
      },
    };
  }

  it('a value one process shares is a hit in another; invalidation reaches all', async () => {
    const f = await fleet(3, 'cache');
    try {
      const value = { contents: [{ uri: 'file:///x', text: 'hello' }], cacheScope: 'public' };
      f.caches[0]!.set('demo', 'resource:file:///x', value);
      await f.ctxs[0]!.settled();
      expect(await f.caches[1]!.get('demo', 'resource:file:///x')).toEqual(value);
      expect(await f.caches[2]!.get('demo', 'resource:file:///y')).toBeUndefined();

      f.caches[1]!.invalidate('demo', 'resource:file:///x');
      await within(
        Promise.all([f.heard[0]!.c.wait(1), f.heard[2]!.c.wait(1)]),
        1_000,
        'invalidation everywhere',
      );
      expect(f.heard[0]!.list).toEqual([{ server: 'demo', key: 'resource:file:///x' }]);
      expect(f.heard[1]!.list).toEqual([]); // its own
      expect(await f.caches[0]!.get('demo', 'resource:file:///x')).toBeUndefined();

      f.caches[0]!.set('demo', 'list:tools', { tools: [] });
      await f.ctxs[0]!.settled();
      expect(await f.caches[2]!.get('demo', 'list:tools')).toEqual({ tools: [] });
      f.caches[0]!.invalidate('demo'); // the whole server (list_changed)
      await within(f.heard[2]!.c.wait(2), 1_000, 'server invalidation');
      expect(await f.caches[2]!.get('demo', 'list:tools')).toBeUndefined();
    } finally {
      await f.close();
    }
  });

  it('seals values with the fleet key: nothing readable in Redis', async () => {
    const f = await fleet(2, 'cache-sealed', new TokenCipher(randomBytes(32)));
    const raw = new Redis(redis.url);
    try {
      f.caches[0]!.set('demo', 'resource:secret', { text: 'plain-secret-text' });
      await f.ctxs[0]!.settled();
      expect(await f.caches[1]!.get('demo', 'resource:secret')).toEqual({ text: 'plain-secret-text' });
      const keys = await raw.keys('mcp-actors:cache-sealed:cache:demo:g*');
      expect(keys).toHaveLength(1);
      expect(await raw.get(keys[0]!)).not.toContain('plain-secret-text');
    } finally {
      raw.disconnect();
      await f.close();
    }
  });

  it('a dead Redis is a miss within the store timeout, and sets are dropped without throwing', async () => {
    const f = await fleet(1, 'cache-down');
    try {
      f.caches[0]!.set('demo', 'k', { v: 1 });
      await f.ctxs[0]!.settled();
      await redis.kill('SIGKILL');
      const t0 = Date.now();
      expect(await f.caches[0]!.get('demo', 'k')).toBeUndefined();
      expect(Date.now() - t0).toBeLessThan(TEST_TIMEOUT_MS * 3);
      expect(() => f.caches[0]!.set('demo', 'k', { v: 2 })).not.toThrow();
      await f.ctxs[0]!.settled();
      await redis.restart();
    } finally {
      await f.close();
    }
  });
});

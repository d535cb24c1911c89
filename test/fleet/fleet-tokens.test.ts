/**
 * Fleet tokens against a real redis-server and a loopback token endpoint with rotating refresh
 * tokens: one refresh per expiry for the fleet, nothing readable in Redis, a refresher that dies
 * recovered by the lease without reusing its refresh token, local refresh when Redis is down.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, ConfigError } from '../../src/errors/index.js';
import type { FleetContext } from '../../src/runtime/fleet/fleet-context.js';
import { type FleetTokenSet, FleetTokens } from '../../src/runtime/fleet/fleet-tokens.js';
import { LeaseLock } from '../../src/runtime/fleet/lease-lock.js';
import { TokenCipher } from '../../src/runtime/fleet/token-cipher.js';
import {
  type RedisServerProcess,
  redisAvailable,
  redisMissingReason,
  startRedisServer,
} from '../helpers/redis-server.js';
import { refreshGrant, startTokenEndpoint, type TokenEndpoint } from '../helpers/token-endpoint.js';
import { closeAll, members, within } from './kit.js';

if (!redisAvailable) console.warn(`[fleet] ${redisMissingReason}`);

const KEY = randomBytes(32);

describe('token cipher', () => {
  it('seals with AES-256-GCM: no clear text, bound to its store key, wrong key refused', () => {
    const cipher = new TokenCipher(KEY);
    const sealed = cipher.seal('{"accessToken":"secret-at"}', 'k1');
    expect(sealed).not.toContain('secret-at');
    expect(cipher.open(sealed, 'k1')).toBe('{"accessToken":"secret-at"}');
    expect(() => cipher.open(sealed, 'k2')).toThrow(); // copied under another key
    expect(() => new TokenCipher(randomBytes(32)).open(sealed, 'k1')).toThrow(/another fleet.key/);
    expect(cipher.seal('x', 'k1')).not.toBe(cipher.seal('x', 'k1')); // fresh IV each time
    expect(() => new TokenCipher('too-short')).toThrow(ConfigError);
    expect(new TokenCipher(KEY.toString('hex'))).toBeInstanceOf(TokenCipher);
  });
});

describe.skipIf(!redisAvailable)('fleet tokens on Redis', () => {
  let redis: RedisServerProcess;
  let as: TokenEndpoint;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  async function fleet(
    n: number,
    ns: string,
    extra: Partial<ConstructorParameters<typeof FleetTokens>[1]> = {},
  ) {
    const ctxs = await members(redis.url, n, ns);
    const tokens = ctxs.map(
      (ctx) =>
        new FleetTokens(ctx, {
          id: 'demo',
          cipher: new TokenCipher(KEY),
          refresh: (t, signal) => refreshGrant(as.url, t.refreshToken ?? '', signal),
          skewMs: 0,
          ...extra,
        }),
    );
    await Promise.all(tokens.map((t) => t.start()));
    return {
      ctxs,
      tokens,
      close: async () => {
        for (const t of tokens) t.close();
        await closeAll(ctxs);
      },
    };
  }

  it('one refresh per expiry for the whole fleet; every process gets the new token', async () => {
    as = await startTokenEndpoint({ expiresInMs: 60_000, delayMs: 30 });
    const f = await fleet(4, 'tok-one');
    try {
      const first = as.issue(-1); // already expired
      await f.tokens[0]!.seed(first);
      const got = await within(
        Promise.all(f.tokens.flatMap((t) => [t.getToken(), t.getToken(), t.getToken()])),
        5_000,
        'tokens',
      );
      expect(as.refreshes).toBe(1);
      expect(as.reuses).toBe(0);
      expect(new Set(got).size).toBe(1);
      expect(got[0]).not.toBe(first.accessToken);
      // Fresh now: no store round trip, no refresh.
      expect(await f.tokens[2]!.getToken()).toBe(got[0]);
      expect(as.refreshes).toBe(1);
    } finally {
      await f.close();
      await as.close();
    }
  });

  it('a token the server rejected is refreshed once for the fleet, even when several report it', async () => {
    as = await startTokenEndpoint({ expiresInMs: 60_000, delayMs: 20 });
    const f = await fleet(3, 'tok-401');
    try {
      const first = as.issue(60_000);
      await f.tokens[0]!.seed(first);
      const got = await Promise.all(f.tokens.map((t) => t.rejected(first.accessToken)));
      expect(as.refreshes).toBe(1);
      expect(new Set(got).size).toBe(1);
    } finally {
      await f.close();
      await as.close();
    }
  });

  it('stores only ciphertext in Redis', async () => {
    as = await startTokenEndpoint({ expiresInMs: 60_000 });
    const f = await fleet(1, 'tok-enc');
    const raw = new Redis(redis.url);
    try {
      await f.tokens[0]!.seed(as.issue(-1));
      await f.tokens[0]!.getToken();
      const keys = await raw.keys('mcp-actors:tok-enc:*');
      const dump = (
        await Promise.all(keys.map((k) => raw.type(k).then((t) => (t === 'string' ? raw.get(k) : ''))))
      ).join('\n');
      expect(keys.length).toBeGreaterThan(0);
      for (const secret of as.issued) expect(dump).not.toContain(secret);
      // Another key cannot read the fleet's record.
      const [ctx] = f.ctxs as [FleetContext];
      const stranger = new FleetTokens(ctx, {
        id: 'demo',
        cipher: new TokenCipher(randomBytes(32)),
        refresh: async () => ({ accessToken: 'x' }),
        skewMs: 0,
      });
      await expect(stranger.getToken()).rejects.toThrow(/cannot be opened/);
    } finally {
      raw.disconnect();
      await f.close();
      await as.close();
    }
  });

  it('a process that dies holding the lock before spending the token: the lease expires, another refreshes', async () => {
    as = await startTokenEndpoint({ expiresInMs: 60_000 });
    const f = await fleet(2, 'tok-dead-early', { leaseMs: 300, waitMs: 3_000, pollMs: 50 });
    try {
      await f.tokens[0]!.seed(as.issue(-1));
      // "Process 0" takes the lock and dies before sending anything.
      const lock = new LeaseLock(f.ctxs[0]!.store, f.ctxs[0]!.key('tok', 'demo', 'lock'), 'dead');
      expect(await lock.tryAcquire(300)).toBeDefined();
      const t0 = Date.now();
      const token = await within(f.tokens[1]!.getToken(), 3_000, 'recovery');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250); // waited for the lease
      expect(token).toMatch(/^at-/);
      expect(as.refreshes).toBe(1);
      expect(as.reuses).toBe(0);
    } finally {
      await f.close();
      await as.close();
    }
  });

  it('a process that dies after spending the refresh token: never sent again, AUTH asks to re-authorize', async () => {
    as = await startTokenEndpoint({ expiresInMs: 60_000 });
    let die: (() => void) | undefined;
    const f = await fleet(2, 'tok-dead-late', { leaseMs: 300, waitMs: 3_000, pollMs: 50 });
    // Process 0's refresh reaches the endpoint, then the process "dies": its promise never settles.
    const dying = new FleetTokens(f.ctxs[0]!, {
      id: 'demo',
      cipher: new TokenCipher(KEY),
      leaseMs: 300,
      skewMs: 0,
      refresh: async (t, signal) => {
        await refreshGrant(as.url, t.refreshToken ?? '', signal);
        return new Promise<FleetTokenSet>((resolve) => {
          die = () => resolve({ accessToken: 'never-stored' });
        });
      },
    });
    try {
      await f.tokens[0]!.seed(as.issue(-1));
      void dying.getToken().catch(() => {});
      await within(
        (async () => {
          for (let i = 0; i < 100 && as.refreshes === 0; i++) await new Promise((r) => setTimeout(r, 10));
        })(),
        2_000,
        'the dying refresh',
      );
      const err = await within(
        f.tokens[1]!.getToken().catch((e: unknown) => e),
        3_000,
        'recovery',
      );
      expect(err).toBeInstanceOf(AuthError);
      expect(String((err as Error).message)).toMatch(/authorize again/);
      expect(as.reuses).toBe(0);
      expect(as.refreshes).toBe(1);
      // Re-authorization (seed) restores service for the fleet.
      await f.tokens[1]!.seed(as.issue(60_000));
      expect(await f.tokens[1]!.getToken()).toMatch(/^at-/);
    } finally {
      die?.();
      dying.close();
      await f.close();
      await as.close();
    }
  });

  it('refreshes locally when Redis is down, within the store timeout', async () => {
    as = await startTokenEndpoint({ expiresInMs: 60_000 });
    const f = await fleet(1, 'tok-down');
    try {
      const first = as.issue(60_000);
      await f.tokens[0]!.seed(first);
      await redis.kill('SIGKILL');
      const t0 = Date.now();
      const token = await within(f.tokens[0]!.rejected(first.accessToken), 2_000, 'local refresh');
      expect(token).not.toBe(first.accessToken);
      expect(Date.now() - t0).toBeLessThan(1_000);
      expect(as.refreshes).toBe(1);
      await redis.restart();
    } finally {
      await f.close();
      await as.close();
    }
  });
});

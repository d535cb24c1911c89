/**
 * Which Redis client the fleet store uses: `redis` (node-redis) vs `ioredis`, measured against a
 * real redis-server on loopback. Run: `npx tsx bench/redis-clients.ts` (needs redis-server).
 *
 * Rows: sequential GET round trip, 64 GETs in flight, PUBLISH→message latency, and after a
 * SIGKILL of Redis: how long a command takes to reject, and how long after the restart until a
 * command and a subscription work again. Rounds interleave the two clients.
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { startRedisServer } from '../test/helpers/redis-server.js';

interface Api {
  name: string;
  get(key: string): Promise<unknown>;
  publish(channel: string, message: string): Promise<unknown>;
  subscribe(channel: string, onMessage: (m: string) => void): Promise<void>;
  close(): Promise<void>;
}

const TIMEOUT_MS = 100;

/** node-redis, loaded only here: it is not a dependency (install redis@6.4.0 to re-run the comparison). */
async function nodeRedis(url: string): Promise<Api> {
  const specifier = 'redis';
  // biome-ignore lint/suspicious/noExplicitAny: optional comparison client without types here
  const { createClient } = (await import(specifier)) as any;
  const opts = {
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: 500, reconnectStrategy: () => 20 },
  };
  const c = createClient(opts);
  const s = createClient(opts);
  c.on('error', () => {});
  s.on('error', () => {});
  await c.connect();
  await s.connect();
  return {
    name: 'redis',
    get: (k: string) => c.withCommandOptions({ timeout: TIMEOUT_MS }).get(k),
    publish: (ch: string, m: string) => c.withCommandOptions({ timeout: TIMEOUT_MS }).publish(ch, m),
    subscribe: async (ch: string, on: (m: string) => void) => {
      await s.subscribe(ch, on);
    },
    close: async () => {
      c.destroy();
      s.destroy();
    },
  };
}

async function ioRedis(url: string): Promise<Api> {
  const opts = {
    enableOfflineQueue: false,
    commandTimeout: TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    connectTimeout: 500,
    retryStrategy: () => 20,
    lazyConnect: true,
  };
  const c = new Redis(url, opts);
  const s = new Redis(url, opts);
  c.on('error', () => {});
  s.on('error', () => {});
  await c.connect();
  await s.connect();
  const handlers = new Map<string, (m: string) => void>();
  s.on('message', (ch: string, m: string) => handlers.get(ch)?.(m));
  return {
    name: 'ioredis',
    get: (k) => c.get(k),
    publish: (ch, m) => c.publish(ch, m),
    subscribe: async (ch, on) => {
      handlers.set(ch, on);
      await s.subscribe(ch);
    },
    close: async () => {
      c.disconnect();
      s.disconnect();
    },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

async function sequentialGetUs(api: Api, n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await api.get('k');
  return ((performance.now() - t0) * 1000) / n;
}

async function inFlightGetUs(api: Api, total: number, inFlight: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next++ < total) await api.get('k');
    }),
  );
  return ((performance.now() - t0) * 1000) / total;
}

async function pubSubUs(api: Api, n: number): Promise<number> {
  const samples: number[] = [];
  let waiting: (() => void) | undefined;
  await api.subscribe(`lat-${api.name}`, () => waiting?.());
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const got = new Promise<void>((r) => {
      waiting = r;
    });
    await api.publish(`lat-${api.name}`, 'x');
    await got;
    samples.push((performance.now() - t0) * 1000);
  }
  return median(samples);
}

/** Polls `probe` every 10 ms until it resolves truthy or `limitMs` passes; returns the elapsed ms. */
async function timeUntil(probe: () => Promise<boolean>, limitMs: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < limitMs / 10; i++) {
    if (await probe().catch(() => false)) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 10));
  }
  return Number.POSITIVE_INFINITY;
}

async function main(): Promise<void> {
  const redis = await startRedisServer();
  try {
    const rounds = 3;
    const rows: Record<string, Record<string, number[]>> = { redis: {}, ioredis: {} };
    const add = (client: string, row: string, v: number): void => {
      const r = rows[client]!;
      r[row] = [...(r[row] ?? []), v];
    };
    for (let round = 0; round < rounds; round++) {
      for (const make of round % 2 === 0 ? [nodeRedis, ioRedis] : [ioRedis, nodeRedis]) {
        const api = await make(redis.url);
        await sequentialGetUs(api, 500); // warm-up
        add(api.name, 'GET sequential µs', await sequentialGetUs(api, 5_000));
        add(api.name, 'GET 64 in flight µs/op', await inFlightGetUs(api, 20_000, 64));
        add(api.name, 'PUBLISH→message median µs', await pubSubUs(api, 1_000));
        await api.close();
      }
    }
    // Reconnect: SIGKILL Redis under each client, then restart on the same port.
    for (const make of [nodeRedis, ioRedis]) {
      const api = await make(redis.url);
      let heard = 0;
      await api.subscribe('rejoin', () => heard++);
      // A hung Redis (SIGSTOP): the command must time out, not wait.
      process.kill(redis.pid, 'SIGSTOP');
      const tHung = performance.now();
      // Capped at 1 s so a client without a working command timeout cannot stall the script.
      let cap: ReturnType<typeof setTimeout> | undefined;
      const hung = await Promise.race([
        api.get('k').then(
          () => 'resolved',
          () => 'rejected',
        ),
        new Promise<string>((r) => {
          cap = setTimeout(() => r('still pending at 1 s'), 1_000);
        }),
      ]);
      clearTimeout(cap);
      add(api.name, `command while hung (${hung}) ms`, performance.now() - tHung);
      process.kill(redis.pid, 'SIGCONT');
      await redis.kill('SIGKILL');
      const t0 = performance.now();
      const rejected = await api.get('k').then(
        () => 'resolved',
        () => 'rejected',
      );
      add(api.name, `command while down (${rejected}) ms`, performance.now() - t0);
      await redis.restart();
      add(
        api.name,
        'restart→GET works ms',
        await timeUntil(async () => {
          await api.get('k');
          return true;
        }, 5_000),
      );
      add(
        api.name,
        'restart→resubscribed ms',
        await timeUntil(async () => {
          await api.publish('rejoin', 'x');
          return heard > 0;
        }, 5_000),
      );
      await api.close();
    }
    for (const [client, r] of Object.entries(rows)) {
      for (const [row, xs] of Object.entries(r)) {
        console.log(
          `${client.padEnd(8)} ${row.padEnd(34)} median ${median(xs).toFixed(1)} (min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)})`,
        );
      }
    }
  } finally {
    await redis.stop();
  }
}

await main();

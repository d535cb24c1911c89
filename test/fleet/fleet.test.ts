/**
 * The fleet test: four worker processes (test/fleet/fleet-worker.ts) share one redis-server and
 * one demo server. The server dies: the breaker opens in all four after at most failureThreshold
 * failures in all, and one half-open probe closes it for everyone once the server is back.
 * Tokens: one refresh per expiry for the fleet at a rotating-token endpoint. Chaos: Redis is
 * SIGKILLed mid-load: no hung call, no duplicated non-idempotent call, service continues.
 * Figures are printed (FLEET ...) for the closing note.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoServerProcess, spawnDemoServer } from '../helpers/demo-server-process.js';
import {
  type RedisServerProcess,
  redisAvailable,
  redisMissingReason,
  startRedisServer,
} from '../helpers/redis-server.js';
import { startTokenEndpoint } from '../helpers/token-endpoint.js';
import { within } from './kit.js';

/** One GET on the test's Redis (the fleet's own counter, read from outside). */
async function redisGet(url: string, key: string): Promise<string | null> {
  const { Redis } = await import('ioredis');
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await r.connect();
    return await r.get(key);
  } finally {
    r.disconnect();
  }
}

const WORKERS = 4;
const THRESHOLD = 5;
const RESET_MS = 1_500;
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const WORKER = fileURLToPath(new URL('./fleet-worker.ts', import.meta.url));

if (!redisAvailable) console.warn(`[fleet] ${redisMissingReason}`);

interface Worker {
  child: ChildProcess;
  ask<T>(message: unknown, limitMs?: number): Promise<T>;
}

/** Every worker child spawned, booted or not: afterAll kills the ones still running. */
const children: ChildProcess[] = [];

function startWorker(env: Record<string, string>): Promise<Worker> {
  const child = spawn(process.execPath, ['--import', TSX, WORKER], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  const next = (limitMs: number): Promise<unknown> =>
    within(new Promise((resolve) => child.once('message', resolve)), limitMs, 'worker answer');
  const worker: Worker = {
    child,
    ask: async <T>(message: unknown, limitMs = 15_000) => {
      const answer = next(limitMs);
      child.send(message as object);
      return (await answer) as T;
    },
  };
  // Four tsx processes booting on a loaded 2-core machine: a generous, still bounded, limit.
  return next(60_000).then(() => worker);
}

describe.skipIf(!redisAvailable)('a fleet of four processes on one Redis', { timeout: 180_000 }, () => {
  let redis: RedisServerProcess;
  let demo: DemoServerProcess;
  let workers: Worker[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    demo = await spawnDemoServer();
    const env = {
      REDIS_URL: redis.url,
      DEMO_WS_URL: demo.wsUrl,
      NS: `fleet-${process.pid}`,
      THRESHOLD: String(THRESHOLD),
      RESET_MS: String(RESET_MS),
    };
    workers = await Promise.all(Array.from({ length: WORKERS }, () => startWorker(env)));
    const started = await Promise.all(workers.map((w) => w.ask<{ ok: boolean }>({ cmd: 'start' })));
    expect(started.every((s) => s.ok)).toBe(true);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(
      workers.map((w) => w.ask({ cmd: 'close' }, 5_000).catch(() => w.child.kill('SIGKILL'))),
    );
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await demo?.kill('SIGKILL');
    await redis?.stop();
  });

  it('the server dies: every process opens after at most failureThreshold failures in all; one probe closes it for all', async () => {
    await demo.kill('SIGKILL');
    const t0 = Date.now();
    let opened: { codes: string[]; refused: number; open: boolean }[];
    try {
      opened = await Promise.all(
        workers.map((w) =>
          w.ask<{ codes: string[]; refused: number; open: boolean }>({ cmd: 'untilOpen', max: 1_000 }),
        ),
      );
    } finally {
      await demo.restart();
    }
    // Every call that failed against the dead server with a code the breaker counts (TIMEOUT,
    // PROTOCOL, CONNECTION_LOST), one by one: the failures the fleet's callers saw.
    const counted = opened.map(
      (o) => o.codes.filter((c) => c === 'TIMEOUT' || c === 'PROTOCOL' || c === 'CONNECTION_LOST').length,
    );
    const fleetCount = await redisGet(redis.url, `mcp-actors:fleet-${process.pid}:brk:demo:*:failures`);
    const total = counted.reduce((a, b) => a + b, 0);
    const reports = await Promise.all(
      workers.map((w) =>
        w.ask<{ breakerLog: { to: string; reason: string; at: number }[] }>({ cmd: 'report' }),
      ),
    );
    const openAt = reports.map((r) => r.breakerLog.find((b) => b.to === 'open')?.at ?? Number.NaN);
    const spreadMs = Math.max(...openAt) - Math.min(...openAt);
    console.log(
      `FLEET breaker: failures before fleet-wide open ${total} (per process ${counted.join('/')}; codes ${opened.map((o) => o.codes.join(',')).join(' | ')}), fleet counter ${fleetCount}, refused for want of a slot ${opened.map((o) => o.refused).join('/')}, threshold ${THRESHOLD}, open spread ${spreadMs} ms, ${Date.now() - t0} ms`,
    );
    expect(opened.every((o) => o.open)).toBe(true);
    // Shared counting with failure slots: no slot is granted before every worker acknowledged the
    // episode (after declaring its call in flight), so the slots cover every call at risk: at most
    // THRESHOLD failures in all (WORKERS calls in flight at the first failure fit under it).
    // Without a fleet: WORKERS × THRESHOLD.
    expect(total).toBeLessThanOrEqual(THRESHOLD);
    expect(Number(fleetCount)).toBeLessThanOrEqual(THRESHOLD);
    expect(total).toBeGreaterThanOrEqual(Math.min(THRESHOLD, WORKERS));

    const served = await Promise.all(
      workers.map((w) => w.ask<{ served: boolean }>({ cmd: 'untilServed', max: 200, limitMs: 10_000 })),
    );
    expect(served.every((s) => s.served)).toBe(true);
    const after = await Promise.all(
      workers.map((w) =>
        w.ask<{ breakerLog: { from: string; to: string; reason: string }[] }>({ cmd: 'report' }),
      ),
    );
    const probeCloses = after.flatMap((r) => r.breakerLog.filter((b) => b.reason === 'probesSucceeded'));
    const probeFails = after.flatMap((r) => r.breakerLog.filter((b) => b.reason === 'probeFailed'));
    console.log(
      `FLEET probe: ${probeCloses.length} successful probe(s), ${probeFails.length} failed probe(s) across the fleet`,
    );
    expect(probeCloses).toHaveLength(1);
  });

  it('tokens: one refresh per expiry for the whole fleet (rotating refresh tokens, none reused)', async () => {
    const as = await startTokenEndpoint({ expiresInMs: 60_000, delayMs: 50 });
    try {
      const key = randomBytes(32).toString('base64');
      const first = as.issue(-1); // expired
      await workers[0]!.ask({ cmd: 'tokens', tokenUrl: as.url, key, seed: first, calls: 0 });
      const answers = await Promise.all(
        workers.map((w) => w.ask<{ tokens: string[] }>({ cmd: 'tokens', tokenUrl: as.url, key, calls: 5 })),
      );
      const all = answers.flatMap((a) => a.tokens);
      console.log(
        `FLEET tokens: ${as.refreshes} refresh(es) for ${all.length} getToken calls in ${WORKERS} processes, ${as.reuses} reused refresh token(s); errors: ${JSON.stringify(all.filter((t) => t.startsWith('error:')))}`,
      );
      expect(as.refreshes).toBe(1);
      expect(as.reuses).toBe(0);
      expect(new Set(all).size).toBe(1);
      expect(all[0]).toMatch(/^at-/);
    } finally {
      await as.close();
    }
  });

  it('chaos: Redis SIGKILLed mid-load: no hung call, no duplicated non-idempotent call, service continues', async () => {
    const durationMs = 3_000;
    const load = Promise.all(
      workers.map((w) =>
        w.ask<{ results: { ok: boolean; code?: string; text?: string; ms: number; at: number }[] }>(
          { cmd: 'counterLoad', durationMs },
          30_000,
        ),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, durationMs / 3)); // mid-load (external event timing, not a timer wait)
    const killedAt = Date.now();
    await redis.kill('SIGKILL');
    const results = (await load).flatMap((r) => r.results);
    const ok = results.filter((r) => r.ok);
    const values = ok.map((r) => Number(r.text));
    const hung = results.filter((r) => r.ms > 400 + 1_600); // the call timeout plus slack for 4 loaded processes on 2 cores
    const afterKill = ok.filter((r) => r.at > killedAt + 100);
    console.log(
      `FLEET chaos: ${results.length} counter calls, ${ok.length} ok, ${results.length - ok.length} failed, ${hung.length} hung, ${values.length - new Set(values).size} duplicated, ${afterKill.length} served after the Redis kill, max call ${Math.max(...results.map((r) => r.ms))} ms`,
    );
    expect(hung).toHaveLength(0);
    expect(new Set(values).size).toBe(values.length); // each execution seen once
    expect(Math.max(...values)).toBeLessThanOrEqual(results.length + 100); // no execution beyond the calls made (+ earlier tests' counters)
    expect(afterKill.length).toBeGreaterThan(0);
    const reports = await Promise.all(workers.map((w) => w.ask<{ fleetLog: string[] }>({ cmd: 'report' })));
    expect(reports.every((r) => r.fleetLog.includes('degraded'))).toBe(true);
    await redis.restart();
  });
});

/**
 * A fleet: three Redis-backed runtimes (the workers of one service) share one Redis and one demo
 * server. Their OAuth-style token set is refreshed once for all three; when the server goes down,
 * the failures of one worker open the breaker in every worker; when it is back, one probe closes
 * them all. The example starts its own redis-server (a free loopback port, no persistence) and
 * exits 0 with a "skipped" line when redis-server is not installed.
 * Run: npx tsx examples/fleet.ts
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemoServer } from '../src/demo/demo-server.js';
import { createRuntime, type McpRuntime } from '../src/index.js';

const WORKERS = 3;
const FAILURE_THRESHOLD = 3;
const LIMIT_MS = 15_000;

try {
  execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
} catch {
  console.log('skipped: redis-server not installed (apt-get install redis-server)');
  process.exit(0);
}

/** A free loopback port: bind port 0, read it, close. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Resolves when `promise` does, or rejects after LIMIT_MS naming `what` (nothing hangs). */
function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${LIMIT_MS} ms`)), LIMIT_MS);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** redis-server on a free loopback port in a temp dir, no persistence; ready when it says so. */
async function startRedis(): Promise<{ url: string; stop: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-actors-fleet-example-'));
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const stop = () => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('Ready to accept connections')) resolve();
    });
  });
  await within(ready, 'redis-server start').catch((error: unknown) => {
    stop();
    throw error;
  });
  return { url: `redis://127.0.0.1:${port}`, stop };
}

const redis = await startRedis();
let demo = await startDemoServer();
const wsPort = Number(new URL(demo.wsUrl).port);

// The authorization server's side: each refresh mints a new set (a rotating refresh token).
let refreshes = 0;
const refresh = async () => {
  refreshes++;
  return {
    accessToken: `at-${randomBytes(8).toString('hex')}`,
    refreshToken: `rt-${randomBytes(8).toString('hex')}`,
    expiresAtMs: Date.now() + 3_600_000,
  };
};
const key = randomBytes(32); // seals the token set in Redis; every worker of the fleet has it
const expired = { accessToken: 'at-old', refreshToken: 'rt-old', expiresAtMs: Date.now() - 1_000 };

const workers: McpRuntime[] = [];
const opened: Promise<number>[] = [];
const closedAgain: Promise<number>[] = [];
/** When `rt`'s breaker first moves to `to` (epoch ms). */
const onBreaker = (rt: McpRuntime, to: string) =>
  new Promise<number>((resolve) => rt.on('breaker', (e) => e.to === to && resolve(Date.now())));
try {
  for (let i = 0; i < WORKERS; i++) {
    const rt = createRuntime({
      servers: {
        demo: {
          url: demo.wsUrl,
          auth: { refresh, tokens: expired },
          breaker: { failureThreshold: FAILURE_THRESHOLD, resetTimeoutMs: 300 },
          retry: { maxAttempts: 1 },
          timeoutMs: 1_000,
          reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
        },
      },
      // Store bound 1 s (default 100 ms): on a loaded machine a slower Redis answer would degrade the
      // worker to local state (its own refresh, its own breaker), which is not what this shows.
      fleet: { redis: { url: redis.url }, namespace: `example-${process.pid}`, key, timeoutMs: 1_000 },
    });
    rt.on('error', () => {}); // connection errors while the server is down are expected here
    workers.push(rt);
    opened.push(onBreaker(rt, 'open'));
    closedAgain.push(onBreaker(rt, 'closed'));
  }

  // All three start at once with an expired token set: one refresh serves the fleet.
  await Promise.all(workers.map((rt) => rt.start()));
  await Promise.all(workers.map((rt) => rt.callTool('demo', 'echo', { text: 'hi' })));
  console.log(`tokens: ${refreshes} refresh for ${WORKERS} workers`);

  // The server goes down; only worker 1 calls, and its failures open the breaker everywhere.
  await demo.close();
  const worker1 = workers[0] as McpRuntime;
  let failures = 0;
  let fastFails = 0;
  const deadline = Date.now() + LIMIT_MS;
  // Bounded in count and time: the breaker opens after FAILURE_THRESHOLD failures.
  for (let i = 0; i < 50 && Date.now() < deadline && fastFails === 0; i++) {
    await worker1.callTool('demo', 'echo', { text: 'x' }).catch((e: { code?: string }) => {
      if (e.code === 'BREAKER_OPEN') fastFails++;
      else failures++;
    });
  }
  const [openedAt, ...othersAt] = await within(Promise.all(opened), 'breaker open in every worker');
  const spreadMs = Math.max(...othersAt) - (openedAt as number);
  console.log(
    `breaker open in ${WORKERS} of ${WORKERS} workers after ${failures} failures in all (the last ${spreadMs} ms after worker 1)`,
  );
  const others = await Promise.all(
    workers.slice(1).map((rt) => rt.callTool('demo', 'echo', { text: 'x' }).catch((e) => e.code)),
  );
  console.log(`workers 2 and 3 fail fast without calling: ${others.join(', ')}`);

  // The server is back on the same port: after resetTimeoutMs one probe closes every breaker.
  demo = await startDemoServer({ wsPort });
  let served = false;
  for (let i = 0; i < 200 && Date.now() < deadline + LIMIT_MS && !served; i++) {
    served = await worker1.callTool('demo', 'echo', { text: 'x' }).then(
      () => true,
      () => false,
    );
    if (!served) await new Promise((r) => setTimeout(r, 50)); // pacing between attempts
  }
  await within(Promise.all(closedAgain), 'breaker closed in every worker');
  console.log(`breaker closed in ${WORKERS} of ${WORKERS} workers after the probe`);
  console.log(
    `fleet: ${WORKERS} workers, ${refreshes} token refresh, ${failures} failures before the fleet-wide open`,
  );
} finally {
  await Promise.all(workers.map((rt) => rt.close()));
  await demo.close();
  redis.stop();
}

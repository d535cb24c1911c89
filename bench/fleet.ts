/**
 * The fleet scenario (`npm run bench -- --only=fleet`; needs redis-server, skipped with a message
 * without it). Two measures, on a redis-server of its own (a free loopback port, no persistence):
 * - Healthy-call overhead: runtime `callTool` at 64 in flight over the in-memory mock transport,
 *   joined to a fleet on Redis vs on the in-memory store (and vs no fleet, information), in
 *   interleaved rounds. Target: Redis >= 0.97x the in-memory store (a healthy call makes no Redis
 *   round trip).
 * - Breaker propagation: four runtimes share one Redis; one trips its breaker (failureThreshold
 *   failures from its mock); the time from its `open` event to the last of the other three's.
 *   Median and max over the trips; between trips one probe closes every breaker again.
 */

import { createRuntime, type McpRuntime, type RuntimeConfig } from '../src/index.js';
import { MemoryFleetStore } from '../src/runtime/fleet/memory-store.js';
import { createMockServer, type MockServer } from '../src/testing/index.js';
import { redisMissingReason, startRedisServer } from '../test/helpers/redis-server.js';
import { interleave, median, throughput } from './harness.js';
import { type Row, row } from './report.js';

const IN_FLIGHT = 64;
const FAILURE_THRESHOLD = 3;
const RESET_MS = 100;
/** Bound on each wait of a trip (an open or close reaching every runtime). */
const TRIP_LIMIT_MS = 5_000;
/** Store bound: the default 100 ms degrades a member on a loaded 2-core machine's scheduling alone. */
const STORE_TIMEOUT_MS = 1_000;
/** Wait after each runtime's first call for its call path to join the fleet (see propagationRows). */
const JOIN_SETTLE_MS = 300;

/** A mock with a read-only `echo`, as the in-memory throughput scenario calls it. */
function echoMock(): MockServer {
  return createMockServer().addTool('echo', (args) => String((args as { text?: string }).text ?? ''), {
    annotations: { readOnlyHint: true },
  });
}

/** A runtime on its own mock, joined to `fleet` (or to none). */
function runtime(fleet: RuntimeConfig['fleet'], mock: MockServer, breaker = false): McpRuntime {
  return createRuntime({
    servers: {
      demo: {
        mock,
        queue: { concurrency: IN_FLIGHT },
        retry: { maxAttempts: 1 },
        ...(breaker ? { breaker: { failureThreshold: FAILURE_THRESHOLD, resetTimeoutMs: RESET_MS } } : {}),
      },
    },
    ...(fleet ? { fleet } : {}),
  });
}

/** Resolves when `promise` does, or rejects after `limitMs` naming `what`. */
function within<T>(promise: Promise<T>, limitMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${limitMs} ms`)), limitMs);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** The next time (epoch ms, high resolution) `rt`'s breaker moves to `to`. */
function nextBreaker(rt: McpRuntime, to: string): Promise<number> {
  return new Promise((resolve) => {
    const listener = (e: { to: string }) => {
      if (e.to !== to) return;
      rt.off('breaker', listener);
      resolve(performance.timeOrigin + performance.now());
    };
    rt.on('breaker', listener);
  });
}

async function overheadRows(redisUrl: string, rounds: number, durationMs: number): Promise<Row[]> {
  const namespace = `bench-${process.pid}`;
  const targets = {
    none: runtime(undefined, echoMock()),
    memory: runtime({ namespace, store: new MemoryFleetStore() }, echoMock()),
    redis: runtime({ namespace, redis: { url: redisUrl }, timeoutMs: STORE_TIMEOUT_MS }, echoMock()),
  };
  try {
    await Promise.all(Object.values(targets).map((rt) => rt.start()));
    const call = (rt: McpRuntime) => () => rt.callTool('demo', 'echo', { text: 'x'.repeat(100) });
    const r = await interleave(rounds, {
      none: () => throughput(call(targets.none), IN_FLIGHT, durationMs),
      memory: () => throughput(call(targets.memory), IN_FLIGHT, durationMs),
      redis: () => throughput(call(targets.redis), IN_FLIGHT, durationMs),
    });
    for (const [name, ms] of Object.entries(r))
      for (const m of ms)
        if (m.errors > 0) process.stderr.write(`[bench] fleet ${name}: ${m.errors} failed calls\n`);
    const cps = (k: keyof typeof r) => r[k].map((m) => m.callsPerSec);
    const cpu = (k: keyof typeof r) => r[k].map((m) => m.cpuUsPerCall);
    const [none, memory, redis] = [cps('none'), cps('memory'), cps('redis')];
    const memoryBase = { name: 'fleet on the in-memory store', value: median(memory), rounds: memory };
    return [
      row('fleet', 'callTool @64, no fleet (in-memory mock)', 'calls/s', none, median(none)),
      row('fleet', 'callTool @64, fleet on the in-memory store', 'calls/s', memory, median(memory), {
        baseline: { name: 'no fleet', value: median(none), rounds: none },
      }),
      row('fleet', 'callTool @64, fleet on Redis', 'calls/s', redis, median(redis), {
        baseline: memoryBase,
        target: { on: 'ratio', op: '>=', limit: 0.97 },
      }),
      // CPU per call moves less with the machine's other load than calls/s: the same bound on it.
      row('fleet', 'CPU per call @64, fleet on Redis', 'µs', cpu('redis'), median(cpu('redis')), {
        baseline: {
          name: 'fleet on the in-memory store',
          value: median(cpu('memory')),
          rounds: cpu('memory'),
        },
        target: { on: 'ratio', op: '<=', limit: 1.03 },
      }),
    ];
  } finally {
    await Promise.all(Object.values(targets).map((rt) => rt.close()));
  }
}

async function propagationRows(redisUrl: string, trips: number): Promise<Row[]> {
  const fleet = {
    namespace: `bench-brk-${process.pid}`,
    redis: { url: redisUrl },
    timeoutMs: STORE_TIMEOUT_MS,
  };
  const mocks = Array.from({ length: 4 }, echoMock);
  const rts = mocks.map((mock) => runtime(fleet, mock, true));
  const [first, firstMock] = [rts[0] as McpRuntime, mocks[0] as MockServer];
  const spreadsMs: number[] = [];
  try {
    await Promise.all(rts.map((rt) => rt.start()));
    // A server's call path is made by its first call and joins the fleet after that (one Redis
    // subscribe and read, asynchronously): failures before the join stay local. One call each, and
    // a settle time far above those round trips, so every trip measures the joined fleet.
    await Promise.all(rts.map((rt) => rt.callTool('demo', 'echo', { text: 'x' })));
    await new Promise((r) => setTimeout(r, JOIN_SETTLE_MS));
    for (let trip = 0; trip < trips; trip++) {
      const opened = rts.map((rt) => nextBreaker(rt, 'open'));
      firstMock.failNext(FAILURE_THRESHOLD, { code: -32603, message: 'backend down' }, { tool: 'echo' });
      for (let i = 0; i < FAILURE_THRESHOLD; i++)
        await first.callTool('demo', 'echo', { text: 'x' }).catch(() => {});
      const [at, ...others] = await within(
        Promise.all(opened),
        TRIP_LIMIT_MS,
        `trip ${trip}: open everywhere`,
      );
      spreadsMs.push(Math.max(...others) - (at as number));
      // After RESET_MS the first call is the fleet's one probe; its success closes every breaker.
      const closed = Promise.all(rts.map((rt) => nextBreaker(rt, 'closed')));
      let served = false;
      // Bounded: at most 200 attempts 10 ms apart (the reset timeout is 100 ms).
      for (let i = 0; i < 200 && !served; i++) {
        served = await first.callTool('demo', 'echo', { text: 'x' }).then(
          () => true,
          () => false,
        );
        if (!served) await new Promise((r) => setTimeout(r, 10));
      }
      await within(closed, TRIP_LIMIT_MS, `trip ${trip}: closed everywhere`);
    }
  } finally {
    await Promise.all(rts.map((rt) => rt.close()));
  }
  const sorted = [...spreadsMs].sort((a, b) => a - b);
  const max = sorted[sorted.length - 1] as number;
  return [
    row(
      'fleet',
      `breaker propagation to 3 other runtimes, median of ${trips} trips`,
      'ms',
      spreadsMs,
      median(spreadsMs),
      {
        target: { on: 'value', op: '<=', limit: 50 },
      },
    ),
    row('fleet', `breaker propagation to 3 other runtimes, max of ${trips} trips`, 'ms', [max], max, {
      target: { on: 'value', op: '<=', limit: 50 },
    }),
  ];
}

/**
 * The fleet rows; none (and a line on stderr) when redis-server is not installed.
 *
 * @example
 * rows.push(...(await fleetScenario(7, 180, 15)));
 */
export async function fleetScenario(rounds: number, durationMs: number, trips: number): Promise<Row[]> {
  if (redisMissingReason) {
    process.stderr.write(`[bench] fleet: skipped: ${redisMissingReason}\n`);
    return [];
  }
  const redis = await startRedisServer();
  try {
    return [
      ...(await overheadRows(redis.url, rounds, durationMs)),
      ...(await propagationRows(redis.url, trips)),
    ];
  } finally {
    await redis.stop();
  }
}

/**
 * Chaos: `@modelcontextprotocol/server-everything` over Streamable HTTP (a child process we start,
 * SIGKILL and restart on the same port, behind a fault proxy) and over stdio (child processes the
 * runtime spawns itself; we SIGKILL them), each as a pool (min 2, max 3), under steady bounded load
 * of idempotent calls (`echo`, `get-sum`) while a seeded schedule injects faults.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type McpRuntime, type ServerConfig } from '../../src/index.js';
import { createFaultProxy, type FaultProxy } from '../../src/testing/index.js';
import {
  activeResources,
  CallLedger,
  type Fault,
  type Outcome,
  pause,
  runFaultSchedule,
  seededRandom,
  waitForBaseline,
} from './chaos-harness.js';

const SEED = Number(process.env.CHAOS_SEED ?? 11);
const LOAD_MS = 10_000;
const HARD_STOP_MS = 25_000;
const MAX_CALLS = 30_000;
const WORKERS_PER_SERVER = 8;
const SERVERS = ['http', 'stdio'] as const;
const EVERYTHING = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-everything/dist/index.js',
);
const CHAOS_CODES = new Set(['TIMEOUT', 'CONNECTION_LOST', 'BREAKER_OPEN', 'REMOTE', 'QUEUE_FULL']);

const policy = {
  pool: { min: 2, max: 3, growAfterBusyMs: 50, replaceDelayMs: 50, busyAtInFlight: 4 },
  queue: { concurrency: 16, maxQueued: 200 },
  reconnect: { initialDelayMs: 20, maxDelayMs: 300, maxAttempts: 1_000, jitter: true },
  heartbeat: { intervalMs: 500, timeoutMs: 400, maxMissed: 2 },
  retry: { maxAttempts: 5, initialDelayMs: 20, maxBackoffMs: 300, budgetRatio: 1 },
  breaker: { failureThreshold: 5, resetTimeoutMs: 400, halfOpenProbes: 1 },
  supervisor: { maxRestarts: 1_000, withinMs: 1_000 },
  timeoutMs: 3_000,
  connectTimeoutMs: 5_000,
  initializeTimeoutMs: 5_000,
} satisfies Partial<ServerConfig>;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** server-everything over Streamable HTTP in a child process; resolves once it listens. */
function startEverythingHttp(port: number): Promise<{ child: ChildProcess; exited: Promise<void> }> {
  const child = spawn(process.execPath, [EVERYTHING, 'streamableHttp'], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server-everything did not listen within 15 s: ${out}`));
    }, 15_000);
    const onData = (c: string): void => {
      out += c;
      if (/listening on port/i.test(out)) {
        clearTimeout(timer);
        resolve({ child, exited });
      }
    };
    child.stdout?.setEncoding('utf8').on('data', onData);
    child.stderr?.setEncoding('utf8').on('data', onData);
  });
}

/** Pids of this process's children running server-everything over stdio (the runtime's). */
function stdioChildren(): number[] {
  let text = '';
  try {
    text = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  } catch {
    return []; // ps exits 1 when there is no child
  }
  return text
    .split('\n')
    .filter((l) => l.includes('server-everything') && /\bstdio\b/.test(l))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

describe('chaos: server-everything over Streamable HTTP and stdio', () => {
  let port: number;
  let http: { child: ChildProcess; exited: Promise<void> };
  let proxy: FaultProxy;

  const killHttp = async (): Promise<void> => {
    http.child.kill('SIGKILL');
    await http.exited;
  };

  beforeAll(async () => {
    port = await freePort();
    http = await startEverythingHttp(port);
    proxy = await createFaultProxy({ target: `http://127.0.0.1:${port}/mcp`, seed: SEED });
  }, 30_000);

  afterAll(async () => {
    await proxy?.close();
    if (http) await killHttp();
  });

  it('keeps every invariant under a seeded fault schedule with kills', { timeout: 60_000 }, async () => {
    const baseline = activeResources();
    const rt: McpRuntime = createRuntime({
      servers: {
        http: { url: proxy.httpUrl, ...policy },
        stdio: { command: process.execPath, args: [EVERYTHING, 'stdio'], ...policy },
      },
    });
    const breakerEvents: Array<{ server: string; from: string; to: string }> = [];
    rt.on('breaker', ({ server: s, from, to }) => breakerEvents.push({ server: s, from, to }));
    let reconnects = 0;
    rt.on('connect', ({ reconnect }) => {
      if (reconnect) reconnects++;
    });
    rt.on('error', () => {});
    await rt.start();
    for (const s of SERVERS) await rt.listTools(s); // echo and get-sum are annotated idempotent
    const readyOf = (s: string) => rt.snapshot().servers[s]?.pool?.ready ?? 0;
    for (let i = 0; i < 200 && SERVERS.some((s) => readyOf(s) < 2); i++) await pause(25);
    expect(stdioChildren().length).toBeGreaterThanOrEqual(2);

    const rand = seededRandom(SEED);
    const ledger = new CallLedger();
    let stdioKills = 0;
    const faults: Fault[] = [
      { name: 'latency', apply: () => void proxy.latency(30, 40), holdMs: 500 },
      { name: 'drop', apply: () => void proxy.drop({ probability: 0.05 }), holdMs: 400 },
      { name: 'cut', apply: () => void proxy.cut(), holdMs: 100 },
      { name: 'blackhole', apply: () => void proxy.blackhole(), holdMs: 300 },
      { name: 'expire-session', apply: () => void proxy.expireSession(undefined, 3), holdMs: 300 },
      { name: '429', apply: () => void proxy.respondWith(429, { retryAfterS: 1, count: 3 }), holdMs: 300 },
      { name: '503', apply: () => void proxy.respondWith(503, { retryAfterS: 1, count: 3 }), holdMs: 300 },
      {
        name: 'sigkill-restart-http',
        apply: async () => {
          await killHttp();
          http = await startEverythingHttp(port);
        },
        holdMs: 200,
      },
      {
        name: 'sigkill-stdio',
        apply: () => {
          const pids = stdioChildren();
          const victim = pids[Math.floor(rand() * pids.length)];
          if (victim !== undefined) {
            process.kill(victim, 'SIGKILL');
            stdioKills++;
          }
        },
        holdMs: 300,
      },
    ];
    const schedule = runFaultSchedule({
      faults,
      rand,
      minLoadMs: LOAD_MS,
      hardStopMs: HARD_STOP_MS,
      reset: () => proxy.reset(),
    });
    const { injected } = schedule;

    const worker = async (s: string, wrand: () => number): Promise<void> => {
      let last: Outcome | undefined;
      while (schedule.loadOn() && ledger.size < MAX_CALLS) {
        await pause(last?.code === 'BREAKER_OPEN' ? 50 : 2);
        if (wrand() < 0.5) {
          last = await ledger.track(s, 'echo', true, async (id) => {
            const result = await rt.callTool(s, 'echo', { message: id });
            const text = (result.content[0] as { text?: string }).text ?? '';
            if (!text.includes(id)) throw new Error(`echo ${id} answered ${text}`);
          });
        } else {
          const a = Math.floor(wrand() * 1_000);
          const b = Math.floor(wrand() * 1_000);
          last = await ledger.track(s, 'get-sum', true, async () => {
            const result = await rt.callTool(s, 'get-sum', { a, b });
            const text = (result.content[0] as { text?: string }).text ?? '';
            if (!text.includes(String(a + b))) throw new Error(`get-sum ${a}+${b} answered ${text}`);
          });
        }
      }
    };
    await Promise.all([
      schedule.done,
      ...SERVERS.flatMap((s, si) =>
        Array.from({ length: WORKERS_PER_SERVER }, (_, w) =>
          worker(s, seededRandom(SEED * 100 + si * 10 + w)),
        ),
      ),
    ]);
    proxy.reset();
    await ledger.settled();

    for (let i = 0; i < 400 && SERVERS.some((s) => readyOf(s) < 2); i++) await pause(25);
    for (const s of SERVERS) expect(readyOf(s), `${s} pool ready`).toBeGreaterThanOrEqual(2);
    const recovery = new CallLedger();
    await Promise.all(
      SERVERS.flatMap((s) =>
        Array.from({ length: 40 }, (_, i) =>
          recovery.track(s, 'echo', true, () =>
            rt.callTool(s, i % 2 ? 'echo' : 'get-sum', i % 2 ? { message: 'r' } : { a: i, b: 1 }),
          ),
        ),
      ),
    );
    const stats = Object.fromEntries(SERVERS.map((s) => [s, rt.snapshot().servers[s]!.stats]));
    await rt.close();
    await proxy.close(); // the proxy's own sockets to the server go with it
    // The HTTP proxy keeps keep-alive connections to the server (its own, in this process).
    const leaked = await waitForBaseline(baseline, { ignoreRemotePorts: [port] });

    const checks: string[] = [];
    const check = (name: string, fn: () => void): void => {
      fn();
      checks.push(name);
    };
    const all = ledger.where(() => true);
    check('every call settled exactly once', () => {
      expect(all.filter((o) => o.settledTimes !== 1)).toEqual([]);
      for (const s of SERVERS) expect(stats[s]!.calls, s).toBe(stats[s]!.ok + stats[s]!.failed);
    });
    check('failures are typed and expected under faults; answers are right', () => {
      expect(all.filter((o) => !o.ok && !CHAOS_CODES.has(o.code ?? ''))).toEqual([]);
    });
    check('idempotent calls all succeeded after recovery', () => {
      expect(recovery.codes()).toEqual({ ok: 80 });
    });
    check('killed stdio servers were replaced (the pool reconnected)', () => {
      expect(stdioKills).toBeGreaterThanOrEqual(1);
      expect(reconnects).toBeGreaterThanOrEqual(stdioKills);
    });
    check('breaker transitions chain and end closed', () => {
      for (const s of SERVERS) {
        const mine = breakerEvents.filter((e) => e.server === s);
        for (let i = 1; i < mine.length; i++) expect(mine[i]!.from, `${s} #${i}`).toBe(mine[i - 1]!.to);
        if (mine.length) expect(mine.at(-1)!.to, s).toBe('closed');
      }
    });
    check('no leaked handles after close(), no stdio child left', () => {
      expect(leaked).toEqual({});
      expect(stdioChildren()).toEqual([]);
    });
    check('every fault kind was injected', () => {
      expect(new Set(injected)).toEqual(new Set(faults.map((f) => f.name)));
    });

    console.log(
      `chaos server-everything seed=${SEED}: ${ledger.size} idempotent calls under faults ` +
        `(${JSON.stringify(ledger.codes())}), 80 recovery calls ok; ${injected.length} scheduled faults ` +
        `(${injected.filter((n) => n.startsWith('sigkill')).length} SIGKILL), ${proxy.stats.faults} proxy faults injected, ` +
        `${reconnects} reconnects, ${breakerEvents.length} breaker transitions; ${checks.length} invariants checked`,
    );
  });
});

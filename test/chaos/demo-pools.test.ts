/**
 * Chaos: a runtime with pools (min 2, max 3) over WebSocket and Streamable HTTP, through fault
 * proxies, to the demo server in a child process, under steady bounded load while a seeded
 * schedule injects latency, drops, duplicates, cuts, blackholes, session expiry (404), 429/503
 * with Retry-After and SIGKILL + restart of the server. Then a blackhole long enough to open the
 * WebSocket server's breaker, and its recovery. Invariants are checked at the end against the
 * server's own execution log of the non-idempotent `counter` tool (see counting-demo-server.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type McpRuntime, type ServerConfig } from '../../src/index.js';
import { createFaultProxy, type FaultProxy } from '../../src/testing/index.js';
import {
  activeResources,
  CallLedger,
  type CountingServer,
  type Fault,
  type Outcome,
  pause,
  runFaultSchedule,
  seededRandom,
  spawnCountingServer,
  waitForBaseline,
} from './chaos-harness.js';

const SEED = Number(process.env.CHAOS_SEED ?? 9);
const LOAD_MS = 12_000;
const HARD_STOP_MS = 25_000;
const MAX_CALLS = 30_000;
const WORKERS_PER_SERVER = 10;
const SERVERS = ['ws', 'http'] as const;

const policy = {
  pool: { min: 2, max: 3, growAfterBusyMs: 50, replaceDelayMs: 50, busyAtInFlight: 4 },
  queue: { concurrency: 16, maxQueued: 200 },
  reconnect: { initialDelayMs: 20, maxDelayMs: 200, maxAttempts: 1_000, jitter: true },
  heartbeat: { intervalMs: 500, timeoutMs: 400, maxMissed: 2 },
  retry: { maxAttempts: 5, initialDelayMs: 20, maxBackoffMs: 300, budgetRatio: 1 },
  breaker: { failureThreshold: 5, resetTimeoutMs: 400, halfOpenProbes: 1 },
  supervisor: { maxRestarts: 1_000, withinMs: 1_000 },
  timeoutMs: 3_000,
  connectTimeoutMs: 1_000,
  initializeTimeoutMs: 1_000,
} satisfies Partial<ServerConfig>;

/**
 * Whether a call's outcome leaves open that the server executed it: a success, a lost connection,
 * a timeout, or the proxy's 502 (it forwarded the request, then the server was killed before it
 * answered, so the proxy stands in for the gateway that lost its upstream).
 */
const couldHaveLanded = (o: Outcome): boolean =>
  o.ok || o.code === 'CONNECTION_LOST' || o.code === 'TIMEOUT' || (o.code === 'REMOTE' && o.rpcCode === 502);

/** Codes a call may fail with while faults are injected (anything else is a bug). */
const CHAOS_CODES = new Set(['TIMEOUT', 'CONNECTION_LOST', 'BREAKER_OPEN', 'REMOTE', 'QUEUE_FULL']);

describe('chaos: demo server pools over WebSocket and Streamable HTTP', () => {
  let dir: string;
  let server: CountingServer;
  let wsProxy: FaultProxy;
  let httpProxy: FaultProxy;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-chaos-'));
    server = await spawnCountingServer(join(dir, 'counter.log'));
    // Warm the server (its first requests load and compile its handlers: over a second on a loaded
    // machine), with default timeouts, so the chaos policy's 1 s handshake bound meets a warm server.
    const warm = createRuntime({ servers: { ws: { url: server.wsUrl }, http: { url: server.httpUrl } } });
    try {
      await warm.start();
      for (const s of SERVERS) await warm.callTool(s, 'echo', { text: 'warm' });
    } finally {
      await warm.close();
    }
    wsProxy = await createFaultProxy({ target: server.wsUrl, seed: SEED });
    httpProxy = await createFaultProxy({ target: server.httpUrl, seed: SEED + 1 });
  }, 30_000);

  afterAll(async () => {
    await wsProxy?.close();
    await httpProxy?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every invariant under a seeded fault schedule with kills', { timeout: 60_000 }, async () => {
    const baseline = activeResources();
    const rt: McpRuntime = createRuntime({
      servers: { ws: { url: wsProxy.wsUrl, ...policy }, http: { url: httpProxy.httpUrl, ...policy } },
    });
    const breakerEvents: Array<{ server: string; from: string; to: string; reason: string }> = [];
    rt.on('breaker', ({ server: s, from, to, reason }) =>
      breakerEvents.push({ server: s, from, to, reason }),
    );
    rt.on('error', () => {});
    await rt.start();
    for (const s of SERVERS) await rt.listTools(s); // annotations: echo is safe to retry, counter is not

    const rand = seededRandom(SEED);
    const ledger = new CallLedger();
    const both = (f: (p: FaultProxy) => void) => () => {
      f(wsProxy);
      f(httpProxy);
    };
    const faults: Fault[] = [
      { name: 'latency', apply: both((p) => p.latency(30, 40)), holdMs: 500 },
      { name: 'drop', apply: both((p) => p.drop({ probability: 0.05 })), holdMs: 400 },
      {
        name: 'duplicate',
        apply: both((p) => p.duplicate({ probability: 0.3, method: 'resources/read' })),
        holdMs: 400,
      },
      { name: 'cut', apply: both((p) => p.cut()), holdMs: 100 },
      { name: 'blackhole', apply: both((p) => p.blackhole()), holdMs: 300 },
      { name: 'expire-session', apply: () => void httpProxy.expireSession(undefined, 3), holdMs: 300 },
      {
        name: '429',
        apply: () => void httpProxy.respondWith(429, { retryAfterS: 1, count: 3 }),
        holdMs: 300,
      },
      {
        name: '503',
        apply: () => void httpProxy.respondWith(503, { retryAfterS: 1, count: 3 }),
        holdMs: 300,
      },
      { name: 'sigkill-restart', apply: () => server.restart(), holdMs: 200 },
    ];
    // A seeded deck of faults while the load runs: at least LOAD_MS and one full round of the
    // deck, never past HARD_STOP_MS.
    const schedule = runFaultSchedule({
      faults,
      rand,
      minLoadMs: LOAD_MS,
      hardStopMs: HARD_STOP_MS,
      reset: () => {
        wsProxy.reset();
        httpProxy.reset();
      },
    });
    const { injected } = schedule;

    // Steady load: each worker keeps one call in flight and paces itself (backing off while the
    // breaker fails calls fast, as a client would).
    const worker = async (s: string, wrand: () => number): Promise<void> => {
      let last: Outcome | undefined;
      while (schedule.loadOn() && ledger.size < MAX_CALLS) {
        await pause(last?.code === 'BREAKER_OPEN' ? 50 : 2);
        const r = wrand();
        if (r < 0.6) {
          last = await ledger.track(s, 'echo', true, async (id) => {
            const result = await rt.callTool(s, 'echo', { text: id });
            const text = (result.content[0] as { text?: string }).text;
            if (text !== id) throw new Error(`echo ${id} answered ${text}`);
          });
        } else if (r < 0.8) {
          last = await ledger.track(s, 'read', true, () =>
            rt.readResource(s, 'demo://greeting', { cache: false }),
          );
        } else {
          last = await ledger.track(s, 'counter', false, (id) =>
            rt.callTool(s, 'counter', {}, { meta: { chaosId: id } }),
          );
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
    wsProxy.reset();
    httpProxy.reset();
    await ledger.settled();
    const chaosCalls = ledger.size;

    // Recovery: both pools back to at least min ready members, then safe calls all succeed.
    const readyOf = (s: string) => rt.snapshot().servers[s]?.pool?.ready ?? 0;
    for (let i = 0; i < 200 && SERVERS.some((s) => readyOf(s) < 2); i++) await pause(25);
    for (const s of SERVERS) expect(readyOf(s), `${s} pool ready`).toBeGreaterThanOrEqual(2);
    // A breaker the last faults opened stays open until its reset timeout and a successful probe:
    // recovery includes that (bounded), then every safe call must succeed.
    for (const s of SERVERS) {
      for (let i = 0; i < 100 && rt.snapshot().servers[s]?.breakers['*']?.state !== 'closed'; i++) {
        const wait = await rt.callTool(s, 'echo', { text: 'probe' }, { timeoutMs: 1_000 }).then(
          () => 0,
          (e: { retryAfterMs?: number }) => Math.min(500, Math.max(25, e.retryAfterMs ?? 25)),
        );
        if (wait) await pause(wait);
      }
      expect(rt.snapshot().servers[s]?.breakers['*']?.state ?? 'closed', `${s} breaker`).toBe('closed');
    }
    const recovery = new CallLedger();
    await Promise.all(
      SERVERS.flatMap((s) =>
        Array.from({ length: 40 }, (_, i) =>
          recovery.track(s, i % 4 === 0 ? 'read' : 'echo', true, (id) =>
            i % 4 === 0
              ? rt.readResource(s, 'demo://greeting', { cache: false })
              : rt.callTool(s, 'echo', { text: id }),
          ),
        ),
      ),
    );

    // Breaker: blackhole the WebSocket server until its breaker opens, then let it recover.
    // Start from a closed breaker with a successful call (bounded), then blackhole.
    const stateAtMark: string[] = [];
    for (let i = 0; i < 50; i++) {
      const state = rt.snapshot().servers.ws?.breakers['*']?.state;
      const ok = await rt.callTool('ws', 'echo', { text: 'pre' }, { timeoutMs: 1_000 }).then(
        () => true,
        () => false,
      );
      stateAtMark.push(`${state}:${ok}`);
      if (ok && rt.snapshot().servers.ws?.breakers['*']?.state === 'closed') break;
      await pause(50);
    }
    const mark = breakerEvents.length;
    wsProxy.blackhole();
    let opened = false;
    const holeCodes: string[] = [];
    const breakerOf = () => rt.snapshot().servers.ws?.breakers['*']?.state;
    for (let i = 0; i < 40 && !opened; i++) {
      await rt.callTool('ws', 'echo', { text: 'hole' }, { timeoutMs: 250 }).then(
        () => holeCodes.push('ok'),
        (e: { code?: string }) => holeCodes.push(String(e.code)),
      );
      opened = breakerEvents.slice(mark).some((e) => e.server === 'ws' && e.to === 'open');
    }
    expect(
      opened,
      `breaker opened under the blackhole (${holeCodes.join(',')}; ${breakerOf()}; before: ${stateAtMark.join(',')}; ` +
        `events: ${JSON.stringify(breakerEvents.filter((e) => e.server === 'ws').slice(-4))})`,
    ).toBe(true);
    const fastStarted = performance.now();
    await expect(rt.callTool('ws', 'echo', { text: 'fast' })).rejects.toMatchObject({ code: 'BREAKER_OPEN' });
    expect(performance.now() - fastStarted).toBeLessThan(100);
    wsProxy.blackhole(false);
    let recovered = false;
    for (let i = 0; i < 100 && !recovered; i++) {
      recovered = await rt.callTool('ws', 'echo', { text: 'back' }, { timeoutMs: 1_000 }).then(
        () => true,
        () => false,
      );
      if (!recovered) await pause(50);
    }
    expect(recovered, 'calls succeed again after the blackhole').toBe(true);
    const phase = breakerEvents.slice(mark).filter((e) => e.server === 'ws');
    expect(phase[0]).toMatchObject({ from: 'closed', to: 'open' });
    expect(phase.at(-1)).toMatchObject({ from: 'halfOpen', to: 'closed' });

    // The server's own count, read before close, cross-checks the execution log.
    const counterText = (
      (await rt.readResource('ws', 'demo://counter', { cache: false })).contents[0] as { text: string }
    ).text;

    const stats = Object.fromEntries(SERVERS.map((s) => [s, rt.snapshot().servers[s]!.stats]));
    await rt.close();
    // The HTTP proxy keeps keep-alive connections to the server (its own, in this process).
    const leaked = await waitForBaseline(baseline, {
      ignoreRemotePorts: [server.wsUrl, server.httpUrl].map((u) => Number(new URL(u).port)),
    });

    // ── Invariants ───────────────────────────────────────────────────────────────
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
    check('failures are typed and expected under faults', () => {
      expect(all.filter((o) => !o.ok && !CHAOS_CODES.has(o.code ?? ''))).toEqual([]);
    });
    const executions = server.executions();
    const counterCalls = ledger.where((o) => o.op === 'counter');
    check('no non-idempotent call executed twice', () => {
      expect([...executions].filter(([, n]) => n > 1)).toEqual([]);
    });
    check('only calls made, and that could have landed, were executed', () => {
      for (const id of executions.keys()) {
        const o = ledger.outcomes.get(id);
        expect(o?.op, id).toBe('counter');
        expect(couldHaveLanded(o!), `${id}: ${o!.code} ${o!.message}`).toBe(true);
      }
      const landedMax = counterCalls.filter(couldHaveLanded).length;
      expect(executions.size).toBeLessThanOrEqual(landedMax);
      expect(executions.size).toBeLessThanOrEqual(counterCalls.length);
    });
    check('every successful non-idempotent call executed exactly once', () => {
      for (const o of counterCalls.filter((c) => c.ok)) expect(executions.get(o.id), o.id).toBe(1);
    });
    check("the server's demo://counter matches its execution log", () => {
      expect(Number(counterText)).toBe(server.executionsSinceLastStart());
    });
    check('idempotent calls all succeeded after recovery', () => {
      expect(recovery.codes()).toEqual({ ok: 80 });
    });
    check('breaker opened under the blackhole and closed after a probe', () => {
      for (const s of SERVERS) {
        const mine = breakerEvents.filter((e) => e.server === s);
        for (let i = 1; i < mine.length; i++) expect(mine[i]!.from, `${s} #${i}`).toBe(mine[i - 1]!.to);
        if (mine.length) expect(mine.at(-1)!.to, s).toBe('closed');
      }
    });
    check('no leaked handles after close()', () => {
      expect(
        leaked,
        `ports: ws proxy ${wsProxy.wsUrl}, http proxy ${httpProxy.httpUrl}, server ${server.wsUrl} ${server.httpUrl}`,
      ).toEqual({});
    });
    check('every fault kind was injected', () => {
      expect(new Set(injected)).toEqual(new Set(faults.map((f) => f.name)));
    });

    const proxyFaults = wsProxy.stats.faults + httpProxy.stats.faults;
    const kills = injected.filter((n) => n === 'sigkill-restart').length;
    console.log(
      `chaos demo-pools seed=${SEED}: ${chaosCalls} calls under faults (${JSON.stringify(ledger.codes())}), ` +
        `${counterCalls.length} non-idempotent (${executions.size} executed, 0 twice), 80 recovery calls ok; ` +
        `${injected.length} scheduled faults (${kills} SIGKILL+restart), ${proxyFaults} proxy faults injected, ` +
        `${breakerEvents.length} breaker transitions; ${checks.length} invariants checked`,
    );
  });
});

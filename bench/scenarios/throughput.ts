/**
 * Throughput of the runtime against the bare SDK v2 Client (the target baseline) and the bare SDK
 * v1 Client (information) over each transport and on each protocol era, with the raw floors,
 * latency at 1 in flight, CPU per call, the call path alone, the default configuration and the
 * pool. Every variant of a group runs in every round, interleaved.
 *
 * Eras: `2025` rows talk to the demo server (SDK v1: initialize, 2025-11-25); `2026` rows to the
 * bench's SDK v2 server (bench/server-v2.ts: server/discover, 2026-07-28). The runtime and the bare
 * v2 Client negotiate (`auto`) and land on the server's era; the v1 Client speaks 2025 to both.
 */
import {
  callPathOver,
  type Era,
  inMemoryServer,
  pooledRuntime,
  rawHttp,
  rawWebSocket,
  runtimeTarget,
  sdkHttp,
  sdkInMemory,
  sdkStdio,
  sdkV2InMemory,
  sdkV2WebSocket,
  sdkWebSocket,
  type Target,
} from '../clients.js';
import { interleave, type Measurement, median, throughput } from '../harness.js';
import { pooledPercentileRatio, type Row, type Target as RowTarget, row } from '../report.js';
import { type BenchServers, demoStdioCommand, v2StdioCommand } from '../server-process.js';

/** How long and how often to measure. */
export interface RunShape {
  rounds: number;
  durationMs: number;
  /** Discarded interleaved rounds before the measured ones, for at least this long (see interleave). */
  warmForMs: number;
  /** Whether this is the smoke run (fewer levels). */
  quick: boolean;
}

type Results = Record<string, Measurement[]>;

/** Names every variant of a group is reported under. */
const LABELS: Record<string, string> = {
  raw: 'raw ws JSON echo (floor)',
  floor: 'node:http keep-alive JSON echo (floor)',
  v2: 'bare SDK v2 Client',
  v1: 'bare SDK v1 Client',
  runtime: 'runtime',
  runtimeDefault: 'runtime, default config (window 64)',
  path: 'call path alone (queue+breaker+retry)',
  pool4: 'runtime (pool 4)',
};
const label = (n: string) => LABELS[n] ?? n;

async function runGroup(
  open: Record<string, () => Promise<Target>>,
  measure: Array<[target: string, inFlight: number]>,
  shape: RunShape,
): Promise<Results> {
  const targets: Record<string, Target> = {};
  try {
    for (const [name, o] of Object.entries(open)) targets[name] = await o();
    const variants: Record<string, () => Promise<Measurement>> = {};
    const warm: Record<string, () => Promise<unknown>> = {};
    for (const [name, n] of measure) {
      const t = targets[name]!;
      variants[`${name}@${n}`] = () => throughput(t.call, n, shape.durationMs);
      warm[`${name}@${n}`] = () => throughput(t.call, n, Math.min(100, shape.durationMs));
    }
    const results = await interleave(shape.rounds, variants, warm, shape.warmForMs);
    for (const [variant, ms] of Object.entries(results)) {
      const errors = ms.reduce((sum, m) => sum + m.errors, 0);
      if (errors > 0) process.stderr.write(`[bench] ${variant}: ${errors} failed calls (not counted)\n`);
    }
    return results;
  } finally {
    for (const t of Object.values(targets)) await t.close().catch(() => {});
  }
}

const cps = (ms: Measurement[] | undefined) => (ms ?? []).map((m) => m.callsPerSec);
const cpu = (ms: Measurement[] | undefined) => (ms ?? []).map((m) => m.cpuUsPerCall);
const pct = (ms: Measurement[] | undefined, k: 'p50Us' | 'p99Us') =>
  (ms ?? []).map((m) => m[k] ?? Number.NaN);

/** Informational row of one variant's throughput. */
function plain(scenario: string, era: Era, r: Results, name: string, n: number): Row[] {
  const m = r[`${name}@${n}`];
  return m ? [row(scenario, `${label(name)} @${n}`, 'calls/s', cps(m), median(cps(m)), { era })] : [];
}

/** `subject` against `baseline` (default the bare v2 Client) at `n` in flight, on `pick`. */
function compare(
  scenario: string,
  era: Era,
  r: Results,
  subject: string,
  n: number,
  options: {
    baseline?: string;
    target?: RowTarget;
    pick?: 'cps' | 'cpu' | 'p50' | 'p99';
  } = {},
): Row[] {
  const base = options.baseline ?? 'v2';
  const s = r[`${subject}@${n}`];
  const b = r[`${base}@${n}`];
  if (!s || !b) return [];
  const pick = options.pick ?? 'cps';
  const values = (ms: Measurement[] | undefined) =>
    pick === 'cps' ? cps(ms) : pick === 'cpu' ? cpu(ms) : pct(ms, pick === 'p50' ? 'p50Us' : 'p99Us');
  const what = pick === 'cps' ? '' : pick === 'cpu' ? ' CPU per call' : ` ${pick}`;
  const unit = pick === 'cps' ? 'calls/s' : 'µs';
  const v1 = r[`v1@${n}`];
  if (pick === 'p50' || pick === 'p99') {
    // Latency percentiles: of every call of every round, pooled (see pooledPercentileRatio).
    const latencies = (ms: Measurement[]) => ms.map((m) => m.latenciesUs ?? new Float64Array());
    const p = pick === 'p50' ? 0.5 : 0.99;
    const q = pooledPercentileRatio(latencies(s), latencies(b), p);
    const pooledRow = row(
      scenario,
      `${label(subject)}${what} @${n} (all rounds' calls)`,
      unit,
      values(s),
      q.subject,
      {
        era,
        baseline: { name: `${label(base)}${what} @${n}`, value: q.baseline, rounds: values(b) },
        pooled: { ratio: q.ratio, interval: q.interval },
        ...(options.target ? { target: options.target } : {}),
      },
    );
    if (v1 && subject !== 'v1' && base === 'v2')
      pooledRow.ratioV1 = pooledPercentileRatio(latencies(s), latencies(v1), p).ratio;
    return [pooledRow];
  }
  return [
    row(scenario, `${label(subject)}${what} @${n}`, unit, values(s), median(values(s)), {
      era,
      baseline: { name: `${label(base)}${what} @${n}`, value: median(values(b)), rounds: values(b) },
      ...(v1 && subject !== 'v1' && base === 'v2' ? { v1: values(v1) } : {}),
      ...(options.target ? { target: options.target } : {}),
    }),
  ];
}

const atLeast = (limit: number): RowTarget => ({ on: 'ratio', op: '>=', limit });
const atMost = (limit: number): RowTarget => ({ on: 'ratio', op: '<=', limit });
const pairs = (names: string[], levels: number[]): Array<[string, number]> =>
  levels.flatMap((n) => names.map((name): [string, number] => [name, n]));

/** Throughput and CPU rows shared by every transport: runtime vs v2 at each level, v1 as information. */
function standardRows(
  scenario: string,
  era: Era,
  r: Results,
  levels: number[],
  targets: { throughputAt?: number[]; cpuAt64?: boolean; p99?: boolean },
): Row[] {
  const rows: Row[] = [];
  for (const n of levels) rows.push(...plain(scenario, era, r, 'v2', n));
  for (const n of levels) rows.push(...compare(scenario, era, r, 'v1', n));
  for (const n of levels)
    rows.push(
      ...compare(scenario, era, r, 'runtime', n, {
        ...(targets.throughputAt?.includes(n) ? { target: atLeast(0.97) } : {}),
      }),
    );
  if (targets.p99 && levels.includes(1)) {
    rows.push(...compare(scenario, era, r, 'runtime', 1, { pick: 'p50' }));
    rows.push(...compare(scenario, era, r, 'runtime', 1, { pick: 'p99', target: atMost(1.1) }));
  }
  if (targets.cpuAt64 && levels.includes(64)) {
    if (r['v2@64']) rows.push(cpuPlain(scenario, era, r, 'v2'));
    rows.push(...compare(scenario, era, r, 'runtime', 64, { pick: 'cpu', target: atMost(1.1) }));
    rows.push(...compare(scenario, era, r, 'path', 64, { pick: 'cpu' }));
  }
  return rows;
}

function cpuPlain(scenario: string, era: Era, r: Results, name: string): Row {
  const m = r[`${name}@64`];
  return row(scenario, `${label(name)} CPU per call @64`, 'µs', cpu(m), median(cpu(m)), { era });
}

/** Over WebSocket (our transport), both eras: floor, v2, v1, runtime, default config, call path, pool. */
export async function webSocketScenario(servers: BenchServers, shape: RunShape): Promise<Row[]> {
  const levels = shape.quick ? [1, 64] : [1, 64, 256];
  const maxLevel = Math.max(...levels);
  const rows: Row[] = [];
  for (const era of ['2025', '2026'] as const) {
    const url = era === '2025' ? servers.mcpWsUrl : servers.mcpWs2026Url;
    const forPath = await sdkV2WebSocket(url);
    // Issue 5's pool of 4 (2025 era only: information).
    const pool4 = era === '2025' && !shape.quick ? await pooledRuntime(url, 4, maxLevel) : undefined;
    const r = await runGroup(
      {
        ...(era === '2025' ? { raw: () => rawWebSocket(servers.rawWsUrl) } : {}),
        v2: () => sdkWebSocket('v2', url),
        v1: () => sdkWebSocket('v1', url),
        runtime: () => runtimeTarget({ url, queue: { concurrency: maxLevel } }),
        ...(era === '2025' ? { runtimeDefault: () => runtimeTarget({ url }) } : {}),
        path: async () => callPathOver(forPath.client, maxLevel),
        ...(pool4 ? { pool4: async () => pool4 } : {}),
      },
      [
        ...(era === '2025' ? pairs(['raw'], [64]) : []),
        ...pairs(['v2', 'v1', 'runtime'], levels),
        ...pairs(['path'], [64]),
        ...(era === '2025' ? pairs(['runtimeDefault'], [64]) : []),
        ...(pool4 ? pairs(['pool4'], [64]) : []),
      ],
      shape,
    );
    await forPath.close();
    const s = 'websocket';
    rows.push(...plain(s, era, r, 'raw', 64));
    rows.push(...standardRows(s, era, r, levels, { throughputAt: [64, 256], cpuAt64: true, p99: true }));
    rows.push(...compare(s, era, r, 'path', 64));
    rows.push(...compare(s, era, r, 'runtimeDefault', 64, { target: atLeast(0.9) }));
    rows.push(...compare(s, era, r, 'pool4', 64));
  }
  return rows;
}

/** Over stdio, both eras: each client has its own server child. */
export async function stdioScenario(shape: RunShape): Promise<Row[]> {
  const levels = shape.quick ? [64] : [64, 256];
  const rows: Row[] = [];
  for (const era of ['2025', '2026'] as const) {
    const cmd = era === '2025' ? demoStdioCommand() : v2StdioCommand();
    const r = await runGroup(
      {
        v2: () => sdkStdio('v2', cmd),
        v1: () => sdkStdio('v1', cmd),
        runtime: () => runtimeTarget({ ...cmd, queue: { concurrency: Math.max(...levels) } }),
      },
      pairs(['v2', 'v1', 'runtime'], levels),
      shape,
    );
    rows.push(...standardRows('stdio', era, r, levels, { throughputAt: [64, 256] }));
  }
  return rows;
}

/**
 * Over Streamable HTTP. 2026: the lean stateless server (JSON answers, client-bound): runtime vs
 * the bare v2 Client with its default fetch, and vs the raw `node:http` keep-alive floor. 2025: the
 * demo server's SDK transport (SSE per POST, server-bound): information.
 */
export async function httpScenario(servers: BenchServers, shape: RunShape): Promise<Row[]> {
  const n = 64;
  const s = 'streamable-http';
  const lean = await runGroup(
    {
      floor: async () => rawHttp(servers.leanHttpUrl, n),
      v2: () => sdkHttp('v2', servers.leanHttpUrl),
      runtime: () => runtimeTarget({ url: servers.leanHttpUrl, queue: { concurrency: n } }),
    },
    pairs(['floor', 'v2', 'runtime'], [n]),
    shape,
  );
  const sdkServer = await runGroup(
    {
      v2: () => sdkHttp('v2', servers.mcpHttpUrl),
      v1: () => sdkHttp('v1', servers.mcpHttpUrl),
      runtime: () => runtimeTarget({ url: servers.mcpHttpUrl, queue: { concurrency: n } }),
    },
    pairs(['v2', 'v1', 'runtime'], [n]),
    shape,
  );
  return [
    ...plain(s, '2026', lean, 'floor', n).map((x) => ({ ...x, name: `${x.name} (lean server)` })),
    ...plain(s, '2026', lean, 'v2', n).map((x) => ({ ...x, name: `${x.name}, default fetch (lean server)` })),
    ...compare(s, '2026', lean, 'runtime', n, { target: atLeast(1.5) }).map((x) => ({
      ...x,
      name: `${x.name} (lean server)`,
    })),
    ...compare(s, '2026', lean, 'runtime', n, { baseline: 'floor', target: atLeast(0.5) }).map((x) => ({
      ...x,
      name: `${x.name} (lean server)`,
    })),
    ...plain(s, '2025', sdkServer, 'v2', n).map((x) => ({ ...x, name: `${x.name} (SDK v1 server, SSE)` })),
    ...compare(s, '2025', sdkServer, 'v1', n).map((x) => ({ ...x, name: `${x.name} (SDK v1 server, SSE)` })),
    ...compare(s, '2025', sdkServer, 'runtime', n).map((x) => ({
      ...x,
      name: `${x.name} (SDK v1 server, SSE)`,
    })),
  ];
}

/** In memory, both eras: server in this process, so CPU per call is client + server. */
export async function memoryScenario(shape: RunShape): Promise<Row[]> {
  const levels = [64];
  const rows: Row[] = [];
  for (const era of ['2025', '2026'] as const) {
    const forPath = await sdkV2InMemory(era);
    const r = await runGroup(
      {
        v2: () => sdkInMemory('v2', era),
        v1: () => sdkInMemory('v1', era),
        runtime: () => runtimeTarget({ mock: inMemoryServer(era), queue: { concurrency: 64 } }),
        path: async () => callPathOver(forPath.client, 64),
      },
      pairs(['v2', 'v1', 'runtime', 'path'], levels),
      shape,
    );
    await forPath.close();
    rows.push(...standardRows('in-memory', era, r, levels, { cpuAt64: true }));
    rows.push(...compare('in-memory', era, r, 'path', 64));
  }
  return rows;
}

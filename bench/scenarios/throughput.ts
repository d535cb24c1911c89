/**
 * Throughput of the runtime against the bare SDK Client over each transport at 1 / 64 / 256 in
 * flight, with the raw floors, latency at 1 in flight, issue 4's call-path overhead and issue 5's
 * pool rows. Every variant of a group runs in every round, interleaved.
 */
import {
  callPathOver,
  inMemoryDemo,
  pooledRuntime,
  rawHttp,
  rawWebSocket,
  runtimeTarget,
  sdkHttp,
  sdkInMemory,
  sdkStdio,
  sdkWebSocket,
  type Target,
} from '../clients.js';
import { interleave, type Measurement, median, throughput } from '../harness.js';
import { type Row, row } from '../report.js';
import { type BenchServers, demoStdioCommand } from '../server-process.js';

/** How long and how often to measure. */
export interface RunShape {
  rounds: number;
  durationMs: number;
  levels: number[];
}

interface Group {
  scenario: string;
  /** Named targets, opened once for the whole group. */
  open: Record<string, () => Promise<Target>>;
  /** Which (target, in-flight) pairs to measure. */
  measure: Array<[target: string, inFlight: number]>;
}

async function runGroup(group: Group, shape: RunShape): Promise<Record<string, Measurement[]>> {
  const targets: Record<string, Target> = {};
  try {
    for (const [name, open] of Object.entries(group.open)) targets[name] = await open();
    const variants: Record<string, () => Promise<Measurement>> = {};
    const warm: Record<string, () => Promise<unknown>> = {};
    for (const [name, n] of group.measure) {
      const t = targets[name]!;
      variants[`${name}@${n}`] = () => throughput(t.call, n, shape.durationMs);
      warm[`${name}@${n}`] = () => throughput(t.call, n, Math.min(200, shape.durationMs));
    }
    return await interleave(shape.rounds, variants, warm);
  } finally {
    for (const t of Object.values(targets)) await t.close().catch(() => {});
  }
}

const cps = (ms: Measurement[]) => ms.map((m) => m.callsPerSec);

function throughputRows(
  scenario: string,
  results: Record<string, Measurement[]>,
  subject: string,
  baseline: string,
  levels: number[],
  label: (name: string) => string,
  targetAt: Record<number, number>,
): Row[] {
  const rows: Row[] = [];
  for (const n of levels) {
    const s = results[`${subject}@${n}`];
    const b = results[`${baseline}@${n}`];
    if (!s || !b) continue;
    const limit = targetAt[n];
    rows.push(
      row(scenario, `${label(subject)} @${n}`, 'calls/s', cps(s), median(cps(s)), {
        baseline: { name: `${label(baseline)} @${n}`, value: median(cps(b)), rounds: cps(b) },
        ...(limit !== undefined ? { target: { on: 'ratio', op: '>=', limit } } : {}),
      }),
    );
  }
  return rows;
}

function floorRows(
  scenario: string,
  results: Record<string, Measurement[]>,
  name: string,
  label: string,
  levels: number[],
): Row[] {
  return levels.flatMap((n) => {
    const m = results[`${name}@${n}`];
    return m ? [row(scenario, `${label} @${n}`, 'calls/s', cps(m), median(cps(m)))] : [];
  });
}

function latencyRows(
  scenario: string,
  results: Record<string, Measurement[]>,
  subject: string,
  baseline: string,
  labels: Record<string, string>,
): Row[] {
  const s = results[`${subject}@1`];
  const b = results[`${baseline}@1`];
  if (!s || !b) return [];
  const p = (ms: Measurement[], k: 'p50Us' | 'p99Us') => ms.map((m) => m[k] ?? Number.NaN);
  return [
    row(scenario, `${labels[subject]} p50 @1`, 'µs', p(s, 'p50Us'), median(p(s, 'p50Us')), {
      baseline: { name: `${labels[baseline]} p50 @1`, value: median(p(b, 'p50Us')), rounds: p(b, 'p50Us') },
    }),
    row(scenario, `${labels[subject]} p99 @1`, 'µs', p(s, 'p99Us'), median(p(s, 'p99Us')), {
      baseline: { name: `${labels[baseline]} p99 @1`, value: median(p(b, 'p99Us')), rounds: p(b, 'p99Us') },
      target: { on: 'ratio', op: '<=', limit: 1.1 },
    }),
  ];
}

/** CPU time of this process per call (client and in-process server): robust to load from elsewhere. */
function cpuRows(
  scenario: string,
  results: Record<string, Measurement[]>,
  subjects: string[],
  baseline: string,
  n: number,
  label: (name: string) => string,
): Row[] {
  const cpu = (ms: Measurement[]) => ms.map((m) => m.cpuUsPerCall);
  const b = results[`${baseline}@${n}`];
  if (!b) return [];
  return [
    row(scenario, `${label(baseline)} CPU per call @${n}`, 'µs', cpu(b), median(cpu(b))),
    ...subjects.flatMap((sub) => {
      const s = results[`${sub}@${n}`];
      return s
        ? [
            row(scenario, `${label(sub)} CPU per call @${n}`, 'µs', cpu(s), median(cpu(s)), {
              baseline: { name: `${label(baseline)} CPU @${n}`, value: median(cpu(b)), rounds: cpu(b) },
            }),
          ]
        : [];
    }),
  ];
}

const pairs = (names: string[], levels: number[]): Array<[string, number]> =>
  levels.flatMap((n) => names.map((name): [string, number] => [name, n]));

/** (a)+(b)+(c) over WebSocket, plus issue 4 (call path) and issue 5 (pool) rows. */
export async function webSocketScenario(servers: BenchServers, shape: RunShape): Promise<Row[]> {
  const maxLevel = Math.max(...shape.levels);
  const sdkForPath = await sdkWebSocket(servers.mcpWsUrl);
  // Issue 5's pool of 4: measured once the runtime pools connections, else reported NOT WIRED.
  const pool4 = await pooledRuntime(servers.mcpWsUrl, 4, maxLevel);
  const poolLevels = [64, 256].filter((x) => shape.levels.includes(x));
  const results = await runGroup(
    {
      scenario: 'websocket',
      open: {
        raw: () => rawWebSocket(servers.rawWsUrl),
        sdk: () => sdkWebSocket(servers.mcpWsUrl),
        runtime: () => runtimeTarget({ url: servers.mcpWsUrl, queue: { concurrency: maxLevel } }),
        runtime16: () => runtimeTarget({ url: servers.mcpWsUrl }),
        path: async () => callPathOver(sdkForPath.client, maxLevel),
        ...(pool4 ? { pool4: async () => pool4 } : {}),
      },
      measure: [
        ...pairs(['raw', 'sdk', 'runtime'], shape.levels),
        ...(pool4 ? pairs(['pool4'], poolLevels) : []),
        ...(shape.levels.includes(64)
          ? ([
              ['path', 64],
              ['runtime16', 64],
            ] as Array<[string, number]>)
          : []),
      ],
    },
    shape,
  );
  await sdkForPath.close();
  const labels: Record<string, string> = {
    raw: 'raw ws JSON echo (floor)',
    sdk: 'bare SDK Client',
    runtime: 'runtime (pool 1)',
    runtime16: 'runtime, default window 16',
    path: 'call path: queue+breaker+retry (issue 4)',
    pool4: 'runtime (pool 4)',
  };
  const l = (n: string) => labels[n] ?? n;
  const rows = [
    ...floorRows('websocket', results, 'raw', l('raw'), shape.levels),
    ...floorRows('websocket', results, 'sdk', l('sdk'), shape.levels),
    ...throughputRows('websocket', results, 'runtime', 'sdk', shape.levels, l, { 64: 0.95, 256: 0.95 }),
    ...throughputRows('websocket', results, 'path', 'sdk', [64], l, { 64: 0.95 }),
    ...throughputRows('websocket', results, 'runtime16', 'sdk', [64], l, {}),
    ...latencyRows('websocket', results, 'runtime', 'sdk', labels),
    ...cpuRows('websocket', results, ['runtime', 'path'], 'sdk', shape.levels.includes(64) ? 64 : 1, l),
  ];
  if (pool4) rows.push(...throughputRows('websocket', results, 'pool4', 'sdk', poolLevels, l, {}));
  else
    for (const n of poolLevels)
      rows.push(
        row('websocket', `runtime (pool 4) @${n}`, 'calls/s', [], Number.NaN, { verdict: 'NOT WIRED' }),
      );
  return rows;
}

/** (a) over stdio: each client has its own demo server child. */
export async function stdioScenario(shape: RunShape): Promise<Row[]> {
  const cmd = demoStdioCommand();
  const results = await runGroup(
    {
      scenario: 'stdio',
      open: {
        sdk: () => sdkStdio(cmd),
        runtime: () => runtimeTarget({ ...cmd, queue: { concurrency: Math.max(...shape.levels) } }),
      },
      measure: pairs(['sdk', 'runtime'], shape.levels),
    },
    shape,
  );
  const l = (n: string) => (n === 'sdk' ? 'bare SDK Client' : 'runtime');
  return [
    ...floorRows('stdio', results, 'sdk', l('sdk'), shape.levels),
    ...throughputRows('stdio', results, 'runtime', 'sdk', shape.levels, l, { 64: 0.95 }),
  ];
}

/** (a) over Streamable HTTP: the SDK with its default fetch, the runtime (tuned undici fetch), the floor. */
export async function httpScenario(servers: BenchServers, shape: RunShape): Promise<Row[]> {
  const maxLevel = Math.max(...shape.levels);
  const results = await runGroup(
    {
      scenario: 'streamable-http',
      open: {
        floor: async () => rawHttp(servers.rawHttpUrl, maxLevel),
        sdk: () => sdkHttp(servers.mcpHttpUrl),
        runtime: () => runtimeTarget({ url: servers.mcpHttpUrl, queue: { concurrency: maxLevel } }),
      },
      measure: pairs(['floor', 'sdk', 'runtime'], shape.levels),
    },
    shape,
  );
  const labels: Record<string, string> = {
    floor: 'node:http keep-alive JSON echo (floor)',
    sdk: 'bare SDK Client, default fetch',
    runtime: 'runtime (undici keep-alive)',
  };
  const l = (n: string) => labels[n] ?? n;
  return [
    ...floorRows('streamable-http', results, 'floor', l('floor'), shape.levels),
    ...floorRows('streamable-http', results, 'sdk', l('sdk'), shape.levels),
    ...throughputRows('streamable-http', results, 'runtime', 'sdk', shape.levels, l, { 64: 3 }),
  ];
}

/** (a) in memory: the runtime (`mock` server) and its call path alone vs the bare SDK Client. */
export async function memoryScenario(shape: RunShape): Promise<Row[]> {
  const maxLevel = Math.max(...shape.levels);
  const forPath = await sdkInMemory();
  const results = await runGroup(
    {
      scenario: 'in-memory',
      open: {
        sdk: () => sdkInMemory(),
        runtime: () => runtimeTarget({ mock: inMemoryDemo, queue: { concurrency: maxLevel } }),
        path: async () => callPathOver(forPath.client, maxLevel),
      },
      measure: pairs(['sdk', 'runtime', 'path'], shape.levels),
    },
    shape,
  );
  await forPath.close();
  const labels: Record<string, string> = {
    sdk: 'bare SDK Client',
    runtime: 'runtime',
    path: 'call path alone',
  };
  const l = (n: string) => labels[n] ?? n;
  return [
    ...floorRows('in-memory', results, 'sdk', l('sdk'), shape.levels),
    ...throughputRows('in-memory', results, 'runtime', 'sdk', shape.levels, l, {}),
    ...throughputRows('in-memory', results, 'path', 'sdk', shape.levels, l, {}),
    ...cpuRows('in-memory', results, ['runtime', 'path'], 'sdk', shape.levels.includes(64) ? 64 : 1, l),
  ];
}

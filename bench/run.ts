/**
 * `npm run bench`: every scenario against its baseline in the same run (interleaved rounds,
 * medians), a table of medians, ratios and PASS/MISS per target, and bench/results/latest.json
 * (bench/results/partial.json for a --quick or --only run, which is not committed).
 *
 *   npm run bench                  full run (under 3 minutes)
 *   npm run bench -- --quick       smoke run of a few seconds (numbers meaningless)
 *   npm run bench -- --only=websocket,heap   a subset (scenario names as in the table)
 *   npm run bench -- --only=websocket --rounds=15   more rounds (tighter intervals)
 *   npm run bench -- --out=path.json         another JSON path
 *
 * Servers run in a child process (bench/server-main.ts); stdio clients each spawn the demo server.
 */
import { EventEmitter } from 'node:events';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fleetScenario } from './fleet.js';
import { formatTable, type Row, writeJson } from './report.js';
import {
  cacheScenario,
  heapScenario,
  queueScenario,
  reconnectScenario,
  startScenario,
} from './scenarios/other.js';
import { telemetryScenario } from './scenarios/telemetry.js';
import { httpScenario, memoryScenario, stdioScenario, webSocketScenario } from './scenarios/throughput.js';
import { startBenchServers } from './server-process.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string' },
    rounds: { type: 'string' },
  },
  strict: true,
});
const quick = values.quick ?? false;
const only = values.only ? new Set(values.only.split(',')) : undefined;
// A partial or smoke run must not replace the last full run's results (they are committed).
const out =
  values.out ??
  fileURLToPath(new URL(`./results/${only || quick ? 'partial' : 'latest'}.json`, import.meta.url));
const wanted = (name: string) => only === undefined || only.has(name);
/** Scenarios that run only when named in --only (they need more than Node: fleet starts redis-server). */
const OPTIONAL = ['fleet'];
const SCENARIOS = [
  'websocket',
  'stdio',
  'streamable-http',
  'in-memory',
  'queue',
  'reconnect',
  'heap',
  'start',
  'cache',
  'telemetry',
];
for (const name of only ?? []) {
  if (!SCENARIOS.includes(name) && !OPTIONAL.includes(name)) {
    process.stderr.write(
      `--only: unknown scenario "${name}" (known: ${[...SCENARIOS, ...OPTIONAL].join(', ')})\n`,
    );
    process.exit(2);
  }
}
const roundsArg = values.rounds === undefined ? undefined : Number(values.rounds);
if (roundsArg !== undefined && !(Number.isInteger(roundsArg) && roundsArg >= 1 && roundsArg <= 100)) {
  process.stderr.write(`--rounds: a whole number from 1 to 100, got "${values.rounds}"\n`);
  process.exit(2);
}

/**
 * Full runs: 8 interleaved rounds of 180 ms slices, after 2 s of discarded ones (short rounds close in time pair well under
 * the shared machine's load); quick: 1 round of 60 ms, fewer levels.
 */
const DEFAULT_ROUNDS = 8;
/** Each throughput group's discarded warm-up rounds last at least this long (see interleave). */
const WARM_FOR_MS = 2_000;
const shape = quick
  ? { rounds: roundsArg ?? 1, durationMs: 60, warmForMs: 0, quick }
  : { rounds: roundsArg ?? DEFAULT_ROUNDS, durationMs: 180, warmForMs: WARM_FOR_MS, quick };
/** Scenarios with their own round counts scale them by --rounds relative to the default. */
const scaled = (base: number) =>
  roundsArg === undefined ? base : Math.max(1, Math.round((base * roundsArg) / DEFAULT_ROUNDS));

// The SDK's stdio client transports wait for 'drain' with one listener per blocked write: at 256
// in flight that trips Node's leak warning on the child's stdin, which is expected here.
EventEmitter.defaultMaxListeners = 300;

const startedAt = Date.now();
const rows: Row[] = [];
const log = (what: string) =>
  process.stderr.write(`[bench] ${what} (${((Date.now() - startedAt) / 1000).toFixed(1)} s)\n`);
const servers = await startBenchServers();
try {
  if (wanted('websocket')) {
    log('websocket');
    rows.push(...(await webSocketScenario(servers, shape)));
  }
  if (wanted('stdio')) {
    log('stdio');
    rows.push(...(await stdioScenario(shape)));
  }
  if (wanted('streamable-http')) {
    log('streamable-http');
    rows.push(...(await httpScenario(servers, shape)));
  }
  if (wanted('in-memory')) {
    log('in-memory');
    rows.push(...(await memoryScenario(shape)));
  }
  if (wanted('queue')) {
    log('queue');
    rows.push(
      ...queueScenario(quick ? 1 : scaled(3), quick ? 2_000 : 20_000, quick ? [1_000, 2_000] : undefined),
    );
  }
  if (wanted('reconnect')) {
    log('reconnect');
    // A reconnect round takes a few ms: 120 of them cost about 4 s, and the 2026 row's interval at
    // 40 (up to 0.45x wide) straddled the target with the median at 1.7-1.8x.
    rows.push(...(await reconnectScenario(servers, quick ? 1 : scaled(120))));
  }
  if (wanted('heap')) {
    log('heap');
    rows.push(...(await heapScenario(servers, quick ? 4 : 40, quick ? 1 : scaled(5))));
  }
  if (wanted('start')) {
    log('start');
    rows.push(...(await startScenario(servers.mcpWsUrl, quick ? 1 : scaled(3), quick ? 50 : 1_000)));
  }
  if (wanted('telemetry')) {
    log('telemetry');
    rows.push(...(await telemetryScenario(servers, shape)));
  }
  if (wanted('cache')) {
    log('cache');
    rows.push(...(await cacheScenario(servers, shape.rounds, shape.durationMs)));
  }
  if (only?.has('fleet')) {
    log('fleet');
    rows.push(...(await fleetScenario(shape.rounds, shape.durationMs, quick ? 3 : scaled(15))));
  }
} finally {
  await servers.stop();
}

const durationS = (Date.now() - startedAt) / 1000;
const table = formatTable(rows);
console.log(table);
const counts = { PASS: 0, MISS: 0, UNSURE: 0 };
for (const r of rows)
  if (r.verdict === 'PASS' || r.verdict === 'MISS' || r.verdict === 'UNSURE') counts[r.verdict]++;
console.log(
  `\n${counts.PASS} PASS, ${counts.MISS} MISS, ${counts.UNSURE} UNSURE; ${durationS.toFixed(1)} s; load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')} on ${cpus().length} cores${quick ? ' (quick: smoke run, numbers meaningless)' : ''}`,
);
writeJson(out, rows, {
  at: new Date(startedAt).toISOString(),
  quick,
  durationS,
  node: process.version,
  cores: cpus().length,
  loadAverage: loadavg(),
  shape,
});
process.exit(0);

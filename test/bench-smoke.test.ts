/**
 * Smoke test of the benchmark suite: `npm run bench -- --quick` runs in a child process, exits 0
 * and writes its JSON report. Nothing here looks at a number: benchmarks are not tests.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT_DIR = fileURLToPath(new URL('../', import.meta.url));
const TSX_LOADER_URL = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const dir = mkdtempSync(join(tmpdir(), 'mcp-actors-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', TSX_LOADER_URL, 'bench/run.ts', ...args], {
      cwd: ROOT_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run bench -- --quick', () => {
  it('runs every scenario, exits 0 and writes the JSON report', { timeout: 120_000 }, async () => {
    const out = join(dir, 'latest.json');
    const { code, stdout, stderr } = await runBench(['--quick', `--out=${out}`]);
    expect(code, stderr).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8')) as {
      quick: boolean;
      rows: Array<{ scenario: string; verdict: string }>;
    };
    expect(report.quick).toBe(true);
    const scenarios = new Set(report.rows.map((r) => r.scenario));
    for (const s of [
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
    ])
      expect(scenarios).toContain(s);
    for (const r of report.rows) expect(['PASS', 'MISS', 'UNSURE', 'INFO', 'NOT WIRED']).toContain(r.verdict);
    expect(stdout).toContain('| scenario');
  });

  it('refuses an unknown flag with a non-zero exit', { timeout: 60_000 }, async () => {
    const { code, stderr } = await runBench(['--no-such-flag']);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/no-such-flag/);
  });
});

/**
 * Every example in examples/ runs as a child process (`node --import tsx examples/NAME.ts`, no
 * URL: each starts what it needs and ends by itself), exits 0 and prints its expected line.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** Modules in examples/ that are shared by the examples, not examples themselves. */
const HELPERS = new Set(['demo-target.ts', 'embedded-agent-machine.ts']);

/** Whether redis-server is installed: examples/fleet.ts needs it and says "skipped" without it. */
const hasRedis = (() => {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Each example and lines its output must contain. */
const EXPECTED: Record<string, RegExp[]> = {
  'basic-setup': [/^echo: hi$/m, /^add: 5$/m, /^state: ready/m],
  'session-handlers': [
    /^sampling result: the model reply reached the server$/m,
    /^roots seen by the server: file:\/\/\/work\/project$/m,
  ],
  'resource-manager': [/^greeting: Hello from the demo server \(same: true\)$/m, /^item 2: Item 2$/m],
  streaming: [/^progress 4\/4: step 4\/4$/m, /^result: done in 4 steps$/m, /^stream cancelled$/m],
  batch: [/^#2: TOOL /m, /^batch: 3 ok, 1 failed$/m],
  events: [/^disconnect demo: CONNECTION_LOST$/m, /^connect demo \(reconnect\)$/m, /^events: reconnected$/m],
  pool: [/^pool at start: 2 members$/m, /^pool: 100 calls spread over [2-4] members$/m],
  cache: [/^cache: 5 hits, 2 misses, 2 entries$/m, /^cache after clear: 0 entries$/m],
  retry: [
    /^lookup succeeded after 3 attempts: value of a$/m,
    /^charge failed with REMOTE after 1 attempt \(not retried\)$/m,
  ],
  breaker: [
    /^breaker closed -> open \(consecutive\)$/m,
    /^fails fast: BREAKER_OPEN/m,
    /^breaker halfOpen -> closed/m,
  ],
  'mock-based-test': [/^mock-based test: 4 checks passed$/m],
  opentelemetry: [
    /^attempts carrying the request's trace: 3 of 3$/m,
    /^span tools\/call lookup: 2 retries$/m,
    /^metric mcp_actors\.retries \(\{retry\}\): 2$/m,
  ],
  'live-integration': [/^live integration: 6 checks passed$/m],
  'embedded-agent': [
    /^agent saw: breaker primary: closed -> open$/m,
    /^agent done: 6 tasks, 2 by primary, 4 by fallback$/m,
  ],
  fleet: hasRedis
    ? [
        /^tokens: 1 refresh for 3 workers$/m,
        /^breaker open in 3 of 3 workers after 3 failures in all /m,
        /^breaker closed in 3 of 3 workers after the probe$/m,
      ]
    : [/^skipped: redis-server not installed/m],
};

function run(name: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', TSX, `examples/${name}.ts`],
      { cwd: ROOT, timeout: 45_000, env: { ...process.env, DEMO_URL: '' } },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('examples', () => {
  it('lists every example in examples/', () => {
    const found = readdirSync(new URL('../examples/', import.meta.url))
      .filter((f) => f.endsWith('.ts') && !HELPERS.has(f))
      .map((f) => f.slice(0, -3))
      .sort();
    expect(found).toEqual(Object.keys(EXPECTED).sort());
  });

  describe.concurrent('runs', () => {
    for (const [name, lines] of Object.entries(EXPECTED)) {
      it(`${name} exits 0 and prints what it should`, { timeout: 60_000 }, async () => {
        const { code, stdout, stderr } = await run(name);
        expect(code, `${name} stderr:\n${stderr}`).toBe(0);
        for (const line of lines) expect(stdout, name).toMatch(line);
      });
    }
  });
});

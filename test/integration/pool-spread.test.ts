/**
 * A burst right after `start()` spreads over the pool (issue 16, item 9): with `pool: { min: 2,
 * max: 4 }`, 12 concurrent calls go to more than one member, even when one member's server takes
 * longer to start than the other's (here: a stdio child that waits 1 s before it runs).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/index.js';
import { demoStdioCommand } from '../helpers/demo-server-process.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mcp-pool-spread-'));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The demo server over stdio; every child after the first waits `delayS` before it starts. */
function slowSecondChild(delayS: number) {
  const demo = demoStdioCommand();
  const lock = join(dir, 'first-child');
  const quoted = [demo.command, ...demo.args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
  return {
    command: '/bin/sh',
    args: ['-c', `mkdir '${lock}' 2>/dev/null || sleep ${delayS}; exec ${quoted}`],
    cwd: demo.cwd,
  };
}

describe('pool dispatch', () => {
  it('12 concurrent calls after start() go to more than one member', { timeout: 60_000 }, async () => {
    const rt = createRuntime({
      servers: {
        s: {
          ...slowSecondChild(1),
          pool: { min: 2, max: 4 },
          heartbeat: { intervalMs: 0 },
          connectTimeoutMs: 15_000,
          initializeTimeoutMs: 15_000,
        },
      },
    });
    try {
      await rt.start();
      const calls = Array.from({ length: 12 }, () =>
        rt.callTool('s', 'slow', { durationMs: 200, steps: 1 }, { timeoutMs: 20_000 }),
      );
      // Dispatch is synchronous on ready members: the ledger shows where each call went.
      const loads = (rt.snapshot().servers.s?.pool?.members ?? []).map((m) => m.inFlight);
      await Promise.all(calls);
      expect(loads.reduce((a, b) => a + b, 0)).toBe(12);
      expect(loads.filter((n) => n > 0).length).toBeGreaterThan(1);
      expect(Math.max(...loads)).toBeLessThanOrEqual(6);
    } finally {
      await rt.close();
    }
  });
});

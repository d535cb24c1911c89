/**
 * A wrong command or URL is reported by `rt.start()` at once, naming the cause (issue 16, item 2):
 * no reconnect loop until a 20 s timeout. A cause that may heal (a refused port while the server
 * starts) keeps retrying, and every error and state event names it.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type ServerConfig } from '../../src/index.js';
import { type DemoServerProcess, spawnDemoServer } from '../helpers/demo-server-process.js';

/** The target: a typo is reported within this. */
const REPORTED_WITHIN_MS = 1_000;

let demo: DemoServerProcess;

beforeAll(async () => {
  demo = await spawnDemoServer();
}, 30_000);

afterAll(async () => {
  await demo?.kill('SIGKILL');
});

/** A loopback port nobody listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts a runtime with one server `s`; returns how long `start()` took and how it failed. */
async function startFailure(config: ServerConfig): Promise<{ elapsedMs: number; error: unknown }> {
  const rt = createRuntime({ servers: { s: config } });
  rt.on('error', () => {});
  const t0 = performance.now();
  try {
    await rt.start();
    return { elapsedMs: performance.now() - t0, error: undefined };
  } catch (error) {
    return { elapsedMs: performance.now() - t0, error };
  } finally {
    await rt.close();
  }
}

describe('permanent causes fail start() at once, naming the cause', () => {
  it('a typo in the command (ENOENT) is CONFIG naming the command', async () => {
    const { elapsedMs, error } = await startFailure({ command: 'no-such-mcp-server-xyz', args: [] });
    expect(error).toMatchObject({ code: 'CONFIG' });
    expect((error as Error).message).toBe(
      'Invalid configuration: servers.s.command: command "no-such-mcp-server-xyz" not found (ENOENT)',
    );
    expect(elapsedMs).toBeLessThan(REPORTED_WITHIN_MS);
  });

  it('an HTTP URL with a wrong path (404) is PROTOCOL naming the status', async () => {
    const url = new URL(demo.httpUrl);
    url.pathname = '/no-mcp-here';
    const { elapsedMs, error } = await startFailure({ url: url.href });
    expect(error).toMatchObject({ code: 'PROTOCOL' });
    expect((error as Error).message).toMatch(/no MCP endpoint at the configured URL \(HTTP 404\)/);
    expect(elapsedMs).toBeLessThan(REPORTED_WITHIN_MS);
  });

  it('ws:// to a plain HTTP server (no 101) is PROTOCOL naming the refused upgrade', async () => {
    const url = new URL(demo.httpUrl);
    url.protocol = 'ws:';
    const { elapsedMs, error } = await startFailure({ url: url.href });
    expect(error).toMatchObject({ code: 'PROTOCOL' });
    expect((error as Error).message).toMatch(/WebSocket upgrade refused with HTTP \d{3}/);
    expect(elapsedMs).toBeLessThan(REPORTED_WITHIN_MS);
  });
});

describe('a refused port keeps retrying, and every report names ECONNREFUSED', () => {
  for (const scheme of ['http', 'ws'] as const) {
    it(`over ${scheme}`, async () => {
      const port = await closedPort();
      const cause = `ECONNREFUSED 127.0.0.1:${port}`;
      const rt = createRuntime({
        servers: {
          s: {
            url: `${scheme}://127.0.0.1:${port}/mcp`,
            reconnect: { initialDelayMs: 20, maxDelayMs: 50, maxAttempts: 1_000, jitter: false },
            connectTimeoutMs: 300,
            initializeTimeoutMs: 300,
          },
        },
      });
      const errors: string[] = [];
      const states: Array<{ to: string; lastError: string | undefined }> = [];
      rt.on('error', ({ error }) => errors.push(`${error.code}: ${error.message}`));
      rt.on('state', ({ actor, to, lastError }) => {
        if (actor === 'connection') states.push({ to, lastError: lastError?.message });
      });
      try {
        const started = rt.start();
        await expect(started).rejects.toMatchObject({ code: 'TIMEOUT' });
        await expect(started).rejects.toThrow(cause);
      } finally {
        await rt.close();
      }
      // It kept trying (several reconnects), and never gave up as if the cause were permanent.
      expect(states.filter((s) => s.to === 'reconnecting').length).toBeGreaterThanOrEqual(2);
      expect(states.some((s) => s.to === 'failed')).toBe(false);
      const reported = states.filter((s) => s.lastError !== undefined);
      expect(reported.length).toBeGreaterThan(0);
      for (const s of reported) expect(s.lastError).toContain(cause);
      // Over HTTP the refusal also surfaces as a transport error event (WebSocket fails the open).
      if (scheme === 'http') expect(errors.length).toBeGreaterThan(0);
      for (const e of errors) expect(e).toContain(cause);
    });
  }
});

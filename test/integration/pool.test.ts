import type { McpServer } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveWebSocket } from '../../src/actors/websocket-server-transport.js';
import { createDemoMcpServer, getDemoCounter } from '../../src/demo/demo-server.js';
import { createRuntime, isMcpRuntimeError } from '../../src/index.js';

describe('connection pool against a real WebSocket server', () => {
  const servers: McpServer[] = [];
  let endpoint: Awaited<ReturnType<typeof serveWebSocket>>;
  beforeAll(async () => {
    endpoint = await serveWebSocket({
      createServer: () => {
        const s = createDemoMcpServer();
        servers.push(s);
        return s;
      },
    });
  });
  afterAll(async () => {
    await endpoint.close();
  });

  it('500 concurrent calls on 4 connections, one killed mid-load: all settle, safe ones succeed, pool back to 4', async () => {
    await using rt = createRuntime({
      servers: {
        s: {
          url: endpoint.url,
          pool: { min: 4, max: 4 },
          queue: { concurrency: 64, maxQueued: 1_000 },
          reconnect: { initialDelayMs: 10, maxDelayMs: 50, jitter: false },
          heartbeat: { intervalMs: 0 },
          retry: { maxAttempts: 5, initialDelayMs: 10, maxBackoffMs: 50, budgetRatio: 1 },
          timeoutMs: 20_000,
        },
      },
    });
    await rt.start();
    await rt.listTools('s'); // annotations: echo is idempotent, counter is not
    for (let i = 0; i < 50 && (rt.snapshot().servers.s!.pool?.ready ?? 0) < 4; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(rt.snapshot().servers.s!.pool).toMatchObject({ size: 4, ready: 4 });
    expect(endpoint.connections).toBe(4);
    const counterBefore = getDemoCounter();

    let settled = 0;
    const calls = Array.from({ length: 500 }, (_, i) => {
      const p =
        i % 10 === 0
          ? rt.callTool('s', 'counter')
          : rt.callTool('s', 'echo', { text: `m${i}` }).then((r) => {
              expect(r.content[0]).toMatchObject({ text: `m${i}` });
              return r;
            });
      return p.then(
        (value) => {
          settled++;
          return { ok: true as const, i, value };
        },
        (error: unknown) => {
          settled++;
          return { ok: false as const, i, error };
        },
      );
    });
    // Kill one connection from the server side while calls are in flight.
    await new Promise((r) => setTimeout(r, 5));
    const victim = servers[1]!;
    await victim.close();
    const outcomes = await Promise.all(calls);

    expect(settled).toBe(500);
    const failures = outcomes.filter((o) => !o.ok);
    // Idempotent echo calls all succeed (retried on CONNECTION_LOST); only counter calls may fail.
    const unexpected = failures
      .filter((o) => o.i % 10 !== 0)
      .map((o) => String((o as { error: unknown }).error));
    expect(unexpected, JSON.stringify(rt.snapshot().servers.s!.stats)).toEqual([]);
    for (const f of failures) {
      const error = (f as { error: unknown }).error;
      expect(isMcpRuntimeError(error, 'CONNECTION_LOST'), String(error)).toBe(true);
    }
    // A non-idempotent call is executed at most once: the server never counted more than it was asked.
    const counterCalls = outcomes.filter((o) => o.i % 10 === 0).length;
    expect(getDemoCounter() - counterBefore).toBeLessThanOrEqual(counterCalls);
    expect(getDemoCounter() - counterBefore).toBeGreaterThanOrEqual(counterCalls - failures.length);

    for (let i = 0; i < 100 && (rt.snapshot().servers.s!.pool?.ready ?? 0) < 4; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const snap = rt.snapshot().servers.s!;
    expect(snap.pool).toMatchObject({ size: 4, ready: 4, inFlight: 0 });
    expect(snap.queue).toMatchObject({ queued: 0, inFlight: 0 });
    expect(snap.stats.calls).toBeGreaterThanOrEqual(500);
  });

  it('grows toward max when every member is busy, and dispatches to the least-loaded member', async () => {
    await using rt = createRuntime({
      servers: {
        s: {
          url: endpoint.url,
          pool: { min: 1, max: 3, growAfterBusyMs: 20, maxIdleMs: 60_000 },
          heartbeat: { intervalMs: 0 },
        },
      },
    });
    await rt.start();
    expect(rt.snapshot().servers.s!.pool).toMatchObject({ size: 1 });
    const waitForSize = async (n: number): Promise<void> => {
      for (let i = 0; i < 100 && (rt.snapshot().servers.s!.pool?.ready ?? 0) < n; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    // Wave 1 keeps the only member busy past growAfterBusyMs: a second member opens.
    const slow = Array.from({ length: 4 }, () => rt.callTool('s', 'slow', { durationMs: 800, steps: 1 }));
    await waitForSize(2);
    expect(rt.snapshot().servers.s!.pool).toMatchObject({ size: 2, ready: 2 });
    // Wave 2 lands on the idle new member first (least loaded), then all are busy again: a third opens.
    slow.push(...Array.from({ length: 4 }, () => rt.callTool('s', 'slow', { durationMs: 800, steps: 1 })));
    await waitForSize(3);
    expect(rt.snapshot().servers.s!.pool).toMatchObject({ size: 3, ready: 3 });
    await Promise.all(slow);
    // New calls spread over the members: none is left idle while another holds several.
    const spread = Array.from({ length: 3 }, () => rt.callTool('s', 'slow', { durationMs: 200, steps: 1 }));
    await new Promise((r) => setTimeout(r, 50));
    const loads = rt.snapshot().servers.s!.pool!.members.map((m) => m.inFlight);
    expect(loads.sort()).toEqual([1, 1, 1]);
    await Promise.all(spread);
  });
});

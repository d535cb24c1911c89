import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoServer } from '../../src/demo/demo-server.js';
import { createRuntime, type McpRuntime } from '../../src/index.js';
import { spawnDemoServer } from '../helpers/demo-server-process.js';

type Demo = Awaited<ReturnType<typeof startDemoServer>>;

function once<T>(rt: McpRuntime, event: 'breaker', match: (e: T) => boolean, timeoutMs = 5_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no matching ${event} event within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const listener = (e: unknown): void => {
      if (!match(e as T)) return;
      clearTimeout(timer);
      rt.off(event, listener);
      resolve(e as T);
    };
    rt.on(event, listener);
  });
}

describe('resilience against a real server', () => {
  let demo: Demo;
  const aborted: unknown[] = [];
  beforeAll(async () => {
    demo = await startDemoServer({ onSlowAborted: (reason) => aborted.push(reason) });
  });
  afterAll(async () => {
    await demo.close();
  });

  it('breaker: opens after the threshold, fails fast, probes after the reset timeout, closes', async () => {
    await using rt = createRuntime({
      servers: { s: { url: demo.wsUrl } },
      defaults: {
        breaker: { failureThreshold: 3, resetTimeoutMs: 300, halfOpenProbes: 1 },
        heartbeat: { intervalMs: 0 },
      },
    });
    const transitions: string[] = [];
    rt.on('breaker', (e) => transitions.push(`${e.from}→${e.to}:${e.reason}`));
    // Timeouts count against the breaker; the slow tool stands in for a struggling server.
    for (let i = 0; i < 3; i++) {
      await expect(
        rt.callTool('s', 'slow', { durationMs: 2_000, steps: 1 }, { timeoutMs: 60 }),
      ).rejects.toMatchObject({
        code: 'TIMEOUT',
      });
    }
    expect(transitions).toEqual(['closed→open:consecutive']);
    const fast = rt.callTool('s', 'echo', { text: 'x' });
    await expect(fast).rejects.toMatchObject({ code: 'BREAKER_OPEN', server: 's' });
    const error = await fast.catch((e: { retryAfterMs: number }) => e);
    expect(error.retryAfterMs).toBeGreaterThan(0);
    expect(error.retryAfterMs).toBeLessThanOrEqual(300);
    expect(rt.snapshot().servers.s!.breakers['*']).toMatchObject({ state: 'open', openedCount: 1 });
    // The reset timeout is a real timer here (real socket, real server): wait for its event, bounded.
    await once(rt, 'breaker', (e: { to: string }) => e.to === 'halfOpen');
    const probe = await rt.callTool('s', 'echo', { text: 'probe' });
    expect(probe.content[0]).toMatchObject({ text: 'probe' });
    expect(transitions).toEqual([
      'closed→open:consecutive',
      'open→halfOpen:resetTimeout',
      'halfOpen→closed:probesSucceeded',
    ]);
    expect(rt.snapshot().servers.s!.stats.breakerRejections).toBe(1);
  });

  it('tool errors, cancellations and invalid params do not open the breaker', async () => {
    await using rt = createRuntime({
      servers: { s: { url: demo.wsUrl } },
      defaults: { breaker: { failureThreshold: 2, resetTimeoutMs: 60_000 }, heartbeat: { intervalMs: 0 } },
    });
    for (let i = 0; i < 3; i++) {
      await expect(rt.callTool('s', 'fail', { message: 'no' })).rejects.toMatchObject({ code: 'TOOL' });
      const ac = new AbortController();
      const p = rt.callTool('s', 'slow', { durationMs: 2_000, steps: 1 }, { signal: ac.signal });
      setTimeout(() => ac.abort(), 20);
      await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
      await expect(rt.readResource('s', 'demo://nope')).rejects.toMatchObject({ code: 'REMOTE' });
    }
    expect(rt.snapshot().servers.s!.breakers['*']).toMatchObject({ state: 'closed', openedCount: 0 });
  });

  it('a timeout sends notifications/cancelled and the server observes it', async () => {
    await using rt = createRuntime({
      servers: { s: { url: demo.wsUrl } },
      defaults: { heartbeat: { intervalMs: 0 } },
    });
    const before = aborted.length;
    await expect(
      rt.callTool('s', 'slow', { durationMs: 3_000, steps: 1 }, { timeoutMs: 100 }),
    ).rejects.toMatchObject({
      code: 'TIMEOUT',
    });
    for (let i = 0; i < 100 && aborted.length === before; i++) await new Promise((r) => setTimeout(r, 10));
    expect(aborted.length).toBe(before + 1);
  });

  it('progress extends the timeout, but never past maxTotalTimeoutMs', async () => {
    await using rt = createRuntime({
      servers: { s: { url: demo.wsUrl } },
      defaults: { heartbeat: { intervalMs: 0 } },
    });
    const seen: number[] = [];
    const ok = await rt.callTool(
      's',
      'slow',
      { durationMs: 600, steps: 6 },
      { timeoutMs: 250, onProgress: (p) => seen.push(p.progress) },
    );
    expect(ok.content[0]).toMatchObject({ text: 'done in 6 steps' });
    expect(seen.length).toBeGreaterThanOrEqual(5);
    await expect(
      rt.callTool(
        's',
        'slow',
        { durationMs: 1_200, steps: 12 },
        { timeoutMs: 250, maxTotalTimeoutMs: 400, onProgress: () => {} },
      ),
    ).rejects.toMatchObject({ code: 'TIMEOUT' });
  });
});

describe('retries against a killed server', () => {
  it('a non-idempotent tool is never sent twice; an idempotent read is retried and succeeds', async () => {
    const server = await spawnDemoServer();
    await using rt = createRuntime({
      servers: { s: { url: server.wsUrl } },
      defaults: {
        timeoutMs: 15_000,
        heartbeat: { intervalMs: 0 },
        reconnect: { initialDelayMs: 20, maxDelayMs: 100, jitter: false, maxAttempts: 200 },
        retry: { maxAttempts: 10, initialDelayMs: 50, maxBackoffMs: 200, budgetRatio: 1 },
      },
    });
    await rt.listTools('s'); // learns annotations: slow is readOnlyHint, counter has none
    const counterBefore = Number(
      ((await rt.readResource('s', 'demo://counter')).contents[0] as { text: string }).text,
    );
    expect(counterBefore).toBe(0);
    const unsafe = rt.callTool('s', 'counter').catch((e: unknown) => e);
    const safe = rt.callTool('s', 'slow', { durationMs: 400, steps: 1 }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    await server.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    await server.restart();
    const safeResult = await safe;
    expect(safeResult).toMatchObject({ content: [{ text: 'done in 1 steps' }] });
    const unsafeResult = await unsafe;
    // Either it finished before the kill, or it failed: it is never repeated by the runtime.
    if (unsafeResult instanceof Error) expect(unsafeResult).toMatchObject({ code: 'CONNECTION_LOST' });
    expect(rt.snapshot().servers.s!.stats.retries).toBeGreaterThanOrEqual(1);
    // The restarted server process counts from zero: one explicit call makes it 1, never 2.
    const after = await rt.callTool('s', 'counter');
    expect(after.content[0]).toMatchObject({ text: '1' });
    await server.kill('SIGKILL');
  });
});

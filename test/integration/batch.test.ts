/**
 * Batches against real servers on 127.0.0.1: the in-process demo server (WebSocket), plus a demo
 * server with one extra `track` tool that records how many calls run at once server-side.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { serveWebSocket } from '../../src/actors/websocket-server-transport.js';
import { createDemoMcpServer, type DemoServerHandle, startDemoServer } from '../../src/demo/demo-server.js';
import { CancelledError, ConfigError, McpRuntimeError, ValidationError } from '../../src/errors/index.js';
import { createRuntime, type McpRuntime } from '../../src/runtime/runtime.js';

const defaults = {
  reconnect: { initialDelayMs: 20, factor: 2, maxDelayMs: 200, maxAttempts: 5, jitter: false },
  heartbeat: { intervalMs: 0 },
  timeoutMs: 5_000,
};

function textOf(value: unknown): string | undefined {
  return (value as { content?: Array<{ type: string; text?: string }> }).content?.find(
    (c) => c.type === 'text',
  )?.text;
}

/** Resolves when `check` is true, polling on the event loop; bounded in time. */
async function until(check: () => boolean, timeoutMs = 2_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('rt.batch() against the demo server', () => {
  let demo: DemoServerHandle;
  const slowAborted: unknown[] = [];
  let tracked: Awaited<ReturnType<typeof serveWebSocket>>;
  const concurrency = { now: 0, max: 0, started: 0 };
  /** `hold` calls started and aborted on the tracking server. */
  const held = { started: 0, aborted: 0 };
  let rt: McpRuntime;

  beforeAll(async () => {
    demo = await startDemoServer({ onSlowAborted: (reason) => slowAborted.push(reason) });
    tracked = await serveWebSocket({
      host: '127.0.0.1',
      port: 0,
      createServer: () => {
        const server = createDemoMcpServer();
        server.registerTool('track', { inputSchema: { ms: z.number() } }, async ({ ms }) => {
          concurrency.started++;
          concurrency.now++;
          concurrency.max = Math.max(concurrency.max, concurrency.now);
          await new Promise((r) => setTimeout(r, ms));
          concurrency.now--;
          return { content: [{ type: 'text', text: 'tracked' }] };
        });
        server.registerTool('hold', { inputSchema: { ms: z.number() } }, async ({ ms }, ctx) => {
          held.started++;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, ms);
            ctx.mcpReq.signal.addEventListener('abort', () => {
              clearTimeout(timer);
              held.aborted++;
              resolve();
            });
          });
          return { content: [{ type: 'text', text: 'held' }] };
        });
        return server;
      },
    });
  });
  afterAll(async () => {
    await Promise.all([demo.close(), tracked.close()]);
  });
  afterEach(async () => {
    await rt?.close();
  });

  function runtime(): McpRuntime {
    rt = createRuntime({ servers: { demo: { url: demo.wsUrl }, other: { url: tracked.url } }, defaults });
    return rt;
  }

  it('returns one outcome per item in the order added, across servers and kinds', async () => {
    const b = runtime().batch();
    expect(b.add('demo', 'slow', { durationMs: 80 })).toBe(0);
    expect(b.add('other', 'echo', { text: 'fast' })).toBe(1);
    expect(b.read('demo', 'demo://greeting')).toBe(2);
    expect(b.getPrompt('demo', 'greet', { name: 'Ada' })).toBe(3);
    expect(b.listTools('other')).toBe(4);
    expect(b.listResources('demo')).toBe(5);
    expect(b.listPrompts('demo')).toBe(6);
    const out = await b.execute();
    expect(out.map((o) => o.ok)).toEqual([true, true, true, true, true, true, true]);
    const values = out.map((o) => (o.ok ? o.value : undefined));
    expect(textOf(values[0])).toBe('done in 1 steps');
    expect(textOf(values[1])).toBe('fast');
    expect(values[2]).toMatchObject({ contents: [{ uri: 'demo://greeting' }] });
    expect(values[3]).toMatchObject({ messages: [{ content: { text: 'Please greet Ada.' } }] });
    expect((values[4] as Array<{ name: string }>).map((t) => t.name)).toContain('track');
    expect((values[5] as Array<{ uri: string }>).map((r) => r.uri)).toContain('demo://counter');
    expect((values[6] as Array<{ name: string }>).map((p) => p.name)).toEqual(['greet']);
    expect(b.state).toBe('done');
  });

  it('keeps going past failures without failFast, each failure typed', async () => {
    const b = runtime().batch();
    b.add('demo', 'echo', { text: 'a' });
    b.add('demo', 'fail', { message: 'nope' });
    b.add('demo', 'no-such-tool', {});
    b.add('nowhere', 'echo', { text: 'x' });
    b.add('demo', 'echo', { text: 'b' });
    const out = await b.execute();
    // The SDK v2 server reports an unknown tool as a JSON-RPC error: REMOTE.
    expect(out.map((o) => (o.ok ? textOf(o.value) : o.error.code))).toEqual([
      'a',
      'TOOL',
      'REMOTE',
      'CONFIG',
      'b',
    ]);
    for (const o of out) if (!o.ok) expect(o.error).toBeInstanceOf(McpRuntimeError);
  });

  it('failFast cancels items in flight (the server sees the abort) and items not started', async () => {
    const r = runtime();
    await r.start();
    slowAborted.length = 0;
    const b = r.batch({ failFast: true, concurrency: 3 });
    b.add('demo', 'slow', { durationMs: 5_000 });
    b.add('demo', 'slow', { durationMs: 5_000 });
    b.add('demo', 'fail', { message: 'first failure' });
    b.add('demo', 'echo', { text: 'never runs' });
    const started = Date.now();
    const out = await b.execute();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(out[2]).toMatchObject({ ok: false, error: { code: 'TOOL' } });
    for (const i of [0, 1, 3]) {
      expect(out[i]?.ok).toBe(false);
      expect((out[i] as { error: unknown }).error).toBeInstanceOf(CancelledError);
    }
    await until(() => slowAborted.length === 2);
  });

  it("the batch's signal cancels everything unfinished", async () => {
    const r = runtime();
    await r.start();
    held.started = 0;
    held.aborted = 0;
    const controller = new AbortController();
    const b = r.batch({ signal: controller.signal, concurrency: 1 });
    b.add('other', 'echo', { text: 'done first' });
    b.add('other', 'hold', { ms: 5_000 });
    b.add('other', 'echo', { text: 'not started' });
    const running = b.execute();
    await until(() => held.started === 1);
    controller.abort();
    const out = await running;
    expect(out[0]).toMatchObject({ ok: true });
    expect(out.slice(1).map((o) => (o.ok ? 'ok' : o.error.code))).toEqual(['CANCELLED', 'CANCELLED']);
    await until(() => held.aborted === 1);
    // An already aborted signal runs nothing.
    const pre = r.batch({ signal: AbortSignal.abort() });
    pre.add('other', 'hold', { ms: 1 });
    expect((await pre.execute())[0]).toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
    expect(held.started).toBe(1);
  });

  it('runs at most `concurrency` items at once, server-side', async () => {
    const r = runtime();
    await r.start(['other']);
    for (const limit of [1, 3]) {
      concurrency.max = 0;
      concurrency.started = 0;
      const b = r.batch({ concurrency: limit });
      for (let i = 0; i < 8; i++) b.add('other', 'track', { ms: 30 });
      const out = await b.execute();
      expect(out.every((o) => o.ok)).toBe(true);
      expect(concurrency.started).toBe(8);
      expect(concurrency.max).toBe(limit);
    }
    // Default: every item at once.
    concurrency.max = 0;
    const all = r.batch();
    for (let i = 0; i < 6; i++) all.add('other', 'track', { ms: 50 });
    await all.execute();
    expect(concurrency.max).toBe(6);
  });

  it('adding after execute, executing twice and bad input are typed errors', async () => {
    const b = runtime().batch();
    b.add('demo', 'echo', { text: 'x' });
    const first = b.execute();
    expect(() => b.add('demo', 'echo', { text: 'late' })).toThrow(ValidationError);
    await expect(b.execute()).rejects.toMatchObject({ code: 'VALIDATION', path: 'batch' });
    expect((await first).length).toBe(1);
    expect(() => b.read('demo', 'demo://greeting')).toThrow(/already executed/);
    const fresh = rt.batch();
    expect(() => fresh.add('', 'echo')).toThrow(ValidationError);
    expect(() => fresh.add('demo', '')).toThrow(/batch\.add\.tool/);
    expect(() => rt.batch({ concurrency: 0 })).toThrow(ConfigError);
    expect(() => rt.batch({ concurrency: 1.5 })).toThrow(/batch\.concurrency/);
    expect(await fresh.execute()).toEqual([]);
  });

  it('await using cancels whatever is unfinished when the scope ends', async () => {
    const r = runtime();
    await r.start();
    held.started = 0;
    held.aborted = 0;
    let pending: Promise<unknown> | undefined;
    {
      await using b = r.batch();
      b.add('other', 'hold', { ms: 5_000 });
      pending = b.execute();
      await until(() => held.started === 1);
    }
    const out = (await pending) as Array<{ ok: boolean; error?: unknown }>;
    expect(out[0]?.error).toBeInstanceOf(CancelledError);
    await until(() => held.aborted === 1);
    {
      await using unused = r.batch();
      unused.add('demo', 'counter');
    }
    // A batch disposed before execute refuses to run.
    const disposed = r.batch();
    await disposed[Symbol.asyncDispose]();
    expect(() => disposed.add('demo', 'echo', { text: 'x' })).toThrow(/disposed/);
    await expect(disposed.execute()).rejects.toBeInstanceOf(ValidationError);
  });
});

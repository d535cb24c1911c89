import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createRuntime, isMcpRuntimeError, type McpRuntime } from '../../src/index.js';
import {
  createFaultProxy,
  createMockServer,
  createVirtualClock,
  type FaultProxy,
  type MockServer,
  type VirtualClock,
} from '../../src/testing/index.js';

let rt: McpRuntime | undefined;
let proxy: FaultProxy | undefined;
let mock: MockServer | undefined;
let clock: VirtualClock | undefined;

afterEach(async () => {
  clock?.uninstall();
  clock = undefined;
  await rt?.close();
  await proxy?.close();
  await mock?.close();
  rt = undefined;
  proxy = undefined;
  mock = undefined;
});

/** A real server on loopback: the mock over WebSocket and Streamable HTTP. */
async function realServer(): Promise<{ wsUrl: string; httpUrl: string; counter: () => number }> {
  let count = 0;
  mock = createMockServer()
    .addTool('echo', ({ text }) => String(text), { annotations: { readOnlyHint: true } })
    .addTool('increment', () => String(++count));
  const { wsUrl, httpUrl } = await mock.listen();
  return { wsUrl: wsUrl as string, httpUrl: httpUrl as string, counter: () => count };
}

describe('createFaultProxy over WebSocket', () => {
  it('relays frames untouched by default', async () => {
    const server = await realServer();
    proxy = await createFaultProxy({ target: server.wsUrl });
    rt = createRuntime({ servers: { s: { url: proxy.url } } });
    expect((await rt.callTool('s', 'echo', { text: 'through' })).content).toEqual([
      { type: 'text', text: 'through' },
    ]);
    expect(proxy.stats.wsConnections).toBe(1);
    expect(proxy.stats.framesForwarded).toBeGreaterThanOrEqual(4);
    expect(proxy.stats.faults).toBe(0);
  });

  it('duplicates a request frame: a non-idempotent tool runs twice on the server', async () => {
    const server = await realServer();
    proxy = await createFaultProxy({ target: server.wsUrl });
    rt = createRuntime({ servers: { s: { url: proxy.url } } });
    await rt.start();
    proxy.duplicate({ next: 1, method: 'tools/call' });
    await rt.callTool('s', 'increment', {}, { retry: false });
    expect(mock?.callsTo('increment')).toHaveLength(2);
    expect(server.counter()).toBe(2);
    expect(proxy.stats.framesDuplicated).toBe(1);
  });

  it('drops a request frame: the call times out, the next one passes', async () => {
    const server = await realServer();
    proxy = await createFaultProxy({ target: server.wsUrl });
    rt = createRuntime({ servers: { s: { url: proxy.url } } });
    await rt.start();
    proxy.drop({ next: 1, method: 'tools/call' });
    clock = createVirtualClock().install();
    const lost = rt.callTool('s', 'increment', {}, { timeoutMs: 300, retry: false }).catch((e: unknown) => e);
    await clock.advance(300);
    expect(isMcpRuntimeError(await lost, 'TIMEOUT')).toBe(true);
    clock.uninstall();
    expect(mock?.callsTo('increment')).toHaveLength(0);
    expect(proxy.stats.framesDropped).toBe(1);
    expect((await rt.callTool('s', 'echo', { text: 'ok' })).content).toEqual([{ type: 'text', text: 'ok' }]);
  });

  it('blackholes, then cuts: calls in flight fail with CONNECTION_LOST, the runtime reconnects', async () => {
    const server = await realServer();
    proxy = await createFaultProxy({ target: server.wsUrl });
    rt = createRuntime({
      servers: { s: { url: proxy.url, reconnect: { initialDelayMs: 10, jitter: false } } },
    });
    await rt.start();
    proxy.blackhole();
    const call = rt
      .callTool('s', 'increment', {}, { timeoutMs: 5_000, retry: false })
      .catch((e: unknown) => e);
    const reconnected = new Promise<void>((resolve) => rt?.on('connect', (e) => e.reconnect && resolve()));
    for (let i = 0; i < 10_000 && proxy.stats.blackholed === 0; i++)
      await new Promise((r) => setImmediate(r));
    proxy.blackhole(false).cut();
    expect(isMcpRuntimeError(await call, 'CONNECTION_LOST')).toBe(true);
    await reconnected;
    expect(proxy.stats.blackholed).toBeGreaterThanOrEqual(1);
    expect(proxy.stats.cuts).toBe(1);
    expect(proxy.stats.wsConnections).toBe(2);
    expect((await rt.callTool('s', 'echo', { text: 'back' })).content).toEqual([
      { type: 'text', text: 'back' },
    ]);
  });

  it('is deterministic for a seed: the same frames are dropped', async () => {
    const server = await realServer();
    const delivered = async (seed: number): Promise<number[]> => {
      const p = await createFaultProxy({ target: server.wsUrl, seed });
      p.drop({ probability: 0.4 });
      const socket = new WebSocket(p.wsUrl, 'mcp');
      await new Promise((resolve) => socket.once('open', resolve));
      const got: number[] = [];
      socket.on('message', (data) => got.push((JSON.parse(data.toString()) as { id: number }).id));
      const init = {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 't', version: '1' },
      };
      p.drop({});
      socket.send(JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: init }));
      while (got.length === 0) await new Promise((resolve) => setImmediate(resolve));
      p.drop({ probability: 0.4 });
      for (let id = 1; id <= 30; id++) socket.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'ping' }));
      const sent = 30;
      // Every frame is either delivered or counted as dropped (in either direction).
      while (got.length - 1 + p.stats.framesDropped < sent)
        await new Promise((resolve) => setImmediate(resolve));
      socket.close();
      await p.close();
      return got.slice(1);
    };
    const a = await delivered(42);
    const b = await delivered(42);
    const c = await delivered(7);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a.length).toBeGreaterThan(5);
    expect(a.length).toBeLessThan(30);
  });

  it('rejects bad input with typed errors', async () => {
    await expect(createFaultProxy({ target: 'not a url' })).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(createFaultProxy({ target: 'https://example.com/' })).rejects.toMatchObject({
      code: 'VALIDATION',
    });
    const server = await realServer();
    proxy = await createFaultProxy({ target: server.wsUrl });
    expect(() => proxy?.drop({ probability: 2 })).toThrow(expect.objectContaining({ code: 'VALIDATION' }));
    expect(() => proxy?.latency(-5)).toThrow(expect.objectContaining({ code: 'VALIDATION' }));
    expect(() => proxy?.respondWith(200)).toThrow(expect.objectContaining({ code: 'VALIDATION' }));
  });
});

describe('createFaultProxy over Streamable HTTP', () => {
  it('answers 429 with Retry-After and 404 to a session, then passes traffic again', async () => {
    const server = await realServer();
    proxy = await createFaultProxy({ target: server.httpUrl });
    // Sessions (and their 404) exist on the 2025 era only: pin it.
    rt = createRuntime({ servers: { s: { url: proxy.url, protocol: '2025-11-25' } } });
    await rt.start();
    proxy.respondWith(429, { retryAfterS: 1, method: 'tools/call' });
    const limited = await rt.callTool('s', 'increment', {}, { retry: false }).catch((e: unknown) => e);
    expect(isMcpRuntimeError(limited)).toBe(true);
    expect(proxy.stats.statusesInjected).toBe(1);
    expect(mock?.callsTo('increment')).toHaveLength(0);
    proxy.expireSession(undefined, 1, 'tools/call');
    // A session answered 404 is gone; the runtime re-initialises (or reports the loss) and recovers.
    await rt.callTool('s', 'echo', { text: 'x' }).catch(() => undefined);
    expect(proxy.stats.statusesInjected).toBe(2);
    expect((await rt.callTool('s', 'echo', { text: 'after' })).content).toEqual([
      { type: 'text', text: 'after' },
    ]);
  });

  it('runs scheduled faults on time', async () => {
    const server = await realServer();
    proxy = await createFaultProxy({ target: server.httpUrl });
    const applied: number[] = [];
    clock = createVirtualClock().install();
    proxy.schedule([
      { atMs: 20, apply: (p) => applied.push(p.respondWith(503, { retryAfterS: 2 }).stats.faults) },
      { atMs: 50, apply: (p) => applied.push(p.stats.faults) },
    ]);
    await clock.advance(19);
    expect(applied).toEqual([]);
    await clock.advance(1);
    expect(applied).toEqual([0]);
    clock.uninstall();
    const response = await fetch(proxy.httpUrl, { method: 'POST', body: '{}' });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('2');
    await proxy.close();
    expect(applied).toEqual([0]);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, isMcpRuntimeError, type McpRuntime } from '../../src/index.js';
import { createMockServer, type MockServer } from '../../src/testing/index.js';

let rt: McpRuntime | undefined;
let mock: MockServer | undefined;

afterEach(async () => {
  await rt?.close();
  await mock?.close();
  rt = undefined;
  mock = undefined;
});

function runtimeFor(m: MockServer): McpRuntime {
  rt = createRuntime({ servers: { m: { mock: m, timeoutMs: 5_000 } } });
  return rt;
}

describe('createMockServer in process ({ mock })', () => {
  it('serves tools added with addTool and logs every call', async () => {
    mock = createMockServer().addTool('echo', ({ text }) => `echo: ${String(text)}`, {
      description: 'echoes',
      annotations: { readOnlyHint: true },
    });
    const r = runtimeFor(mock);
    const tools = await r.listTools('m');
    expect(tools.map((t) => t.name)).toEqual(['echo']);
    expect(tools[0]?.annotations?.readOnlyHint).toBe(true);
    const result = await r.callTool('m', 'echo', { text: 'hi' });
    expect(result.content).toEqual([{ type: 'text', text: 'echo: hi' }]);
    const calls = mock.callsTo('echo');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ method: 'tools/call', tool: 'echo', outcome: 'ok', session: 's1' });
    expect(calls[0]?.params.arguments).toEqual({ text: 'hi' });
    expect(mock.callsTo('tools/list')).toHaveLength(1);
    expect(r.snapshot().servers.m?.transport).toBe('memory');
  });

  it('answers with canned responses for a tool or a method (addResponse)', async () => {
    mock = createMockServer()
      .addResponse('weather', { tempC: 21 })
      .addResponse('prompts/list', { prompts: [{ name: 'greet' }] });
    const r = runtimeFor(mock);
    const result = await r.callTool('m', 'weather');
    expect(result.structuredContent).toEqual({ tempC: 21 });
    expect(JSON.parse((result.content[0] as { text: string }).text)).toEqual({ tempC: 21 });
    expect((await r.listPrompts('m')).map((p) => p.name)).toEqual(['greet']);
    mock.addResponse('weather', 'now sunny');
    expect((await r.callTool('m', 'weather')).content).toEqual([{ type: 'text', text: 'now sunny' }]);
  });

  it('serves resources (addResource) and reports unknown ones as remote errors', async () => {
    mock = createMockServer()
      .addResource('mem://a', 'alpha')
      .addResource('mem://b', { blob: 'AAE=', mimeType: 'x/y' });
    const r = runtimeFor(mock);
    expect((await r.listResources('m')).map((x) => x.uri)).toEqual(['mem://a', 'mem://b']);
    expect((await r.readResource('m', 'mem://a')).contents).toEqual([
      { uri: 'mem://a', mimeType: 'text/plain', text: 'alpha' },
    ]);
    const missing = await r.readResource('m', 'mem://none').catch((e: unknown) => e);
    expect(isMcpRuntimeError(missing, 'REMOTE')).toBe(true);
  });

  it('fails the next n matching calls as scripted (failNext), then recovers', async () => {
    let runs = 0;
    mock = createMockServer().addTool('work', () => {
      runs++;
      return 'done';
    });
    const r = runtimeFor(mock);
    mock.failNext(1, { code: -32000, message: 'overloaded' }, { tool: 'work' });
    const first = await r.callTool('m', 'work', {}, { retry: false }).catch((e: unknown) => e);
    expect(first).toMatchObject({ code: 'REMOTE', rpcCode: -32000 });
    mock.failNext(1, 'tool-error');
    const second = await r.callTool('m', 'work').catch((e: unknown) => e);
    expect(second).toMatchObject({ code: 'TOOL', tool: 'work' });
    expect((await r.callTool('m', 'work')).content).toEqual([{ type: 'text', text: 'done' }]);
    expect(runs).toBe(1);
    expect(mock.callsTo('work').map((c) => c.outcome)).toEqual(['error', 'tool-error', 'ok']);
  });

  it('cuts the connection on a scripted disconnect; the runtime reconnects to a new session', async () => {
    mock = createMockServer().addTool('ping-me', () => 'pong', { annotations: { idempotentHint: true } });
    const r = runtimeFor(mock);
    await r.start();
    expect(mock.connections).toBe(1);
    mock.failNext(1, 'disconnect', { tool: 'ping-me' });
    const outcome = await r.callTool('m', 'ping-me').catch((e: unknown) => e);
    // An idempotent tool may be retried on the new session; otherwise the loss is reported.
    if (isMcpRuntimeError(outcome)) expect(outcome.code).toBe('CONNECTION_LOST');
    else expect(outcome).toMatchObject({ content: [{ type: 'text', text: 'pong' }] });
    expect(await r.callTool('m', 'ping-me')).toMatchObject({ content: [{ type: 'text', text: 'pong' }] });
    const sessions = new Set(mock.callsTo('ping-me').map((c) => c.session));
    expect(sessions.size).toBe(2);
    expect(mock.callsTo('ping-me')[0]?.outcome).toBe('disconnect');
  });

  it('passes progress from a tool to the caller', async () => {
    mock = createMockServer().addTool('long', async (_args, ctx) => {
      await ctx.progress(1, 2, 'half');
      await ctx.progress(2, 2);
      return 'finished';
    });
    const r = runtimeFor(mock);
    const seen: number[] = [];
    await r.callTool('m', 'long', {}, { onProgress: (p) => seen.push(p.progress) });
    expect(seen).toEqual([1, 2]);
  });

  it('rejects bad input with typed errors', () => {
    const m = createMockServer();
    expect(() => m.failNext(-1)).toThrow(expect.objectContaining({ code: 'VALIDATION', path: 'n' }));
    expect(() => m.delay(Number.NaN)).toThrow(expect.objectContaining({ code: 'VALIDATION' }));
    expect(() => m.addTool('', () => 'x')).toThrow(expect.objectContaining({ code: 'VALIDATION' }));
    expect(() => createRuntime({ servers: { x: { mock: m, url: 'ws://127.0.0.1:1' } } })).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    );
    expect(() => createRuntime({ servers: { x: { transport: 'memory' } } })).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    );
    expect(() => createRuntime({ servers: { x: { mock: {} as never } } })).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    );
  });
});

describe('createMockServer over loopback sockets (listen)', () => {
  it('serves the same tools over WebSocket and Streamable HTTP, one log', async () => {
    mock = createMockServer().addTool('add', ({ a, b }) => ({ sum: Number(a) + Number(b) }));
    const { wsUrl, httpUrl } = await mock.listen();
    rt = createRuntime({ servers: { ws: { url: wsUrl as string }, http: { url: httpUrl as string } } });
    const viaWs = await rt.callTool('ws', 'add', { a: 1, b: 2 });
    const viaHttp = await rt.callTool('http', 'add', { a: 3, b: 4 });
    expect(viaWs.structuredContent).toEqual({ sum: 3 });
    expect(viaHttp.structuredContent).toEqual({ sum: 7 });
    expect(mock.callsTo('add')).toHaveLength(2);
    expect(new Set(mock.callsTo('add').map((c) => c.session)).size).toBe(2);
    await rt.close();
    await mock.close();
    expect(mock.connections).toBe(0);
  });
});

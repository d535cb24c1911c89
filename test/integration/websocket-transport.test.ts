import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
// The decoder's fallback is SDK v2's parseJSONRPCMessage: its schema is the oracle (v1's differs, e.g.
// on a result's `_meta.progressToken: null`, which v2 accepts and v1 rejects).
import { JSONRPCMessageSchema } from '@modelcontextprotocol/core';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { decodeJsonRpcFrame } from '../../src/actors/json-rpc-frame.js';
import { WebSocketClientTransport } from '../../src/actors/websocket-client-transport.js';
import { serveWebSocket, type WebSocketServeHandle } from '../../src/actors/websocket-server-transport.js';
import { createDemoMcpServer, type DemoServerOptions } from '../../src/demo/demo-server.js';
import {
  AuthError,
  ClosedError,
  ConfigError,
  ConnectionLostError,
  ProtocolError,
  ValidationError,
} from '../../src/errors/index.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function demoEndpoint(
  demo: DemoServerOptions = {},
  extra: Partial<Parameters<typeof serveWebSocket>[0]> = {},
): Promise<WebSocketServeHandle> {
  const endpoint = await serveWebSocket({ createServer: () => createDemoMcpServer(demo), ...extra });
  cleanups.push(() => endpoint.close());
  return endpoint;
}

/** A transport that records what it reports. */
function recorded(options: ConstructorParameters<typeof WebSocketClientTransport>[0]) {
  const transport = new WebSocketClientTransport(options);
  const errors: Error[] = [];
  const messages: JSONRPCMessage[] = [];
  let closes = 0;
  transport.onerror = (e) => errors.push(e);
  transport.onmessage = (m) => messages.push(m);
  transport.onclose = () => {
    closes++;
  };
  cleanups.push(() => transport.close());
  return {
    transport,
    errors,
    messages,
    get closes() {
      return closes;
    },
  };
}

async function connectClient(transport: WebSocketClientTransport): Promise<Client> {
  const client = new Client({ name: 'test', version: '0.0.0' });
  await client.connect(transport);
  cleanups.push(() => client.close());
  return client;
}

/** A bare ws server speaking subprotocol `mcp` that runs `onConnection` for each socket. */
async function rawServer(
  onConnection: (socket: WebSocket) => void,
  options: { acceptMcp?: boolean } = {},
): Promise<string> {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    handleProtocols: (protocols) =>
      options.acceptMcp === false ? false : protocols.has('mcp') ? 'mcp' : false,
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', onConnection);
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  );
  const address = wss.address() as { port: number };
  return `ws://127.0.0.1:${address.port}`;
}

function waitFor(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      if (check()) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

function textOf(result: unknown): string {
  const content = (result as { content: Array<{ type: string; text: string }> }).content;
  return content[0]?.text ?? '';
}

describe('WebSocket transports with the SDK Client and the demo server', () => {
  it('lists tools with their annotations and calls echo and add', async () => {
    const endpoint = await demoEndpoint();
    const client = await connectClient(new WebSocketClientTransport({ url: endpoint.url }));
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['add', 'ask', 'counter', 'echo', 'fail', 'slow']);
    expect(tools.find((t) => t.name === 'echo')?.annotations).toMatchObject({
      readOnlyHint: true,
      idempotentHint: true,
    });
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hi' } }))).toBe('hi');
    expect(textOf(await client.callTool({ name: 'add', arguments: { a: 2, b: 40 } }))).toBe('42');
    const failed = await client.callTool({ name: 'fail', arguments: { message: 'nope' } });
    expect(failed.isError).toBe(true);
    expect(endpoint.connections).toBe(1);
  });

  it('reads resources, the template and the prompt', async () => {
    const endpoint = await demoEndpoint();
    const client = await connectClient(new WebSocketClientTransport({ url: endpoint.url }));
    const greeting = await client.readResource({ uri: 'demo://greeting' });
    expect(greeting.contents[0]).toMatchObject({ text: 'Hello from the demo server' });
    const item = await client.readResource({ uri: 'demo://items/7' });
    expect(item.contents[0]).toMatchObject({ text: 'Item 7' });
    const prompt = await client.getPrompt({ name: 'greet', arguments: { name: 'Ada' } });
    expect(prompt.messages[0]?.content).toMatchObject({ text: 'Please greet Ada.' });
    const readCounter = async (): Promise<number> =>
      Number(textOf({ content: (await client.readResource({ uri: 'demo://counter' })).contents }));
    const before = await readCounter();
    await client.callTool({ name: 'counter', arguments: {} });
    const after = await readCounter();
    expect(after).toBe(before + 1);
  });

  it('delivers progress notifications of slow', async () => {
    const endpoint = await demoEndpoint();
    const client = await connectClient(new WebSocketClientTransport({ url: endpoint.url }));
    const progress: number[] = [];
    const result = await client.callTool(
      { name: 'slow', arguments: { durationMs: 30, steps: 3 } },
      undefined,
      {
        onprogress: (p) => progress.push(p.progress),
      },
    );
    expect(textOf(result)).toBe('done in 3 steps');
    expect(progress).toEqual([1, 2, 3]);
  });

  it('carries an abort of slow to the server, whose signal fires', async () => {
    let abortedOnServer!: () => void;
    const serverSawAbort = new Promise<void>((resolve) => {
      abortedOnServer = resolve;
    });
    const endpoint = await demoEndpoint({ onSlowAborted: () => abortedOnServer() });
    const client = await connectClient(new WebSocketClientTransport({ url: endpoint.url }));
    const controller = new AbortController();
    const call = client.callTool(
      { name: 'slow', arguments: { durationMs: 60_000, steps: 6_00 } },
      undefined,
      {
        signal: controller.signal,
        onprogress: () => controller.abort(new Error('user gave up')),
      },
    );
    await expect(call).rejects.toThrow();
    await serverSawAbort;
    // The connection is still usable after the cancellation.
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'still here' } }))).toBe(
      'still here',
    );
  });

  it('sends custom headers; a refused upgrade (401) rejects start with AuthError', async () => {
    const endpoint = await demoEndpoint(
      {},
      { authenticate: (req) => req.headers.authorization === 'Bearer good' },
    );
    const ok = await connectClient(
      new WebSocketClientTransport({ url: endpoint.url, headers: { Authorization: 'Bearer good' } }),
    );
    expect(textOf(await ok.callTool({ name: 'echo', arguments: { text: 'authed' } }))).toBe('authed');

    const bad = recorded({ url: endpoint.url, headers: { Authorization: 'Bearer bad' } });
    const error = await bad.transport.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).status).toBe(401);
    expect(bad.transport.lastCloseError).toBe(error);
    expect(bad.closes).toBe(1);
    expect(endpoint.connections).toBe(1);
  });

  it('an authenticate hook that throws answers 401 as well', async () => {
    const endpoint = await demoEndpoint(
      {},
      {
        authenticate: async () => {
          throw new Error('token service down');
        },
      },
    );
    await expect(new WebSocketClientTransport({ url: endpoint.url }).start()).rejects.toMatchObject({
      code: 'AUTH',
      status: 401,
    });
  });

  it('rejects a client that does not offer subprotocol mcp (HTTP 400 → ProtocolError)', async () => {
    const endpoint = await demoEndpoint();
    const error = await new WebSocketClientTransport({ url: endpoint.url, protocols: ['other'] })
      .start()
      .catch((e) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect(endpoint.connections).toBe(0);
  });

  it('fails start with ProtocolError when the server does not accept subprotocol mcp', async () => {
    const url = await rawServer(() => {}, { acceptMcp: false });
    const client = recorded({ url });
    await expect(client.transport.start()).rejects.toBeInstanceOf(ProtocolError);
    expect(client.closes).toBe(1);
  });

  it('fails start with ConnectionLostError when nothing listens', async () => {
    const port = await freePort();
    const client = recorded({ url: `ws://127.0.0.1:${port}` });
    const error = await client.transport.start().catch((e) => e);
    expect(error).toBeInstanceOf(ConnectionLostError);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
    expect(client.closes).toBe(1);
  });

  it('fails start with ConnectionLostError when the handshake times out', async () => {
    const sockets: Socket[] = [];
    const silent = createNetServer((socket) => sockets.push(socket));
    await listen(silent);
    cleanups.push(() => closeNet(silent, sockets));
    const client = recorded({ url: `ws://127.0.0.1:${portOf(silent)}`, handshakeTimeoutMs: 100 });
    const error = await client.transport.start().catch((e) => e);
    expect(error).toBeInstanceOf(ConnectionLostError);
    expect((error as Error).message).toMatch(/timed out/);
  });

  it('rejects a bad URL with ConfigError naming the field', async () => {
    const client = recorded({ url: 'not a url' });
    const error = await client.transport.start().catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues[0]?.path).toBe('url');
  });
});

describe('WebSocketClientTransport frame handling', () => {
  it('drops malformed JSON and wrong shapes with ProtocolError and keeps the connection', async () => {
    const url = await rawServer((socket) => {
      socket.send('this is not json');
      socket.send(JSON.stringify({ jsonrpc: '1.0', method: 'x' }));
      socket.send(JSON.stringify({ jsonrpc: '2.0', id: 1, result: {}, extra: true }));
      socket.send(JSON.stringify([1, 2]));
      socket.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/ping-ish' }));
    });
    const client = recorded({ url });
    await client.transport.start();
    await waitFor(() => client.messages.length === 1, 'the valid notification');
    expect(client.errors).toHaveLength(4);
    for (const error of client.errors) expect(error).toBeInstanceOf(ProtocolError);
    expect(client.messages[0]).toEqual({ jsonrpc: '2.0', method: 'notifications/ping-ish' });
    expect(client.closes).toBe(0);
    await client.transport.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  });

  it('reports an oversized frame as ProtocolError, then closes once with closeCode 1009', async () => {
    const url = await rawServer((socket) => socket.send('x'.repeat(2048)));
    const client = recorded({ url, maxPayloadBytes: 1024 });
    await client.transport.start();
    await waitFor(() => client.closes === 1, 'onclose');
    expect(client.errors).toHaveLength(1);
    expect(client.errors[0]).toBeInstanceOf(ProtocolError);
    expect(client.transport.lastCloseError).toBeInstanceOf(ConnectionLostError);
    expect((client.transport.lastCloseError as ConnectionLostError).closeCode).toBe(1009);
    await expect(
      client.transport.send({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    ).rejects.toBeInstanceOf(ConnectionLostError);
    expect(client.closes).toBe(1);
  });

  it.each([
    [1000, ConnectionLostError],
    [1001, ConnectionLostError],
    [1008, ConnectionLostError],
    [1011, ConnectionLostError],
    [4401, AuthError],
    [4403, AuthError],
  ] as const)('maps a server close with %i to lastCloseError before onclose', async (code, Kind) => {
    const url = await rawServer((socket) => socket.close(code, 'bye'));
    const client = recorded({ url });
    let seenAtClose: unknown;
    client.transport.onclose = () => {
      seenAtClose = client.transport.lastCloseError;
    };
    await client.transport.start();
    await waitFor(() => seenAtClose !== undefined, 'onclose');
    expect(seenAtClose).toBeInstanceOf(Kind);
    if (seenAtClose instanceof ConnectionLostError) expect(seenAtClose.closeCode).toBe(code);
    if (seenAtClose instanceof AuthError) expect(seenAtClose.status).toBe(code - 4000);
  });

  it('send before start and after close rejects; close is idempotent; onclose fires once', async () => {
    const endpoint = await demoEndpoint();
    const client = recorded({ url: endpoint.url });
    await expect(client.transport.send({ jsonrpc: '2.0', method: 'x' })).rejects.toBeInstanceOf(
      ConnectionLostError,
    );
    await client.transport.start();
    await expect(client.transport.start()).rejects.toBeInstanceOf(ProtocolError);
    await Promise.all([client.transport.close(), client.transport.close()]);
    await client.transport.close();
    expect(client.closes).toBe(1);
    expect(client.transport.lastCloseError).toBeUndefined();
    await expect(client.transport.send({ jsonrpc: '2.0', method: 'x' })).rejects.toBeInstanceOf(
      ConnectionLostError,
    );
    await expect(client.transport.start()).rejects.toBeInstanceOf(ClosedError);
  });

  it('close before start fires onclose once; a later start rejects with ClosedError', async () => {
    const client = recorded({ url: 'ws://127.0.0.1:1/' });
    await client.transport.close();
    await client.transport.close();
    expect(client.closes).toBe(1);
    await expect(client.transport.start()).rejects.toBeInstanceOf(ClosedError);
  });

  it('close during the handshake rejects start with ClosedError and fires onclose once', async () => {
    const sockets: Socket[] = [];
    const silent = createNetServer((socket) => sockets.push(socket));
    await listen(silent);
    cleanups.push(() => closeNet(silent, sockets));
    const client = recorded({ url: `ws://127.0.0.1:${portOf(silent)}` });
    const started = client.transport.start();
    await waitFor(() => sockets.length === 1, 'the TCP connection');
    await client.transport.close();
    await expect(started).rejects.toBeInstanceOf(ClosedError);
    expect(client.closes).toBe(1);
  });

  it('rejects a message that cannot be serialised with ValidationError', async () => {
    const endpoint = await demoEndpoint();
    const client = recorded({ url: endpoint.url });
    await client.transport.start();
    const circular: Record<string, unknown> = { jsonrpc: '2.0', method: 'x' };
    circular.params = circular;
    await expect(client.transport.send(circular as JSONRPCMessage)).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('WebSocket server side', () => {
  it('drops malformed frames from a client (onError gets ProtocolError) and keeps serving', async () => {
    const errors: Error[] = [];
    const endpoint = await demoEndpoint({}, { onError: (e) => errors.push(e) });
    const socket = new WebSocket(endpoint.url, 'mcp');
    cleanups.push(() => socket.terminate());
    await new Promise((resolve) => socket.once('open', resolve));
    const replies: unknown[] = [];
    socket.on('message', (data) => replies.push(JSON.parse(data.toString())));
    socket.send('{not json');
    socket.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }));
    await waitFor(() => replies.length === 1, 'the ping reply');
    expect(replies[0]).toEqual({ jsonrpc: '2.0', id: 1, result: {} });
    expect(errors.some((e) => e instanceof ProtocolError)).toBe(true);
  });

  it('closes a client that sends an oversized frame with 1009', async () => {
    const endpoint = await demoEndpoint({}, { maxPayloadBytes: 1024 });
    const client = recorded({ url: endpoint.url });
    await client.transport.start();
    await client.transport.send({ jsonrpc: '2.0', method: 'x', params: { pad: 'y'.repeat(4096) } });
    await waitFor(() => client.closes === 1, 'onclose');
    expect((client.transport.lastCloseError as ConnectionLostError).closeCode).toBe(1009);
  });

  it('answers 404 off its path and 426 to plain HTTP', async () => {
    const endpoint = await demoEndpoint({}, { path: '/mcp' });
    expect(endpoint.url).toMatch(/\/mcp$/);
    const wrongPath = endpoint.url.replace(/\/mcp$/, '/other');
    const error = await new WebSocketClientTransport({ url: wrongPath }).start().catch((e) => e);
    // No WebSocket MCP endpoint at that path: permanent, reported as PROTOCOL naming the status.
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as Error).message).toMatch(/HTTP 404: no WebSocket MCP endpoint at/);
    const res = await fetch(endpoint.url.replace('ws:', 'http:'));
    expect(res.status).toBe(426);
  });

  it('a server socket killed mid-call fails the pending request promptly and fires onclose once', async () => {
    const endpoint = await serveWebSocket({ createServer: () => createDemoMcpServer() });
    cleanups.push(() => endpoint.close());
    const transport = new WebSocketClientTransport({ url: endpoint.url });
    let closes = 0;
    const client = await connectClient(transport);
    client.onclose = () => {
      closes++;
    };
    let inCall!: () => void;
    const started = new Promise<void>((resolve) => {
      inCall = resolve;
    });
    const call = client.callTool({ name: 'slow', arguments: { durationMs: 60_000, steps: 600 } }, undefined, {
      onprogress: () => inCall(),
    });
    await started;
    const killedAt = Date.now();
    await endpoint.close();
    await expect(call).rejects.toThrow(/Connection closed/i);
    expect(Date.now() - killedAt).toBeLessThan(2_000);
    expect(closes).toBe(1);
    expect(transport.lastCloseError).toBeInstanceOf(ConnectionLostError);
    expect((transport.lastCloseError as ConnectionLostError).closeCode).toBe(1006);
  });

  it('close() of client and endpoint leaves no socket, server or timer behind', async () => {
    const count = (): Record<string, number> => {
      const counts: Record<string, number> = {};
      for (const kind of process.getActiveResourcesInfo()) {
        if (kind === 'TCPSocketWrap' || kind === 'TCPServerWrap' || kind === 'Timeout') {
          counts[kind] = (counts[kind] ?? 0) + 1;
        }
      }
      return counts;
    };
    const before = count();
    const endpoint = await serveWebSocket({ createServer: () => createDemoMcpServer() });
    const transport = new WebSocketClientTransport({ url: endpoint.url, handshakeTimeoutMs: 5_000 });
    const client = new Client({ name: 'test', version: '0.0.0' });
    await client.connect(transport);
    await client.callTool({ name: 'slow', arguments: { durationMs: 10, steps: 2 } }, undefined, {
      onprogress: () => {},
    });
    expect(count().TCPSocketWrap ?? 0).toBeGreaterThan(before.TCPSocketWrap ?? 0);
    await client.close();
    await endpoint.close();
    await endpoint.close();
    // Closed handles leave Node's resource list on a later turn of the loop: give it a bounded few.
    for (let turn = 0; turn < 50 && (count().TCPServerWrap ?? 0) > (before.TCPServerWrap ?? 0); turn++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const after = count();
    expect(after.TCPServerWrap ?? 0).toBe(before.TCPServerWrap ?? 0);
    expect(after.TCPSocketWrap ?? 0).toBe(before.TCPSocketWrap ?? 0);
    expect(after.Timeout ?? 0).toBeLessThanOrEqual(before.Timeout ?? 0);
    expect(endpoint.connections).toBe(0);
  });
});

describe('decodeJsonRpcFrame', () => {
  const idArb = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.constant(null), fc.boolean());
  const metaArb = fc.oneof(
    fc.constant(undefined),
    fc.record({ progressToken: idArb }, { requiredKeys: [] }),
    fc.record({
      'io.modelcontextprotocol/related-task': fc.oneof(fc.record({ taskId: fc.string() }), fc.string()),
    }),
    fc.constant([]),
  );
  const paramsArb = fc.oneof(
    fc.constant(undefined),
    fc.constant(null),
    fc.constant([1]),
    fc.string(),
    metaArb.map((meta) => (meta === undefined ? { a: 1 } : { _meta: meta, a: 1 })),
  );
  const messageArb = fc.record(
    {
      jsonrpc: fc.oneof(fc.constant('2.0'), fc.constant('2.0'), fc.constant('1.0'), fc.integer()),
      id: idArb,
      method: fc.oneof(fc.string(), fc.integer()),
      params: paramsArb,
      result: paramsArb,
      error: fc.oneof(
        fc.record(
          {
            code: fc.oneof(fc.integer(), fc.double(), fc.string()),
            message: fc.oneof(fc.string(), fc.integer()),
            data: fc.anything(),
          },
          { requiredKeys: [] },
        ),
        fc.constant(null),
        fc.string(),
      ),
      extra: fc.anything(),
    },
    { requiredKeys: [] },
  );

  it('agrees with the SDK schema on near-valid and invalid messages', () => {
    fc.assert(
      fc.property(messageArb, (value) => {
        const text = JSON.stringify(value);
        const decoded = decodeJsonRpcFrame(text);
        const expected = JSONRPCMessageSchema.safeParse(JSON.parse(text)).success;
        expect(decoded instanceof ProtocolError).toBe(!expected);
      }),
      { numRuns: 2_000 },
    );
  });

  it('accepts the common shapes and rejects garbage', () => {
    expect(decodeJsonRpcFrame('{"jsonrpc":"2.0","id":1,"method":"ping"}')).toEqual({
      jsonrpc: '2.0',
      id: 1,
      method: 'ping',
    });
    expect(
      decodeJsonRpcFrame('{"jsonrpc":"2.0","id":"a","result":{"_meta":{"progressToken":3}}}'),
    ).not.toBeInstanceOf(ProtocolError);
    expect(
      decodeJsonRpcFrame('{"jsonrpc":"2.0","error":{"code":-32700,"message":"parse"}}'),
    ).not.toBeInstanceOf(ProtocolError);
    expect(decodeJsonRpcFrame('')).toBeInstanceOf(ProtocolError);
    expect(decodeJsonRpcFrame('null')).toBeInstanceOf(ProtocolError);
    expect(decodeJsonRpcFrame('{"jsonrpc":"2.0","id":1.5,"method":"ping"}')).toBeInstanceOf(ProtocolError);
  });
});

async function freePort(): Promise<number> {
  const server = createNetServer();
  await listen(server);
  const port = portOf(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function listen(server: NetServer): Promise<void> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
}

function portOf(server: NetServer): number {
  return (server.address() as { port: number }).port;
}

function closeNet(server: NetServer, sockets: Socket[]): Promise<void> {
  for (const socket of sockets) socket.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

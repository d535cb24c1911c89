/**
 * Issue 15 items 3 and 7: `rt.health(server).lastError` is redacted like every other exit, and each
 * configured secret VALUE (a cookie's values one by one, header values) is masked wherever a server
 * echoes it: an error message (`session <value> expired`) or a WebSocket close reason (`sid=<value>`).
 */
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { serveWebSocket, type WebSocketServeHandle } from '../../src/actors/websocket-server-transport.js';
import { createDemoMcpServer } from '../../src/demo/demo-server.js';
import { createRuntime, type McpRuntime } from '../../src/index.js';

const fast = {
  reconnect: { initialDelayMs: 20, factor: 2, maxDelayMs: 100, maxAttempts: 2, jitter: false },
  heartbeat: { intervalMs: 0 },
  timeoutMs: 3_000,
  connectTimeoutMs: 2_000,
  initializeTimeoutMs: 2_000,
};

describe('secrets a server echoes back', () => {
  let rt: McpRuntime | undefined;
  let ws: WebSocketServeHandle | undefined;
  afterEach(async () => {
    await rt?.close();
    rt = undefined;
    await ws?.close();
    ws = undefined;
  });

  for (const kind of ['token', 'getToken'] as const) {
    it(`health().lastError masks an echoed ${kind} (item 3)`, async () => {
      const TOKEN = `health-${kind}-8c1d2e3f4a`;
      ws = await serveWebSocket({
        createServer: () => createDemoMcpServer(),
        authenticate: (req) => req.headers.authorization === `Bearer ${TOKEN}`,
      });
      const auth = kind === 'token' ? { token: TOKEN } : { getToken: async () => TOKEN };
      rt = createRuntime({ servers: { s: { url: ws.url, auth } }, defaults: fast });
      // The server's "not found" error names the URI, token included.
      const error = await rt.readResource('s', `demo://missing/${TOKEN}`).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'REMOTE' });
      const lastError = rt.health('s').lastError;
      expect(lastError?.message).toContain('demo://missing/***');
      expect(JSON.stringify(rt.health('s'))).not.toContain(TOKEN);
      expect(JSON.stringify(rt.snapshot())).not.toContain(TOKEN);
    });
  }

  it('each cookie value is masked when echoed alone in an error (item 7)', async () => {
    const SID = 'sid-value-5e6f7a8b9c';
    ws = await serveWebSocket({
      createServer: () => createDemoMcpServer(),
      authenticate: (req) => req.headers.cookie === `theme=dark; sid=${SID}`,
    });
    rt = createRuntime({
      servers: { s: { url: ws.url, headers: { Cookie: `theme=dark; sid=${SID}` } } },
      defaults: fast,
    });
    const error = (await rt
      .callTool('s', 'fail', { message: `session ${SID} expired` })
      .catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({ code: 'TOOL' });
    expect(error.message).toContain('session *** expired');
    expect(inspect(error, { depth: 10 })).not.toContain(SID);
  });

  it('a cookie value in a WebSocket close reason is masked in errors and state events (item 7)', async () => {
    const SID = 'sid-close-0d1e2f3a4b';
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: () => 'mcp' });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    // A minimal server: answers initialize, then closes naming the session in the reason.
    wss.on('connection', (socket) =>
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as {
          id?: number;
          method?: string;
          params?: { protocolVersion?: string };
        };
        if (message.method === 'initialize') {
          const result = {
            protocolVersion: message.params?.protocolVersion,
            capabilities: {},
            serverInfo: { name: 'closer', version: '0.0.0' },
          };
          socket.send(JSON.stringify({ jsonrpc: '2.0', id: message.id, result }));
        } else if (message.method === 'notifications/initialized') socket.close(4000, `sid=${SID}`);
      }),
    );
    try {
      rt = createRuntime({
        servers: {
          s: {
            url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
            headers: { Cookie: `theme=dark; sid=${SID}` },
          },
        },
        defaults: fast,
      });
      const events: unknown[] = [];
      const lost = new Promise<void>((resolve) =>
        rt!.on('state', (e) => {
          events.push(e);
          if (e.from === 'ready') resolve();
        }),
      );
      rt.on('error', (e) => events.push(e));
      rt.on('disconnect', (e) => events.push(e));
      await rt.start();
      await lost;
      const seen = inspect(events, { depth: 10 });
      // The close reason did reach the runtime (masked), and the value is nowhere.
      expect(seen).toContain('The WebSocket closed (4000): sid=***');
      expect(seen).not.toContain(SID);
    } finally {
      await rt?.close();
      rt = undefined;
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });
});

/**
 * What a 2026 connection sends when it becomes ready: the calls that waited for it go out first,
 * then one `subscriptions/listen` (list changes and subscriptions on one stream). Before, a
 * reconnect opened the stream twice (once for list changes, once more to restore subscriptions),
 * and the server handled both before the waiting call: about 2 ms of every reconnect.
 * The frames are read where the client writes them (`ws`'s `send`), on the demo server over a
 * fault proxy that cuts the connection.
 */

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { type DemoServerHandle, startDemoServer } from '../../src/demo/demo-server.js';
import { createRuntime, type McpRuntime } from '../../src/index.js';
import { createFaultProxy, type FaultProxy } from '../../src/testing/index.js';

let server: DemoServerHandle;
let proxy: FaultProxy;
let rt: McpRuntime | undefined;

beforeAll(async () => {
  server = await startDemoServer({ eras: '2026-07-28', extras: true });
  proxy = await createFaultProxy({ target: server.wsUrl });
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rt?.close();
  rt = undefined;
});
afterAll(async () => {
  await proxy.close();
  await server.close();
});

/** The methods of the requests the runtime writes from now on (not the proxy's copies upstream). */
function clientRequests(): string[] {
  const methods: string[] = [];
  const send = WebSocket.prototype.send;
  vi.spyOn(WebSocket.prototype, 'send').mockImplementation(function (this: WebSocket, data, ...rest) {
    const message = JSON.parse(String(data)) as { id?: unknown; method?: unknown };
    if (
      this.url?.startsWith(proxy.wsUrl) &&
      message.id !== undefined &&
      (message.method === 'tools/call' || message.method === 'subscriptions/listen')
    ) {
      methods.push(message.method);
    }
    return (send as (...args: unknown[]) => void).call(this, data, ...rest);
  });
  return methods;
}

/** Resolves when `count` requests were written (at most 5 s). */
async function written(methods: string[], count: number): Promise<string[]> {
  for (let turn = 0; methods.length < count && turn < 5_000; turn++) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return methods;
}

/** Cuts the connection at the proxy; resolves when the runtime saw it go. */
async function cut(r: McpRuntime): Promise<void> {
  const lost = new Promise<void>((resolve) => r.once('disconnect', () => resolve()));
  proxy.cut();
  await lost;
}

function runtime(): McpRuntime {
  rt = createRuntime({
    servers: { s: { url: proxy.wsUrl, protocol: '2026-07-28' } },
    defaults: {
      heartbeat: { intervalMs: 0 },
      reconnect: { initialDelayMs: 0, jitter: false },
      timeoutMs: 5_000,
    },
  });
  return rt;
}

describe('what a 2026 connection sends when it becomes ready', () => {
  it('first connect: one listen (the first call waits for the tool list, so order is not asked)', async () => {
    const methods = clientRequests();
    const r = runtime();
    await r.callTool('s', 'echo', { text: 'first' });
    expect((await written(methods, 2)).sort()).toEqual(['subscriptions/listen', 'tools/call']);
  });

  it('a reconnect: the call made while down goes first, then one listen (not two)', async () => {
    const r = runtime();
    await r.callTool('s', 'echo', { text: 'before' });
    await cut(r);
    const methods = clientRequests();
    // The `session` event comes when the restore's listen was answered: every listen is written.
    const restored = new Promise<void>((resolve) => r.once('session', () => resolve()));
    await r.callTool('s', 'echo', { text: 'after' });
    await restored;
    expect(methods).toEqual(['tools/call', 'subscriptions/listen']);
  });

  it("a reconnect: the session's own step (restore, cache, listen) runs after the waiting call is written", async () => {
    const r = runtime();
    await r.callTool('s', 'echo', { text: 'before' });
    await cut(r);
    const sessionAtCall: string[] = [];
    const send = WebSocket.prototype.send;
    vi.spyOn(WebSocket.prototype, 'send').mockImplementation(function (this: WebSocket, data, ...rest) {
      const message = JSON.parse(String(data)) as { method?: unknown };
      if (this.url?.startsWith(proxy.wsUrl) && message.method === 'tools/call') {
        sessionAtCall.push((r.snapshot().sessions.s as { state: string }).state);
      }
      return (send as (...args: unknown[]) => void).call(this, data, ...rest);
    });
    const restored = new Promise<void>((resolve) => r.once('session', () => resolve()));
    await r.callTool('s', 'echo', { text: 'after' });
    await restored;
    // Still `suspended` when the call goes out: the session had not taken its step yet.
    expect(sessionAtCall).toEqual(['suspended']);
  });

  it('a reconnect adopts the known verdict as the socket opens: connecting → ready, no negotiating', async () => {
    const r = runtime();
    await r.callTool('s', 'echo', { text: 'before' });
    const states: string[] = [];
    r.on('state', (e) => states.push(e.to));
    await cut(r);
    await r.callTool('s', 'echo', { text: 'after' });
    expect(states).toEqual(['connecting', 'ready']);
  });
});

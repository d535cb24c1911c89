/**
 * Hostile input. fast-check drives a raw `ws` peer that answers each call with arbitrary frames
 * (arbitrary JSON, arbitrary text, arbitrary bytes, wrong JSON-RPC shapes, responses to unknown ids,
 * duplicate responses, notification floods, frames over maxMessageBytes) against a connected runtime
 * that also holds a healthy server. Nothing may crash, no rejection may go unhandled, the hostile call
 * settles with a result or a typed error, and the healthy server's calls are unaffected.
 * Also: the HTTP body cap (JSON bodies and SSE events) fails the one call with PROTOCOL and keeps the
 * connection.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveWebSocket, type WebSocketServeHandle } from '../../src/actors/websocket-server-transport.js';
import { createDemoMcpServer } from '../../src/demo/demo-server.js';
import { createRuntime, isMcpRuntimeError, type McpRuntime } from '../../src/index.js';
import { type HostileServer, type HostileSocket, serveHostile } from './hostile-server.js';

const MAX_MESSAGE_BYTES = 32 * 1024;
/** Fuzz runs of the WebSocket property (reported in the closing note). */
const NUM_RUNS = 120;

type Frame =
  | { kind: 'json'; value: unknown }
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'unknownId'; id: string | number; result: unknown }
  | { kind: 'shape'; value: Record<string, unknown> }
  | { kind: 'duplicate' }
  | { kind: 'flood'; count: number; method: string }
  | { kind: 'huge' };

const requestId = fc.oneof(fc.integer({ min: 10_000 }), fc.string({ maxLength: 8 }));
const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((value) => ({ kind: 'json' as const, value })),
  fc.string({ maxLength: 40 }).map((text) => ({ kind: 'text' as const, text })),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ kind: 'bytes' as const, bytes })),
  fc
    .record({ id: requestId, result: fc.jsonValue({ maxDepth: 2 }) })
    .map((r) => ({ kind: 'unknownId' as const, ...r })),
  fc
    .record(
      {
        jsonrpc: fc.constantFrom('2.0', '1.0', 2, null),
        id: fc.oneof(fc.constant(null), fc.constant('CURRENT'), requestId, fc.double()),
        method: fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.constant('notifications/progress')),
        params: fc.jsonValue({ maxDepth: 2 }),
        result: fc.jsonValue({ maxDepth: 2 }),
        error: fc.oneof(
          fc.jsonValue({ maxDepth: 2 }),
          fc.record({ code: fc.double(), message: fc.integer() }),
        ),
      },
      { requiredKeys: [] },
    )
    .map((value) => ({ kind: 'shape' as const, value })),
  fc.constant({ kind: 'duplicate' as const }),
  fc
    .record({
      count: fc.integer({ min: 1, max: 300 }),
      method: fc.constantFrom('notifications/progress', 'notifications/message', 'notifications/unknown'),
    })
    .map((r) => ({ kind: 'flood' as const, ...r })),
  fc.constant({ kind: 'huge' as const }),
);
const answerArb = fc.constantFrom('reply', 'reply', 'reply', 'error', 'none');

function play(s: HostileSocket, frames: Frame[], answer: string): void {
  const id = s.request.id;
  for (const f of frames) {
    switch (f.kind) {
      case 'json':
        s.sendJson(f.value);
        break;
      case 'text':
        s.sendText(f.text);
        break;
      case 'bytes':
        s.sendBinary(f.bytes);
        break;
      case 'unknownId':
        s.sendJson({ jsonrpc: '2.0', id: f.id, result: f.result });
        break;
      case 'shape':
        s.sendJson(f.value.id === 'CURRENT' ? { ...f.value, id } : f.value);
        break;
      case 'duplicate':
        s.reply('early');
        break;
      case 'flood':
        for (let i = 0; i < f.count; i++) {
          s.sendJson({
            jsonrpc: '2.0',
            method: f.method,
            params: { progressToken: `nope-${i}`, progress: i, level: 'info', data: i },
          });
        }
        break;
      case 'huge':
        s.sendText(`{"jsonrpc":"2.0","method":"x","params":{"pad":"${'x'.repeat(MAX_MESSAGE_BYTES)}"}}`);
        break;
    }
  }
  if (answer === 'reply') s.reply('ok');
  else if (answer === 'error')
    s.sendJson({ jsonrpc: '2.0', id, error: { code: -32603, message: 'hostile' } });
}

function isMalformedText(f: Frame): boolean {
  if (f.kind !== 'text') return false;
  try {
    JSON.parse(f.text);
    return false;
  } catch {
    return true;
  }
}

describe('hostile WebSocket peer (fast-check)', () => {
  let hostile: HostileServer;
  let healthy: WebSocketServeHandle;
  let rt: McpRuntime;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
    hostile = await serveHostile();
    healthy = await serveWebSocket({ createServer: () => createDemoMcpServer() });
    rt = createRuntime({
      servers: {
        hostile: { url: hostile.url, maxMessageBytes: MAX_MESSAGE_BYTES },
        healthy: { url: healthy.url },
      },
      defaults: {
        reconnect: { initialDelayMs: 5, factor: 1, maxDelayMs: 5, maxAttempts: 1_000, jitter: false },
        heartbeat: { intervalMs: 0 },
        timeoutMs: 3_000,
        // Hostile answers are counted failures; keep the breaker out of the way so every run's
        // frames reach the runtime (the breaker has its own tests).
        breaker: { failureThreshold: 1_000_000 },
      },
    });
    await rt.start();
  });
  afterAll(async () => {
    await rt.close();
    await hostile.close();
    await healthy.close();
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
  });

  it(`survives arbitrary inbound frames (${NUM_RUNS} runs)`, { timeout: 60_000 }, async () => {
    const errorEvents: Array<{ server: string; code: string }> = [];
    rt.on('error', (e) => errorEvents.push({ server: e.server, code: e.error.code }));
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(frameArb, { maxLength: 6 }),
        answerArb,
        fc.string(),
        async (frames, answer, text) => {
          runs++;
          const eventsBefore = errorEvents.length;
          hostile.onRequest = (s) => play(s, frames, answer);
          const outcome = await rt
            .callTool('hostile', 'anything', {}, { timeoutMs: answer === 'none' ? 150 : 2_000 })
            .then(
              (result) => ({ ok: true as const, result }),
              (error: unknown) => ({ ok: false as const, error }),
            );
          // The hostile call settles: a result, or a typed runtime error — never a raw throw.
          if (!outcome.ok) expect(isMcpRuntimeError(outcome.error)).toBe(true);
          // The healthy server in the same runtime is unaffected.
          const echoed = await rt.callTool('healthy', 'echo', { text }, { timeoutMs: 2_000 });
          expect(echoed.content).toEqual([{ type: 'text', text }]);
          // A malformed frame that arrived while connected was reported as a PROTOCOL error event.
          const firstHuge = frames.findIndex((f) => f.kind === 'huge');
          const beforeHuge = firstHuge === -1 ? frames : frames.slice(0, firstHuge);
          if (beforeHuge.some(isMalformedText)) {
            const added = errorEvents.slice(eventsBefore);
            expect(added.some((e) => e.server === 'hostile' && e.code === 'PROTOCOL')).toBe(true);
          }
          expect(errorEvents.every((e) => e.server === 'hostile')).toBe(true);
          expect(unhandled).toEqual([]);
        },
      ),
      { numRuns: NUM_RUNS },
    );
    expect(runs).toBe(NUM_RUNS);
    // The property exercised the reporting path (frames were reported, not silently dropped).
    expect(errorEvents.length).toBeGreaterThan(0);
    hostile.onRequest = (s) => s.reply('calm');
    const calm = await rt.callTool('hostile', 'anything', {}, { timeoutMs: 3_000 });
    expect(calm.content).toEqual([{ type: 'text', text: 'calm' }]);
  });

  it('a frame over maxMessageBytes is a PROTOCOL error event; the connection is re-established', async () => {
    const errors: string[] = [];
    const onError = (e: { server: string; error: { code: string; message: string } }) =>
      errors.push(`${e.error.code} ${e.error.message}`);
    rt.on('error', onError);
    try {
      hostile.onRequest = (s) => play(s, [{ kind: 'huge' }], 'reply');
      const error = await rt.callTool('hostile', 'anything').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'CONNECTION_LOST', server: 'hostile' });
      expect((error as Error).message).toMatch(/connection lost/);
      expect(errors.some((e) => /^PROTOCOL .*Max payload size exceeded/.test(e))).toBe(true);
      hostile.onRequest = (s) => s.reply('back');
      expect((await rt.callTool('hostile', 'anything', {}, { timeoutMs: 3_000 })).content).toEqual([
        { type: 'text', text: 'back' },
      ]);
    } finally {
      rt.off('error', onError);
    }
  });
});

describe('HTTP body cap (maxMessageBytes)', () => {
  let server: Server;
  let base: string;
  let rt: McpRuntime | undefined;

  beforeAll(async () => {
    // Stateless Streamable HTTP; `?json` answers with JSON bodies, otherwise with SSE streams.
    server = createServer((req, res) => {
      void (async () => {
        const json = (req.url ?? '').includes('json');
        const mcp = createDemoMcpServer();
        const transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: undefined,
          enableJsonResponse: json,
        });
        res.on('close', () => {
          void transport.close();
          void mcp.close();
        });
        await mcp.connect(transport);
        await transport.handleRequest(req, res);
      })().catch(() => res.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  });
  afterAll(async () => {
    await rt?.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  });

  for (const mode of ['sse', 'json'] as const) {
    it(`${mode}: an oversized response fails that call with PROTOCOL; the connection stays`, async () => {
      rt = createRuntime({
        servers: { s: { url: mode === 'json' ? `${base}?json` : base, maxMessageBytes: 4_096 } },
        defaults: { heartbeat: { intervalMs: 0 }, timeoutMs: 3_000 },
      });
      const events: Array<{ code: string; message: string }> = [];
      rt.on('error', (e) => events.push({ code: e.error.code, message: e.error.message }));
      const error = await rt.callTool('s', 'echo', { text: 'y'.repeat(10_000) }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'PROTOCOL', server: 's' });
      expect((error as Error).message).toMatch(/exceeds maxMessageBytes \(4096 bytes\)/);
      expect(events.some((e) => e.code === 'PROTOCOL' && /maxMessageBytes/.test(e.message))).toBe(true);
      // The same connection keeps serving ordinary calls.
      expect((await rt.callTool('s', 'echo', { text: 'small' })).content).toEqual([
        { type: 'text', text: 'small' },
      ]);
      const snap = rt.snapshot().servers.s!;
      expect(snap.state).toBe('ready');
      expect(snap.readyCount).toBe(1);
      await rt.close();
      rt = undefined;
    });
  }
});

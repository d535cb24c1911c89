/**
 * The demo server on SDK v2 serves both protocol eras from one process, on every way in: a bare SDK
 * v2 Client (auto negotiation) gets 2026-07-28, a bare SDK v1 Client gets 2025-11-25; a 2026-only
 * server refuses the v1 client, a 2025-only one makes the v2 client fall back. The `ask` tool's
 * input rounds work on both eras.
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client, StreamableHTTPClientTransport, type Transport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as V1StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as V1StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport as V1Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketClientTransport } from '../../src/actors/websocket-client-transport.js';
import type { ServedEras } from '../../src/actors/websocket-server-transport.js';
import { startDemoServer } from '../../src/demo/demo-server.js';
import { type Tapped, tapTransport } from '../helpers/tap-transport.js';

const MAIN_PATH = fileURLToPath(new URL('../../src/demo/demo-server-main.ts', import.meta.url));
const TSX_LOADER_URL = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const CALL_TIMEOUT_MS = 10_000;

type Way = 'websocket' | 'streamable-http' | 'stdio';

/** Where clients of one era setting connect: fresh client transports per client. */
interface Endpoint {
  v2(): Transport;
  v1(): V1Transport;
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(way: Way, eras: ServedEras): Promise<Endpoint> {
  if (way === 'stdio') {
    const params = {
      command: process.execPath,
      args: ['--import', TSX_LOADER_URL, MAIN_PATH, '--stdio', '--eras', eras],
      stderr: 'ignore' as const,
    };
    return { v2: () => new StdioClientTransport(params), v1: () => new V1StdioClientTransport(params) };
  }
  const demo = await startDemoServer({ eras });
  cleanups.push(() => demo.close());
  if (way === 'websocket') {
    // Our WebSocket client transport is typed against the SDK v1 interface until the client migration.
    const ws = (): WebSocketClientTransport => new WebSocketClientTransport({ url: demo.wsUrl });
    return { v2: () => ws() as unknown as Transport, v1: ws };
  }
  return {
    v2: () => new StreamableHTTPClientTransport(new URL(demo.httpUrl)),
    v1: () => new V1StreamableHTTPClientTransport(new URL(demo.httpUrl)),
  };
}

/** A bare SDK v2 Client, auto negotiation, answering elicitations with `answers` in order. */
async function connectV2(endpoint: Endpoint, answers: string[] = []) {
  const { transport, tapped } = tapTransport(endpoint.v2());
  const client = new Client(
    { name: 'eras-test-v2', version: '0.0.0' },
    { versionNegotiation: { mode: 'auto' }, capabilities: { elicitation: {} } },
  );
  const asked: string[] = [];
  client.setRequestHandler('elicitation/create', async (request) => {
    asked.push(request.params.message);
    return { action: 'accept', content: { answer: answers[asked.length - 1] ?? 'none' } };
  });
  cleanups.push(() => client.close());
  await client.connect(transport, { timeout: CALL_TIMEOUT_MS });
  return { client, tapped, asked };
}

/** A bare SDK v1 Client (2025-11-25 at most), answering elicitations with `answers` in order. */
async function connectV1(endpoint: Endpoint, answers: string[] = []) {
  const { transport, tapped } = tapTransport(endpoint.v1());
  const client = new V1Client(
    { name: 'eras-test-v1', version: '0.0.0' },
    { capabilities: { elicitation: {} } },
  );
  const asked: string[] = [];
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    asked.push(request.params.message);
    return { action: 'accept', content: { answer: answers[asked.length - 1] ?? 'none' } };
  });
  cleanups.push(() => client.close());
  await client.connect(transport, { timeout: CALL_TIMEOUT_MS });
  return { client, tapped, asked };
}

function methods(tapped: Tapped): Array<string | undefined> {
  return tapped.sent.map((m) => m.method);
}

/** The protocol version the server answered `initialize` with. */
function initializedVersion(tapped: Tapped): unknown {
  const init = tapped.sent.find((m) => m.method === 'initialize');
  return tapped.received.find((m) => m.id === init?.id)?.result?.protocolVersion;
}

function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.map((c) => c.text ?? '').join('');
}

describe.each<Way>(['websocket', 'streamable-http', 'stdio'])('demo server over %s', (way) => {
  it('both eras: the v2 client gets 2026-07-28 without initialize, the v1 client 2025-11-25', async () => {
    const endpoint = await serve(way, 'both');
    const modern = await connectV2(endpoint);
    expect(modern.client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    // Over stdio the SDK probes on a disposable sibling process, not on the tapped pipe.
    if (way !== 'stdio') expect(methods(modern.tapped)).toContain('server/discover');
    expect(methods(modern.tapped)).not.toContain('initialize');
    expect(textOf(await modern.client.callTool({ name: 'echo', arguments: { text: 'new' } }))).toBe('new');

    const legacy = await connectV1(endpoint);
    expect(initializedVersion(legacy.tapped)).toBe('2025-11-25');
    expect(textOf(await legacy.client.callTool({ name: 'echo', arguments: { text: 'old' } }))).toBe('old');
  });

  it('2026-07-28 only: the v1 client is refused with -32022, the v2 client is served', async () => {
    const endpoint = await serve(way, '2026-07-28');
    // Over HTTP the refusal is an HTTP 400 whose JSON-RPC body carries the code.
    await expect(connectV1(endpoint)).rejects.toThrow(/-32022|Unsupported protocol version/);
    const modern = await connectV2(endpoint);
    expect(modern.client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
  });

  it('2025-11-25 only: server/discover is not found, the v2 client falls back to initialize', async () => {
    const endpoint = await serve(way, '2025-11-25');
    const fallback = await connectV2(endpoint);
    expect(fallback.client.getNegotiatedProtocolVersion()).toBe('2025-11-25');
    const handshake = way === 'stdio' ? ['initialize'] : ['server/discover', 'initialize'];
    expect(methods(fallback.tapped).slice(0, handshake.length)).toEqual(handshake);
    expect(initializedVersion(fallback.tapped)).toBe('2025-11-25');
    expect(textOf(await fallback.client.callTool({ name: 'echo', arguments: { text: 'back' } }))).toBe(
      'back',
    );
  });

  it('ask: two input rounds with a signed requestState on 2026, two elicitation requests on 2025', async () => {
    const endpoint = await serve(way, 'both');
    const modern = await connectV2(endpoint, ['red', 'blue']);
    const modernResult = await modern.client.callTool({ name: 'ask', arguments: { questions: 2 } });
    expect(textOf(modernResult)).toBe('answers: red, blue');
    expect(modern.asked).toEqual(['Question 1 of 2?', 'Question 2 of 2?']);
    const rounds = modern.tapped.received.filter((m) => m.result?.resultType === 'input_required');
    expect(rounds).toHaveLength(2);
    expect(rounds.every((m) => typeof m.result?.requestState === 'string')).toBe(true);
    const retries = modern.tapped.sent.filter((m) => m.method === 'tools/call' && m.params?.inputResponses);
    expect(retries.map((m) => m.params?.requestState)).toEqual(rounds.map((m) => m.result?.requestState));

    const legacy = await connectV1(endpoint, ['green', 'gold']);
    const legacyResult = await legacy.client.callTool({ name: 'ask', arguments: { questions: 2 } });
    expect(textOf(legacyResult)).toBe('answers: green, gold');
    expect(legacy.asked).toEqual(['Question 1 of 2?', 'Question 2 of 2?']);
  });
});

/**
 * What the client work needs from the demo server beyond the handshake: a legacy-only server refuses
 * `server/discover` as a 2025 server does (method not found), cacheable results carry the demo's
 * caching hints on 2026-07-28 only, a changed note reaches a 2026 `subscriptions/listen` stream and a
 * 2025 `resources/subscribe` alike, and the mock server of `mcp-actors/testing` speaks both eras.
 */
import { Client, InMemoryTransport, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketClientTransport } from '../../src/actors/websocket-client-transport.js';
import { serveMcpConnection } from '../../src/actors/websocket-server-transport.js';
import { DEMO_NOTE_URI } from '../../src/demo/demo-extras.js';
import { DEMO_CACHE_HINTS, demoServerFactory, startDemoServer } from '../../src/demo/demo-server.js';
import { createMockServer } from '../../src/testing/index.js';
import { tapTransport } from '../helpers/tap-transport.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A 2026 `server/discover` request as a negotiating client sends it. */
const DISCOVER = {
  jsonrpc: '2.0',
  id: 1,
  method: 'server/discover',
  params: {
    _meta: {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientCapabilities': {},
      'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '0.0.0' },
    },
  },
} as const;

/** The demo (with extras) on one end of an in-memory pair, in `eras`; the other end is returned. */
async function inMemoryDemo(eras: 'both' | '2025-11-25') {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const served = await serveMcpConnection(serverSide, demoServerFactory({ extras: true }), eras);
  cleanups.push(() => served.close());
  return clientSide;
}

async function v2Client(transport: InMemoryTransport | StreamableHTTPClientTransport) {
  const client = new Client(
    { name: 'features-v2', version: '0.0.0' },
    { versionNegotiation: { mode: 'auto' } },
  );
  cleanups.push(() => client.close());
  await client.connect(transport);
  return client;
}

describe('demo server features per era', () => {
  it('a 2025-only server answers server/discover with method not found (-32601)', async () => {
    const transport = await inMemoryDemo('2025-11-25');
    const answer = new Promise<unknown>((resolve) => {
      transport.onmessage = resolve;
    });
    await transport.start();
    await transport.send(DISCOVER);
    expect(await answer).toMatchObject({ id: 1, error: { code: -32601 } });
  });

  it('cacheable results carry the demo hints on 2026-07-28 and no cache fields on 2025-11-25', async () => {
    const modernTap = tapTransport(await inMemoryDemo('both'));
    const modern = await v2Client(modernTap.transport);
    await modern.readResource({ uri: 'demo://greeting' });
    await modern.readResource({ uri: 'demo://counter' });
    await modern.listTools();
    const results = modernTap.tapped.received.map((m) => m.result ?? {});
    const hintsOf = (r: Record<string, unknown>) => ({ ttlMs: r.ttlMs, cacheScope: r.cacheScope });
    const read = results.filter((r) => Array.isArray(r.contents));
    expect(read.map(hintsOf)).toEqual([DEMO_CACHE_HINTS.greeting, DEMO_CACHE_HINTS.counter]);
    expect(hintsOf(results.find((r) => Array.isArray(r.tools)) ?? {})).toEqual(DEMO_CACHE_HINTS.lists);

    const legacyTap = tapTransport(await inMemoryDemo('2025-11-25'));
    const legacy = await v2Client(legacyTap.transport);
    expect(legacy.getNegotiatedProtocolVersion()).toBe('2025-11-25');
    await legacy.readResource({ uri: 'demo://greeting' });
    const legacyRead = legacyTap.tapped.received.find((m) => Array.isArray(m.result?.contents));
    expect(legacyRead?.result).not.toHaveProperty('ttlMs');
  });

  it('set-note reaches a 2026 subscriptions/listen stream and a 2025 resources/subscribe', async () => {
    const modernTap = tapTransport(await inMemoryDemo('both'));
    const modern = await v2Client(modernTap.transport);
    const modernUpdated = new Promise<string>((resolve) => {
      modern.setNotificationHandler('notifications/resources/updated', (n) => resolve(n.params.uri));
    });
    await modern.listen({ resourceSubscriptions: [DEMO_NOTE_URI] });

    const legacy = new V1Client({ name: 'features-v1', version: '0.0.0' });
    cleanups.push(() => legacy.close());
    await legacy.connect((await inMemoryDemo('both')) as never);
    const legacyUpdated = new Promise<string>((resolve) => {
      legacy.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => resolve(n.params.uri));
    });
    await legacy.subscribeResource({ uri: DEMO_NOTE_URI });

    await legacy.callTool({ name: 'set-note', arguments: { text: 'changed by the 2025 client' } });
    expect(await modernUpdated).toBe(DEMO_NOTE_URI);
    expect(await legacyUpdated).toBe(DEMO_NOTE_URI);
    expect(modernTap.tapped.sent.map((m) => m.method)).toContain('subscriptions/listen');
    const note = await modern.readResource({ uri: DEMO_NOTE_URI });
    expect(note.contents[0]).toMatchObject({ text: 'changed by the 2025 client' });
  });

  it('over Streamable HTTP a 2026 listen stream hears a note set from a WebSocket connection', async () => {
    const demo = await startDemoServer({ extras: true });
    cleanups.push(() => demo.close());
    const modern = await v2Client(new StreamableHTTPClientTransport(new URL(demo.httpUrl)));
    expect(modern.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    const updated = new Promise<string>((resolve) => {
      modern.setNotificationHandler('notifications/resources/updated', (n) => resolve(n.params.uri));
    });
    const subscription = await modern.listen({ resourceSubscriptions: [DEMO_NOTE_URI] });
    cleanups.push(() => subscription.close());
    const writer = new V1Client({ name: 'writer', version: '0.0.0' });
    cleanups.push(() => writer.close());
    await writer.connect(new WebSocketClientTransport({ url: demo.wsUrl }));
    await writer.callTool({ name: 'set-note', arguments: { text: 'over the wire' } });
    expect(await updated).toBe(DEMO_NOTE_URI);
  });

  it('the testing mock server serves a v2 client on 2026-07-28 and a v1 client on 2025-11-25', async () => {
    const mock = createMockServer().addTool('echo', ({ text }) => String(text));
    cleanups.push(() => mock.close());
    const modern = await v2Client(mock.connect() as never);
    expect(modern.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    expect(await modern.callTool({ name: 'echo', arguments: { text: 'new' } })).toMatchObject({
      content: [{ type: 'text', text: 'new' }],
    });
    const legacy = new V1Client({ name: 'mock-v1', version: '0.0.0' });
    cleanups.push(() => legacy.close());
    await legacy.connect(mock.connect());
    expect(await legacy.callTool({ name: 'echo', arguments: { text: 'old' } })).toMatchObject({
      content: [{ type: 'text', text: 'old' }],
    });
    expect(mock.callsTo('echo').map((c) => c.outcome)).toEqual(['ok', 'ok']);
  });
});

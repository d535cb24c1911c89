/**
 * (f) Heap per connection, measured in a child process run with --expose-gc:
 *
 *   node --expose-gc --import tsx bench/heap-child.ts <ws-url> <sdk|sdkv1|pooled|server> <count> <rounds>
 *
 * - `sdk`: a bare SDK v2 Client with its defaults (its own validator) over our WebSocket transport;
 * - `sdkv1`: the same with the SDK v1 Client (information);
 * - `pooled`: one pool member as the runtime builds it: a ServerConnection (connection actor, SDK
 *   Client with the runtime's shared validator and handlers, transport);
 * - `server`: a whole configured server of a runtime (connection, call path, session, health).
 *
 * Each is connected and makes one echo call before the heap is read. Prints one JSON line with the
 * bytes per connection of each round (each round adds `count` more, the earlier ones stay open).
 */

import { Client, type ClientOptions } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport as TransportV1 } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ServerConnection } from '../src/actors/server-connection.js';
import { WebSocketClientTransport } from '../src/actors/websocket-client-transport.js';
import { buildTransportSpec } from '../src/runtime/auth.js';
import { resolveConfig } from '../src/runtime/config.js';
import { createRuntime, type McpRuntime } from '../src/runtime/runtime.js';
import { ECHO_TEXT } from './clients.js';

const [url = '', variant = 'sdk', countArg = '50', roundsArg = '3'] = process.argv.slice(2);
const count = Number(countArg);
const rounds = Number(roundsArg);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const clientInfo = { name: 'bench', version: '1.0.0' };
const args = { name: 'echo', arguments: { text: ECHO_TEXT } };

function heapUsed(): number {
  for (let i = 0; i < 4; i++) gc?.();
  return process.memoryUsage().heapUsed;
}

type Opened = { close(): Promise<void> };

async function openSdk(): Promise<Opened> {
  if (variant === 'sdkv1') {
    const v1 = new ClientV1(clientInfo);
    await v1.connect(new WebSocketClientTransport({ url }) as unknown as TransportV1);
    await v1.callTool(args);
    return v1;
  }
  const client = new Client(clientInfo, { versionNegotiation: { mode: 'auto' } });
  await client.connect(new WebSocketClientTransport({ url }));
  await client.callTool(args);
  return client;
}

/** The runtime whose options the pooled connections share (kept for the whole run). */
let host: McpRuntime | undefined;

async function openPooled(): Promise<Opened> {
  host ??= createRuntime({ servers: { demo: { url } } });
  const inner = host as unknown as {
    features: { clientOptions(): ClientOptions };
    configureClient(server: string, client: Client): void;
  };
  const c = resolveConfig({ servers: { demo: { url } } }).servers.get('demo')!;
  const conn = new ServerConnection({
    server: 'demo',
    spec: () => buildTransportSpec(c, {}),
    backoff: c.reconnect,
    heartbeat: c.heartbeat,
    connectTimeoutMs: c.connectTimeoutMs,
    initializeTimeoutMs: c.initializeTimeoutMs,
    clientInfo,
    configureClient: (client) => inner.configureClient('demo', client),
    clientOptions: inner.features.clientOptions(),
  });
  await conn.whenReady(10_000);
  await conn.client.callTool(args);
  return conn;
}

async function openServers(n: number): Promise<Opened> {
  const rt = createRuntime({
    servers: Object.fromEntries(Array.from({ length: n }, (_, i) => [`s${i}`, { url }])),
  });
  await rt.start();
  await Promise.all(rt.serverNames.map((s) => rt.callTool(s, 'echo', { text: ECHO_TEXT })));
  return rt;
}

async function openMany(): Promise<Opened[]> {
  if (variant === 'server') return [await openServers(count)];
  const out: Opened[] = [];
  for (let i = 0; i < count; i++) out.push(variant === 'pooled' ? await openPooled() : await openSdk());
  return out;
}

// Warm-up: load and compile everything once, so the rounds measure only what each connection holds.
for (const o of await (variant === 'server'
  ? [openServers(1)]
  : [variant === 'pooled' ? openPooled() : openSdk()]))
  await (await o).close();

// Rounds add `count` more each and keep the earlier ones open: memory released by a close is not
// returned at once, so closing between rounds would understate the next round.
const perConnectionBytes: number[] = [];
const opened: Opened[] = [];
for (let r = 0; r < rounds; r++) {
  const before = heapUsed();
  opened.push(...(await openMany()));
  const after = heapUsed();
  perConnectionBytes.push((after - before) / count);
}
for (const o of opened) await o.close();
await host?.close();
process.stdout.write(`${JSON.stringify({ variant, count, perConnectionBytes })}\n`);
process.exit(0);

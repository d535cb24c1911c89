/**
 * Opens the connections the heap measures compare (bench/heap-child.ts, bench/heap-snapshot.ts):
 *
 * - `sdk`: a bare SDK v2 Client with its defaults (its own validator) over our WebSocket transport;
 * - `sdkv1`: the same with the SDK v1 Client (information);
 * - `pooled`: one pool member as the runtime builds it: a ServerConnection (connection actor under
 *   the server's supervisor, in its actor system; SDK Client with the runtime's shared validator and
 *   handlers; transport);
 * - `server`: a whole configured server of a runtime (connection, call path, session, health).
 *
 * Each is connected and makes one echo call before it is handed back.
 */

import { Client, type ClientOptions } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport as TransportV1 } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { AnyActorRef } from 'xstate';
import { ServerConnection, type ServerConnectionOptions } from '../src/actors/server-connection.js';
import { WebSocketClientTransport } from '../src/actors/websocket-client-transport.js';
import { buildTransportSpec } from '../src/runtime/auth.js';
import { resolveConfig } from '../src/runtime/config.js';
import { createRuntime, type McpRuntime } from '../src/runtime/runtime.js';
import { ECHO_TEXT } from './clients.js';

/** Something open that closes. */
export type Opened = { close(): Promise<void> };

const clientInfo = { name: 'bench', version: '1.0.0' };
const args = { name: 'echo', arguments: { text: ECHO_TEXT } };

async function openSdk(url: string, variant: string): Promise<Opened> {
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

/** The runtime whose options and handlers the pooled connections share (one per process). */
let host: McpRuntime | undefined;
/** What the pool members of one server share in the runtime (server-handle.ts): config, spec, hooks. */
let shared: Pick<
  ServerConnectionOptions,
  | 'server'
  | 'clientInfo'
  | 'spec'
  | 'configureClient'
  | 'clientOptions'
  | 'backoff'
  | 'heartbeat'
  | 'connectTimeoutMs'
  | 'initializeTimeoutMs'
  | 'parent'
>;

async function openPooled(url: string): Promise<Opened> {
  if (!host) {
    host = createRuntime({ servers: { demo: { url } } });
    const inner = host as unknown as {
      features: { clientOptions(server: string): ClientOptions };
      configureClient(server: string, client: Client): void;
    };
    const c = resolveConfig({ servers: { demo: { url } } }).servers.get('demo')!;
    shared = {
      server: 'demo',
      clientInfo,
      spec: () => buildTransportSpec(c, {}),
      backoff: c.reconnect,
      heartbeat: c.heartbeat,
      connectTimeoutMs: c.connectTimeoutMs,
      initializeTimeoutMs: c.initializeTimeoutMs,
      configureClient: (client) => inner.configureClient('demo', client),
      clientOptions: inner.features.clientOptions('demo'),
      // The server's supervisor, whose actor system the runtime's pool members join.
      parent: supervisorOf(host, 'demo'),
    };
  }
  // One options object for the server's connections; each has its own part (server-handle.ts).
  const conn = new ServerConnection(shared, { verdict: null });
  await conn.whenReady(10_000);
  await conn.client.callTool(args);
  return conn;
}

/** The supervisor actor of `server` in `rt` (created with the server's pool, as on first use). */
function supervisorOf(rt: McpRuntime, server: string): AnyActorRef {
  const handle = (
    rt as unknown as { servers: Map<string, { pool: unknown; supervisor: AnyActorRef }> }
  ).servers.get(server)!;
  void handle.pool;
  return handle.supervisor;
}

/** A runtime with `n` servers, each started and called once. */
export async function openServers(url: string, n: number): Promise<Opened> {
  const rt = createRuntime({
    servers: Object.fromEntries(Array.from({ length: n }, (_, i) => [`s${i}`, { url }])),
  });
  await rt.start();
  await Promise.all(rt.serverNames.map((s) => rt.callTool(s, 'echo', { text: ECHO_TEXT })));
  return rt;
}

/** One connection of `variant` (`sdk`, `sdkv1`, `pooled`; `server` is one runtime server). */
export function openOne(url: string, variant: string): Promise<Opened> {
  if (variant === 'pooled') return openPooled(url);
  if (variant === 'server') return openServers(url, 1);
  return openSdk(url, variant);
}

/** Closes the shared runtime of the pooled variant. */
export async function closeHost(): Promise<void> {
  await host?.close();
  host = undefined;
}

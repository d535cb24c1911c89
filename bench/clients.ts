/**
 * The things the benchmarks call, each built the same way an application would build it: the bare
 * SDK Client over each transport (the baselines), the runtime, the runtime's call path alone, and the
 * raw `ws` / `node:http` JSON echo floors. Each factory returns the call and a close.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import {
  Client,
  InMemoryTransport,
  StreamableHTTPClientTransport,
  type Transport,
} from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioClientTransportV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as StreamableHTTPClientTransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport as InMemoryTransportV1 } from '@modelcontextprotocol/sdk/inMemory.js';
import type { Transport as TransportV1 } from '@modelcontextprotocol/sdk/shared/transport.js';
import WebSocket from 'ws';
import type { ServerConnection } from '../src/actors/server-connection.js';
import { WebSocketClientTransport } from '../src/actors/websocket-client-transport.js';
import { createDemoMcpServer } from '../src/demo/demo-server.js';
import { CallPath } from '../src/runtime/call-path.js';
import type { RuntimeConfig } from '../src/runtime/config.js';
import { DEFAULTS } from '../src/runtime/config.js';
import { createRuntime, type McpRuntime } from '../src/runtime/runtime.js';
import { sendCallTool } from '../src/runtime/tool-call-send.js';
import type { CallFn } from './harness.js';
import { serveV2 } from './server-v2.js';

/** The echo text: the request is ~150 bytes on the wire, as in issue 10's measurements. */
export const ECHO_TEXT = 'the quick brown fox jumps over the lazy dog';
const ECHO_ARGS = { text: ECHO_TEXT };

/** Which bare SDK Client: v2 (`@modelcontextprotocol/client`, the target baseline) or v1 (`sdk`, information). */
export type SdkLine = 'v2' | 'v1';

/** Something benchmarked: its call and how to release it. */
export interface Target {
  call: CallFn;
  close(): Promise<void>;
}

const clientInfo = { name: 'bench', version: '1.0.0' };

/**
 * A bare SDK v2 Client, negotiating as the runtime does by default (`auto`: `server/discover`
 * first, `initialize` on a 2025 server).
 */
async function sdkV2Target(transport: Transport): Promise<Target & { client: Client }> {
  const client = new Client(clientInfo, { versionNegotiation: { mode: 'auto' } });
  await client.connect(transport);
  return {
    client,
    call: () => client.callTool({ name: 'echo', arguments: ECHO_ARGS }),
    close: () => client.close(),
  };
}

/** A bare SDK v1 Client (speaks 2025 only). */
async function sdkV1Target(transport: TransportV1): Promise<Target> {
  const client = new ClientV1(clientInfo);
  await client.connect(transport);
  return {
    call: () => client.callTool({ name: 'echo', arguments: ECHO_ARGS }),
    close: () => client.close(),
  };
}

/** Bare SDK Client of either line over our WebSocket transport (the SDK has none usable on Node 20). */
export function sdkWebSocket(line: SdkLine, url: string): Promise<Target> {
  const transport = new WebSocketClientTransport({ url });
  return line === 'v2' ? sdkV2Target(transport) : sdkV1Target(transport as unknown as TransportV1);
}

/** A bare SDK v2 Client over our WebSocket transport, for the call path rows. */
export function sdkV2WebSocket(url: string): Promise<Target & { client: Client }> {
  return sdkV2Target(new WebSocketClientTransport({ url }));
}

/** Bare SDK Client over stdio (a server child of its own). */
export function sdkStdio(
  line: SdkLine,
  cmd: { command: string; args: string[]; cwd: string },
): Promise<Target> {
  return line === 'v2'
    ? sdkV2Target(new StdioClientTransport({ ...cmd, stderr: 'ignore' }))
    : sdkV1Target(new StdioClientTransportV1({ ...cmd, stderr: 'ignore' }));
}

/** Bare SDK Client over Streamable HTTP with the SDK's default fetch (Node's global fetch). */
export function sdkHttp(line: SdkLine, url: string): Promise<Target> {
  return line === 'v2'
    ? sdkV2Target(new StreamableHTTPClientTransport(new URL(url)))
    : sdkV1Target(new StreamableHTTPClientTransportV1(new URL(url)));
}

/** A runtime with one server named `demo`; `call` is `rt.callTool('demo', 'echo', ...)`. */
export async function runtimeTarget(
  server: NonNullable<RuntimeConfig['servers']>[string],
): Promise<Target & { rt: McpRuntime }> {
  const rt = createRuntime({ servers: { demo: server } });
  await rt.start();
  return {
    rt,
    call: () => rt.callTool('demo', 'echo', ECHO_ARGS),
    close: () => rt.close(),
  };
}

/**
 * A runtime whose `demo` server keeps a pool of `size` WebSocket connections, or undefined when the
 * runtime does not pool yet (its snapshot shows no pool with `size` ready members within 5 s).
 */
export async function pooledRuntime(
  url: string,
  size: number,
  concurrency: number,
): Promise<(Target & { rt: McpRuntime }) | undefined> {
  const t = await runtimeTarget({ url, queue: { concurrency }, pool: { min: size, max: size } });
  const readyMembers = () => {
    const pool = (
      t.rt.snapshot().servers.demo as { pool?: { members?: Array<{ connection?: string }> } } | undefined
    )?.pool;
    return pool?.members?.filter((m) => m.connection === 'ready').length ?? 0;
  };
  for (let waitedMs = 0; readyMembers() < size && waitedMs < 5_000; waitedMs += 50)
    await new Promise((resolve) => setTimeout(resolve, 50));
  if (readyMembers() >= size) return t;
  await t.close();
  return undefined;
}

/** The echo call as the runtime hands it to `sendCallTool`: params and the listed definition. */
const ECHO_CALL = {
  params: { name: 'echo', arguments: ECHO_ARGS },
  definition: { name: 'echo', inputSchema: { type: 'object' as const } },
};

/**
 * The runtime's call path alone (queue fast admit, breaker canPass, retry rule) in front of an SDK
 * Client: what a call costs on top of the SDK with no facade around it.
 */
export function callPathOver(client: Client, concurrency: number): Target {
  const conn = { isReady: true, client } as unknown as ServerConnection;
  const { perTool: _perTool, ...breaker } = DEFAULTS.breaker as typeof DEFAULTS.breaker & {
    perTool?: boolean;
  };
  const path = new CallPath({
    server: 'demo',
    timeoutMs: DEFAULTS.timeoutMs,
    retry: { ...DEFAULTS.retry },
    breaker: { ...breaker },
    perToolBreakers: false,
    queue: { concurrency, maxQueued: 100_000 },
    acquire: () => conn,
    release: () => {},
    toolHints: () => undefined,
    onBreaker: () => {},
  });
  return {
    call: () =>
      path.submit({
        operation: 'tools/call echo',
        kind: 'tool',
        tool: 'echo',
        options: {},
        // As the runtime sends a tool it has listed (src/runtime/tool-call-send.ts).
        run: (c, opts) => sendCallTool(c, opts, ECHO_CALL),
      }),
    close: async () => path.close(),
  };
}

/** The server eras of the in-memory rows: the demo server (SDK v1, 2025) or the bench's v2 server (2026). */
export type Era = '2025' | '2026';

/** A client-side transport linked in memory to a fresh server of `era` in this process. */
function linkedInMemory(era: Era): { client: Transport; close(): Promise<void> } {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  if (era === '2026') {
    const handle = serveV2(serverSide as unknown as Parameters<typeof serveV2>[0]);
    return { client: clientSide, close: () => handle.close() };
  }
  const server = createDemoMcpServer();
  void server.connect(serverSide as unknown as TransportV1);
  return { client: clientSide, close: () => server.close() };
}

/** A bare SDK Client of `line` linked in memory to a server of `era` in this process. */
export async function sdkInMemory(line: SdkLine, era: Era): Promise<Target> {
  let serverClose: () => Promise<void>;
  let t: Target;
  if (line === 'v2') {
    const link = linkedInMemory(era);
    serverClose = link.close;
    t = await sdkV2Target(link.client);
  } else {
    // v1 end to end: the v1 in-memory pair (a v1 Client speaks 2025 to either server).
    const [clientSide, serverSide] = InMemoryTransportV1.createLinkedPair();
    if (era === '2026') {
      const handle = serveV2(serverSide as unknown as Parameters<typeof serveV2>[0]);
      serverClose = () => handle.close();
    } else {
      const server = createDemoMcpServer();
      await server.connect(serverSide);
      serverClose = () => server.close();
    }
    t = await sdkV1Target(clientSide);
  }
  return {
    ...t,
    close: async () => {
      await t.close();
      await serverClose();
    },
  };
}

/** A bare SDK v2 Client in memory (for the call path rows, which need its `Client`). */
export async function sdkV2InMemory(era: Era): Promise<Target & { client: Client }> {
  const link = linkedInMemory(era);
  const t = await sdkV2Target(link.client);
  return {
    ...t,
    close: async () => {
      await t.close();
      await link.close();
    },
  };
}

/** The runtime's `mock` server of `era`: each connection gets a fresh server linked in memory. */
export function inMemoryServer(era: Era) {
  return {
    connect(): Transport {
      return linkedInMemory(era).client;
    },
  };
}

/** Raw `ws` JSON echo: one JSON-RPC-shaped request and its response, nothing else. */
export async function rawWebSocket(url: string): Promise<Target> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const pending = new Map<number, (v: unknown) => void>();
  ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as { id: number };
    const resolve = pending.get(m.id);
    pending.delete(m.id);
    resolve?.(m);
  });
  let id = 0;
  return {
    call: () =>
      new Promise((resolve) => {
        const n = ++id;
        pending.set(n, resolve);
        ws.send(
          JSON.stringify({
            jsonrpc: '2.0',
            id: n,
            method: 'tools/call',
            params: { name: 'echo', arguments: ECHO_ARGS },
          }),
        );
      }),
    close: () =>
      new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close();
      }),
  };
}

/** Raw `node:http` keep-alive JSON echo (POST, JSON response), up to `sockets` connections. */
export function rawHttp(url: string, sockets: number): Target {
  const agent = new HttpAgent({ keepAlive: true, maxSockets: sockets });
  const u = new URL(url);
  let id = 0;
  return {
    call: () =>
      new Promise((resolve, reject) => {
        const body = JSON.stringify({
          jsonrpc: '2.0',
          id: ++id,
          method: 'tools/call',
          params: { name: 'echo', arguments: ECHO_ARGS },
        });
        const req = httpRequest(
          {
            host: u.hostname,
            port: u.port,
            path: u.pathname,
            method: 'POST',
            agent,
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString())));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      }),
    close: async () => agent.destroy(),
  };
}

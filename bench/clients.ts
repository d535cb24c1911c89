/**
 * The things the benchmarks call, each built the same way an application would build it: the bare
 * SDK Client over each transport (the baselines), the runtime, the runtime's call path alone, and the
 * raw `ws` / `node:http` JSON echo floors. Each factory returns the call and a close.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import WebSocket from 'ws';
import type { ServerConnection } from '../src/actors/server-connection.js';
import { WebSocketClientTransport } from '../src/actors/websocket-client-transport.js';
import { createDemoMcpServer } from '../src/demo/demo-server.js';
import { CallPath } from '../src/runtime/call-path.js';
import type { RuntimeConfig } from '../src/runtime/config.js';
import { DEFAULTS } from '../src/runtime/config.js';
import { createRuntime, type McpRuntime } from '../src/runtime/runtime.js';
import type { CallFn } from './harness.js';

/** The echo text: the request is ~150 bytes on the wire, as in issue 10's measurements. */
export const ECHO_TEXT = 'the quick brown fox jumps over the lazy dog';
const ECHO_ARGS = { text: ECHO_TEXT };

/** Something benchmarked: its call and how to release it. */
export interface Target {
  call: CallFn;
  close(): Promise<void>;
}

const clientInfo = { name: 'bench', version: '1.0.0' };

async function sdkTarget(transport: Transport): Promise<Target & { client: Client }> {
  const client = new Client(clientInfo);
  await client.connect(transport);
  return {
    client,
    call: () => client.callTool({ name: 'echo', arguments: ECHO_ARGS }),
    close: () => client.close(),
  };
}

/** Bare SDK Client over our WebSocket transport (the SDK has none usable on Node 20). */
export function sdkWebSocket(url: string) {
  return sdkTarget(new WebSocketClientTransport({ url }));
}

/** Bare SDK Client over stdio (a demo server child of its own). */
export function sdkStdio(cmd: { command: string; args: string[]; cwd: string }) {
  return sdkTarget(new StdioClientTransport({ ...cmd, stderr: 'ignore' }));
}

/** Bare SDK Client over Streamable HTTP with the SDK's default fetch (Node's global fetch). */
export function sdkHttp(url: string, fetch?: typeof globalThis.fetch) {
  return sdkTarget(new StreamableHTTPClientTransport(new URL(url), fetch ? { fetch } : {}));
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
        run: (c, opts) => c.callTool({ name: 'echo', arguments: ECHO_ARGS }, undefined, opts),
      }),
    close: async () => path.close(),
  };
}

/** An SDK Client linked in memory to a demo server in this process. */
export async function sdkInMemory(): Promise<Target & { client: Client }> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const server = createDemoMcpServer();
  await server.connect(serverSide);
  const t = await sdkTarget(clientSide);
  return {
    ...t,
    close: async () => {
      await t.close();
      await server.close();
    },
  };
}

/** The runtime's `mock` server: each connection gets a demo server linked in memory. */
export const inMemoryDemo = {
  connect(): Transport {
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    void createDemoMcpServer().connect(serverSide);
    return clientSide;
  },
};

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

/**
 * The demo MCP server used by the examples, the CLI demo and the integration tests: a small set of
 * tools (safe, slow with progress, failing, non-idempotent, crashing), resources, a template and a
 * prompt, built on the SDK's `McpServer`.
 */
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { serveWebSocket } from '../actors/websocket-server-transport.js';
import { CancelledError } from '../errors/index.js';
import { serveStreamableHttp } from './streamable-http-endpoint.js';

/** Options of {@link createDemoMcpServer}. */
export interface DemoServerOptions {
  /** Register the `crash` tool (exits the process). Only for a server in a child process. */
  allowCrash?: boolean;
  /** Called when a `slow` call is aborted by the client (observes that cancellation reached the server). */
  onSlowAborted?: (reason: unknown) => void;
}

/** Process-wide count of `counter` calls: proves a non-idempotent call ran exactly once. */
let counterValue = 0;

/** The current value of the process-wide `counter`. */
export function getDemoCounter(): number {
  return counterValue;
}

/** Ids listed by the `demo://items/{id}` template. */
const ITEM_IDS = ['1', '2', '3'] as const;

/**
 * Creates one demo MCP server instance (one per connection or session; the counter is shared).
 *
 * @example
 * const endpoint = await serveWebSocket({ createServer: () => createDemoMcpServer() });
 */
export function createDemoMcpServer(options: DemoServerOptions = {}): McpServer {
  const server = new McpServer(
    { name: 'mcp-actors-demo', version: '0.1.0' },
    { capabilities: { tools: {}, resources: {}, prompts: {} } },
  );

  server.registerTool(
    'echo',
    {
      description: 'Returns the text it was given.',
      inputSchema: { text: z.string() },
      annotations: { readOnlyHint: true, idempotentHint: true },
    },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );

  server.registerTool(
    'add',
    {
      description: 'Adds two numbers.',
      inputSchema: { a: z.number(), b: z.number() },
      annotations: { readOnlyHint: true },
    },
    async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }] }),
  );

  server.registerTool(
    'slow',
    {
      description: 'Takes durationMs in `steps` steps, reporting progress after each; honours cancellation.',
      inputSchema: {
        durationMs: z.number().int().min(0).max(600_000),
        steps: z.number().int().min(1).max(1_000).default(1),
      },
      annotations: { readOnlyHint: true },
    },
    async ({ durationMs, steps }, extra) => {
      const progressToken = extra._meta?.progressToken;
      try {
        for (let step = 1; step <= steps; step++) {
          await sleep(durationMs / steps, extra.signal);
          if (progressToken !== undefined) {
            await extra.sendNotification({
              method: 'notifications/progress',
              params: { progressToken, progress: step, total: steps, message: `step ${step}/${steps}` },
            });
          }
        }
      } catch (error) {
        if (extra.signal.aborted) options.onSlowAborted?.(extra.signal.reason);
        throw error;
      }
      return { content: [{ type: 'text', text: `done in ${steps} steps` }] };
    },
  );

  server.registerTool(
    'fail',
    {
      description: 'Reports a tool failure (isError) with the given message.',
      inputSchema: { message: z.string() },
    },
    async ({ message }) => ({ isError: true, content: [{ type: 'text', text: message }] }),
  );

  server.registerTool(
    'counter',
    { description: 'Increments a process-wide counter and returns it (not idempotent).' },
    async () => {
      counterValue += 1;
      return { content: [{ type: 'text', text: String(counterValue) }] };
    },
  );

  if (options.allowCrash) {
    server.registerTool(
      'crash',
      { description: 'Exits the server process at once (exit code 1).' },
      async () => {
        process.exit(1);
      },
    );
  }

  server.registerResource(
    'greeting',
    'demo://greeting',
    { description: 'A greeting.', mimeType: 'text/plain' },
    async (uri) => ({
      contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'Hello from the demo server' }],
    }),
  );

  server.registerResource(
    'counter',
    'demo://counter',
    { description: 'The current value of the counter tool.', mimeType: 'text/plain' },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: String(counterValue) }] }),
  );

  server.registerResource(
    'item',
    new ResourceTemplate('demo://items/{id}', {
      list: async () => ({
        resources: ITEM_IDS.map((id) => ({
          uri: `demo://items/${id}`,
          name: `item ${id}`,
          mimeType: 'text/plain',
        })),
      }),
    }),
    { description: 'An item by id.', mimeType: 'text/plain' },
    async (uri, { id }) => ({
      contents: [{ uri: uri.href, mimeType: 'text/plain', text: `Item ${String(id)}` }],
    }),
  );

  server.registerPrompt(
    'greet',
    { description: 'Asks the model to greet someone.', argsSchema: { name: z.string() } },
    ({ name }) => ({
      messages: [{ role: 'user', content: { type: 'text', text: `Please greet ${name}.` } }],
    }),
  );

  return server;
}

/** Options of {@link startDemoServer}. */
export interface StartDemoServerOptions extends DemoServerOptions {
  /** WebSocket port (0, the default, picks a free one). */
  wsPort?: number;
  /** Streamable HTTP port (0, the default, picks a free one). */
  httpPort?: number;
  /** Default `127.0.0.1`. */
  host?: string;
  onError?: (error: Error) => void;
}

/** A running demo server. */
export interface DemoServerHandle {
  /** `ws://host:port/` (subprotocol `mcp`). */
  wsUrl: string;
  /** `http://host:port/mcp` (Streamable HTTP). */
  httpUrl: string;
  /** Closes both endpoints, every connection and session; idempotent. */
  close(): Promise<void>;
}

/**
 * Serves the demo server over WebSocket and Streamable HTTP at once.
 *
 * @example
 * const demo = await startDemoServer({ wsPort: 0, httpPort: 0 });
 * console.log(demo.wsUrl, demo.httpUrl);
 * await demo.close();
 */
export async function startDemoServer(options: StartDemoServerOptions = {}): Promise<DemoServerHandle> {
  const host = options.host ?? '127.0.0.1';
  const createServer = (): McpServer => createDemoMcpServer(options);
  const ws = await serveWebSocket({
    port: options.wsPort ?? 0,
    host,
    createServer,
    onError: options.onError,
  });
  let http: Awaited<ReturnType<typeof serveStreamableHttp>>;
  try {
    http = await serveStreamableHttp({
      port: options.httpPort ?? 0,
      host,
      createServer,
      onError: options.onError,
    });
  } catch (error) {
    await ws.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    wsUrl: ws.url,
    httpUrl: http.url,
    close() {
      closing ??= Promise.all([ws.close(), http.close()]).then(() => undefined);
      return closing;
    },
  };
}

function sleep(durationMs: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new CancelledError('The call was cancelled', { cause: signal.reason }));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new CancelledError('The call was cancelled', { cause: signal.reason }));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, durationMs);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

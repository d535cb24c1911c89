/**
 * The demo MCP server used by the examples, the CLI demo and the integration tests: a small set of
 * tools (safe, slow with progress, failing, non-idempotent, crashing, asking the user), resources
 * with caching hints, a template and a prompt, built on SDK v2's `McpServer`. One definition serves
 * both protocol eras (2026-07-28 and 2025-11-25); which eras an endpoint accepts is its `eras` option.
 */
import { randomBytes } from 'node:crypto';
import {
  acceptedContent,
  type CacheHint,
  createRequestStateCodec,
  inputRequired,
  type McpRequestContext,
  McpServer,
  type McpServerFactory,
  ResourceTemplate,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import { type ServedEras, serveWebSocket } from '../actors/websocket-server-transport.js';
import { CancelledError } from '../errors/index.js';
import { type DemoExtrasHooks, demoChanges, registerDemoExtras } from './demo-extras.js';
import { serveStreamableHttp } from './streamable-http-endpoint.js';

/** Options of {@link createDemoMcpServer}. */
export interface DemoServerOptions {
  /** Register the `crash` tool (exits the process). Only for a server in a child process. */
  allowCrash?: boolean;
  /** Called when a `slow` call is aborted by the client (observes that cancellation reached the server). */
  onSlowAborted?: (reason: unknown) => void;
  /** Called by each `counter` execution, before it counts, with the request's `_meta` (the chaos log). */
  onCounterCall?: (meta: Record<string, unknown> | undefined) => void;
  /** Add the extras (subscribable note, `add-tool`, `log`, `whoami`; see demo-extras.ts). Default off. */
  extras?: boolean | DemoExtrasHooks;
}

/**
 * Caching hints (2026-07-28 `ttlMs`/`cacheScope`) of the demo's cacheable results. Lists and the
 * greeting are stable and public; the counter changes on every `counter` call (never cache it).
 */
export const DEMO_CACHE_HINTS = {
  lists: { ttlMs: 60_000, cacheScope: 'public' },
  greeting: { ttlMs: 300_000, cacheScope: 'public' },
  counter: { ttlMs: 0, cacheScope: 'private' },
  items: { ttlMs: 30_000, cacheScope: 'private' },
} as const satisfies Record<string, CacheHint>;

/** Most questions one `ask` call may ask (one input round each). */
export const DEMO_ASK_MAX_QUESTIONS = 5;

/** What `ask` carries between its input rounds (signed; the client only echoes it). */
interface AskState {
  answers: string[];
}

/**
 * Signs `ask`'s `requestState` with a per-process key: one process serves every round of a flow
 * here, and a tampered or foreign state is refused (-32602) before the handler runs.
 */
const askStateCodec = createRequestStateCodec<AskState>({ key: randomBytes(32) });

/** The elicitation schema of one `ask` question. */
const answerSchema = z.object({ answer: z.string() });

/** Process-wide count of `counter` calls: proves a non-idempotent call ran exactly once. */
let counterValue = 0;

/** The current value of the process-wide `counter`. */
export function getDemoCounter(): number {
  return counterValue;
}

/** Ids listed by the `demo://items/{id}` template. */
const ITEM_IDS = ['1', '2', '3'] as const;

/**
 * Creates one demo MCP server instance (one per connection, 2025 session, or 2026 HTTP request; the
 * counter is shared). `context` is what the SDK's serving entries pass to a factory.
 *
 * @example
 * const endpoint = await serveWebSocket({ createServer: (ctx) => createDemoMcpServer({}, ctx) });
 */
export function createDemoMcpServer(options: DemoServerOptions = {}, context?: McpRequestContext): McpServer {
  const server = new McpServer(
    { name: 'mcp-actors-demo', version: '0.1.0' },
    {
      capabilities: { tools: {}, resources: {}, prompts: {} },
      cacheHints: {
        'tools/list': DEMO_CACHE_HINTS.lists,
        'prompts/list': DEMO_CACHE_HINTS.lists,
        'resources/list': DEMO_CACHE_HINTS.lists,
        'resources/templates/list': DEMO_CACHE_HINTS.lists,
        'server/discover': DEMO_CACHE_HINTS.lists,
      },
      requestState: { verify: askStateCodec.verify },
    },
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
    async ({ durationMs, steps }, ctx) => {
      const progressToken = ctx.mcpReq._meta?.progressToken;
      const signal = ctx.mcpReq.signal;
      try {
        for (let step = 1; step <= steps; step++) {
          await sleep(durationMs / steps, signal);
          if (progressToken !== undefined) {
            await ctx.mcpReq.notify({
              method: 'notifications/progress',
              params: { progressToken, progress: step, total: steps, message: `step ${step}/${steps}` },
            });
          }
        }
      } catch (error) {
        if (signal.aborted) options.onSlowAborted?.(signal.reason);
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
    { description: 'Increments a process-wide counter and returns it (not idempotent).', inputSchema: {} },
    async (_args, ctx) => {
      options.onCounterCall?.(ctx.mcpReq._meta);
      counterValue += 1;
      return { content: [{ type: 'text', text: String(counterValue) }] };
    },
  );

  server.registerTool(
    'ask',
    {
      description:
        'Asks the user `questions` questions, one input round each (2026: input_required rounds ' +
        'with a signed requestState; 2025: elicitation/create requests), and returns the answers.',
      inputSchema: { questions: z.number().int().min(1).max(DEMO_ASK_MAX_QUESTIONS).default(1) },
    },
    async ({ questions }, ctx) => {
      const answers = [...(ctx.mcpReq.requestState<AskState>()?.answers ?? [])];
      const key = `q${answers.length + 1}`;
      const view = ctx.mcpReq.inputResponses?.[key];
      if (view !== undefined) {
        const accepted = acceptedContent(ctx.mcpReq.inputResponses, key, answerSchema);
        if (accepted === undefined) return { isError: true, content: [{ type: 'text', text: 'declined' }] };
        answers.push(accepted.answer);
      }
      if (answers.length >= questions) {
        return { content: [{ type: 'text', text: `answers: ${answers.join(', ')}` }] };
      }
      const next = `q${answers.length + 1}`;
      return inputRequired({
        inputRequests: {
          [next]: inputRequired.elicit({
            message: `Question ${answers.length + 1} of ${questions}?`,
            requestedSchema: answerSchema,
          }),
        },
        requestState: await askStateCodec.mint({ answers }),
      });
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
    { description: 'A greeting.', mimeType: 'text/plain', cacheHint: DEMO_CACHE_HINTS.greeting },
    async (uri) => ({
      contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'Hello from the demo server' }],
    }),
  );

  server.registerResource(
    'counter',
    'demo://counter',
    {
      description: 'The current value of the counter tool.',
      mimeType: 'text/plain',
      cacheHint: DEMO_CACHE_HINTS.counter,
    },
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
    { description: 'An item by id.', mimeType: 'text/plain', cacheHint: DEMO_CACHE_HINTS.items },
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

  if (options.extras) {
    const hooks = options.extras === true ? {} : options.extras;
    // An instance made for one HTTP request must not outlive it by listening to changes.
    registerDemoExtras(server, {
      ...hooks,
      live: context?.requestInfo === undefined && hooks.live !== false,
    });
  }
  return server;
}

/**
 * The factory the serving entries call, for one connection, 2025 session or 2026 HTTP request.
 *
 * @example
 * await serveWebSocket({ createServer: demoServerFactory({ extras: true }) });
 */
export function demoServerFactory(options: DemoServerOptions = {}): McpServerFactory {
  return (context) => createDemoMcpServer(options, context);
}

/** Options of {@link startDemoServer}. */
export interface StartDemoServerOptions extends DemoServerOptions {
  /** Protocol eras accepted on both endpoints. Default `both`. */
  eras?: ServedEras;
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
  const createServer = demoServerFactory(options);
  const ws = await serveWebSocket({
    port: options.wsPort ?? 0,
    host,
    createServer,
    eras: options.eras,
    onError: options.onError,
  });
  let http: Awaited<ReturnType<typeof serveStreamableHttp>>;
  try {
    http = await serveStreamableHttp({
      port: options.httpPort ?? 0,
      host,
      createServer,
      eras: options.eras,
      bus: demoChanges,
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

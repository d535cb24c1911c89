/**
 * `createMockServer()`: a scriptable MCP server for testing code that uses a runtime. It is a real
 * SDK v2 server (one `McpServer` per connection, 2025 session or 2026 HTTP request, all sharing the
 * mock's tools, canned responses, resources, failure script and call log) that speaks the protocol
 * eras asked for (both by default), reachable three ways: in process (`servers.x.mock`, the SDK's
 * `InMemoryTransport`), over a loopback WebSocket, or over Streamable HTTP.
 */
import {
  type CallToolResult,
  InMemoryServerEventBus,
  InMemoryTransport,
  McpServer,
  ProtocolError,
  ProtocolErrorCode,
  type ReadResourceResult,
  type ServerContext,
  type ServerEvent,
  type Tool,
  type ToolAnnotations,
  type Transport,
} from '@modelcontextprotocol/server';
import type { InProcessServer } from '../actors/transport-factory.js';
import {
  type ServedEras,
  serveMcpConnection,
  serveWebSocket,
  type WebSocketServeHandle,
} from '../actors/websocket-server-transport.js';
import { type StreamableHttpEndpoint, serveStreamableHttp } from '../demo/streamable-http-endpoint.js';
import { ValidationError } from '../errors/index.js';

/** What a tool handler gets besides its arguments. */
export interface MockToolContext {
  /** Aborted when the client cancels or the connection closes. */
  signal: AbortSignal;
  /** The mock's id of the connection the call came on (`s1`, `s2`, ...). */
  session: string;
  /** Sends a progress notification for this call (no-op when the caller asked for none). */
  progress(progress: number, total?: number, message?: string): Promise<void>;
}

/**
 * A tool's implementation. Return a `CallToolResult`, a string (one text item) or any other
 * JSON value (sent as JSON text plus `structuredContent`); throw to answer a JSON-RPC error.
 */
export type MockToolHandler = (args: Record<string, unknown>, context: MockToolContext) => unknown;

/** Options of {@link MockServer.addTool}. */
export interface MockToolOptions {
  description?: string;
  /** JSON Schema of the arguments; default: any object. */
  inputSchema?: Tool['inputSchema'];
  /** Hints the runtime reads (e.g. `readOnlyHint`/`idempotentHint` make a tool retryable). */
  annotations?: ToolAnnotations;
}

/**
 * How a scripted failure answers: a JSON-RPC error (an `Error` becomes -32603 with its message),
 * `'tool-error'` (a tool result with `isError`), `'disconnect'` (the connection is cut, the
 * request unanswered) or `'hang'` (never answered; released when cancelled or disconnected).
 */
export type MockFailure =
  | Error
  | { code: number; message: string; data?: unknown }
  | 'tool-error'
  | 'disconnect'
  | 'hang';

/** Which requests a failure or delay applies to: a method (`tools/list`) or a tool name. */
export interface MockMatch {
  method?: string;
  tool?: string;
}

/** One request the mock received, for assertions. */
export interface MockCall {
  /** 1, 2, 3... in arrival order. */
  seq: number;
  method: string;
  /** For `tools/call`: the tool's name. */
  tool: string | undefined;
  params: Record<string, unknown>;
  session: string;
  /** `Date.now()` at arrival (virtual under a virtual clock). */
  at: number;
  outcome: 'pending' | 'ok' | 'error' | 'tool-error' | 'disconnect' | 'hang';
}

/** Options of {@link createMockServer}. */
export interface MockServerOptions {
  name?: string;
  version?: string;
  instructions?: string;
  /** Protocol eras accepted on every way in. Default `both`. */
  eras?: ServedEras;
}

/** Endpoints opened by {@link MockServer.listen}. */
export interface MockServerEndpoints {
  /** `ws://127.0.0.1:port/` (subprotocol `mcp`), when asked for. */
  wsUrl?: string;
  /** `http://127.0.0.1:port/mcp` (Streamable HTTP), when asked for. */
  httpUrl?: string;
}

interface FailureRule extends MockMatch {
  remaining: number;
  failure: MockFailure;
}

interface DelayRule extends MockMatch {
  delayMs: number;
}

interface Session {
  id: string;
  mcp: McpServer;
  subscriptions: Set<string>;
}

/** Methods that are never failed or delayed unless a rule names them. */
const PROTOCOL_METHODS = new Set(['initialize', 'ping', 'server/discover']);

/** JSON-RPC code of a request the mock gave up on (the SDK v1 `RequestTimeout` code). */
const REQUEST_TIMEOUT_CODE = -32001;

/** The `subscriptions/listen` change event of a notification the mock broadcasts, if it is one. */
function changeEvent(method: string, params?: Record<string, unknown>): ServerEvent | undefined {
  switch (method) {
    case 'notifications/tools/list_changed':
      return { kind: 'tools_list_changed' };
    case 'notifications/prompts/list_changed':
      return { kind: 'prompts_list_changed' };
    case 'notifications/resources/list_changed':
      return { kind: 'resources_list_changed' };
    case 'notifications/resources/updated':
      return typeof params?.uri === 'string' ? { kind: 'resource_updated', uri: params.uri } : undefined;
    default:
      return undefined;
  }
}

/** The scriptable mock server. Create it with {@link createMockServer}. */
export class MockServer implements InProcessServer {
  /** Every request received, in order. */
  readonly calls: MockCall[] = [];
  private readonly tools = new Map<string, { tool: Tool; handler: MockToolHandler }>();
  private readonly responses = new Map<string, unknown>();
  private readonly resources = new Map<string, ReadResourceResult['contents']>();
  private readonly failures: FailureRule[] = [];
  private readonly delays: DelayRule[] = [];
  private readonly sessions = new Map<string, Session>();
  private readonly endpoints: Array<WebSocketServeHandle | StreamableHttpEndpoint> = [];
  private readonly connectionsInProcess = new Set<{ close(): Promise<void> }>();
  /** What 2026 `subscriptions/listen` streams over Streamable HTTP follow. */
  private readonly changes = new InMemoryServerEventBus();
  private sessionSeq = 0;

  constructor(private readonly options: MockServerOptions = {}) {}

  /** Registers (or replaces) a tool. Connected clients get `notifications/tools/list_changed`. */
  addTool(name: string, handler: MockToolHandler, options: MockToolOptions = {}): this {
    if (!name) throw new ValidationError('a tool needs a name', 'name');
    const tool: Tool = {
      name,
      inputSchema: options.inputSchema ?? { type: 'object' },
      ...(options.description ? { description: options.description } : {}),
      ...(options.annotations ? { annotations: options.annotations } : {}),
    };
    this.tools.set(name, { tool, handler });
    this.broadcast('notifications/tools/list_changed');
    return this;
  }

  /**
   * A canned answer. `methodOrTool` with a `/` is a method (`prompts/list`, `resources/read`...):
   * every such request gets `result`. Otherwise it is a tool, created if needed, whose calls
   * return `result` (a `CallToolResult`, a string, or any JSON value).
   */
  addResponse(methodOrTool: string, result: unknown): this {
    if (methodOrTool.includes('/')) {
      this.responses.set(methodOrTool, result);
      return this;
    }
    const existing = this.tools.get(methodOrTool);
    if (existing) {
      existing.handler = () => result;
      return this;
    }
    return this.addTool(methodOrTool, () => result);
  }

  /** Serves a resource (text, or `{ blob }` base64). Subscribers get `notifications/resources/updated`. */
  addResource(uri: string, contents: string | { text?: string; blob?: string; mimeType?: string }): this {
    const item =
      typeof contents === 'string'
        ? { uri, mimeType: 'text/plain', text: contents }
        : contents.blob !== undefined
          ? { uri, blob: contents.blob, ...(contents.mimeType ? { mimeType: contents.mimeType } : {}) }
          : { uri, text: contents.text ?? '', ...(contents.mimeType ? { mimeType: contents.mimeType } : {}) };
    const known = this.resources.has(uri);
    this.resources.set(uri, [item]);
    if (!known) this.broadcast('notifications/resources/list_changed');
    this.changes.publish({ kind: 'resource_updated', uri });
    for (const session of this.sessions.values()) {
      // A 2026 connection's listen router filters by subscription; a 2025 one asked per URI.
      if (session.subscriptions.has(uri) || isModern(session))
        void this.notifySession(session, 'notifications/resources/updated', { uri });
    }
    return this;
  }

  /** The next `n` matching requests fail as `failure` (default: a JSON-RPC internal error). */
  failNext(
    n: number,
    failure: MockFailure = { code: ProtocolErrorCode.InternalError, message: 'mock failure' },
    match: MockMatch = {},
  ): this {
    if (!Number.isInteger(n) || n < 0) throw new ValidationError('failNext: n must be an integer >= 0', 'n');
    this.failures.push({ ...match, remaining: n, failure });
    return this;
  }

  /** Answers matching requests `delayMs` later (a timer: a virtual clock drives it). `delay(0)` clears. */
  delay(delayMs: number, match: MockMatch = {}): this {
    if (!Number.isFinite(delayMs) || delayMs < 0)
      throw new ValidationError('delay: delayMs must be >= 0', 'delayMs');
    const same = (r: DelayRule): boolean => r.method === match.method && r.tool === match.tool;
    const i = this.delays.findIndex(same);
    if (i >= 0) this.delays.splice(i, 1);
    if (delayMs > 0) this.delays.push({ ...match, delayMs });
    return this;
  }

  /** The calls of one tool or one method (`ping`, `tools/list`...). */
  callsTo(toolOrMethod: string): MockCall[] {
    return this.calls.filter((c) => c.method === toolOrMethod || c.tool === toolOrMethod);
  }

  /** Forgets the call log (tools, responses and rules stay). */
  clearCalls(): void {
    this.calls.length = 0;
  }

  /** Connections currently open. */
  get connections(): number {
    return this.sessions.size;
  }

  /** Sends a notification to every connected client (e.g. `notifications/tools/list_changed`). */
  notify(method: string, params?: Record<string, unknown>): void {
    this.broadcast(method, params);
  }

  /** Cuts every open connection (clients see the transport close). */
  async disconnectAll(): Promise<void> {
    const inProcess = [...this.connectionsInProcess];
    this.connectionsInProcess.clear();
    const sessions = [...this.sessions.values()];
    // A 2026 HTTP request's instance is never connected, so closing it fires no onclose: forget all.
    this.sessions.clear();
    await Promise.all([...inProcess.map((c) => c.close()), ...sessions.map((s) => s.mcp.close())]);
  }

  /** One in-process connection: the client end of a linked `InMemoryTransport` pair. */
  connect(): Transport {
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    void serveMcpConnection(serverSide, () => this.createSession(), this.options.eras).then((served) => {
      this.connectionsInProcess.add(served);
      const closed = serverSide.onclose;
      serverSide.onclose = () => {
        this.connectionsInProcess.delete(served);
        closed?.();
      };
    });
    return clientSide;
  }

  /** Opens loopback endpoints: WebSocket and/or Streamable HTTP (both by default), on free ports. */
  async listen(
    options: { websocket?: boolean; http?: boolean; host?: string } = {},
  ): Promise<MockServerEndpoints> {
    const host = options.host ?? '127.0.0.1';
    const out: MockServerEndpoints = {};
    if (options.websocket ?? true) {
      const ws = await serveWebSocket({
        port: 0,
        host,
        createServer: () => this.createSession(),
        eras: this.options.eras,
      });
      this.endpoints.push(ws);
      out.wsUrl = ws.url;
    }
    if (options.http ?? true) {
      const http = await serveStreamableHttp({
        port: 0,
        host,
        createServer: () => this.createSession(),
        eras: this.options.eras,
        bus: this.changes,
      });
      this.endpoints.push(http);
      out.httpUrl = http.url;
    }
    return out;
  }

  /** Closes every connection and endpoint; idempotent. */
  async close(): Promise<void> {
    const endpoints = this.endpoints.splice(0);
    await this.disconnectAll();
    await Promise.all(endpoints.map((e) => e.close()));
  }

  /** `await using mock = createMockServer()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private createSession(): McpServer {
    const id = `s${++this.sessionSeq}`;
    // Capabilities go on the low-level server: declared on McpServer they would install its own
    // tool/resource/prompt handlers, and every request must reach the mock's dispatcher instead.
    const mcp = new McpServer(
      { name: this.options.name ?? 'mcp-actors-mock', version: this.options.version ?? '0.0.0' },
      this.options.instructions ? { instructions: this.options.instructions } : {},
    );
    mcp.server.registerCapabilities({
      tools: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      prompts: { listChanged: true },
    });
    const session: Session = { id, mcp, subscriptions: new Set() };
    mcp.server.fallbackRequestHandler = (request, ctx) =>
      this.dispatch(session, request.method, (request.params ?? {}) as Record<string, unknown>, ctx);
    // Pings are answered by the SDK itself; routed here they are logged and can be scripted.
    mcp.server.setRequestHandler('ping', (request, ctx) => this.dispatch(session, request.method, {}, ctx));
    mcp.server.onclose = () => {
      this.sessions.delete(id);
    };
    this.sessions.set(id, session);
    return mcp;
  }

  private async dispatch(
    session: Session,
    method: string,
    params: Record<string, unknown>,
    ctx: ServerContext,
  ): Promise<never> {
    const signal = ctx.mcpReq.signal;
    const tool = method === 'tools/call' ? String(params.name) : undefined;
    const call: MockCall = {
      seq: this.calls.length + 1,
      method,
      tool,
      params,
      session: session.id,
      at: Date.now(),
      outcome: 'pending',
    };
    this.calls.push(call);
    const matches = (r: MockMatch): boolean =>
      (r.method === undefined ? !PROTOCOL_METHODS.has(method) : r.method === method) &&
      (r.tool === undefined || r.tool === tool);
    const delayMs = this.delays.filter(matches).reduce((sum, r) => sum + r.delayMs, 0);
    if (delayMs > 0) await sleep(delayMs, signal);
    const rule = this.failures.find((r) => r.remaining > 0 && matches(r));
    if (rule) {
      rule.remaining--;
      return this.fail(session, call, rule.failure, signal);
    }
    try {
      const result = await this.answer(session, method, params, tool, ctx);
      call.outcome = (result as CallToolResult).isError === true && tool ? 'tool-error' : 'ok';
      return result as never;
    } catch (error) {
      call.outcome = 'error';
      throw error;
    }
  }

  private async fail(
    session: Session,
    call: MockCall,
    failure: MockFailure,
    signal: AbortSignal,
  ): Promise<never> {
    if (failure === 'tool-error') {
      call.outcome = 'tool-error';
      return { content: [{ type: 'text', text: 'mock tool error' }], isError: true } as never;
    }
    if (failure === 'disconnect') {
      call.outcome = 'disconnect';
      await session.mcp.close();
      return new Promise<never>(() => {});
    }
    if (failure === 'hang') {
      call.outcome = 'hang';
      return new Promise<never>((_resolve, reject) => {
        const release = (): void => reject(new ProtocolError(REQUEST_TIMEOUT_CODE, 'mock: released'));
        if (signal.aborted) release();
        else signal.addEventListener('abort', release, { once: true });
      });
    }
    call.outcome = 'error';
    if (failure instanceof Error) throw new ProtocolError(ProtocolErrorCode.InternalError, failure.message);
    throw new ProtocolError(failure.code, failure.message, failure.data);
  }

  private async answer(
    session: Session,
    method: string,
    params: Record<string, unknown>,
    tool: string | undefined,
    ctx: ServerContext,
  ): Promise<unknown> {
    const canned = this.responses.get(method);
    if (canned !== undefined) return canned;
    switch (method) {
      case 'tools/list':
        return { tools: [...this.tools.values()].map((t) => t.tool) };
      case 'tools/call': {
        const entry = this.tools.get(tool as string);
        if (!entry) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Tool ${tool} not found`);
        const token = ctx.mcpReq._meta?.progressToken;
        const context: MockToolContext = {
          signal: ctx.mcpReq.signal,
          session: session.id,
          progress: async (progress, total, message) => {
            if (token === undefined) return;
            await ctx.mcpReq.notify({
              method: 'notifications/progress',
              params: {
                progressToken: token,
                progress,
                ...(total !== undefined ? { total } : {}),
                ...(message ? { message } : {}),
              },
            });
          },
        };
        return toToolResult(
          await entry.handler((params.arguments ?? {}) as Record<string, unknown>, context),
        );
      }
      case 'resources/list':
        return {
          resources: [...this.resources.entries()].map(([uri, contents]) => ({
            uri,
            name: uri,
            ...(contents[0]?.mimeType ? { mimeType: contents[0].mimeType } : {}),
          })),
        };
      case 'resources/templates/list':
        return { resourceTemplates: [] };
      case 'resources/read': {
        const contents = this.resources.get(String(params.uri));
        if (!contents) throw new ProtocolError(-32002, `Resource ${String(params.uri)} not found`);
        return { contents };
      }
      case 'resources/subscribe':
        session.subscriptions.add(String(params.uri));
        return {};
      case 'resources/unsubscribe':
        session.subscriptions.delete(String(params.uri));
        return {};
      case 'prompts/list':
        return { prompts: [] };
      case 'ping':
        return {};
      default:
        throw new ProtocolError(ProtocolErrorCode.MethodNotFound, `Method not found: ${method}`);
    }
  }

  private broadcast(method: string, params?: Record<string, unknown>): void {
    const event = changeEvent(method, params);
    if (event !== undefined) this.changes.publish(event);
    for (const session of this.sessions.values()) void this.notifySession(session, method, params);
  }

  private async notifySession(
    session: Session,
    method: string,
    params?: Record<string, unknown>,
  ): Promise<void> {
    try {
      await session.mcp.server.notification({ method, ...(params ? { params } : {}) });
    } catch {
      // A connection that is going away misses the notification, as a real one would.
    }
  }
}

/** Whether a session serves the 2026-07-28 era (its instance was pinned to it by the serving entry). */
function isModern(session: Session): boolean {
  return session.mcp.server.getNegotiatedProtocolVersion() === '2026-07-28';
}

function toToolResult(value: unknown): CallToolResult {
  if (typeof value === 'string') return { content: [{ type: 'text', text: value }] };
  if (value && typeof value === 'object' && Array.isArray((value as CallToolResult).content)) {
    return value as CallToolResult;
  }
  const text = JSON.stringify(value ?? null);
  return {
    content: [{ type: 'text', text }],
    ...(value && typeof value === 'object' && !Array.isArray(value)
      ? { structuredContent: value as Record<string, unknown> }
      : {}),
  };
}

function sleep(durationMs: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new ProtocolError(REQUEST_TIMEOUT_CODE, 'mock: cancelled while delayed'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, durationMs);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Creates a mock MCP server. Connect a runtime to it in process with `servers: { x: { mock } }`,
 * or over loopback sockets with `await mock.listen()`.
 *
 * @example
 * const mock = createMockServer().addTool('echo', ({ text }) => String(text)).failNext(1, 'disconnect');
 * const rt = createRuntime({ servers: { demo: { mock } } });
 * await rt.callTool('demo', 'echo', { text: 'hi' }); // reconnects once, then answers
 * expect(mock.callsTo('echo')).toHaveLength(2);
 */
export function createMockServer(options: MockServerOptions = {}): MockServer {
  return new MockServer(options);
}

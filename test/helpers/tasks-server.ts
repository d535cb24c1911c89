/**
 * A 2026-07-28-only MCP server with the tasks extension (`io.modelcontextprotocol/tasks`), over
 * WebSocket (`url`) and Streamable HTTP (`httpUrl`). SDK v2's server (2.4.0) has no tasks extension
 * and stamps every tools/call result `complete`, so the extension's messages are answered here,
 * before the SDK server sees them; everything else (discover, tools/list, a call that did not
 * declare the extension: the tool runs at once) is the SDK's `McpServer`.
 *
 * Over HTTP it is as strict as a 2026 server must be (SEP-2243 standard headers, SEP-2663's
 * `tasks/*` binding): every request POST carries `MCP-Protocol-Version`, `Mcp-Method` equal to the
 * body's method, and, for `tools/call` and `tasks/get|update|cancel`, `Mcp-Name` equal to
 * `params.name` / `params.taskId`; anything else is HTTP 400 with -32020 naming the header.
 *
 * The task store belongs to the server, not to a connection: a client that reconnects (or another
 * process) finds its task again.
 *
 * With `pushes` (WebSocket), a `subscriptions/listen` whose filter names tasks (`notifications.taskIds`,
 * the extension's addition) is answered here: acknowledged, then every status change of those
 * tasks is pushed as `notifications/tasks` (the task as `tasks/get` shows it). Without, the SDK
 * answers the listen and nothing is pushed.
 *
 * Tool `report { topic, steps?, hold?, ask?, fail? }`: a task that reports `step i/n` every
 * `stepMs`, then completes with `report: TOPIC`; `hold` keeps it working until `finish(id)`; `ask`
 * asks an elicitation (`format`) after the first step; `fail` ends it `failed` (-32603).
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@modelcontextprotocol/node';
import {
  createMcpHandler,
  type JSONRPCMessage,
  McpServer,
  type Transport,
} from '@modelcontextprotocol/server';
import { WebSocketServer } from 'ws';
import { z } from 'zod';
import { serveMcpConnection, WebSocketServerTransport } from '../../src/actors/websocket-server-transport.js';

const TASKS = 'io.modelcontextprotocol/tasks';
const CAPS = 'io.modelcontextprotocol/clientCapabilities';
const SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId';

/** A task as the server holds it. */
export interface ServerTask {
  taskId: string;
  status: 'working' | 'input_required' | 'completed' | 'failed' | 'cancelled';
  statusMessage?: string;
  createdAt: string;
  lastUpdatedAt: string;
  ttlMs: number | null;
  pollIntervalMs: number;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
  inputRequests?: Record<string, unknown>;
  /** What `tasks/update` delivered. */
  answers: Record<string, unknown>;
}

/** A running task server. */
export interface TaskServer {
  /** WebSocket. */
  url: string;
  /** Streamable HTTP (`/mcp`). */
  httpUrl: string;
  /** Every HTTP request POST as `METHOD mcp-method=… mcp-name=…` (`-` for an absent header), in order. */
  httpLog: string[];
  tasks: Map<string, ServerTask>;
  /**
   * `METHOD TASKID` of every tasks request (and `tools/call TASKID` for a created task), in order;
   * with `pushes`, also `subscriptions/listen TASKIDS` and `notifications/tasks TASKID STATUS`.
   */
  log: string[];
  /** While true, `tasks/get` goes unanswered (a poll in flight when the connection drops). */
  stallGets: boolean;
  /** Ends a `hold` task: it completes. */
  finish(taskId: string): void;
  /** Terminates every open socket (the tasks stay). */
  dropConnections(): void;
  close(): Promise<void>;
}

/** Starts one on 127.0.0.1 (a free port). */
export async function startTaskServer(
  options: { stepMs?: number; pollIntervalMs?: number; pushes?: boolean } = {},
): Promise<TaskServer> {
  const stepMs = options.stepMs ?? 100;
  const pollIntervalMs = options.pollIntervalMs ?? 100;
  const tasks = new Map<string, ServerTask>();
  const timers = new Set<NodeJS.Timeout>();
  const log: string[] = [];
  const handle_ = { stallGets: false } as TaskServer;

  // With `pushes`: the `subscriptions/listen` streams that name tasks (`notifications.taskIds`).
  const listens = new Map<string | number, { taskIds: string[]; send: (m: JSONRPCMessage) => void }>();
  const touch = (t: ServerTask, patch: Partial<ServerTask>): void => {
    if (t.status === 'completed' || t.status === 'failed' || t.status === 'cancelled') return;
    Object.assign(t, patch, { lastUpdatedAt: new Date().toISOString() });
    if (patch.status !== 'input_required') delete t.inputRequests;
    const { answers: _a, ...wire } = t;
    for (const [id, listen] of listens) {
      if (!listen.taskIds.includes(t.taskId)) continue;
      log.push(`notifications/tasks ${t.taskId} ${t.status}`);
      listen.send({
        jsonrpc: '2.0',
        method: 'notifications/tasks',
        params: { ...wire, _meta: { [SUBSCRIPTION_ID]: id } },
      } as JSONRPCMessage);
    }
  };
  const later = (fn: () => void, ms: number): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };
  const complete = (t: ServerTask, topic: string): void => {
    const format = (t.answers.format as { content?: { format?: string } } | undefined)?.content?.format;
    touch(t, {
      status: 'completed',
      statusMessage: 'done',
      result: { content: [{ type: 'text', text: `report: ${topic}${format ? ` as ${format}` : ''}` }] },
    });
  };
  const run = (t: ServerTask, args: Record<string, unknown>): void => {
    const steps = typeof args.steps === 'number' ? args.steps : 3;
    const topic = String(args.topic);
    let step = 0;
    const next = (): void => {
      if (t.status === 'cancelled') return;
      if (t.status === 'input_required') {
        later(next, stepMs);
        return;
      }
      step++;
      if (args.ask && step === 2 && !('format' in t.answers)) {
        touch(t, {
          status: 'input_required',
          statusMessage: 'which format?',
          inputRequests: {
            format: {
              method: 'elicitation/create',
              params: {
                mode: 'form',
                message: `Which format for ${topic}?`,
                requestedSchema: {
                  type: 'object',
                  properties: { format: { type: 'string' } },
                  required: ['format'],
                },
              },
            },
          },
        });
        later(next, stepMs);
        return;
      }
      if (step > steps) {
        if (args.fail) touch(t, { status: 'failed', error: { code: -32603, message: 'backend exploded' } });
        else if (!args.hold) complete(t, topic);
        return;
      }
      touch(t, { status: 'working', statusMessage: `step ${step}/${steps}` });
      later(next, stepMs);
    };
    later(next, stepMs);
    holds.set(t.taskId, () => complete(t, topic));
  };
  const holds = new Map<string, () => void>();

  const declared = (params: { _meta?: Record<string, { extensions?: object }> } | undefined): boolean =>
    Boolean(params?._meta?.[CAPS]?.extensions && TASKS in (params._meta[CAPS].extensions as object));

  /** Answers a tasks-extension message itself; false leaves it to the SDK server. */
  const handle = (message: JSONRPCMessage, reply: (m: JSONRPCMessage) => void): boolean => {
    const m = message as { id?: string | number; method?: string; params?: Record<string, unknown> };
    if (m.method === 'notifications/cancelled') listens.delete(m.params?.requestId as string);
    if (m.id === undefined || m.method === undefined) return false;
    const taskIds = (m.params?.notifications as { taskIds?: unknown } | undefined)?.taskIds;
    if (m.method === 'subscriptions/listen' && options.pushes && Array.isArray(taskIds)) {
      log.push(`subscriptions/listen ${taskIds.join(',')}`);
      listens.set(m.id, { taskIds: taskIds as string[], send: reply });
      reply({
        jsonrpc: '2.0',
        method: 'notifications/subscriptions/acknowledged',
        params: { _meta: { [SUBSCRIPTION_ID]: m.id }, notifications: { taskIds } },
      } as JSONRPCMessage);
      return true;
    }
    const params = m.params as
      | { name?: string; arguments?: Record<string, unknown>; taskId?: string }
      | undefined;
    const ok = (result: Record<string, unknown>) =>
      reply({ jsonrpc: '2.0', id: m.id, result } as JSONRPCMessage);
    const fail = (code: number, text: string) =>
      reply({ jsonrpc: '2.0', id: m.id, error: { code, message: text } } as JSONRPCMessage);
    if (m.method === 'tools/call') {
      if (params?.name !== 'report' || !declared(m.params as never)) return false;
      const now = new Date().toISOString();
      const t: ServerTask = {
        taskId: randomUUID(),
        status: 'working',
        statusMessage: 'queued',
        createdAt: now,
        lastUpdatedAt: now,
        ttlMs: 600_000,
        pollIntervalMs,
        answers: {},
      };
      tasks.set(t.taskId, t);
      log.push(`tools/call ${t.taskId}`);
      run(t, params.arguments ?? {});
      const { answers: _a, ...wire } = t;
      ok({ resultType: 'task', ...wire });
      return true;
    }
    if (m.method !== 'tasks/get' && m.method !== 'tasks/update' && m.method !== 'tasks/cancel') return false;
    log.push(`${m.method} ${params?.taskId}`);
    if (!declared(m.params as never)) {
      fail(-32021, 'Missing required client capability');
      return true;
    }
    const t = tasks.get(String(params?.taskId));
    if (!t) {
      fail(-32602, 'Failed to retrieve task: Task not found');
      return true;
    }
    if (m.method === 'tasks/get') {
      if (handle_.stallGets) return true;
      const { answers: _a, ...wire } = t;
      ok({ resultType: 'complete', ...wire });
    } else if (m.method === 'tasks/update') {
      const responses = (m.params as { inputResponses?: Record<string, unknown> }).inputResponses ?? {};
      Object.assign(t.answers, responses);
      if ('format' in responses) touch(t, { status: 'working', statusMessage: 'answered' });
      ok({ resultType: 'complete' });
    } else {
      touch(t, { status: 'cancelled', statusMessage: 'cancelled by the client' });
      ok({ resultType: 'complete' });
    }
    return true;
  };

  const factory = () => {
    const server = new McpServer(
      { name: 'tasks-server', version: '1.0.0' },
      { capabilities: { tools: {}, extensions: { [TASKS]: {} } } as never },
    );
    server.registerTool(
      'report',
      {
        description: 'Writes a report (a task when the client declares the tasks extension).',
        inputSchema: {
          topic: z.string(),
          steps: z.number().optional(),
          hold: z.boolean().optional(),
          ask: z.boolean().optional(),
          fail: z.boolean().optional(),
        },
      },
      async ({ topic }) => ({ content: [{ type: 'text', text: `report: ${topic} (at once)` }] }),
    );
    return server;
  };

  const modern = createMcpHandler(factory, { legacy: 'reject' });
  const httpLog: string[] = [];
  const serveHttp = async (request: Request): Promise<Response> => {
    const body =
      request.method === 'POST'
        ? ((await request
            .clone()
            .json()
            .catch(() => undefined)) as JSONRPCMessage | undefined)
        : undefined;
    const m = body as { id?: string | number; method?: string; params?: Record<string, unknown> } | undefined;
    if (m?.method === undefined || m.id === undefined) return modern.fetch(request);
    const header = (name: string): string | undefined => request.headers.get(name) ?? undefined;
    httpLog.push(
      `${m.method} mcp-method=${header('mcp-method') ?? '-'} mcp-name=${header('mcp-name') ?? '-'}`,
    );
    const wrong = wrongStandardHeader(m.method, m.params, header);
    if (wrong !== undefined)
      return Response.json(
        { jsonrpc: '2.0', id: m.id, error: { code: -32020, message: `Header mismatch: ${wrong}` } },
        { status: 400 },
      );
    const answer = new Promise<JSONRPCMessage>((resolve) => {
      if (!handle(body as JSONRPCMessage, resolve)) resolve(undefined as never);
    });
    const reply = await answer;
    return reply === undefined ? modern.fetch(request) : Response.json(reply);
  };
  const toNode = toNodeHandler({ fetch: serveHttp });
  const http = createServer((req, res) => {
    void toNode(req, res).catch(() => res.writeHead(500).end());
  });
  const wss = new WebSocketServer({ server: http, handleProtocols: () => 'mcp' });
  wss.on('connection', (socket) => {
    const inner = new WebSocketServerTransport(socket);
    const filtered: Transport = {
      start: () => inner.start(),
      send: (message) => inner.send(message),
      close: () => inner.close(),
    };
    inner.onclose = () => filtered.onclose?.();
    inner.onerror = (error) => filtered.onerror?.(error);
    inner.onmessage = (message) => {
      if (!handle(message, (reply) => void inner.send(reply).catch(() => undefined)))
        filtered.onmessage?.(message);
    };
    void serveMcpConnection(filtered, factory, '2026-07-28').catch(() => socket.close());
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  Object.assign(handle_, {
    url: `ws://127.0.0.1:${port}/`,
    httpUrl: `http://127.0.0.1:${port}/mcp`,
    httpLog,
    tasks,
    log,
    finish: (taskId: string) => holds.get(taskId)?.(),
    dropConnections: () => {
      for (const socket of wss.clients) socket.terminate();
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of wss.clients) socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await modern.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  });
  return handle_;
}

/** The body field `Mcp-Name` mirrors, per method (SEP-2243; SEP-2663 for `tasks/*`). */
const NAME_SOURCE: Record<string, string> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
};

/** What is wrong with a request's standard headers (undefined: nothing), as a strict 2026 server sees it. */
function wrongStandardHeader(
  method: string,
  params: Record<string, unknown> | undefined,
  header: (name: string) => string | undefined,
): string | undefined {
  if (header('mcp-protocol-version') !== '2026-07-28')
    return `MCP-Protocol-Version is ${header('mcp-protocol-version') ?? 'missing'}`;
  if (header('mcp-method') !== method)
    return `Mcp-Method is ${header('mcp-method') ?? 'missing'}, the body says ${method}`;
  const field = Object.hasOwn(NAME_SOURCE, method) ? NAME_SOURCE[method] : undefined;
  if (field === undefined) return undefined;
  const value = params?.[field];
  if (header('mcp-name') !== value)
    return `Mcp-Name is ${header('mcp-name') ?? 'missing'}, params.${field} is ${String(value)}`;
  return undefined;
}

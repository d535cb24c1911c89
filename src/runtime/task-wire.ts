/**
 * The wire of task-augmented tool calls, per protocol era; tasks.ts drives either to the end.
 *
 * - 2025-11-25 (experimental tasks, `legacy`): `tools/call` with `task: { ttl }` answers with
 *   `{ task }`; `tasks/get` polls; `tasks/result` blocks until the end and carries the server's
 *   requests of an input round (so it is sent when the task asks for input, and polls go on
 *   alongside it); `tasks/cancel`.
 * - 2026-07-28 (the `io.modelcontextprotocol/tasks` extension, `modern`): the call declares the
 *   extension in its `_meta` client capabilities and the server decides whether to answer with a
 *   task (`resultType: "task"`); `tasks/get` polls and inlines the result, the JSON-RPC error or
 *   the pending `inputRequests`, which `tasks/update` answers; `tasks/cancel` is an empty ack.
 *   Shapes are checked with the extension's own schemas (`@modelcontextprotocol/ext-tasks/core/v2`).
 *
 * Over Streamable HTTP the SDK's transport names the method in `Mcp-Method` and the task in
 * `Mcp-Name` (from `params.taskId`, SEP-2663's binding), so intermediaries can route a task's
 * requests to the instance holding it (tested in test/integration/tasks-2026.test.ts).
 *
 * Every request goes through the server's call path (queue, breaker, retries): `tasks/get`,
 * `tasks/result`, `tasks/update` (keys are answered once) and `tasks/cancel` are safe to repeat
 * (request-kind.ts).
 */
import {
  type CallToolRequest,
  type CallToolResult,
  type Client,
  type ClientCapabilities,
  type CreateTaskResult,
  type RequestOptions,
  specTypeSchemas,
  type TaskStatus,
} from '@modelcontextprotocol/client';
import {
  CreateTaskResultV2Schema,
  DetailedTaskV2Schema,
  withTaskCapabilityV2,
} from '@modelcontextprotocol/ext-tasks/core/v2';
import { CLIENT_CAPABILITIES_META_KEY, TASK_HANDLE_META_KEY } from '../actors/task-results.js';
import { ProtocolError, RemoteError } from '../errors/index.js';
import type { CallOptions } from './call-path.js';
import type { ServerHandle } from './server-handle.js';
import type { InputRequest } from './server-requests.js';

/** A task as one answer described it, in either era's terms. */
export interface TaskSnapshot {
  taskId: string;
  status: TaskStatus;
  statusMessage?: string | undefined;
  /** The server's suggested poll interval. */
  pollIntervalMs?: number | undefined;
  /** 2026: the final result of a `completed` task. */
  result?: Record<string, unknown> | undefined;
  /** 2026: the JSON-RPC error of a `failed` task. */
  error?: { code: number; message: string; data?: unknown } | undefined;
  /** 2026: what an `input_required` task asks, keyed by the server. */
  inputRequests?: Record<string, InputRequest> | undefined;
}

/** One era's task requests. */
export interface TaskWire {
  era: 'modern' | 'legacy';
  /** Polling stops here; then {@link finish}. */
  stopsAt(task: TaskSnapshot): boolean;
  /** `caps`: the client capabilities a 2026 request declares (the extension is added to them). */
  get(h: ServerHandle, taskId: string, options: CallOptions, caps: ClientCapabilities): Promise<TaskSnapshot>;
  /**
   * The tool's result of a task polling stopped at. 2025: `tasks/result`, sent as soon as the task
   * asks for input (it carries the server's requests and answers when the task ends).
   */
  finish(h: ServerHandle, task: TaskSnapshot, label: string, options: CallOptions): Promise<CallToolResult>;
  /** Sends answers to a task's input requests (2026 only). */
  update?(
    h: ServerHandle,
    taskId: string,
    responses: Record<string, unknown>,
    options: CallOptions,
    caps: ClientCapabilities,
  ): Promise<void>;
  cancel(h: ServerHandle, taskId: string, options: CallOptions, caps: ClientCapabilities): Promise<void>;
}

const TERMINAL: ReadonlySet<TaskStatus> = new Set(['completed', 'failed', 'cancelled']);

/** The 2025-11-25 experimental tasks. */
export const legacyTasks: TaskWire = {
  era: 'legacy',
  // An input round is asked through `tasks/result` (tasks.ts sends it then, and polls on).
  stopsAt: (task) => TERMINAL.has(task.status),
  async get(h, taskId, options) {
    const t = await h.call(`tasks/get ${taskId}`, options, (client, opts) =>
      client.request({ method: 'tasks/get', params: { taskId } }, specTypeSchemas.GetTaskResult, opts),
    );
    return { ...t, pollIntervalMs: t.pollInterval ?? undefined };
  },
  finish(h, task, _label, options) {
    return h.call(`tasks/result ${task.taskId}`, options, (client, opts) =>
      client.request(
        { method: 'tasks/result', params: { taskId: task.taskId } },
        specTypeSchemas.CallToolResult,
        opts,
      ),
    );
  },
  async cancel(h, taskId, options) {
    await h.call(`tasks/cancel ${taskId}`, options, (client, opts) =>
      client.request({ method: 'tasks/cancel', params: { taskId } }, specTypeSchemas.CancelTaskResult, opts),
    );
  },
};

/** The 2026-07-28 tasks extension. */
export const modernTasks: TaskWire = {
  era: 'modern',
  stopsAt: (task) => TERMINAL.has(task.status),
  async get(h, taskId, options, caps) {
    const t = await h.call(`tasks/get ${taskId}`, options, (client, opts) =>
      client.request(
        { method: 'tasks/get', params: declaring({ taskId }, caps) },
        DetailedTaskV2Schema,
        opts,
      ),
    );
    return t as TaskSnapshot;
  },
  async finish(h, task, label) {
    if (task.status === 'failed' && task.error)
      throw new RemoteError(
        `${label} on ${h.name} failed: ${task.error.message}`,
        task.error.code,
        task.error.data,
        {
          server: h.name,
        },
      );
    return parseAs<CallToolResult>(task.result, 'CallToolResult');
  },
  async update(h, taskId, inputResponses, options, caps) {
    await h.call(`tasks/update ${taskId}`, options, (client, opts) =>
      client.request(
        { method: 'tasks/update', params: declaring({ taskId, inputResponses }, caps) },
        specTypeSchemas.Result,
        opts,
      ),
    );
  },
  async cancel(h, taskId, options, caps) {
    await h.call(`tasks/cancel ${taskId}`, options, (client, opts) =>
      client.request(
        { method: 'tasks/cancel', params: declaring({ taskId }, caps) },
        specTypeSchemas.Result,
        opts,
      ),
    );
  },
};

/** What the creating `tools/call` needs. */
export interface CreateTaskSpec {
  tool: string;
  params: CallToolRequest['params'];
  options: CallOptions;
  /** 2025: the requested `ttl`. */
  ttlMs?: number | undefined;
  /** 2026: the client capabilities the extension is added to (the request's own replace the SDK's). */
  capabilities: ClientCapabilities;
}

/**
 * Sends the creating `tools/call` (it obeys the tool's retry rule): a task, or, from a server that
 * ran the tool at once (its choice in both eras), the result itself.
 */
export function createTask(
  h: ServerHandle,
  wire: TaskWire,
  spec: CreateTaskSpec,
): Promise<TaskSnapshot | CallToolResult> {
  const params =
    wire.era === 'legacy'
      ? { ...spec.params, task: spec.ttlMs === undefined ? {} : { ttl: spec.ttlMs } }
      : declaring(spec.params, spec.capabilities);
  return h.callTool(spec.tool, spec.options, wire.era === 'legacy' ? sendLegacy : sendModern, {
    arg: params,
  });
}

function sendLegacy(
  client: Client,
  opts: RequestOptions,
  arg: unknown,
): Promise<TaskSnapshot | CallToolResult> {
  return client
    .request({ method: 'tools/call', params: arg as CallToolRequest['params'] }, specTypeSchemas.Result, opts)
    .then((raw) => {
      if (!('task' in raw)) return parseAs<CallToolResult>(raw, 'CallToolResult');
      const { task } = parseAs<CreateTaskResult>(raw, 'CreateTaskResult');
      return { ...task, pollIntervalMs: task.pollInterval ?? undefined };
    });
}

function sendModern(
  client: Client,
  opts: RequestOptions,
  arg: unknown,
): Promise<TaskSnapshot | CallToolResult> {
  return client
    .request({ method: 'tools/call', params: arg as CallToolRequest['params'] }, specTypeSchemas.Result, opts)
    .then((raw) => {
      // The transport lifted the server's task result here (actors/task-results.ts).
      const lifted = raw._meta?.[TASK_HANDLE_META_KEY];
      if (lifted === undefined) return parseAs<CallToolResult>(raw, 'CallToolResult');
      const out = CreateTaskResultV2Schema.safeParse(lifted);
      if (!out.success) {
        const issue = out.error.issues[0];
        throw new ProtocolError(
          `The server's CreateTaskResult is malformed at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? ''}`,
        );
      }
      return out.data;
    });
}

/**
 * `params` with the client capabilities plus the tasks extension in `_meta`: every request of the
 * extension declares it (a server refuses `tasks/*` from a non-declaring request with -32021). The
 * request's key replaces the SDK's envelope entry, so it carries the configured capabilities too.
 */
function declaring<P extends object>(params: P, caps: ClientCapabilities): P {
  const meta = (params as { _meta?: Record<string, unknown> })._meta;
  return withTaskCapabilityV2({
    ...params,
    _meta: { ...meta, [CLIENT_CAPABILITIES_META_KEY]: caps },
  } as Parameters<typeof withTaskCapabilityV2>[0]) as unknown as P;
}

/** Validates `raw` with the SDK's schema of `type`; a mismatch is PROTOCOL naming the field. */
export function parseAs<T>(raw: unknown, type: 'CreateTaskResult' | 'CallToolResult'): T {
  const out = specTypeSchemas[type]['~standard'].validate(raw);
  if (out instanceof Promise) throw new ProtocolError(`${type}: asynchronous validation is not supported`);
  if (out.issues) {
    const issue = out.issues[0];
    const path = issue?.path?.map((p) => (typeof p === 'object' ? String(p.key) : String(p))).join('.') ?? '';
    throw new ProtocolError(
      `The server's ${type} is malformed at ${path || '(root)'}: ${issue?.message ?? ''}`,
    );
  }
  return out.value as T;
}

/** True for what {@link createTask} returns when the server made a task. */
export function isTaskSnapshot(r: TaskSnapshot | CallToolResult): r is TaskSnapshot {
  return typeof (r as TaskSnapshot).taskId === 'string' && typeof (r as TaskSnapshot).status === 'string';
}

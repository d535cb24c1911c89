/**
 * Task-augmented tool calls (the 2025-11-25 experimental tasks): `tools/call` with `task: { ttl }`
 * answers at once with a task, which is polled with `tasks/get` until it ends; `tasks/result`
 * then gives the tool's result. One long operation for the caller: `rt.callTool(..., { task: true })`
 * resolves with the final result, bounded by the call's timeout; an abort sends `tasks/cancel`.
 *
 * Every request goes through the server's call path (queue, breaker, retries): the creating
 * `tools/call` obeys the tool's retry rule; `tasks/get`, `tasks/result` and `tasks/cancel` read or
 * settle the same task, so they are safe to repeat (see request-kind.ts).
 */
import {
  type CallToolRequest,
  type CallToolResult,
  type Client,
  type CreateTaskResult,
  type GetTaskResult,
  type RequestOptions,
  specTypeSchemas,
  type TaskStatus,
} from '@modelcontextprotocol/client';
import {
  CancelledError,
  McpRuntimeError,
  ProtocolError,
  TimeoutError,
  ValidationError,
} from '../errors/index.js';
import type { CallOptions } from './call-path.js';
import type { ServerHandle } from './server-handle.js';

/** `task` option of `callTool`: `true` for the defaults. */
export interface TaskCallOptions {
  /** How long the server keeps the task and its result after creation (`ttl`). Default: the server's. */
  ttlMs?: number;
  /** Polls never come faster than this, whatever the server suggests. Default 50 ms. */
  minPollIntervalMs?: number;
  /** Backoff cap while the status does not change. Default 5 000 ms (never below the server's hint). */
  maxPollIntervalMs?: number;
}

/** A status the task reported (`tasks/get`), delivered when status or message changes. */
export interface TaskStatusUpdate {
  taskId: string;
  status: TaskStatus;
  statusMessage?: string | undefined;
  /** The server's suggested poll interval, when it sent one. */
  pollIntervalMs?: number | undefined;
}

/** What {@link runToolTask} needs from the facade. */
export interface ToolTaskSpec {
  tool: string;
  params: CallToolRequest['params'];
  options: CallOptions;
  task: TaskCallOptions;
  onStatus?: ((update: TaskStatusUpdate) => void) | undefined;
  /** The facade's result check (structuredContent, `isError` as TOOL). */
  check: (result: CallToolResult) => CallToolResult;
}

const TERMINAL: ReadonlySet<TaskStatus> = new Set(['completed', 'failed', 'cancelled']);
const BACKOFF_FACTOR = 1.5;
/** `tasks/cancel` after an abort or timeout gets at most this long: the caller has already given up. */
const CANCEL_TIMEOUT_MS = 5_000;

/** Runs a task-augmented `tools/call` to its end; see the file comment. */
export async function runToolTask(h: ServerHandle, spec: ToolTaskSpec): Promise<CallToolResult> {
  const { options, task } = spec;
  checkTaskOptions(h.name, spec.tool, task);
  if (h.protocolStatus().era === 'modern')
    throw new ProtocolError(
      `tools/call ${spec.tool} on ${h.name}: tasks on a 2026-07-28 server (the io.modelcontextprotocol/tasks extension) are not supported yet`,
      { server: h.name },
    );
  const totalMs = options.timeoutMs ?? h.config.timeoutMs;
  const deadlineAt = Date.now() + totalMs;
  const remaining = (): number => Math.max(1, deadlineAt - Date.now());
  const params = { ...spec.params, task: task.ttlMs === undefined ? {} : { ttl: task.ttlMs } };
  const created = await h.callTool(spec.tool, { ...options, timeoutMs: totalMs }, createTask, {
    arg: params,
  });
  // A server that ran the tool at once (task support optional and not used) answers the result itself.
  if (!isCreateTaskResult(created)) return spec.check(created);
  const taskId = created.task.taskId;
  const label = `tools/call ${spec.tool} (task ${taskId})`;
  let cancelledByServer = false;
  try {
    let last: TaskStatusUpdate | undefined;
    let current: CreateTaskResult['task'] | GetTaskResult = created.task;
    let intervalMs = 0;
    for (;;) {
      const update: TaskStatusUpdate = {
        taskId,
        status: current.status,
        statusMessage: current.statusMessage,
        pollIntervalMs: current.pollInterval ?? undefined,
      };
      const changed =
        last === undefined || last.status !== update.status || last.statusMessage !== update.statusMessage;
      if (changed) spec.onStatus?.(update);
      last = update;
      if (current.status === 'cancelled') {
        cancelledByServer = true;
        throw new CancelledError(`${label} on ${h.name} was cancelled by the server`, { server: h.name });
      }
      // `tasks/result` blocks until the task ends and carries the server's requests of an input round.
      if (TERMINAL.has(current.status) || current.status === 'input_required') break;
      intervalMs = nextPollIntervalMs(intervalMs, changed, update.pollIntervalMs, task);
      await sleep(Math.min(intervalMs, deadlineAt - Date.now()), options.signal);
      if (Date.now() >= deadlineAt) throw timeout(label, h.name, totalMs);
      current = await h.call(`tasks/get ${taskId}`, withTimeout(options, remaining()), getTask(taskId));
    }
    const result = await h.call(
      `tasks/result ${taskId}`,
      withTimeout(options, remaining()),
      getTaskResult(taskId),
    );
    return spec.check(result);
  } catch (error) {
    const mapped = options.signal?.aborted
      ? new CancelledError(`${label} on ${h.name} was cancelled`, { server: h.name, cause: error })
      : error instanceof McpRuntimeError && error.code === 'TIMEOUT'
        ? timeout(label, h.name, totalMs, error)
        : error;
    // The caller gave up (abort, timeout): the server stops the work too.
    if (!cancelledByServer && (mapped instanceof CancelledError || mapped instanceof TimeoutError))
      await cancelTask(h, taskId, options);
    throw mapped;
  }
}

/** Bad `task` options fail before anything is sent, naming the field. */
function checkTaskOptions(server: string, tool: string, task: TaskCallOptions): void {
  for (const key of ['ttlMs', 'minPollIntervalMs', 'maxPollIntervalMs'] as const) {
    const value = task[key];
    if (value === undefined) continue;
    const ok =
      key === 'ttlMs' ? Number.isSafeInteger(value) && value > 0 : Number.isFinite(value) && value >= 0;
    if (!ok)
      throw new ValidationError(
        `tools/call ${tool} on ${server}: task.${key} must be ${key === 'ttlMs' ? 'a positive integer' : 'a finite number >= 0'} (got ${String(value)})`,
        `task.${key}`,
        { server },
      );
  }
}

/**
 * The next poll interval: the server's hint (never below `minPollIntervalMs`) after a change,
 * then growing by {@link BACKOFF_FACTOR} while nothing changes, capped (but never below the hint).
 */
export function nextPollIntervalMs(
  previousMs: number,
  changed: boolean,
  hintMs: number | undefined,
  task: TaskCallOptions,
): number {
  const floorMs = Math.max(task.minPollIntervalMs ?? 50, hintMs ?? 0);
  const capMs = Math.max(task.maxPollIntervalMs ?? 5_000, floorMs);
  if (changed || previousMs === 0) return floorMs;
  return Math.min(capMs, Math.max(floorMs, previousMs * BACKOFF_FACTOR));
}

/** Sends `tasks/cancel` without the caller's (aborted) signal; its failure changes nothing for the caller. */
async function cancelTask(h: ServerHandle, taskId: string, options: CallOptions): Promise<void> {
  const { signal: _signal, onProgress: _onProgress, ...rest } = options;
  await h
    .call(`tasks/cancel ${taskId}`, { ...rest, timeoutMs: CANCEL_TIMEOUT_MS }, (client, opts) =>
      client.request({ method: 'tasks/cancel', params: { taskId } }, specTypeSchemas.CancelTaskResult, opts),
    )
    .catch(() => undefined);
}

function withTimeout(options: CallOptions, timeoutMs: number): CallOptions {
  // Polls are short requests: the call's progress callback belongs to the creating request only.
  const { onProgress: _onProgress, resetTimeoutOnProgress: _reset, ...rest } = options;
  return { ...rest, timeoutMs };
}

function timeout(label: string, server: string, totalMs: number, cause?: unknown): TimeoutError {
  return new TimeoutError(`${label} on ${server} timed out after ${totalMs} ms`, totalMs, { server, cause });
}

/** The creating `tools/call`: a task, or (a server that ran it at once) the result. */
function createTask(
  client: Client,
  opts: RequestOptions,
  arg: unknown,
): Promise<CreateTaskResult | CallToolResult> {
  const params = arg as CallToolRequest['params'];
  return client
    .request({ method: 'tools/call', params }, specTypeSchemas.Result, opts)
    .then((raw) =>
      parseAs<CreateTaskResult | CallToolResult>(raw, 'task' in raw ? 'CreateTaskResult' : 'CallToolResult'),
    );
}

function getTask(taskId: string) {
  return (client: Client, opts: RequestOptions): Promise<GetTaskResult> =>
    client.request({ method: 'tasks/get', params: { taskId } }, specTypeSchemas.GetTaskResult, opts);
}

function getTaskResult(taskId: string) {
  return (client: Client, opts: RequestOptions): Promise<CallToolResult> =>
    client.request({ method: 'tasks/result', params: { taskId } }, specTypeSchemas.CallToolResult, opts);
}

function isCreateTaskResult(r: CreateTaskResult | CallToolResult): r is CreateTaskResult {
  return 'task' in r && typeof r.task === 'object' && r.task !== null;
}

/** Validates `raw` with the SDK's schema of `type`; a mismatch is PROTOCOL naming the field. */
function parseAs<T>(raw: unknown, type: 'CreateTaskResult' | 'CallToolResult'): T {
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

/** Waits `ms` (0 or less: not at all); an abort ends the wait at once with CANCELLED. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(new CancelledError(undefined, { cause: signal.reason }));
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new CancelledError(undefined, { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Task-augmented tool calls as one long operation for the caller, in both protocol eras (the wire
 * of each is in task-wire.ts): `rt.callTool(..., { task: true })` resolves with the final result,
 * bounded by the call's timeout; status changes go to `onTaskStatus` (and `stream()`); polling
 * follows the server's `pollInterval` hint with backoff while nothing changes; an abort or the
 * timeout sends `tasks/cancel`. A 2026 task that asks for input is answered by the configured
 * handlers (`tasks/update`); a 2025 one asks through `tasks/result`, which is sent then and
 * answers when the task ends, while polls go on reporting the statuses up to the terminal one.
 *
 * The task lives on the server: a poll that fails because the connection was lost is sent again
 * on the next connection (within the deadline), and a handle is kept in the runtime's ledger
 * until the task ends, so `persist()` carries it and {@link followToolTask} resumes it elsewhere.
 */
import type {
  CallToolRequest,
  CallToolResult,
  ClientCapabilities,
  TaskStatus,
} from '@modelcontextprotocol/client';
import {
  CancelledError,
  ClosedError,
  McpRuntimeError,
  ProtocolError,
  TimeoutError,
  ValidationError,
} from '../errors/index.js';
import type { CallOptions } from './call-path.js';
import type { ServerHandle } from './server-handle.js';
import type { InputRequest } from './server-requests.js';
import type { TaskLedger } from './task-ledger.js';
import { listenForTask } from './task-pushes.js';
import {
  createTask,
  isTaskSnapshot,
  legacyTasks,
  modernTasks,
  type TaskSnapshot,
  type TaskWire,
} from './task-wire.js';

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

/** What following a task needs from the facade. */
export interface FollowTaskSpec {
  tool: string;
  options: CallOptions;
  task: TaskCallOptions;
  onStatus?: ((update: TaskStatusUpdate) => void) | undefined;
  /** The facade's result check (structuredContent, `isError` as TOOL). */
  check: (result: CallToolResult) => CallToolResult;
  ledger: TaskLedger;
  /** The client capabilities a 2026 request declares (the tasks extension is added to them). */
  capabilities: ClientCapabilities;
  /** Answers one input request of a 2026 task with the configured handlers (undefined: no handler). */
  answerInput: (request: InputRequest, signal: AbortSignal) => Promise<unknown>;
}

/** What {@link runToolTask} needs besides {@link FollowTaskSpec}. */
export interface ToolTaskSpec extends FollowTaskSpec {
  params: CallToolRequest['params'];
}

const BACKOFF_FACTOR = 1.5;
/** `tasks/cancel` after an abort or timeout gets at most this long: the caller has already given up. */
const CANCEL_TIMEOUT_MS = 5_000;
/** Input requests one task may make before it is given up on (2026; keys are answered once each). */
const MAX_TASK_INPUTS = 64;

/** Runs a task-augmented `tools/call` to its end; see the file comment. */
export async function runToolTask(h: ServerHandle, spec: ToolTaskSpec): Promise<CallToolResult> {
  checkTaskOptions(h.name, spec.tool, spec.task);
  const totalMs = spec.options.timeoutMs ?? h.config.timeoutMs;
  const deadlineAt = Date.now() + totalMs;
  if (h.protocolStatus().era === null) await h.start();
  const wire = h.protocolStatus().era === 'modern' ? modernTasks : legacyTasks;
  const created = await createTask(h, wire, {
    tool: spec.tool,
    params: spec.params,
    options: { ...spec.options, timeoutMs: Math.max(1, deadlineAt - Date.now()) },
    ttlMs: spec.task.ttlMs,
    capabilities: spec.capabilities,
  });
  // A server that ran the tool at once (its choice) answers the result itself.
  if (!isTaskSnapshot(created)) return spec.check(created);
  spec.ledger.add({
    server: h.name,
    taskId: created.taskId,
    tool: spec.tool,
    era: wire.era,
    createdAtMs: Date.now(),
  });
  return follow(h, wire, created, spec, totalMs, deadlineAt);
}

/**
 * Follows a task that already exists (created by this runtime or another, e.g. restored by
 * `restoreFrom`) to its end, with the semantics of {@link runToolTask}.
 */
export async function followToolTask(
  h: ServerHandle,
  taskId: string,
  era: 'modern' | 'legacy',
  spec: FollowTaskSpec,
): Promise<CallToolResult> {
  checkTaskOptions(h.name, spec.tool, spec.task);
  if (typeof taskId !== 'string' || taskId.length === 0)
    throw new ValidationError(`resumeTask on ${h.name}: taskId must be a non-empty string`, 'taskId', {
      server: h.name,
    });
  const totalMs = spec.options.timeoutMs ?? h.config.timeoutMs;
  const deadlineAt = Date.now() + totalMs;
  const wire = era === 'modern' ? modernTasks : legacyTasks;
  let first: TaskSnapshot;
  try {
    first = await pollOnce(
      h,
      wire,
      taskId,
      spec,
      deadlineAt,
      totalMs,
      `tools/call ${spec.tool} (task ${taskId})`,
    );
  } catch (error) {
    // Unknown to the server (or expired), or given up on: nothing left to follow. Closing keeps it.
    if (!(error instanceof ClosedError)) spec.ledger.remove(h.name, taskId);
    throw error;
  }
  return follow(h, wire, first, spec, totalMs, deadlineAt);
}

async function follow(
  h: ServerHandle,
  wire: TaskWire,
  first: TaskSnapshot,
  spec: FollowTaskSpec,
  totalMs: number,
  deadlineAt: number,
): Promise<CallToolResult> {
  const { options, task } = spec;
  const taskId = first.taskId;
  const label = `tools/call ${spec.tool} (task ${taskId})`;
  const remaining = (): number => Math.max(1, deadlineAt - Date.now());
  const answered = new Set<string>();
  let ended = false;
  // 2025: the `tasks/result` an input round started (it answers when the task ends), and whether
  // it has; the poll after that reports the status the task ended with, then polling stops.
  let pending: Promise<CallToolResult> | undefined;
  let resultIn = false;
  // 2026: a status the server pushed (task-pushes.ts) since the last poll, taken in place of a poll.
  let pushed: TaskSnapshot | undefined;
  // Ends the current wait between polls early (a push, or the answer to `tasks/result`).
  let wake = (): void => {};
  const stopListening =
    wire.era === 'modern'
      ? listenForTask(h, taskId, Math.min(CANCEL_TIMEOUT_MS, remaining()), (task) => {
          pushed = task;
          wake();
        })
      : undefined;
  try {
    let last: TaskStatusUpdate | undefined;
    let current = first;
    let intervalMs = 0;
    let endedBeforePoll = false;
    for (;;) {
      const update: TaskStatusUpdate = {
        taskId,
        status: current.status,
        statusMessage: current.statusMessage,
        pollIntervalMs: current.pollIntervalMs,
      };
      const changed =
        last === undefined || last.status !== update.status || last.statusMessage !== update.statusMessage;
      if (changed) spec.onStatus?.(update);
      last = update;
      if (current.status === 'cancelled') {
        ended = true;
        throw new CancelledError(`${label} on ${h.name} was cancelled by the server`, { server: h.name });
      }
      if (wire.stopsAt(current) || endedBeforePoll) break;
      if (current.status === 'input_required') {
        if (wire.update)
          await answerInputs(h, wire, current, spec, answered, withTimeout(options, remaining()), label);
        else if (pending === undefined) {
          pending = wire.finish(h, current, label, withTimeout(options, remaining()));
          const settle = (): void => {
            resultIn = true;
            wake();
          };
          pending.then(settle, settle);
        }
      }
      intervalMs = nextPollIntervalMs(intervalMs, changed, update.pollIntervalMs, task);
      if (pushed === undefined && !resultIn) {
        const woken = new Promise<void>((resolve) => {
          wake = resolve;
        });
        await sleep(Math.min(intervalMs, deadlineAt - Date.now()), options.signal, woken);
      }
      if (Date.now() >= deadlineAt) throw timeout(label, h.name, totalMs);
      endedBeforePoll = resultIn;
      if (pushed === undefined) current = await pollOnce(h, wire, taskId, spec, deadlineAt, totalMs, label);
      else [current, pushed] = [pushed, undefined];
    }
    const result = await (pending ?? wire.finish(h, current, label, withTimeout(options, remaining())));
    ended = true;
    return spec.check(result);
  } catch (error) {
    const mapped = options.signal?.aborted
      ? new CancelledError(`${label} on ${h.name} was cancelled`, { server: h.name, cause: error })
      : error instanceof McpRuntimeError && error.code === 'TIMEOUT'
        ? timeout(label, h.name, totalMs, error)
        : error;
    // The caller gave up (abort, timeout, a question nobody can answer): the server stops the work too.
    if (
      !ended &&
      (mapped instanceof CancelledError || mapped instanceof TimeoutError || mapped instanceof ProtocolError)
    )
      await cancelTask(h, wire, taskId, options, spec.capabilities);
    // Closing the runtime leaves the task running on the server: its handle stays (persist()).
    if (!(mapped instanceof ClosedError)) ended = true;
    throw mapped;
  } finally {
    if (ended) spec.ledger.remove(h.name, taskId);
    void stopListening?.then((stop) => stop());
  }
}

/**
 * One `tasks/get` within the deadline. The task lives on the server, so a poll the lost connection
 * took with it is sent again on the next one; the call path waits for that connection.
 */
async function pollOnce(
  h: ServerHandle,
  wire: TaskWire,
  taskId: string,
  spec: FollowTaskSpec,
  deadlineAt: number,
  totalMs: number,
  label: string,
): Promise<TaskSnapshot> {
  for (;;) {
    if (Date.now() >= deadlineAt) throw timeout(label, h.name, totalMs);
    try {
      return await wire.get(
        h,
        taskId,
        withTimeout(spec.options, Math.max(1, deadlineAt - Date.now())),
        spec.capabilities,
      );
    } catch (error) {
      if (!(error instanceof McpRuntimeError && error.code === 'CONNECTION_LOST')) throw error;
    }
  }
}

/** Answers the input requests not answered yet, in one `tasks/update` (2026). */
async function answerInputs(
  h: ServerHandle,
  wire: TaskWire,
  task: TaskSnapshot,
  spec: FollowTaskSpec,
  answered: Set<string>,
  options: CallOptions,
  label: string,
): Promise<void> {
  const responses: Record<string, unknown> = {};
  const signal = options.signal ?? new AbortController().signal;
  for (const [key, request] of Object.entries(task.inputRequests ?? {})) {
    if (answered.has(key)) continue;
    if (answered.size >= MAX_TASK_INPUTS)
      throw new ProtocolError(`${label} on ${h.name} asked for input more than ${MAX_TASK_INPUTS} times`, {
        server: h.name,
      });
    const response = await spec.answerInput(request, signal);
    if (response === undefined)
      throw new ProtocolError(
        `${label} on ${h.name} asked for ${request.method}, which no configured handler answers`,
        { server: h.name },
      );
    responses[key] = response;
    answered.add(key);
  }
  if (Object.keys(responses).length > 0)
    await wire.update?.(h, task.taskId, responses, options, spec.capabilities);
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
async function cancelTask(
  h: ServerHandle,
  wire: TaskWire,
  taskId: string,
  options: CallOptions,
  caps: ClientCapabilities,
): Promise<void> {
  const { signal: _signal, onProgress: _onProgress, ...rest } = options;
  await wire.cancel(h, taskId, { ...rest, timeoutMs: CANCEL_TIMEOUT_MS }, caps).catch(() => undefined);
}

function withTimeout(options: CallOptions, timeoutMs: number): CallOptions {
  // Polls are short requests: the call's progress callback belongs to the creating request only.
  const { onProgress: _onProgress, resetTimeoutOnProgress: _reset, ...rest } = options;
  return { ...rest, timeoutMs };
}

function timeout(label: string, server: string, totalMs: number, cause?: unknown): TimeoutError {
  return new TimeoutError(`${label} on ${server} timed out after ${totalMs} ms`, totalMs, { server, cause });
}

/**
 * Waits `ms` (0 or less: not at all), or until `wake` settles; an abort ends the wait at once with
 * CANCELLED.
 */
function sleep(ms: number, signal: AbortSignal | undefined, wake?: Promise<void>): Promise<void> {
  if (signal?.aborted) return Promise.reject(new CancelledError(undefined, { cause: signal.reason }));
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new CancelledError(undefined, { cause: signal?.reason }));
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    void wake?.then(done);
  });
}

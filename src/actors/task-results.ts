/**
 * Carries a 2026-07-28 task handle (`resultType: "task"`, the `io.modelcontextprotocol/tasks`
 * extension) through the SDK v2 Client, whose result decoder knows only `complete` and
 * `input_required` and rejects any other result type without keeping the result.
 *
 * Only the answer to a `tools/call` that declared the extension in its `_meta` client capabilities
 * is lifted: its task result is handed on as a `complete` tool result with no content whose `_meta`
 * holds the task as the server sent it ({@link TASK_HANDLE_META_KEY}); the task path (runtime/tasks)
 * reads it from there and validates it. A task sent to a request that did not declare the
 * extension passes unchanged, and the SDK rejects it (the spec calls that an invalid response).
 */
import type { JSONRPCMessage } from '@modelcontextprotocol/client';

/** The tasks extension's identifier. */
export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';
/** The `_meta` key of a request's client capabilities (2026-07-28). */
export const CLIENT_CAPABILITIES_META_KEY = 'io.modelcontextprotocol/clientCapabilities';
/** Where a lifted result keeps the server's task result (our own namespace: not a spec key). */
export const TASK_HANDLE_META_KEY = 'dev.mcp-actors/task';

type RequestId = string | number;

/**
 * The id of a `tools/call` that declares the tasks extension in its `_meta` client capabilities
 * (its answer may be a task), else undefined.
 */
export function taskDeclaringId(message: JSONRPCMessage): RequestId | undefined {
  const m = message as { method?: unknown; id?: RequestId; params?: { _meta?: Record<string, unknown> } };
  if (m.method !== 'tools/call' || m.id === undefined) return undefined;
  const caps = m.params?._meta?.[CLIENT_CAPABILITIES_META_KEY] as { extensions?: object } | undefined;
  return caps?.extensions && TASKS_EXTENSION in caps.extensions ? m.id : undefined;
}

/**
 * One connection's lift, made on its first task-declaring call (most connections never make one):
 * `expect` notes each such call, `received` sees every incoming message. It remembers the ids of
 * task-declaring `tools/call` requests until their answer (or the transport's end) and rewrites only
 * those answers.
 *
 * @example
 * const id = taskDeclaringId(message);
 * if (id !== undefined) {
 *   lift ??= new TaskResultLift();
 *   lift.expect(id);
 * }
 * inner.onmessage = (m) => deliver(lift ? lift.received(m) : m);
 */
export class TaskResultLift {
  readonly #declared = new Set<RequestId>();

  /** Notes the id of a task-declaring `tools/call` (see {@link taskDeclaringId}). */
  expect(id: RequestId): void {
    this.#declared.add(id);
  }

  /** The message as the SDK should see it: a declared request's task result lifted, the rest as is. */
  received(message: JSONRPCMessage): JSONRPCMessage {
    if (!this.#declared.size || 'method' in message) return message;
    const m = message as { id?: RequestId; result?: Record<string, unknown> };
    if (m.id === undefined || !this.#declared.delete(m.id)) return message;
    const result = m.result;
    if (result?.resultType !== 'task') return message;
    return {
      ...message,
      result: { resultType: 'complete', content: [], _meta: { [TASK_HANDLE_META_KEY]: result } },
    } as JSONRPCMessage;
  }

  /** The transport ended: no answer to a remembered request can come on it any more. */
  clear(): void {
    this.#declared.clear();
  }
}

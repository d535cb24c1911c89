/**
 * Reads the request kind (for the retry-safety rule) and the tool name from an operation label
 * such as `tools/call echo` or `resources/read demo://x`.
 */
import type { RequestKind } from '../machines/retry-policy.js';

const KIND_BY_METHOD: Record<string, RequestKind> = {
  ping: 'ping',
  'tools/list': 'list',
  'resources/list': 'list',
  'resources/templates/list': 'list',
  'prompts/list': 'list',
  'skills/list': 'list',
  'resources/read': 'read',
  'prompts/get': 'get',
  'completion/complete': 'complete',
  'resources/subscribe': 'subscribe',
  'resources/unsubscribe': 'subscribe',
  initialize: 'idempotent',
  'logging/setLevel': 'idempotent',
  'tools/call': 'tool',
  // A task's status, result and cancellation read or settle the same task: safe to repeat.
  'tasks/get': 'read',
  'tasks/result': 'read',
  'tasks/cancel': 'idempotent',
  // Answers are keyed; the server ignores a key already answered (tasks extension, 2026).
  'tasks/update': 'idempotent',
};

/** The kind of `operation` and, for a tool call, the tool's name. */
export function requestKindOf(operation: string): { kind: RequestKind; tool?: string } {
  const space = operation.indexOf(' ');
  const method = space === -1 ? operation : operation.slice(0, space);
  const kind = KIND_BY_METHOD[method] ?? 'other';
  return kind === 'tool' ? { kind, tool: operation.slice(space + 1) } : { kind };
}

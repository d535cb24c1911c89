/**
 * Decoding of one inbound WebSocket frame into a JSON-RPC message, shared by the WebSocket client and
 * server transports. Frames arrive on the hot path, so the common well-formed shapes are recognised by
 * hand; the SDK's schema (`parseJSONRPCMessage`) is consulted only when the cheap check cannot vouch for a frame.
 */
import { type JSONRPCMessage, parseJSONRPCMessage } from '@modelcontextprotocol/client';
import { ProtocolError } from '../errors/index.js';

const RELATED_TASK_META_KEY = 'io.modelcontextprotocol/related-task';

/**
 * Parses and validates one frame's text. Returns the message, or a {@link ProtocolError} (returned, not
 * thrown, so the caller drops the frame and keeps the connection).
 *
 * @example
 * const decoded = decodeJsonRpcFrame('{"jsonrpc":"2.0","method":"ping","id":1}');
 * if (decoded instanceof ProtocolError) onerror(decoded); else onmessage(decoded);
 */
export function decodeJsonRpcFrame(text: string, server?: string): JSONRPCMessage | ProtocolError {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    return new ProtocolError(`Malformed JSON in WebSocket frame (${text.length} chars)`, { server, cause });
  }
  if (isCertainlyJsonRpcMessage(value)) return value as JSONRPCMessage;
  try {
    return parseJSONRPCMessage(value);
  } catch (cause) {
    return new ProtocolError('WebSocket frame is not a valid JSON-RPC 2.0 message', { server, cause });
  }
}

/**
 * True only when `value` is surely a valid JSON-RPC message by the SDK's (strict) schema; false means
 * "not sure", and the schema decides.
 */
function isCertainlyJsonRpcMessage(value: unknown): boolean {
  if (!isPlainObject(value) || value.jsonrpc !== '2.0') return false;
  const keys = countKeys(value);
  if (typeof value.method === 'string') {
    // Request (with id) or notification (without).
    if (value.params !== undefined && !isCheapParams(value.params)) return false;
    const hasId = value.id !== undefined;
    if (hasId && !isRequestId(value.id)) return false;
    return keys === 2 + (hasId ? 1 : 0) + ('params' in value ? 1 : 0);
  }
  if (value.result !== undefined) {
    return keys === 3 && isRequestId(value.id) && isCheapParams(value.result);
  }
  const error = value.error;
  if (isPlainObject(error)) {
    const hasId = value.id !== undefined;
    if (hasId && !isRequestId(value.id)) return false;
    if (keys !== 2 + (hasId ? 1 : 0)) return false;
    if (!Number.isSafeInteger(error.code) || typeof error.message !== 'string') return false;
    return countKeys(error) === 2 + ('data' in error ? 1 : 0);
  }
  return false;
}

/** Params of requests and notifications, and results: any object whose `_meta` (if any) is simple. */
function isCheapParams(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  const meta = value._meta;
  if (meta === undefined) return true;
  if (!isPlainObject(meta) || meta[RELATED_TASK_META_KEY] !== undefined) return false;
  return meta.progressToken === undefined || isRequestId(meta.progressToken);
}

function isRequestId(value: unknown): boolean {
  return typeof value === 'string' || Number.isSafeInteger(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function countKeys(value: object): number {
  let n = 0;
  for (const _ in value) n++;
  return n;
}

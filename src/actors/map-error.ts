/**
 * Maps whatever the SDK, a transport or the platform threw into the runtime's error hierarchy,
 * keeping the original as `cause`.
 */
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import {
  AuthError,
  CancelledError,
  ConnectionLostError,
  McpRuntimeError,
  ProtocolError,
  RemoteError,
  TimeoutError,
} from '../errors/index.js';

/** What the caller was doing when the error happened, for the message. */
export interface ErrorContext {
  server: string;
  operation: string;
  timeoutMs?: number;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
]);

function errnoOf(error: unknown): string | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 4 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True when the error means the network path to the server is gone (not a protocol answer). */
export function isNetworkFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const errno = errnoOf(error);
  if (errno && NETWORK_CODES.has(errno)) return true;
  return /fetch failed|SSE stream disconnected|terminated|socket hang up|Failed to reconnect|other side closed/i.test(
    error.message,
  );
}

/** Converts any thrown value into an {@link McpRuntimeError}. */
export function toRuntimeError(error: unknown, ctx: ErrorContext): McpRuntimeError {
  if (error instanceof McpRuntimeError) return error;
  const { server, operation } = ctx;
  const options = { server, cause: error };
  if (error instanceof McpError) {
    switch (error.code) {
      case ErrorCode.ConnectionClosed:
        // The SDK uses -32000 for its own "Connection closed"; a server may send -32000 too.
        if (/Connection closed$/.test(error.message)) {
          return new ConnectionLostError(`${operation} on ${server}: connection lost`, options);
        }
        return new RemoteError(
          `${operation} on ${server}: ${error.message}`,
          error.code,
          error.data,
          options,
        );
      case ErrorCode.RequestTimeout:
        return new TimeoutError(
          `${operation} on ${server} timed out${ctx.timeoutMs ? ` after ${ctx.timeoutMs} ms` : ''}`,
          ctx.timeoutMs ?? 0,
          options,
        );
      case ErrorCode.ParseError:
      case ErrorCode.InvalidRequest:
        return new ProtocolError(`${operation} on ${server}: ${error.message}`, options);
      default:
        return new RemoteError(
          `${operation} on ${server}: ${error.message}`,
          error.code,
          error.data,
          options,
        );
    }
  }
  if (error instanceof UnauthorizedError)
    return new AuthError(`${operation} on ${server}: unauthorized`, options);
  if (error instanceof StreamableHTTPError) {
    const status = error.code ?? 0;
    if (status === 401 || status === 403) {
      return new AuthError(`${operation} on ${server}: HTTP ${status}`, { ...options, status });
    }
    if (status === 404)
      return new ConnectionLostError(`${operation} on ${server}: session expired (HTTP 404)`, options);
    return new RemoteError(`${operation} on ${server}: ${error.message}`, status, undefined, options);
  }
  if (error instanceof Error && error.name === 'AbortError') {
    return new CancelledError(`${operation} on ${server} was cancelled`, options);
  }
  if (isNetworkFailure(error)) {
    return new ConnectionLostError(`${operation} on ${server}: ${(error as Error).message}`, options);
  }
  if (error instanceof Error && /SSE error: Non-200 status code \((401|403)\)/.test(error.message)) {
    return new AuthError(`${operation} on ${server}: ${error.message}`, options);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ProtocolError(`${operation} on ${server}: ${message}`, options);
}

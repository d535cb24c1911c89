/**
 * Maps whatever the SDK, a transport or the platform threw into the runtime's error hierarchy,
 * keeping the original as `cause`.
 *
 * SDK v2 keeps two kinds apart, and so do we: a JSON-RPC error the SERVER sent is an SDK
 * `ProtocolError` and always becomes REMOTE with its `rpcCode` (whatever the number: a server's
 * -32001 is not our timeout, a server's -32000 is not our lost connection); what the SDK found
 * LOCALLY is an `SdkError` with a string code (timeout, connection closed, negotiation failed, HTTP
 * status) and maps to the local code that describes it.
 */
import {
  SdkError,
  SdkErrorCode,
  SdkHttpError,
  ProtocolError as SdkProtocolError,
  UnauthorizedError,
} from '@modelcontextprotocol/client';
import {
  AuthError,
  CancelledError,
  ConfigError,
  ConnectionLostError,
  McpRuntimeError,
  ProtocolError,
  RemoteError,
  TimeoutError,
} from '../errors/index.js';
import { LOCAL_CAP_MARK } from './http-fetch.js';

/** What the caller was doing when the error happened, for the message. */
export interface ErrorContext {
  server: string;
  operation: string;
  timeoutMs?: number;
  /** True before the connection was ever ready: a 404/405 then means "no MCP endpoint here". */
  firstContact?: boolean;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Causes a reconnect cannot heal: the command or the endpoint is wrong. */
const PERMANENT_SPAWN_CODES = new Set(['ENOENT', 'EACCES', 'ENOTDIR', 'EISDIR']);

/**
 * Marks an error as one that reconnecting cannot fix (the connection fails at once). The mark is a
 * `permanent` field on the error itself, which the connection machine reads from the failure.
 */
export function markPermanent<E extends McpRuntimeError>(error: E): E {
  Object.defineProperty(error, 'permanent', { value: true, enumerable: false });
  return error;
}

/** True for errors marked by {@link markPermanent}. */
export function isPermanent(error: unknown): boolean {
  return error instanceof McpRuntimeError && (error as { permanent?: unknown }).permanent === true;
}

interface ErrnoFacts {
  code: string;
  address?: string;
  port?: number;
  path?: string;
  syscall?: string;
}

function errnoOf(error: unknown): ErrnoFacts | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z_]+$/.test(code) && !(e instanceof SdkError)) {
      return e as ErrnoFacts;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** `ECONNREFUSED 127.0.0.1:3001`, `ENOENT spawn no-such-cmd`: the real cause, short. */
export function describeErrno(error: unknown): string | undefined {
  const facts = errnoOf(error);
  if (!facts) return undefined;
  if (facts.address) return `${facts.code} ${facts.address}${facts.port ? `:${facts.port}` : ''}`;
  if (facts.path || facts.syscall) return `${facts.code} ${facts.syscall ?? ''} ${facts.path ?? ''}`.trim();
  return facts.code;
}

/** `command "npx-typo" not found (ENOENT)`: what a failed spawn means to the user. */
function spawnFailure(facts: ErrnoFacts): string {
  const command = facts.path ?? facts.syscall?.replace(/^spawn /, '') ?? 'the command';
  const what =
    facts.code === 'ENOENT' ? 'not found' : facts.code === 'EACCES' ? 'is not executable' : 'cannot be run';
  return `command "${command}" ${what} (${facts.code})`;
}

/** True when the error means the network path to the server is gone (not a protocol answer). */
export function isNetworkFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const errno = errnoOf(error);
  if (errno && NETWORK_CODES.has(errno.code)) return true;
  return /fetch failed|SSE stream disconnected|terminated|socket hang up|Failed to reconnect|other side closed/i.test(
    error.message,
  );
}

/** The message without the SDK's `MCP error -32602: ` prefix (which servers sometimes repeat). */
function bareMessage(message: string): string {
  return message.replace(/^(MCP error -?\d+: )+/, '');
}

function httpStatusOf(error: SdkHttpError): number {
  const status = (error.data as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' ? status : 0;
}

/** Converts any thrown value into an {@link McpRuntimeError}. */
export function toRuntimeError(error: unknown, ctx: ErrorContext): McpRuntimeError {
  if (error instanceof McpRuntimeError) return error;
  const { server, operation } = ctx;
  const options = { server, cause: error };
  const at = `${operation} on ${server}`;
  if (error instanceof SdkProtocolError) {
    // Our own fetch cut an oversized SSE event and failed the request in its place: local.
    if ((error.data as Record<string, unknown> | undefined)?.[LOCAL_CAP_MARK] === true) {
      return new ProtocolError(`${at}: ${bareMessage(error.message)}`, options);
    }
    // The server answered with a JSON-RPC error: REMOTE, always, with its code.
    const remote = new RemoteError(`${at}: ${bareMessage(error.message)}`, error.code, error.data, options);
    // A refused protocol version cannot heal by reconnecting.
    return error.code === -32022 ? markPermanent(remote) : remote;
  }
  if (error instanceof UnauthorizedError) return new AuthError(`${at}: unauthorized`, options);
  if (error instanceof SdkHttpError && error.code !== SdkErrorCode.EraNegotiationFailed) {
    return fromHttpError(error, ctx);
  }
  if (error instanceof SdkError) return fromSdkError(error, ctx);
  if (error instanceof Error && error.name === 'AbortError') {
    return new CancelledError(`${at} was cancelled`, options);
  }
  const errno = errnoOf(error);
  if (errno && PERMANENT_SPAWN_CODES.has(errno.code)) {
    return markPermanent(
      new ConfigError([{ path: `servers.${server}.command`, message: spawnFailure(errno) }], options),
    );
  }
  if (isNetworkFailure(error)) {
    const cause = describeErrno(error) ?? (error as Error).message;
    return new ConnectionLostError(`${at}: ${cause}`, options);
  }
  // The SDK's Client rejects a request made after its transport closed with a bare Error: the
  // request never left, so it is a lost connection (safe to send again), not a protocol fault.
  if (error instanceof Error && error.message === 'Not connected') {
    return new ConnectionLostError(`${at}: not connected`, options);
  }
  if (error instanceof Error && /SSE error: Non-200 status code \((401|403)\)/.test(error.message)) {
    return new AuthError(`${at}: ${error.message}`, options);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ProtocolError(`${at}: ${message}`, options);
}

/** A JSON-RPC error object in an HTTP error body (a 4xx that carries the server's own answer). */
function rpcErrorInBody(error: SdkHttpError): { code: number; message: string; data?: unknown } | undefined {
  const text = (error.data as { text?: unknown } | undefined)?.text;
  if (typeof text !== 'string' || text.length > 65_536) return undefined;
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; data?: unknown } };
    const e = body?.error;
    if (e && Number.isSafeInteger(e.code) && typeof e.message === 'string') {
      return { code: e.code as number, message: e.message, data: e.data };
    }
  } catch {
    // Not JSON: an HTTP-level answer.
  }
  return undefined;
}

function fromHttpError(error: SdkHttpError, ctx: ErrorContext): McpRuntimeError {
  const { server, operation } = ctx;
  const options = { server, cause: error };
  const at = `${operation} on ${server}`;
  const status = httpStatusOf(error);
  const rpc = status >= 400 && status < 500 ? rpcErrorInBody(error) : undefined;
  if (rpc && status !== 401 && status !== 403) {
    // The server answered with a JSON-RPC error in a 4xx body: its error, REMOTE with its code.
    const remote = new RemoteError(`${at}: ${bareMessage(rpc.message)}`, rpc.code, rpc.data, options);
    return rpc.code === -32022 ? markPermanent(remote) : remote;
  }
  if (status === 401 || status === 403 || error.code === SdkErrorCode.ClientHttpAuthentication) {
    return new AuthError(`${at}: HTTP ${status || 401}`, { ...options, status: status || 401 });
  }
  if ((status === 404 || status === 405) && ctx.firstContact) {
    return markPermanent(
      new ProtocolError(`${at}: no MCP endpoint at the configured URL (HTTP ${status})`, options),
    );
  }
  if (status === 404) return new ConnectionLostError(`${at}: session expired (HTTP 404)`, options);
  // A 429/503's Retry-After (http-fetch.ts reads it, the transport's send attaches it): the retry
  // waits at least that long, or the call fails at once when the wait would pass its deadline.
  const retryAfterMs = (error.data as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
  if (typeof retryAfterMs === 'number') {
    return new RemoteError(
      `${at}: ${error.message} (the server asks to retry after ${retryAfterMs} ms)`,
      status,
      error.data,
      { ...options, retryAfterMs },
    );
  }
  return new RemoteError(`${at}: ${error.message}`, status, error.data, options);
}

function fromSdkError(error: SdkError, ctx: ErrorContext): McpRuntimeError {
  const { server, operation } = ctx;
  const options = { server, cause: error };
  const at = `${operation} on ${server}`;
  switch (error.code) {
    case SdkErrorCode.RequestTimeout:
      return new TimeoutError(
        `${at} timed out${ctx.timeoutMs ? ` after ${ctx.timeoutMs} ms` : ''}`,
        ctx.timeoutMs ?? 0,
        options,
      );
    case SdkErrorCode.ConnectionClosed:
    case SdkErrorCode.NotConnected:
    case SdkErrorCode.SendFailed: {
      // Name the real cause when the platform gave one (`ECONNREFUSED 127.0.0.1:3001`).
      const errno = describeErrno(error);
      return new ConnectionLostError(`${at}: connection lost${errno ? ` (${errno})` : ''}`, options);
    }
    case SdkErrorCode.EraNegotiationFailed: {
      // The probe failed on the way (TLS, refused, reset): that cause, not a verdict on the era.
      const cause = (error as { cause?: unknown }).cause;
      if (cause !== undefined && cause !== error) return toRuntimeError(cause, ctx);
      // A 5xx to the probe is an outage that may heal; anything else is a verdict that will not.
      if (error instanceof SdkHttpError && httpStatusOf(error) >= 500) {
        return new ConnectionLostError(`${at}: ${error.message}`, options);
      }
      return markPermanent(new ProtocolError(`${at}: ${error.message}`, options));
    }
    case SdkErrorCode.CapabilityNotSupported:
    case SdkErrorCode.MethodNotSupportedByProtocolVersion:
      return markPermanent(new ProtocolError(`${at}: ${error.message}`, options));
    default:
      return new ProtocolError(`${at}: ${error.message}`, options);
  }
}

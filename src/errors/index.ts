/**
 * The runtime's error hierarchy. Every error mcp-actors raises is an {@link McpRuntimeError}
 * with a stable `code`, the `server` it concerns (when there is one) and the original `cause`.
 * Codes are part of the public contract: match on `code` (or `instanceof`), never on messages.
 */

/** Stable error codes. */
export type ErrorCode =
  | 'CONFIG'
  | 'TIMEOUT'
  | 'CANCELLED'
  | 'CONNECTION_LOST'
  | 'BREAKER_OPEN'
  | 'QUEUE_FULL'
  | 'CLOSED'
  | 'PROTOCOL'
  | 'AUTH'
  | 'TOOL'
  | 'REMOTE'
  | 'VALIDATION'
  | 'SERVER_FAILED';

/** Options shared by every runtime error. */
export interface McpRuntimeErrorOptions {
  server?: string;
  cause?: unknown;
}

/**
 * Base class: `code` is stable, `server` names the configured server, `cause` keeps the original.
 * Each subclass fixes `C` to its own code, so {@link AnyMcpRuntimeError} is a union discriminated
 * by `code`.
 */
export class McpRuntimeError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly server: string | undefined;

  constructor(code: C, message: string, options: McpRuntimeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.server = options.server;
  }

  /** JSON form for events and snapshots (the cause is summarised, never dumped). */
  toJSON(): { name: string; code: C; message: string; server?: string } {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      ...(this.server ? { server: this.server } : {}),
    };
  }
}

/** One problem found in the configuration. */
export interface ConfigIssue {
  /** Dotted path of the offending field, e.g. `servers.demo.url`. */
  path: string;
  message: string;
}

/** The configuration is invalid; raised before any I/O. `issues` names every bad field. */
export class ConfigError extends McpRuntimeError<'CONFIG'> {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[], options: McpRuntimeErrorOptions = {}) {
    super(
      'CONFIG',
      `Invalid configuration: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`,
      options,
    );
    this.issues = issues;
  }
}

/** A call (or a connection step) did not finish within its deadline. */
export class TimeoutError extends McpRuntimeError<'TIMEOUT'> {
  readonly timeoutMs: number;
  constructor(message: string, timeoutMs: number, options: McpRuntimeErrorOptions = {}) {
    super('TIMEOUT', message, options);
    this.timeoutMs = timeoutMs;
  }
}

/** The caller cancelled (AbortSignal) or a batch failed fast. */
export class CancelledError extends McpRuntimeError<'CANCELLED'> {
  constructor(message = 'The call was cancelled', options: McpRuntimeErrorOptions = {}) {
    super('CANCELLED', message, options);
  }
}

/** The transport died with the request in flight (or could not be established). */
export class ConnectionLostError extends McpRuntimeError<'CONNECTION_LOST'> {
  /** WebSocket close code or process exit code, when known. */
  readonly closeCode: number | undefined;
  constructor(message: string, options: McpRuntimeErrorOptions & { closeCode?: number } = {}) {
    super('CONNECTION_LOST', message, options);
    this.closeCode = options.closeCode;
  }
}

/** The server's circuit breaker is open: the call failed fast without reaching the server. */
export class BreakerOpenError extends McpRuntimeError<'BREAKER_OPEN'> {
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number, options: McpRuntimeErrorOptions = {}) {
    super('BREAKER_OPEN', message, options);
    this.retryAfterMs = retryAfterMs;
  }
}

/** The server's queue is at its bound; nothing was enqueued. */
export class QueueFullError extends McpRuntimeError<'QUEUE_FULL'> {
  readonly maxQueued: number;
  constructor(message: string, maxQueued: number, options: McpRuntimeErrorOptions = {}) {
    super('QUEUE_FULL', message, options);
    this.maxQueued = maxQueued;
  }
}

/** The runtime (or the server handle) was closed while the call was pending or after it. */
export class ClosedError extends McpRuntimeError<'CLOSED'> {
  constructor(message = 'The runtime is closed', options: McpRuntimeErrorOptions = {}) {
    super('CLOSED', message, options);
  }
}

/** The peer broke the protocol: malformed frames, wrong shapes, oversized messages. */
export class ProtocolError extends McpRuntimeError<'PROTOCOL'> {
  constructor(message: string, options: McpRuntimeErrorOptions = {}) {
    super('PROTOCOL', message, options);
  }
}

/** Authentication or authorisation failed (401/403, handshake refused, token provider failed). */
export class AuthError extends McpRuntimeError<'AUTH'> {
  readonly status: number | undefined;
  constructor(message: string, options: McpRuntimeErrorOptions & { status?: number } = {}) {
    super('AUTH', message, options);
    this.status = options.status;
  }
}

/** A tool ran and reported failure (`isError: true`). The result is kept for inspection. */
export class ToolError extends McpRuntimeError<'TOOL'> {
  readonly tool: string;
  readonly result: unknown;
  constructor(message: string, tool: string, result: unknown, options: McpRuntimeErrorOptions = {}) {
    super('TOOL', message, options);
    this.tool = tool;
    this.result = result;
  }
}

/** The server answered with a JSON-RPC error (method not found, invalid params, internal error...). */
export class RemoteError extends McpRuntimeError<'REMOTE'> {
  /** The JSON-RPC error code the server sent (or the HTTP status, for an HTTP-level refusal). */
  readonly rpcCode: number;
  readonly data: unknown;
  /** The server's `Retry-After` (HTTP 429/503), when it sent one. */
  readonly retryAfterMs: number | undefined;
  constructor(
    message: string,
    rpcCode: number,
    data: unknown,
    options: McpRuntimeErrorOptions & { retryAfterMs?: number } = {},
  ) {
    super('REMOTE', message, options);
    this.rpcCode = rpcCode;
    this.data = data;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Arguments or results failed schema validation; `path` names the offending field. */
export class ValidationError extends McpRuntimeError<'VALIDATION'> {
  readonly path: string;
  constructor(message: string, path: string, options: McpRuntimeErrorOptions = {}) {
    super('VALIDATION', message, options);
    this.path = path;
  }
}

/** The supervisor gave up on the server (restart intensity exceeded or reconnect attempts exhausted). */
export class ServerFailedError extends McpRuntimeError<'SERVER_FAILED'> {
  constructor(message: string, options: McpRuntimeErrorOptions = {}) {
    super('SERVER_FAILED', message, options);
  }
}

/** Each error code and the class that carries it. */
export interface McpRuntimeErrorByCode {
  CONFIG: ConfigError;
  TIMEOUT: TimeoutError;
  CANCELLED: CancelledError;
  CONNECTION_LOST: ConnectionLostError;
  BREAKER_OPEN: BreakerOpenError;
  QUEUE_FULL: QueueFullError;
  CLOSED: ClosedError;
  PROTOCOL: ProtocolError;
  AUTH: AuthError;
  TOOL: ToolError;
  REMOTE: RemoteError;
  VALIDATION: ValidationError;
  SERVER_FAILED: ServerFailedError;
}

/**
 * Every runtime error, as a union discriminated by `code`: `switch (e.code)` narrows to the class,
 * so `e.path` (VALIDATION), `e.rpcCode` (REMOTE) or `e.retryAfterMs` (BREAKER_OPEN) type-check.
 */
export type AnyMcpRuntimeError = McpRuntimeErrorByCode[ErrorCode];

/**
 * Type guard for any runtime error, narrowing to the union discriminated by `code`; with a `code`,
 * to that code's class (`isMcpRuntimeError(e, 'VALIDATION')` gives a {@link ValidationError}).
 */
export function isMcpRuntimeError<C extends ErrorCode>(
  value: unknown,
  code: C,
): value is McpRuntimeErrorByCode[C];
export function isMcpRuntimeError(value: unknown, code?: ErrorCode): value is AnyMcpRuntimeError;
export function isMcpRuntimeError(value: unknown, code?: ErrorCode): value is AnyMcpRuntimeError {
  return value instanceof McpRuntimeError && (code === undefined || value.code === code);
}

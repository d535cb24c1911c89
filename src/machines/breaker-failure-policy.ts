/**
 * Which failures count against a server's circuit breaker. Pure, keyed by the stable error `code`.
 *
 * Counted (the server, or the way to it, is unhealthy): CONNECTION_LOST, TIMEOUT, PROTOCOL, and
 * REMOTE errors that are the server's own fault: JSON-RPC internal error (-32603), the
 * implementation-defined server-error range (-32099..-32000), or an HTTP 5xx (as `rpcCode`, as
 * `data.status`, or as the cause's numeric `status`/`code`).
 *
 * Not counted: a tool result with `isError` (TOOL), other REMOTE errors such as invalid params
 * (-32602) or method not found, AUTH — the server answered, so for the breaker these are a success;
 * and CANCELLED, VALIDATION and the runtime's own refusals (CONFIG, CLOSED, BREAKER_OPEN,
 * QUEUE_FULL, SERVER_FAILED) and foreign errors, which say nothing about the server's health and
 * are `ignored` (a probe that ends so only frees its slot).
 */
import { isMcpRuntimeError, type McpRuntimeError, type RemoteError } from '../errors/index.js';

/** What an outcome means to the breaker. */
export type BreakerOutcome = 'success' | 'failure' | 'ignored';

const JSONRPC_INTERNAL_ERROR = -32603;
const SERVER_ERROR_MIN = -32099;
const SERVER_ERROR_MAX = -32000;

function is5xx(value: unknown): boolean {
  return typeof value === 'number' && value >= 500 && value <= 599;
}

function remoteIsServerFault(error: RemoteError): boolean {
  const rpc = error.rpcCode;
  if (rpc === JSONRPC_INTERNAL_ERROR || (rpc >= SERVER_ERROR_MIN && rpc <= SERVER_ERROR_MAX) || is5xx(rpc)) {
    return true;
  }
  const data = error.data as { status?: unknown } | null | undefined;
  if (data !== null && typeof data === 'object' && is5xx(data.status)) return true;
  const cause = error.cause as { status?: unknown; code?: unknown } | null | undefined;
  return cause !== null && typeof cause === 'object' && (is5xx(cause.status) || is5xx(cause.code));
}

/**
 * Whether `error` counts as a failure for the circuit breaker.
 *
 * @example
 * countsAsBreakerFailure(new TimeoutError('slow', 1000));               // true
 * countsAsBreakerFailure(new RemoteError('bad params', -32602, null));  // false
 */
export function countsAsBreakerFailure(error: unknown): boolean {
  if (!isMcpRuntimeError(error)) return false;
  switch ((error as McpRuntimeError).code) {
    case 'CONNECTION_LOST':
    case 'TIMEOUT':
    case 'PROTOCOL':
      return true;
    case 'REMOTE':
      return remoteIsServerFault(error as RemoteError);
    default:
      return false;
  }
}

/**
 * The breaker outcome of a finished call: `undefined` (no error) is a success.
 *
 * @example
 * classifyBreakerOutcome(undefined);                       // 'success'
 * classifyBreakerOutcome(new ConnectionLostError('gone')); // 'failure'
 * classifyBreakerOutcome(new CancelledError());            // 'ignored'
 * classifyBreakerOutcome(new ToolError('no', 'echo', {})); // 'success' (the server answered)
 */
export function classifyBreakerOutcome(error: unknown): BreakerOutcome {
  if (error === undefined) return 'success';
  if (countsAsBreakerFailure(error)) return 'failure';
  if (
    isMcpRuntimeError(error, 'TOOL') ||
    isMcpRuntimeError(error, 'REMOTE') ||
    isMcpRuntimeError(error, 'AUTH')
  ) {
    return 'success';
  }
  return 'ignored';
}

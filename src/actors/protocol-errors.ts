/**
 * Reports what the SDK `Client` itself finds wrong with a peer's messages — responses to ids it never
 * sent (or already settled: duplicates), messages of no known type — as PROTOCOL errors. Progress
 * for a call already settled is only counted (`onLateProgress`). Transport errors also reach `Client.onerror`, but they are reported by the
 * connection already (`onTransportError`), so only the Client's own findings are passed on here.
 */
import type { Client } from '@modelcontextprotocol/client';
import { type McpRuntimeError, ProtocolError } from '../errors/index.js';

/** Messages the SDK's Protocol layer raises about the peer's messages (not about the transport). */
const CLIENT_FINDING =
  /^(Received a response for an unknown message ID|Unknown message type|Uncaught error in notification handler|Response handler missing|.* handler missing for request)/;

/**
 * Progress for a call that already settled (it timed out, was cancelled, or the server reports
 * after its result): normal on a live connection, not a fault of the peer. Dropped and counted.
 */
const LATE_PROGRESS = /^Received a progress notification for an unknown token/;

/**
 * The `client.onerror` that passes the Client's own findings on as {@link ProtocolError}s and
 * counts late progress with `onLateProgress`. Message bodies are cut to 200 characters. It depends
 * on the server only: build it once per server and share it between the server's Clients.
 *
 * @example
 * const onerror = protocolErrorHandler('demo', (error) => runtime.emit('error', { server: 'demo', error }));
 */
export function protocolErrorHandler(
  server: string,
  report: (error: McpRuntimeError) => void,
  onLateProgress?: () => void,
): (error: Error) => void {
  return (error) => {
    if (LATE_PROGRESS.test(error.message)) {
      onLateProgress?.();
      return;
    }
    if (!CLIENT_FINDING.test(error.message)) return;
    const text = error.message.length > 200 ? `${error.message.slice(0, 200)}…` : error.message;
    report(new ProtocolError(`${server}: ${text}`, { server, cause: error }));
  };
}

/**
 * Installs `onError` (a {@link protocolErrorHandler}) as `client.onerror`, chaining a handler the
 * Client already has (none on a new Client: then no wrapper is made).
 *
 * @example
 * watchProtocolErrors(client, protocolErrorHandler('demo', report));
 */
export function watchProtocolErrors(client: Client, onError: (error: Error) => void): void {
  const previous = client.onerror;
  client.onerror = previous
    ? (error: Error) => {
        previous(error);
        onError(error);
      }
    : onError;
}

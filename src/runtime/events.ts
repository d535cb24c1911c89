/**
 * The runtime's typed events (eventemitter3). Every payload names its `server` and carries the
 * runtime `context`; none carries a secret.
 */

import type { McpRuntimeError } from '../errors/index.js';
import type { ConnectionErrorSummary, ConnectionStateName, SessionInfo } from '../machines/connection.js';

/** Fields every event payload has. */
export interface EventBase {
  server: string;
  at: number;
  context: Record<string, unknown>;
}

/** The event map of a runtime: `rt.on(name, (payload) => ...)`. */
export interface RuntimeEvents {
  /** The server's connection became ready (first time or after a reconnect). */
  connect: (e: EventBase & { session: SessionInfo | null; reconnect: boolean }) => void;
  /** A ready connection was lost (or closed). */
  disconnect: (e: EventBase & { reason: ConnectionErrorSummary | null; to: ConnectionStateName }) => void;
  /** Any actor changed state. */
  state: (
    e: EventBase & {
      actor: string;
      from: string;
      to: string;
      attempt?: number;
      retryDelayMs?: number;
      lastError?: ConnectionErrorSummary | null;
    },
  ) => void;
  /** Something went wrong that did not belong to a single call (transport errors, bad frames). */
  error: (e: EventBase & { error: McpRuntimeError }) => void;
  /** A configuration that weakens security (TLS verification off, credentials in clear text); once per server. */
  warning: (e: EventBase & { code: string; message: string }) => void;
  /** A chunk of a stdio server's stderr. */
  stderr: (e: EventBase & { text: string }) => void;
}

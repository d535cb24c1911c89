/**
 * The runtime's typed events (eventemitter3). Every payload names its `server` and carries the
 * runtime `context`; none carries a secret.
 */

import type { LoggingLevel, ReadResourceResult } from '@modelcontextprotocol/client';
import type { McpRuntimeError } from '../errors/index.js';
import type { BreakerCircuit, BreakerReason } from '../machines/breaker.js';
import type { ConnectionErrorSummary, ConnectionStateName, SessionInfo } from '../machines/connection.js';
import type { HealthSnapshot } from './health.js';
import type { RegisteredPrompt, RegisteredTool } from './tool-registry.js';

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
  /** A subscribed resource changed; emitted after the cache was refreshed (`contents` is the new value). */
  resourceUpdated: (
    e: EventBase & { uri: string; contents?: ReadResourceResult; error?: McpRuntimeError },
  ) => void;
  /** The server's resource list changed (`notifications/resources/list_changed`); lists were invalidated. */
  resourcesChanged: (e: EventBase) => void;
  /** The server's tool list changed and the registry was refreshed. */
  toolsChanged: (e: EventBase & { tools: RegisteredTool[] }) => void;
  /** The server's prompt list changed and the registry was refreshed. */
  promptsChanged: (e: EventBase & { prompts: RegisteredPrompt[] }) => void;
  /** Connection or session state changed; carries the server's health metrics. */
  serverStatus: (e: EventBase & { connection: string; session: string; health: HealthSnapshot }) => void;
  /** A log message from the server (`notifications/message`), at or above the level set. */
  log: (e: EventBase & { level: LoggingLevel; logger?: string; data: unknown }) => void;
  /** A session was re-established (after an expiry or a reconnect) and its subscriptions restored. */
  session: (
    e: EventBase & {
      generation: number;
      reason: 'initial' | 'expired' | 'reconnect';
      subscriptions: string[];
    },
  ) => void;
  /**
   * The server asked for input and a configured handler answered: a 2025 server's request, or one
   * round of a 2026 `input_required` result (MRTR). `round` counts the handler calls of a server.
   */
  input: (e: EventBase & { kind: 'sampling' | 'elicitation' | 'roots'; round: number }) => void;
  /**
   * The fleet's shared store (`fleet` config) became unusable (`degraded`: the runtime serves from
   * local state) or usable again (`rejoined`). `server` is `*`; `reason` never holds the URL.
   */
  fleet: (e: EventBase & { state: 'degraded' | 'rejoined'; namespace: string; reason?: string }) => void;
  /** A circuit breaker changed state (`tool` is set for per-tool breakers). */
  breaker: (
    e: EventBase & { from: BreakerCircuit; to: BreakerCircuit; reason: BreakerReason; tool?: string },
  ) => void;
}

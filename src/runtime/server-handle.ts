/**
 * One configured server as the facade sees it: its connection actor (created lazily, so a runtime
 * with a thousand servers starts at once), the call path, and its counters.
 *
 * The call path on a ready server is: a field read (`isReady`), the SDK request, error mapping.
 * Only when the connection is not ready does the call wait, bounded by its own timeout.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { InspectionEvent } from 'xstate';
import { toRuntimeError } from '../actors/map-error.js';
import { type ConnectionStateChange, ServerConnection } from '../actors/server-connection.js';
import { CancelledError, ClosedError, type McpRuntimeError } from '../errors/index.js';
import type { ConnectionStateName } from '../machines/connection.js';
import { buildTransportSpec } from './auth.js';
import type { ResolvedServerConfig } from './config.js';
import { redactUrl } from './redact.js';

/** Per-call options accepted by every runtime method. */
export interface CallOptions {
  /** Deadline of the call, including any wait for the connection. Default: the server's `timeoutMs`. */
  timeoutMs?: number;
  /** Cancels the call; the server gets `notifications/cancelled`. */
  signal?: AbortSignal;
  /** Progress notifications of this call. */
  onProgress?: (progress: { progress: number; total?: number; message?: string }) => void;
  /** Progress extends the timeout (default true when `onProgress` is given). */
  resetTimeoutOnProgress?: boolean;
  /** Hard cap on the total time when progress extends the timeout. */
  maxTotalTimeoutMs?: number;
  /** Allow retrying a non-idempotent tool call (see README, Resilience). */
  retry?: boolean;
}

/** Hooks through which a server handle reports to the runtime. */
export interface ServerHandleHooks {
  onStateChange: (change: ConnectionStateChange) => void;
  onError: (error: McpRuntimeError) => void;
  onStderr: (text: string) => void;
  configureClient: (server: string, client: Client) => void;
  inspect?: (event: InspectionEvent) => void;
}

/** Counters of one server. */
export interface ServerStats {
  calls: number;
  ok: number;
  failed: number;
  inFlight: number;
  failuresByCode: Record<string, number>;
}

/** A configured server: lazy connection, call path, counters. */
export class ServerHandle {
  readonly name: string;
  private connection: ServerConnection | undefined;
  private closed = false;
  readonly stats: ServerStats = { calls: 0, ok: 0, failed: 0, inFlight: 0, failuresByCode: {} };

  constructor(
    readonly config: ResolvedServerConfig,
    private readonly hooks: ServerHandleHooks,
  ) {
    this.name = config.name;
  }

  /** The connection actor, created on first use. */
  get conn(): ServerConnection {
    if (this.connection) return this.connection;
    if (this.closed) throw new ClosedError(`${this.name} is closed`, { server: this.name });
    const c = this.config;
    this.connection = new ServerConnection({
      server: c.name,
      spec: () => buildTransportSpec(c, { onStderr: this.hooks.onStderr }),
      backoff: c.reconnect,
      heartbeat: c.heartbeat,
      connectTimeoutMs: c.connectTimeoutMs,
      initializeTimeoutMs: c.initializeTimeoutMs,
      clientInfo: { name: 'mcp-actors', version: '0.1.0' },
      onStateChange: this.hooks.onStateChange,
      onTransportError: this.hooks.onError,
      configureClient: (client) => this.hooks.configureClient(c.name, client),
      ...(this.hooks.inspect ? { inspect: this.hooks.inspect } : {}),
    });
    return this.connection;
  }

  /** Current connection state; `idle` until first used. */
  get state(): ConnectionStateName {
    return this.connection?.stateName ?? 'idle';
  }

  /** Connects and resolves when ready (bounded by connect + initialize timeouts). */
  async start(): Promise<void> {
    const c = this.config;
    await this.conn.whenReady(c.connectTimeoutMs + c.initializeTimeoutMs);
  }

  /** Leaves `failed` and reconnects from attempt 1. */
  restart(): void {
    this.conn.retry();
  }

  /**
   * Runs one request on the server's client. `run` receives the SDK request options already
   * carrying the remaining timeout, the signal and the progress callback.
   */
  async call<T>(
    operation: string,
    options: CallOptions,
    run: (client: Client, opts: RequestOptions) => Promise<T>,
  ): Promise<T> {
    if (this.closed) throw new ClosedError(`${this.name} is closed`, { server: this.name });
    const stats = this.stats;
    stats.calls++;
    stats.inFlight++;
    const timeoutMs = options.timeoutMs ?? this.config.timeoutMs;
    try {
      const conn = this.conn;
      let remainingMs = timeoutMs;
      if (!conn.isReady) {
        const waitStarted = Date.now();
        await conn.whenReady(timeoutMs, options.signal);
        remainingMs = Math.max(1, timeoutMs - (Date.now() - waitStarted));
      }
      const opts: RequestOptions = { timeout: remainingMs };
      if (options.signal) opts.signal = options.signal;
      if (options.onProgress) {
        opts.onprogress = options.onProgress;
        opts.resetTimeoutOnProgress = options.resetTimeoutOnProgress ?? true;
      } else if (options.resetTimeoutOnProgress !== undefined) {
        opts.resetTimeoutOnProgress = options.resetTimeoutOnProgress;
      }
      if (options.maxTotalTimeoutMs !== undefined) opts.maxTotalTimeout = options.maxTotalTimeoutMs;
      const value = await run(conn.client, opts);
      stats.ok++;
      return value;
    } catch (error) {
      const mapped = this.closed
        ? new ClosedError(`${operation} on ${this.name}: the runtime was closed`, {
            server: this.name,
            cause: error,
          })
        : options.signal?.aborted
          ? new CancelledError(`${operation} on ${this.name} was cancelled`, {
              server: this.name,
              cause: error,
            })
          : toRuntimeError(error, { server: this.name, operation, timeoutMs });
      stats.failed++;
      stats.failuresByCode[mapped.code] = (stats.failuresByCode[mapped.code] ?? 0) + 1;
      throw mapped;
    } finally {
      stats.inFlight--;
    }
  }

  /** JSON summary for `snapshot()`: state, counters, session; no secrets. */
  snapshot() {
    const ctx = this.connection?.actor.getSnapshot().context;
    return {
      transport: this.config.transport,
      target: this.config.url ? redactUrl(this.config.url) : this.config.command,
      state: this.state,
      attempt: ctx?.attempt ?? 0,
      readyCount: ctx?.readyCount ?? 0,
      retryAt: ctx?.retryAt ?? null,
      lastError: ctx?.lastError ?? null,
      session: ctx?.session
        ? { ...ctx.session, sessionId: ctx.session.sessionId ? '***' : undefined, instructions: undefined }
        : null,
      stats: { ...this.stats, failuresByCode: { ...this.stats.failuresByCode } },
    };
  }

  /** Closes the connection; calls in flight reject with CLOSED. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await this.connection?.close();
  }
}

/**
 * One configured server as the facade sees it: its supervisor, its pool of connections and its
 * call path (queue, breaker, retries), all created lazily, so a runtime with a thousand servers
 * starts at once. The supervisor counts connections that give up and fails the server past its
 * restart intensity (calls then reject with SERVER_FAILED until `restart`).
 */
import type { Client, ClientOptions, RequestOptions } from '@modelcontextprotocol/client';
import { type Actor, createActor, type InspectionEvent } from 'xstate';
import {
  type ConnectionStateChange,
  type KnownEra,
  ServerConnection,
  type ServerConnectionOptions,
} from '../actors/server-connection.js';
import {
  AuthError,
  ClosedError,
  ConfigError,
  type McpRuntimeError,
  ProtocolError,
  ServerFailedError,
} from '../errors/index.js';
import type { BreakerTransition } from '../machines/breaker.js';
import {
  type ConnectionErrorSummary,
  type ConnectionStateName,
  summarisedError,
} from '../machines/connection.js';
import type { RequestKind, ToolHints } from '../machines/retry-policy.js';
import { type SupervisorEvent, supervisorMachine, takeSupervisorOutput } from '../machines/supervisor.js';
import { buildTransportSpec, secretsFor, surfaceError } from './auth.js';
import { type CallOptions, CallPath, type CallSpec } from './call-path.js';
import type { ResolvedServerConfig } from './config.js';
import type { Fleet } from './fleet/fleet.js';
import type { PersistedServer } from './persist.js';
import { redactUrl } from './redact.js';
import { requestKindOf } from './request-kind.js';
import { ServerPool } from './server-pool.js';
import type { CallRequests, CallTelemetry } from './telemetry/call-telemetry.js';
import { describeServer, type TelemetryServer } from './telemetry/server-info.js';

export type { CallOptions } from './call-path.js';

/** What a call may hand the path besides `run` (see {@link CallSpec}). */
export type CallExtra<T> = Pick<CallSpec<T>, 'arg' | 'check' | 'mapError' | 'withInput'>;

/** Hooks through which a server handle reports to the runtime. */
export interface ServerHandleHooks {
  onStateChange: (change: ConnectionStateChange & { memberId?: string }) => void;
  /** The supervisor changed state (`failed` = the server was given up on). */
  onSupervisorState?: (change: {
    server: string;
    from: string;
    to: string;
    at: number;
    lastError: { code: string; message: string } | null;
  }) => void;
  onError: (error: McpRuntimeError) => void;
  onStderr: (text: string) => void;
  configureClient: (server: string, client: Client) => void;
  onBreaker?: (change: BreakerTransition & { tool?: string }) => void;
  inspect?: (event: InspectionEvent) => void;
  /** Options of the server's SDK Client: declared capabilities, the shared schema validator. */
  clientOptions?: (server: string) => ClientOptions;
  /** A tool's annotations, when known (the retry-safety rule reads them). */
  toolHints?: (server: string, tool: string) => ToolHints | undefined;
  /** Persisted state to resume from (breakers, retry budget). */
  restore?: PersistedServer;
  /** The fleet this runtime joined (resolves once its store connected; undefined without one). */
  fleet?: Promise<Fleet | undefined>;
  /** Spans, `_meta` propagation and session durations; absent (or the no-op) when nothing records. */
  telemetry?: CallTelemetry;
  /** Sends one attempt in place of the plain request (session re-initialisation on HTTP 404). */
  send?: <T>(
    server: string,
    conn: ServerConnection,
    spec: CallSpec<T>,
    opts: RequestOptions,
    arg: unknown,
  ) => Promise<T>;
  /** Each attempt that reached a connection: latency and error (health metrics). */
  onOutcome?: (server: string, latencyMs: number, error: McpRuntimeError | undefined) => void;
}

/** The issue a connection's CONFIG failure carries (its message already names the field). */
function configIssue(server: string, message: string): { path: string; message: string } {
  const named = /^Invalid configuration: ([^:]+): (.*)$/s.exec(message);
  return named ? { path: named[1]!, message: named[2]! } : { path: `servers.${server}`, message };
}

/** A server's protocol era as `snapshot()`, `health()` and the CLI show it. */
export interface ProtocolStatus {
  /** Config `protocol`. */
  preference: 'auto' | '2026-07-28' | '2025-11-25';
  /** `modern` (2026-07-28, stateless) or `legacy` (2025, initialize and sessions); null until known. */
  era: 'modern' | 'legacy' | null;
  /** The negotiated protocol revision; null until known. */
  version: string | null;
}

/** A configured server: lazy pool of connections, supervisor, call path, counters. */
export class ServerHandle {
  readonly name: string;
  /** The server as telemetry describes it (address, transport, redactor). */
  readonly telemetryServer: TelemetryServer;
  private serverPool: ServerPool | undefined;
  private supervisor: Actor<typeof supervisorMachine> | undefined;
  private failure: McpRuntimeError | undefined;
  private closed = false;
  private callPath: CallPath | undefined;
  /** The protocol era learned for this server (or restored), shared by its connections. */
  private verdict: KnownEra | null;
  /** What every connection of the server is given alike, made with the first one. */
  private shared: ServerConnectionOptions | undefined;

  constructor(
    readonly config: ResolvedServerConfig,
    private readonly hooks: ServerHandleHooks,
  ) {
    this.name = config.name;
    const secrets = secretsFor(config);
    this.telemetryServer = describeServer({
      name: config.name,
      transport: config.transport,
      url: config.url,
      redact: (text) => secrets.redact(text),
    });
    const restored = hooks.restore?.era ?? null;
    // A restored verdict counts only if it fits the configured preference.
    this.verdict =
      restored &&
      (config.protocol === 'auto' || (config.protocol === '2026-07-28') === (restored.era === 'modern'))
        ? restored
        : null;
  }

  /** The protocol era known for this server (null until the first handshake, or a restore). */
  get era(): KnownEra | null {
    return this.verdict;
  }

  /** The server's connection pool and supervisor, created on first use. */
  get pool(): ServerPool {
    if (this.serverPool) return this.serverPool;
    if (this.closed) throw new ClosedError(`${this.name} is closed`, { server: this.name });
    const c = this.config;
    this.supervisor = createActor(supervisorMachine, {
      input: { server: c.name, ...c.supervisor, nowMs: Date.now() },
      ...(this.hooks.inspect ? { inspect: this.hooks.inspect } : {}),
    });
    let supervisorState = 'stopped';
    this.supervisor.subscribe((snap) => {
      const to = String(snap.value);
      if (to === supervisorState) return;
      const from = supervisorState;
      supervisorState = to;
      const f = snap.context.failure;
      this.hooks.onSupervisorState?.({
        server: c.name,
        from,
        to,
        at: Date.now(),
        lastError: f ? { code: f.error.code, message: f.error.message } : null,
      });
    });
    this.supervisor.start();
    this.serverPool = new ServerPool({
      server: c.name,
      config: { ...c.pool, ...(c.transport === 'memory' ? { max: Math.max(1, c.pool.min) } : {}) },
      createConnection: (memberId, onState) => this.createConnection(memberId, onState),
      failure: () => this.failure,
      onMemberFailed: (_memberId, error) => this.onMemberFailed(error),
      ...(this.hooks.inspect ? { inspect: this.hooks.inspect } : {}),
    });
    this.superviseSend({ type: 'START', nowMs: Date.now() });
    return this.serverPool;
  }

  /** The primary connection (subscriptions live there); connects lazily. */
  get conn(): ServerConnection {
    const pool = this.pool;
    pool.start();
    const primary = pool.primary();
    if (!primary) throw new ClosedError(`${this.name} has no connection`, { server: this.name });
    return primary;
  }

  /** Whether `memberId` is the pool's primary member (or the only one). */
  isPrimary(memberId: string): boolean {
    return this.serverPool?.isPrimary(memberId) ?? true;
  }

  /** The primary connection if one was created (never creates one). */
  get existingConnection(): ServerConnection | undefined {
    return this.serverPool?.primary();
  }

  /** Current state of the primary connection (`failed` once the supervisor gave up); `idle` until first used. */
  get state(): ConnectionStateName {
    if (this.closed) return 'closed';
    if (this.failure) return 'failed';
    return this.existingConnection?.stateName ?? 'idle';
  }

  /** Connects and resolves when a connection is ready (bounded by connect + initialize timeouts). */
  async start(): Promise<void> {
    const c = this.config;
    const timeoutMs = c.connectTimeoutMs + c.initializeTimeoutMs;
    const startedMs = Date.now();
    await this.pool.waitReady(timeoutMs);
    // The pool's other `min` members too (bounded; a slow one does not fail the start).
    if (c.pool.min > 1) await this.pool.waitMembersReady(c.pool.min, timeoutMs - (Date.now() - startedMs));
  }

  /** Leaves `failed` (supervisor and connections) and reconnects from attempt 1. */
  restart(): void {
    this.failure = undefined;
    this.pool.retryFailed();
    this.superviseSend({ type: 'RESTART', nowMs: Date.now() });
  }

  private createConnection(
    memberId: string,
    onState: (change: ConnectionStateChange) => void,
  ): ServerConnection {
    const c = this.config;
    const telemetry = this.hooks.telemetry?.enabled ? this.hooks.telemetry : undefined;
    let readyAtMs = 0;
    // One options object for every connection of the server; each keeps only its own part.
    this.shared ??= {
      server: c.name,
      spec: async () => ({
        ...(await buildTransportSpec(c, { onStderr: this.hooks.onStderr, fleet: this.hooks.fleet })),
        ...(c.mock ? { inProcess: c.mock } : {}),
        concurrency: c.queue.concurrency,
      }),
      backoff: c.reconnect,
      heartbeat: c.heartbeat,
      connectTimeoutMs: c.connectTimeoutMs,
      initializeTimeoutMs: c.initializeTimeoutMs,
      clientInfo: c.clientInfo,
      protocol: c.protocol,
      onVerdict: (verdict) => {
        this.verdict = verdict;
      },
      onTransportError: this.hooks.onError,
      configureClient: (client) => this.hooks.configureClient(c.name, client),
      // Under the supervisor (made with the pool, before any connection), in its actor system and
      // its inspection: no actor system per connection.
      ...(this.supervisor ? { parent: this.supervisor } : {}),
      ...(this.hooks.clientOptions ? { clientOptions: this.hooks.clientOptions(c.name) } : {}),
    };
    return new ServerConnection(this.shared, {
      // One verdict per server: a pool member or a reconnect learns it once for all.
      verdict: this.verdict,
      onStateChange: (change) => {
        if (telemetry) readyAtMs = this.recordSession(telemetry, change, readyAtMs);
        onState(change);
        // The reconnect is evidence the server is back: a breaker the connection opened probes now.
        if (change.to === 'ready') this.callPath?.connectionReady();
        this.hooks.onStateChange({ ...change, memberId });
      },
      ...(telemetry ? this.telemetryHooks(telemetry) : {}),
    });
  }

  /** One connection's telemetry hooks: trace context out, input rounds in, over one request ledger. */
  private telemetryHooks(telemetry: CallTelemetry): Pick<ServerConnectionOptions, 'outgoing' | 'incoming'> {
    const requests: CallRequests = new Map();
    return {
      outgoing: (message, version, sessionId) => telemetry.outgoing(message, version, sessionId, requests),
      incoming: (message, extra, deliver) => telemetry.incoming(message, extra, deliver, requests),
    };
  }

  /** `mcp.client.session.duration`: a session lasts from ready until the connection leaves ready. */
  private recordSession(telemetry: CallTelemetry, change: ConnectionStateChange, readyAtMs: number): number {
    if (change.to === 'ready') return change.at;
    if (change.from === 'ready' && readyAtMs !== 0) {
      const closed = change.to === 'closing' || change.to === 'closed';
      telemetry.sessionEnded(
        this.telemetryServer,
        change.at - readyAtMs,
        change.session?.protocolVersion,
        closed ? undefined : (change.lastError ?? { code: 'CONNECTION_LOST' }),
      );
      return 0;
    }
    return readyAtMs;
  }

  /**
   * A member's connection gave up. Credentials a restart cannot mend (AUTH) fail the server at
   * once; anything else is the supervisor's to count (the pool replaces the member meanwhile).
   */
  private onMemberFailed(error: ConnectionErrorSummary): void {
    // The error the summary was made from (the platform's TLS or socket error) stays the cause.
    const cause = summarisedError(error) ?? error;
    if (error.code === 'AUTH') {
      this.failure = new AuthError(`${this.name}: ${error.message}; fix the credentials and call restart`, {
        server: this.name,
        cause,
      });
      this.serverPool?.rejectWaiters(this.failure);
      return;
    }
    if (error.code === 'CONFIG' || error.permanent) {
      // No such command, no MCP endpoint at the URL, a refused protocol version: say so at once.
      this.failure =
        error.code === 'CONFIG'
          ? new ConfigError([configIssue(this.name, error.message)], { server: this.name, cause })
          : new ProtocolError(`${error.message}; fix the configuration and call restart`, {
              server: this.name,
              cause,
            });
      this.serverPool?.rejectWaiters(this.failure);
      return;
    }
    this.superviseSend({ type: 'CHILD_FAILED', child: 'pool', error, nowMs: Date.now() });
  }

  /** Sends to the supervisor and carries out what it decides (restart a child, escalate). */
  private superviseSend(event: SupervisorEvent): void {
    const sup = this.supervisor;
    if (sup?.getSnapshot().status !== 'active') return;
    sup.send(event);
    for (const o of takeSupervisorOutput(sup.getSnapshot().context)) {
      if (o.kind === 'restart') {
        // The pool replaces a failed member by itself (after replaceDelayMs); the queue and breaker
        // keep no state a restart would mend. The supervisor's part is to count and give up.
        sup.send({ type: 'CHILD_RESTARTED', child: o.child, nowMs: Date.now() });
      } else if (o.kind === 'escalate') {
        const f = o.failure;
        this.failure =
          f.error.code === 'AUTH'
            ? new AuthError(`${this.name}: ${f.error.message}; fix the credentials and call restart`, {
                server: this.name,
                cause: summarisedError(f.error) ?? f.error,
              })
            : new ServerFailedError(
                `${this.name} is failed: ${f.restartsInWindow} restarts within ${f.withinMs} ms (last: ${f.error.code}: ${f.error.message}); call restart to try again`,
                { server: this.name, cause: f },
              );
        this.serverPool?.rejectWaiters(this.failure);
      }
    }
  }

  /** The server's call path (queue, breaker, retries), created with the connection. */
  get path(): CallPath {
    if (this.callPath) return this.callPath;
    const c = this.config;
    const { perTool, ...breaker } = c.breaker;
    const { send, onOutcome } = this.hooks;
    this.callPath = new CallPath({
      server: c.name,
      timeoutMs: c.timeoutMs,
      retry: c.retry,
      breaker,
      perToolBreakers: perTool ?? false,
      queue: c.queue,
      acquire: (timeoutMs, signal) => {
        if (this.failure) throw this.failure;
        return this.pool.acquire(timeoutMs, signal);
      },
      release: (conn) => this.serverPool?.release(conn),
      toolHints: (tool) => this.hooks.toolHints?.(c.name, tool),
      onBreaker: (change) => this.hooks.onBreaker?.(change),
      onCallsWaiting: () => this.serverPool?.callsWaiting(),
      maxInputRounds: c.maxInputRounds,
      ...(send ? { send: (conn, spec, opts, arg) => send(c.name, conn, spec, opts, arg) } : {}),
      ...(onOutcome ? { onOutcome: (latencyMs, error) => onOutcome(c.name, latencyMs, error) } : {}),
      // Failures leave redacted, and a server given up on for AUTH rejects with AUTH (auth.ts).
      surfaceError: (error) => surfaceError(this.config, error) as McpRuntimeError,
      ...(this.hooks.telemetry?.enabled
        ? { telemetry: { calls: this.hooks.telemetry, server: this.telemetryServer } }
        : {}),
      ...(this.hooks.inspect ? { inspect: this.hooks.inspect } : {}),
      ...(this.hooks.restore
        ? { restore: { breakers: this.hooks.restore.breakers, retryBudget: this.hooks.restore.retryBudget } }
        : {}),
    });
    void this.hooks.fleet?.then((fleet) => (fleet ? this.joinFleet(fleet, this.callPath) : undefined));
    return this.callPath;
  }

  /** Shares this server's breakers and retry budget with the fleet (runtime/fleet). */
  private async joinFleet(fleet: Fleet, path: CallPath | undefined): Promise<void> {
    if (!path || path.isClosed) return;
    const c = this.config;
    const breakers = await fleet.breakers(
      c.name,
      { failureThreshold: c.breaker.failureThreshold },
      {
        onFleetTrip: (key) => path.applyFleet(key, { kind: 'trip' }),
        onRemoteOpen: (key, openForMs) => path.applyFleet(key, { kind: 'open', openForMs }),
        onRemoteClose: (key) => path.applyFleet(key, { kind: 'close' }),
        onGuard: (key) => path.declareInFlight(key),
      },
    );
    const retryBudget = fleet.retryBudget(c.name, {
      ratio: c.retry.budgetRatio,
      windowMs: c.retry.budgetWindowMs,
      minRetries: c.retry.budgetMinRetries,
    });
    path.attachFleet({ breakers, retryBudget });
  }

  /**
   * Runs one request through the call path. `run` receives the SDK request options already
   * carrying the remaining timeout, the signal and the progress callback. The request kind (for
   * the retry-safety rule) is read from `operation` (`tools/call NAME`, `resources/read URI`, ...).
   */
  call<T>(
    operation: string,
    options: CallOptions,
    run: CallSpec<T>['run'],
    extra?: CallExtra<T>,
  ): Promise<T> {
    const { kind, tool } = requestKindOf(operation);
    return this.submit(operation, kind, tool, options, run, extra);
  }

  /**
   * {@link call} for `tools/call` of `tool` (operation `tools/call TOOL`), without building the
   * label's parts again from the string on every call.
   */
  callTool<T>(tool: string, options: CallOptions, run: CallSpec<T>['run'], extra?: CallExtra<T>): Promise<T> {
    return this.submit(`tools/call ${tool}`, 'tool', tool, options, run, extra);
  }

  private submit<T>(
    operation: string,
    kind: RequestKind,
    tool: string | undefined,
    options: CallOptions,
    run: CallSpec<T>['run'],
    extra?: CallExtra<T>,
  ): Promise<T> {
    if (this.closed) return Promise.reject(new ClosedError(`${this.name} is closed`, { server: this.name }));
    // One object shape for every call (absent parts are undefined, which the path treats as none).
    return this.path.submit({
      operation,
      kind,
      tool,
      options,
      run,
      arg: extra?.arg,
      check: extra?.check,
      mapError: extra?.mapError,
      withInput: extra?.withInput,
    });
  }

  /** What survives a process restart (see persist.ts). Servers never used carry over what was restored. */
  persist(): PersistedServer {
    const session = this.existingConnection?.session;
    const restored = this.hooks.restore;
    const path = this.callPath?.persist();
    return {
      breakers: path?.breakers ?? restored?.breakers ?? {},
      retryBudget: path?.retryBudget ?? restored?.retryBudget ?? null,
      session: session
        ? {
            ...(session.sessionId ? { sessionId: session.sessionId } : {}),
            protocolVersion: session.protocolVersion,
          }
        : (restored?.session ?? null),
      era: this.verdict,
    };
  }

  /** The configured era preference and what was negotiated (or restored). */
  protocolStatus(): ProtocolStatus {
    const v = this.verdict;
    return { preference: this.config.protocol, era: v?.era ?? null, version: v?.protocolVersion ?? null };
  }

  /** JSON summary for `snapshot()`: state, counters, session; no secrets. */
  snapshot() {
    const ctx = this.existingConnection?.actor.getSnapshot().context;
    const sup = this.supervisor?.getSnapshot();
    return {
      transport: this.config.transport,
      protocol: this.protocolStatus(),
      target: this.config.url ? redactUrl(this.config.url) : this.config.command,
      state: this.state,
      attempt: ctx?.attempt ?? 0,
      readyCount: ctx?.readyCount ?? 0,
      retryAt: ctx?.retryAt ?? null,
      lastError: ctx?.lastError ?? null,
      session: ctx?.session
        ? { ...ctx.session, sessionId: ctx.session.sessionId ? '***' : undefined, instructions: undefined }
        : null,
      ...(this.callPath ? this.callPath.snapshot() : CallPath.idleSnapshot()),
      pool: this.serverPool?.snapshot() ?? null,
      supervisor: sup
        ? { state: String(sup.value), restarts: { ...sup.context.restarts }, failure: sup.context.failure }
        : null,
    };
  }

  /** Closes the connection; calls in flight reject with CLOSED. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.callPath?.close();
    await this.serverPool?.close();
    this.supervisor?.stop();
  }
}

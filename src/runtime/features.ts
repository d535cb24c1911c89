/**
 * The MCP feature set of a runtime, in one place the facade delegates to: per-server sessions
 * (src/runtime/session.ts), the resource cache, the tool/prompt registry, subscriptions and
 * watches, server-initiated requests, server logs, health and the notification handlers that tie
 * them together. The facade (runtime.ts) keeps one-line methods; the logic lives here.
 */
import type {
  Client,
  ClientOptions,
  LoggingLevel,
  ReadResourceResult,
  RequestOptions,
} from '@modelcontextprotocol/client';
import type { InspectionEvent } from 'xstate';
import type { ConnectionStateChange, ServerConnection } from '../actors/server-connection.js';
import type { McpRuntimeError } from '../errors/index.js';
import type { SessionStateName } from '../machines/session.js';
import type { CallSpec } from './call-path.js';
import type { ResolvedConfig } from './config.js';
import type { EventBase, RuntimeEvents } from './events.js';
import type { HealthSnapshot } from './health.js';
import { listKey, ResourceCache, resourceKey } from './resource-cache.js';
import { sharedJsonSchemaValidator } from './schema.js';
import {
  capabilitiesFor,
  installServerRequestHandlers,
  type ServerRequestHandlers,
} from './server-requests.js';
import { ServerSession } from './session.js';
import { subscriptionStream } from './streams.js';
import { type ListKind, ToolRegistry } from './tool-registry.js';

/** Severity order of MCP log levels (RFC 5424). */
export const LOG_LEVELS: readonly LoggingLevel[] = [
  'debug',
  'info',
  'notice',
  'warning',
  'error',
  'critical',
  'alert',
  'emergency',
];

/** The key under which the runtime's context travels in a request's `_meta`. */
export const CONTEXT_META_KEY = 'mcp-actors/context';

/** What the feature set needs from the facade. */
export interface FeatureHost {
  readonly config: ResolvedConfig;
  /** The server's connection, when it was created (never creates one). */
  connectionOf(server: string): ServerConnection | undefined;
  emit<K extends keyof RuntimeEvents>(event: K, payload: Parameters<RuntimeEvents[K]>[0]): void;
  base(server: string): EventBase;
  listTools(server: string): Promise<unknown>;
  listPrompts(server: string): Promise<unknown>;
  readResource(server: string, uri: string): Promise<ReadResourceResult>;
  subscribeRequest(server: string, uri: string): Promise<void>;
  unsubscribeRequest(server: string, uri: string): Promise<void>;
  setLevelRequest(server: string, level: LoggingLevel): Promise<void>;
  isClosed(): boolean;
}

/** Debounce of list_changed refreshes. */
const LIST_CHANGED_DEBOUNCE_MS = 50;

/** The feature set of one runtime. */
export class RuntimeFeatures {
  readonly cache: ResourceCache;
  readonly registry: ToolRegistry;
  private readonly sessions = new Map<string, ServerSession>();
  /** Watchers per server and URI: the subscription is sent once and dropped with the last watcher. */
  private readonly watchers = new Map<string, Map<string, Set<(r: ReadResourceResult) => void>>>();
  private readonly logLevels = new Map<string, LoggingLevel>();

  constructor(
    private readonly host: FeatureHost,
    inspect?: (event: InspectionEvent) => void,
  ) {
    const config = host.config;
    this.cache = new ResourceCache((server) => config.servers.get(server)?.cache ?? config.cache);
    this.registry = new ToolRegistry({
      list: (server, kind) => (kind === 'tools' ? host.listTools(server) : host.listPrompts(server)),
      onChanged: (server, kind) => this.emitListChanged(server, kind),
      onError: (server, error) => host.emit('error', { ...host.base(server), error: error as never }),
      debounceMs: LIST_CHANGED_DEBOUNCE_MS,
    });
    for (const server of config.servers.keys()) {
      this.sessions.set(
        server,
        new ServerSession(server, () => host.connectionOf(server), {
          invalidateCache: (s) => this.onSessionRenewed(s),
          onStateChange: (s, from, to) => this.onSessionState(s, from, to),
          toolHints: (s, tool) => this.registry.findTool(s, tool)?.annotations,
          ...(inspect ? { inspect } : {}),
        }),
      );
    }
  }

  /** The session actor of a server. */
  session(server: string): ServerSession | undefined {
    return this.sessions.get(server);
  }

  /** Client options for a server: only the capabilities its handlers make true; the shared validator. */
  clientOptions(): ClientOptions {
    return {
      capabilities: capabilitiesFor(this.host.config.handlers as ServerRequestHandlers | undefined),
      jsonSchemaValidator: sharedJsonSchemaValidator,
    };
  }

  /**
   * Sends one attempt of a call. Only a connection with an HTTP session id can meet an expired
   * session (HTTP 404), so only its requests go through the session's wrapper, which re-initialises
   * and replays; every other request goes straight to the Client (no wrapper, no closure).
   */
  send<T>(server: string, conn: ServerConnection, spec: CallSpec<T>, opts: RequestOptions): Promise<T> {
    const session = conn.session?.sessionId === undefined ? undefined : this.sessions.get(server);
    if (!session) return spec.run(conn.client, opts, spec.arg);
    return session.run(spec.operation, spec.options, conn, conn.client, opts, (client, o) =>
      spec.run(client, o, spec.arg),
    );
  }

  /** Health metrics of a server: one attempt's latency and outcome (fed by the call path). */
  recordOutcome(server: string, latencyMs: number, error: McpRuntimeError | undefined): void {
    this.sessions.get(server)?.health.record(latencyMs, error);
  }

  /** Registers notification and server-request handlers on a server's Client (once). */
  configureClient(server: string, client: Client): void {
    const config = this.host.config.servers.get(server);
    installServerRequestHandlers(
      client,
      server,
      this.host.config.handlers as ServerRequestHandlers | undefined,
      config?.context ?? {},
    );
    client.setNotificationHandler('notifications/resources/updated', (n) =>
      this.onResourceUpdated(server, n.params.uri),
    );
    client.setNotificationHandler('notifications/resources/list_changed', () => {
      this.cache.invalidatePrefix(server, listKey('resources'));
      this.cache.invalidatePrefix(server, listKey('templates'));
      this.host.emit('resourcesChanged', { ...this.host.base(server) });
    });
    client.setNotificationHandler('notifications/tools/list_changed', () => {
      this.cache.invalidatePrefix(server, 'tool:');
      this.registry.scheduleRefresh(server, 'tools');
    });
    client.setNotificationHandler('notifications/prompts/list_changed', () => {
      this.registry.scheduleRefresh(server, 'prompts');
    });
    client.setNotificationHandler('notifications/message', (n) => {
      const min = this.logLevels.get(server);
      if (min && LOG_LEVELS.indexOf(n.params.level) < LOG_LEVELS.indexOf(min)) return;
      this.host.emit('log', {
        ...this.host.base(server),
        level: n.params.level,
        ...(n.params.logger !== undefined ? { logger: n.params.logger } : {}),
        data: n.params.data,
      });
    });
  }

  /** Feeds the session, then reports `serverStatus`. Called before the facade's own events. */
  onConnectionState(change: ConnectionStateChange): void {
    this.sessions.get(change.server)?.onConnectionState(change);
    this.emitStatus(change.server, change.to);
  }

  /** A transport error outside any call (the SSE stream's GET got 404 → the session expired). */
  onTransportError(server: string, error: unknown): void {
    this.sessions.get(server)?.onTransportError(error);
  }

  /** The health of one server. */
  health(server: string): HealthSnapshot | undefined {
    return this.sessions.get(server)?.health.snapshot();
  }

  /** Sets the server's minimum log level (`logging/setLevel`), kept across re-initialisations. */
  async setLogLevel(server: string, level: LoggingLevel): Promise<void> {
    await this.host.setLevelRequest(server, level);
    this.logLevels.set(server, level);
  }

  /** Subscribes to a resource; the subscription is restored after every re-initialisation. */
  async subscribe(server: string, uri: string): Promise<void> {
    await this.host.subscribeRequest(server, uri);
    this.sessions.get(server)?.subscribed(uri);
  }

  /** Ends a subscription. */
  async unsubscribe(server: string, uri: string): Promise<void> {
    this.sessions.get(server)?.unsubscribed(uri);
    this.cache.invalidate(server, resourceKey(uri));
    await this.host.unsubscribeRequest(server, uri);
  }

  /** Yields the resource each time the server reports it updated, until the loop ends. */
  watch(
    server: string,
    uri: string,
    signal?: AbortSignal,
  ): AsyncGenerator<ReadResourceResult, void, undefined> {
    return subscriptionStream<ReadResourceResult>(async (push) => {
      const byUri = this.watchers.get(server) ?? new Map<string, Set<(r: ReadResourceResult) => void>>();
      this.watchers.set(server, byUri);
      const existing = byUri.get(uri);
      const first = existing === undefined;
      const set = existing ?? new Set<(r: ReadResourceResult) => void>();
      byUri.set(uri, set);
      set.add(push);
      if (first) {
        try {
          await this.subscribe(server, uri);
        } catch (error) {
          set.delete(push);
          if (set.size === 0) byUri.delete(uri);
          throw error;
        }
      }
      return async () => {
        set.delete(push);
        if (set.size > 0 || byUri.get(uri) !== set) return;
        byUri.delete(uri);
        if (!this.host.isClosed()) await this.unsubscribe(server, uri).catch(() => {});
      };
    }, signal);
  }

  /** Cancels timers; stops the session actors. */
  close(): void {
    this.registry.close();
    for (const s of this.sessions.values()) s.stop();
  }

  /** JSON view of one server's session for `snapshot()`. */
  snapshot(server: string) {
    return this.sessions.get(server)?.snapshot();
  }

  private async onResourceUpdated(server: string, uri: string): Promise<void> {
    this.cache.invalidate(server, resourceKey(uri));
    let contents: ReadResourceResult | undefined;
    let error: unknown;
    try {
      // Re-read through the cache, so the event reports (and the cache holds) the fresh value.
      contents = await this.host.readResource(server, uri);
    } catch (e) {
      error = e;
    }
    const base = this.host.base(server);
    this.host.emit('resourceUpdated', {
      ...base,
      uri,
      ...(contents ? { contents } : {}),
      ...(error ? { error: error as never } : {}),
    });
    if (contents) for (const push of this.watchers.get(server)?.get(uri) ?? []) push(contents);
  }

  /** A new session (after an expiry or a reconnect): nothing cached may be trusted. */
  private onSessionRenewed(server: string): void {
    this.cache.clear(server);
  }

  private onSessionState(server: string, from: SessionStateName, to: SessionStateName): void {
    // Session changes surface as `serverStatus` (and `session` after a restore), not as `state`:
    // `state` listeners count connection transitions.
    if (from === 'restoring' && to === 'active') {
      const session = this.sessions.get(server);
      // Session-scoped state the server forgot: the log level, and lists it may have changed.
      const level = this.logLevels.get(server);
      if (level) this.host.setLevelRequest(server, level).catch(() => {});
      for (const kind of ['tools', 'prompts'] as const) {
        if (this.registry.isLoaded(server, kind)) this.registry.scheduleRefresh(server, kind);
      }
      this.host.emit('session', {
        ...this.host.base(server),
        generation: session?.generation ?? 0,
        reason: session?.actor.getSnapshot().context.reason ?? 'reconnect',
        subscriptions: [...(session?.subscriptions ?? [])],
      });
    }
    this.emitStatus(server, undefined);
  }

  private emitStatus(server: string, connection: string | undefined): void {
    const session = this.sessions.get(server);
    if (!session) return;
    this.host.emit('serverStatus', {
      ...this.host.base(server),
      connection: connection ?? this.host.connectionOf(server)?.stateName ?? 'idle',
      session: session.stateName,
      health: session.health.snapshot(),
    });
  }

  private emitListChanged(server: string, kind: ListKind): void {
    const base = this.host.base(server);
    if (kind === 'tools') this.host.emit('toolsChanged', { ...base, tools: this.registry.tools(server) });
    else this.host.emit('promptsChanged', { ...base, prompts: this.registry.prompts(server) });
  }
}

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
import { toRuntimeError } from '../actors/map-error.js';
import type { ConnectionStateChange, ServerConnection } from '../actors/server-connection.js';
import { ConnectionLostError, type McpRuntimeError } from '../errors/index.js';
import type { SessionStateName } from '../machines/session.js';
import type { CallSpec } from './call-path.js';
import { DEFAULT_MAX_INPUT_ROUNDS, type ResolvedConfig } from './config.js';
import type { EventBase, RuntimeEvents } from './events.js';
import type { HealthSnapshot } from './health.js';
import { ListsOnConnect } from './lists-on-connect.js';
import { notificationDispatcher } from './notification-dispatch.js';
import { listKey, ResourceCache, resourceKey } from './resource-cache.js';
import { MAX_BACKGROUND_READS_PER_SERVER, ResourceRefresher } from './resource-refresher.js';
import { ResourceWatchers } from './resource-watchers.js';
import { sharedJsonSchemaValidator } from './schema.js';
import { noResponseCache } from './sdk-response-cache.js';
import { capabilitiesFor, type ServerRequestHandlers, serverRequestInstaller } from './server-requests.js';
import { ServerSession } from './session.js';
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
  /** Whether anyone listens to `event` (a payload that costs something is built only then). */
  listens(event: keyof RuntimeEvents): boolean;
  base(server: string): EventBase;
  /** Subscribes `uri`; `all` is the whole set after it (a 2026 listen stream carries the set). */
  subscribeRequest(server: string, uri: string, all: readonly string[]): Promise<void>;
  /** Ends the subscription of `uri`; `all` is the whole set after it. */
  unsubscribeRequest(server: string, uri: string, all: readonly string[]): Promise<void>;
  setLevelRequest(server: string, level: LoggingLevel): Promise<void>;
  isClosed(): boolean;
}

/** The options and handlers every Client of one server gets. */
interface ClientSetup {
  options: ClientOptions;
  /** Registers the server's request and notification handlers on a new Client. */
  install: (client: Client) => void;
}

/** Debounce of list_changed refreshes. */
const LIST_CHANGED_DEBOUNCE_MS = 50;

/** The feature set of one runtime. */
export class RuntimeFeatures {
  readonly cache: ResourceCache;
  readonly registry: ToolRegistry;
  /** Lists tools and prompts when a server's first connection is ready. */
  readonly lists: ListsOnConnect;
  private readonly sessions = new Map<string, ServerSession>();
  /** Watchers per server and URI: the subscription is sent once and dropped with the last watcher. */
  private readonly watchers = new ResourceWatchers({
    subscribe: (server, uri) => this.subscribe(server, uri),
    unsubscribe: (server, uri) => this.unsubscribe(server, uri),
    isClosed: () => this.host.isClosed(),
  });
  private readonly logLevels = new Map<string, LoggingLevel>();
  /** Handler calls (server requests or 2026 input rounds) per server, for the `input` event. */
  private readonly inputRounds = new Map<string, number>();
  /** Per server: the options and handlers its Clients share (see `clientSetup`). */
  private readonly clientSetups = new Map<string, ClientSetup>();
  /** Background re-reads of updated resources. */
  private readonly refresher = new ResourceRefresher<ReadResourceResult>({
    maxInFlight: MAX_BACKGROUND_READS_PER_SERVER,
    read: (server, uri) => this.backgroundRead(server, uri),
    settled: (server, uri, outcome) => this.onRefreshed(server, uri, outcome),
  });

  constructor(
    private readonly host: FeatureHost,
    private readonly inspect?: (event: InspectionEvent) => void,
  ) {
    const config = host.config;
    this.cache = new ResourceCache((server) => config.servers.get(server)?.cache ?? config.cache);
    this.registry = new ToolRegistry({
      // Refreshes go straight to the ready connection (see ListsOnConnect.list).
      list: (server, kind) => {
        const conn = host.connectionOf(server);
        if (!conn?.isReady) {
          return Promise.reject(
            new ConnectionLostError(`${kind}/list on ${server}: not connected`, { server }),
          );
        }
        return this.lists.list(server, kind, conn.client);
      },
      onChanged: (server, kind) => this.emitListChanged(server, kind),
      onError: (server, error) => host.emit('error', { ...host.base(server), error: error as never }),
      debounceMs: LIST_CHANGED_DEBOUNCE_MS,
    });
    this.lists = new ListsOnConnect({
      registry: this.registry,
      timeoutMs: (server) => config.servers.get(server)?.initializeTimeoutMs ?? 10_000,
      onError: (server, error) => host.emit('error', { ...host.base(server), error: error as never }),
    });
    for (const server of config.servers.keys()) this.addServer(server);
  }

  /** A server joined (at construction, or `rt.addServer`): its session actor. */
  addServer(server: string): void {
    const inspect = this.inspect;
    this.sessions.set(
      server,
      new ServerSession(server, () => this.host.connectionOf(server), {
        invalidateCache: (s) => this.onSessionRenewed(s),
        onStateChange: (s, from, to) => this.onSessionState(s, from, to),
        toolHints: (s, tool) => this.registry.findTool(s, tool)?.annotations,
        ...(inspect ? { inspect } : {}),
      }),
    );
  }

  /** A server left (`rt.removeServer`): its session, watchers, cache entries and registry entries go. */
  removeServer(server: string): void {
    this.sessions.get(server)?.stop();
    this.sessions.delete(server);
    this.watchers.removeServer(server);
    this.logLevels.delete(server);
    this.inputRounds.delete(server);
    this.clientSetups.delete(server);
    this.cache.clear(server);
    this.registry.forget(server);
  }

  /** The session actor of a server. */
  session(server: string): ServerSession | undefined {
    return this.sessions.get(server);
  }

  /** Client options for a server: only the capabilities its handlers make true; the shared validator. */
  clientOptions(server: string): ClientOptions {
    return this.clientSetup(server).options;
  }

  /**
   * Sends one attempt of a call. Only a connection with an HTTP session id can meet an expired
   * session (HTTP 404), so only its requests go through the session's wrapper, which re-initialises
   * and replays; every other request goes straight to the Client (no wrapper, no closure).
   */
  send<T>(
    server: string,
    conn: ServerConnection,
    spec: CallSpec<T>,
    opts: RequestOptions,
    arg: unknown,
  ): Promise<T> {
    const session = conn.session?.sessionId === undefined ? undefined : this.sessions.get(server);
    if (!session) return spec.run(conn.client, opts, arg);
    return session.run(spec.operation, spec.options, conn, conn.client, opts, (client, o) =>
      spec.run(client, o, arg),
    );
  }

  /** Health metrics of a server: one settled call's duration and outcome (fed by the call path). */
  recordOutcome(server: string, latencyMs: number, error: McpRuntimeError | undefined): void {
    this.sessions.get(server)?.health.record(latencyMs, error);
  }

  /** Registers notification and server-request handlers on a server's Client (once). */
  configureClient(server: string, client: Client): void {
    this.clientSetup(server).install(client);
  }

  /**
   * What every Client of `server` gets, built once per server: the options and the handlers depend
   * on the server only, so the connections of a pool share them (no closures per connection).
   */
  private clientSetup(server: string): ClientSetup {
    const known = this.clientSetups.get(server);
    if (known) return known;
    const config = this.host.config.servers.get(server);
    const handlers = this.host.config.handlers as ServerRequestHandlers | undefined;
    const requests = serverRequestInstaller(server, handlers, config?.context ?? {}, (kind) => {
      const round = (this.inputRounds.get(server) ?? 0) + 1;
      this.inputRounds.set(server, round);
      this.host.emit('input', { ...this.host.base(server), kind, round });
    });
    const onNotification = notificationDispatcher({
      resourceUpdated: (n) => this.onResourceUpdated(server, n.params.uri),
      resourcesChanged: () => {
        this.cache.invalidatePrefix(server, listKey('resources'));
        this.cache.invalidatePrefix(server, listKey('templates'));
        this.host.emit('resourcesChanged', { ...this.host.base(server) });
      },
      toolsChanged: () => {
        this.cache.invalidatePrefix(server, 'tool:');
        this.registry.scheduleRefresh(server, 'tools');
      },
      promptsChanged: () => this.registry.scheduleRefresh(server, 'prompts'),
      log: (n) => {
        const min = this.logLevels.get(server);
        if (min && LOG_LEVELS.indexOf(n.params.level) < LOG_LEVELS.indexOf(min)) return;
        this.host.emit('log', {
          ...this.host.base(server),
          level: n.params.level,
          ...(n.params.logger !== undefined ? { logger: n.params.logger } : {}),
          data: n.params.data,
        });
      },
    });
    const setup: ClientSetup = {
      options: {
        capabilities: capabilitiesFor(handlers),
        jsonSchemaValidator: sharedJsonSchemaValidator,
        // The runtime caches per server (resource-cache.ts); no second cache per Client.
        responseCacheStore: noResponseCache,
        // 2026 servers ask for input in `input_required` rounds, answered by the same handlers. The
        // call path drives the rounds of tools/call, resources/read and prompts/get
        // (input-rounds.ts); the SDK drives any other request's.
        inputRequired: { autoFulfill: true, maxRounds: config?.maxInputRounds ?? DEFAULT_MAX_INPUT_ROUNDS },
      },
      install: (client) => {
        requests(client);
        // One function for the server's notifications, not a wrapper per Client and method.
        client.fallbackNotificationHandler = onNotification;
      },
    };
    this.clientSetups.set(server, setup);
    return setup;
  }

  /** Feeds the session, then reports `serverStatus`. Called before the facade's own events. */
  onConnectionState(change: ConnectionStateChange): void {
    this.sessions.get(change.server)?.onConnectionState(change);
    if (change.to === 'ready') {
      const conn = this.host.connectionOf(change.server);
      if (conn?.isReady) this.lists.onReady(change.server, conn.client);
    }
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
    const session = this.sessions.get(server);
    const current = session?.subscriptions ?? [];
    await this.host.subscribeRequest(server, uri, current.includes(uri) ? current : [...current, uri]);
    this.sessions.get(server)?.subscribed(uri);
  }

  /** Ends a subscription. */
  async unsubscribe(server: string, uri: string): Promise<void> {
    this.sessions.get(server)?.unsubscribed(uri);
    this.cache.invalidate(server, resourceKey(uri));
    await this.host.unsubscribeRequest(
      server,
      uri,
      (this.sessions.get(server)?.subscriptions ?? []).filter((u) => u !== uri),
    );
  }

  /** Yields the resource each time the server reports it updated, until the loop ends. */
  watch(
    server: string,
    uri: string,
    signal?: AbortSignal,
  ): AsyncGenerator<ReadResourceResult, void, undefined> {
    return this.watchers.watch(server, uri, signal);
  }

  /** Cancels timers; stops the session actors. */
  close(): void {
    this.refresher.close();
    this.registry.close();
    for (const s of this.sessions.values()) s.stop();
  }

  /** JSON view of one server's session for `snapshot()`. */
  snapshot(server: string) {
    return this.sessions.get(server)?.snapshot();
  }

  /**
   * A server says `uri` changed. Only a URI the application subscribed to (or watches) or holds in
   * its cache is re-read, in the background (resource-refresher.ts: deduplicated, bounded, beside
   * the call path); any other notification is dropped: a server cannot turn its notifications into
   * reads through the application's queue and breaker.
   */
  private onResourceUpdated(server: string, uri: string): void {
    const key = resourceKey(uri);
    const wanted =
      this.cache.has(server, key) ||
      this.watchers.watches(server, uri) ||
      (this.sessions.get(server)?.subscriptions.includes(uri) ?? false);
    if (!wanted) return;
    this.cache.invalidate(server, key);
    this.refresher.request(server, uri);
  }

  /** A background re-read on the server's connection, stored in the cache; fails at once when not ready. */
  private backgroundRead(server: string, uri: string): Promise<ReadResourceResult> {
    const conn = this.host.connectionOf(server);
    if (!conn?.isReady) {
      return Promise.reject(
        new ConnectionLostError(`${server} is not connected: ${uri} was not re-read`, { server }),
      );
    }
    const timeout = this.host.config.servers.get(server)?.timeoutMs;
    return this.cache.get(server, resourceKey(uri), () =>
      conn.client.readResource({ uri }, timeout ? { timeout } : {}).catch((error: unknown) => {
        throw toRuntimeError(error, { server, operation: `resources/read ${uri}` });
      }),
    );
  }

  /** Reports a background re-read: the event carries the fresh value (or the error); watchers get the value. */
  private onRefreshed(
    server: string,
    uri: string,
    outcome: { value: ReadResourceResult } | { error: unknown },
  ): void {
    if (this.host.isClosed()) return;
    const contents = 'value' in outcome ? outcome.value : undefined;
    this.host.emit('resourceUpdated', {
      ...this.host.base(server),
      uri,
      ...(contents ? { contents } : { error: (outcome as { error: unknown }).error as never }),
    });
    if (contents) this.watchers.deliver(server, uri, contents);
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
    // The health snapshot sorts the latency window: on a reconnect that is on the way to ready.
    if (!session || !this.host.listens('serverStatus')) return;
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

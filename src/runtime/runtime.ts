/**
 * The public facade: `createRuntime(config)` returns an {@link McpRuntime} that owns one
 * {@link ServerHandle} per configured server and exposes promises, events and snapshots.
 */
import type {
  CallToolResult,
  Client,
  CompleteResult,
  GetPromptRequestParams,
  GetPromptResult,
  ListPromptsResult,
  ListResourcesResult,
  ListResourceTemplatesResult,
  ListToolsResult,
  LoggingLevel,
  ReadResourceRequestParams,
  ReadResourceResult,
  RequestOptions,
  Tool,
} from '@modelcontextprotocol/client';
import { EventEmitter } from 'eventemitter3';
import type { InspectionEvent } from 'xstate';
import { hasOwnKeys } from '../actors/has-own-keys.js';
import { protocolErrorHandler, watchProtocolErrors } from '../actors/protocol-errors.js';
import type { ConnectionStateChange } from '../actors/server-connection.js';
import { ClosedError, ConfigError, McpRuntimeError, ToolError, ValidationError } from '../errors/index.js';
import { checkTransportSecurity, secretsFor, secretsForAll, surfaceError, warnSecurityOnce } from './auth.js';
import { Batch, type BatchOptions } from './batch.js';
import type { CallSpec } from './call-path.js';
import {
  type ResolvedConfig,
  type ResolvedServerConfig,
  type RuntimeConfig,
  resolveConfig,
  type ServerConfig,
} from './config.js';
import type { EventBase, RuntimeEvents } from './events.js';
import { CONTEXT_META_KEY, RuntimeFeatures } from './features.js';
import type { Fleet, FleetConfig } from './fleet/fleet.js';
import type { FleetStoreStateChange } from './fleet/store.js';
import type { HealthSnapshot } from './health.js';
import { withInputLeg } from './input-rounds.js';
import { InspectionHub } from './inspector/hub.js';
import { type InspectorHandle, type InspectorOptions, startInspector } from './inspector/server.js';
import {
  PERSIST_FORMAT,
  PERSIST_VERSION,
  type PersistedRuntime,
  type PersistedServer,
  parsePersisted,
} from './persist.js';
import { listKey, type ResourceCache, resourceKey, toolResultKey } from './resource-cache.js';
import { type CallOptions, type ProtocolStatus, ServerHandle } from './server-handle.js';
import { answerInputRequest, type ServerRequestHandlers } from './server-requests.js';
import { settledWithin } from './settled-within.js';
import { listSkills, readSkill, type Skill, type SkillFile } from './skills.js';
import { progressStream, type StreamEvent, type StreamResult, type StreamTarget } from './streams.js';
import { type TaskHandle, TaskLedger } from './task-ledger.js';
import {
  type FollowTaskSpec,
  followToolTask,
  runToolTask,
  type TaskCallOptions,
  type TaskStatusUpdate,
} from './tasks.js';
import { type CallTelemetry, createCallTelemetry } from './telemetry/call-telemetry.js';
import { statsFromSnapshot } from './telemetry/stats-view.js';
import { type CompletionRef, completionRef, expandTemplate, type TemplateVariables } from './templates.js';
import { type CallToolArg, callToolWithInput, sendCallTool } from './tool-call-send.js';
import type { RegisteredPrompt, RegisteredTool } from './tool-registry.js';

/** Options of {@link createRuntime} that are not configuration. */
export interface RuntimeOptions {
  /** XState inspection observer; receives the events of every actor the runtime creates. */
  inspect?: (event: InspectionEvent) => void;
  /** A runtime persisted by `persist()` (object or JSON text) to resume from: open breakers stay open. */
  restoreFrom?: PersistedRuntime | string;
}

/** Options of `callTool`. */
export interface CallToolOptions extends CallOptions {
  /** Resolve with the result even when the tool reports `isError` (default: reject with TOOL). */
  allowToolError?: boolean;
  /** Extra `_meta` for this call. */
  meta?: Record<string, unknown>;
  /** Context for this call, merged over the configured `context` (sent in `_meta`). */
  context?: Record<string, unknown>;
  /** Cache the result when the tool is annotated `readOnlyHint` (key: tool + canonical arguments). */
  cache?: boolean;
  /**
   * Run the call as a task (2025-11-25 experimental tasks; the `io.modelcontextprotocol/tasks`
   * extension on 2026-07-28 servers): polled until it ends, resolving with the final result within
   * `timeoutMs`; an abort or the timeout cancels the task on the server (tasks.ts).
   */
  task?: boolean | TaskCallOptions;
  /** Status changes of a task-augmented call (`stream()` yields them as `status` events). */
  onTaskStatus?: (update: TaskStatusUpdate) => void;
}

/** Options of `resumeTask`. */
export type ResumeTaskOptions = Omit<CallToolOptions, 'meta' | 'context' | 'cache' | 'task'> & {
  /** Polling bounds (`ttlMs` does not apply: the task exists). */
  task?: TaskCallOptions;
};

/** Options of `readResource` / `readTemplate`. */
export interface ReadOptions extends CallOptions {
  /** `false` bypasses the cache (the fresh result is not stored either). Default true. */
  cache?: boolean;
  /** In a fleet, share the result with every process unless its `cacheScope` is `private`. */
  shared?: boolean;
  /** Context for this call, merged over the configured `context` (sent in `_meta`). */
  context?: Record<string, unknown>;
}

/** The runtime. Create it with {@link createRuntime}. */
export class McpRuntime extends EventEmitter<RuntimeEvents> {
  private readonly servers = new Map<string, ServerHandle>();
  /** The one inspection observer of every actor (feeds `options.inspect` and `inspect()`). */
  private readonly inspection: InspectionHub;
  private closePromise: Promise<void> | undefined;
  private readonly inspectors = new Set<InspectorHandle>();
  readonly config: ResolvedConfig;
  /** Sessions, cache, registry, subscriptions, logs, health (src/runtime/features.ts). */
  private readonly features: RuntimeFeatures;
  /** The fleet this runtime joins (`fleet` config), loaded lazily; undefined without one. */
  private readonly fleet: Promise<Fleet | undefined> | undefined;
  /** Spans, `_meta` propagation and metrics (the shared no-op when nothing records). */
  private readonly telemetry: CallTelemetry;
  /** Progress notifications per server that arrived after their call had settled. */
  private readonly lateProgress = new Map<string, number>();
  /** The `client.onerror` of each server's Clients (protocol-errors.ts), built once per server. */
  private readonly protocolErrorHandlers = new Map<string, (error: Error) => void>();
  /** Options of calls that already waited for the tool list (see `beforeFirstCall`). */
  private readonly waitedForLists = new WeakSet<CallToolOptions>();
  /** Tasks under way (and restored ones), kept by `persist()` (task-ledger.ts). */
  private readonly taskLedger = new TaskLedger();

  constructor(config: ResolvedConfig, options: RuntimeOptions = {}) {
    super();
    this.config = config;
    // Validated as a whole before anything is built: a bad snapshot is refused, never half-applied.
    const restored = options.restoreFrom === undefined ? undefined : parsePersisted(options.restoreFrom);
    this.inspection = new InspectionHub(options.inspect);
    this.features = this.createFeatures();
    this.fleet = config.fleet ? this.joinFleet(config.fleet) : undefined;
    this.telemetry = createCallTelemetry(
      config.telemetry === false
        ? false
        : {
            ...config.telemetry,
            version: config.clientInfo.version,
            // The runtime instruments read the snapshot the inspector shows: one bookkeeping.
            stats: () =>
              [...this.servers.values()].map((h) => statsFromSnapshot(h.telemetryServer, h.snapshot())),
          },
    );
    for (const [name, saved] of Object.entries(restored?.servers ?? {})) {
      if (saved.lists && config.servers.has(name)) this.features.cache.importLists(name, saved.lists);
    }
    for (const server of config.servers.values()) {
      this.servers.set(server.name, this.createHandle(server, restored?.servers[server.name]));
    }
    for (const task of restored?.tasks ?? []) if (config.servers.has(task.server)) this.taskLedger.add(task);
  }

  /**
   * Adds a server at run time, validated as `createRuntime` validates one (CONFIG naming the field;
   * the runtime's `defaults` apply). It connects on `start([name])` or its first call.
   */
  addServer(name: string, config: ServerConfig): void {
    if (this.isClosed) throw new ClosedError('the runtime is closed');
    if (this.servers.has(name)) {
      throw new ConfigError([{ path: `servers.${name}`, message: `server "${name}" is already configured` }]);
    }
    const c = this.config;
    const resolved = resolveConfig({
      servers: { [name]: config },
      defaults: c.defaults,
      cache: c.cache,
      context: c.context,
      clientInfo: c.clientInfo,
    }).servers.get(name) as ResolvedServerConfig;
    c.servers.set(name, resolved);
    this.features.addServer(name);
    this.servers.set(name, this.createHandle(resolved, undefined));
  }

  /**
   * Removes a server at run time: its connections close, its queued and in-flight calls reject
   * with CLOSED, and its session, cache entries and registry entries go. Unknown name: CONFIG.
   */
  async removeServer(name: string): Promise<void> {
    const h = this.handle(name);
    this.servers.delete(name);
    this.config.servers.delete(name);
    await h.close();
    this.features.removeServer(name);
    this.lateProgress.delete(name);
    this.protocolErrorHandlers.delete(name);
  }

  private createHandle(server: ResolvedServerConfig, restore: PersistedServer | undefined): ServerHandle {
    checkTransportSecurity(server);
    return new ServerHandle(server, {
      onStateChange: (change) => this.onConnectionState(change),
      onSupervisorState: ({ server: name, from, to, at, lastError }) =>
        this.emit('state', { ...this.base(name), at, actor: 'supervisor', from, to, lastError }),
      onBreaker: ({ from, to, reason, atMs, tool }) =>
        this.emit('breaker', {
          ...this.base(server.name),
          at: atMs,
          from,
          to,
          reason,
          ...(tool ? { tool } : {}),
        }),
      onError: (error) => {
        this.features.onTransportError(server.name, error);
        this.emitError(server.name, error);
      },
      clientOptions: (server) => this.features.clientOptions(server),
      send: (name, conn, spec, opts, arg) => this.features.send(name, conn, spec, opts, arg),
      onOutcome: (name, latencyMs, error) => this.features.recordOutcome(name, latencyMs, error),
      onStderr: (text) => this.emit('stderr', { ...this.base(server.name), text }),
      configureClient: (name, client) => this.configureClient(name, client),
      inspect: this.inspection.observerFor(server.name),
      telemetry: this.telemetry,
      toolHints: (name, tool) => this.features.registry.findTool(name, tool)?.annotations,
      ...(restore ? { restore } : {}),
      ...(this.fleet ? { fleet: this.fleet } : {}),
    });
  }

  /** Names of the configured servers. */
  get serverNames(): string[] {
    return [...this.servers.keys()];
  }

  /**
   * Serves the live inspector page on 127.0.0.1 (statecharts with the current states, transition
   * log, per-server figures). Resolves with its `url` and `close()`; it closes with the runtime.
   */
  inspect(options: InspectorOptions = {}): Promise<InspectorHandle> {
    return startInspector({ runtime: this, hub: this.inspection }, options).then((handle) => {
      this.inspectors.add(handle);
      return handle;
    });
  }

  /** True once `close()` was called. */
  get isClosed(): boolean {
    return this.closePromise !== undefined;
  }

  /**
   * Connects every server (or the ones named) and resolves when all are ready. Calls connect
   * lazily anyway; `start` is for failing early. Rejects with the first server's error.
   */
  async start(servers: string[] = this.serverNames): Promise<void> {
    await this.fleet; // joined (or degraded) before the first call, so it starts shared
    await Promise.all(
      servers.map((name) => {
        const h = this.handle(name);
        // Ready includes the tool and prompt lists (listed on connect), so calls validate at once.
        return h.start().then(
          () => this.features.lists.pending(name),
          (error: unknown) => {
            throw surfaceError(h.config, error);
          },
        );
      }),
    );
  }

  /** Stops dispatching a server's queued calls; calls in flight finish. */
  pause(server: string): void {
    this.handle(server).path.pause();
  }

  /** Dispatches a paused server's queue again. */
  resume(server: string): void {
    this.handle(server).path.resume();
  }

  /** Refuses new calls to a server and resolves when everything queued and in flight has settled. */
  drain(server: string): Promise<void> {
    return this.handle(server).path.drain();
  }

  /** A batch of calls across servers, run by `execute()` with outcomes in order (see batch.ts). */
  batch(options: BatchOptions = {}): Batch {
    return new Batch(this, options);
  }

  /** Reconnects a server the runtime gave up on (state `failed`). */
  restart(server: string): void {
    this.handle(server).restart();
  }

  /**
   * The tasks this runtime follows or was handed by `restoreFrom` and has not seen end: pass one to
   * {@link resumeTask} (e.g. after a restart).
   */
  tasks(): TaskHandle[] {
    return this.taskLedger.list();
  }

  /**
   * Follows an existing task to its end, as `callTool(..., { task })` would have: resolves with the
   * tool's result within `timeoutMs`; an abort or the timeout cancels it on the server. For a task
   * of `tasks()` (say, restored from `persist()`), or any task id the server knows.
   */
  async resumeTask(server: string, taskId: string, options: ResumeTaskOptions = {}): Promise<CallToolResult> {
    const h = this.handle(server);
    const known = this.taskLedger.get(server, taskId);
    if (!known && h.protocolStatus().era === null) await h.start();
    const era = known?.era ?? h.protocolStatus().era ?? 'legacy';
    const tool = known?.tool ?? '(resumed)';
    if (!known) this.taskLedger.add({ server, taskId, tool, era, createdAtMs: Date.now() });
    return followToolTask(h, taskId, era, this.followSpec(h, tool, options));
  }

  private followSpec(
    h: ServerHandle,
    tool: string,
    options: CallToolOptions | ResumeTaskOptions,
  ): FollowTaskSpec {
    const handlers = this.config.handlers as ServerRequestHandlers | undefined;
    const context = h.config.context ?? {};
    return {
      tool,
      options,
      task: options.task === true || options.task === undefined || options.task === false ? {} : options.task,
      onStatus: options.onTaskStatus,
      check: (r) => this.checkToolResult(r, { tool, options } as CallSpec<CallToolResult>, h.name),
      ledger: this.taskLedger,
      capabilities: this.features.clientOptions(h.name).capabilities ?? {},
      answerInput: (request, signal) =>
        answerInputRequest(handlers, request, { server: h.name, context, signal }),
    };
  }

  /** Calls a tool. Rejects with TOOL when the result has `isError` (unless `allowToolError`). */
  callTool(
    server: string,
    tool: string,
    args: Record<string, unknown> = {},
    options: CallToolOptions = {},
  ): Promise<CallToolResult> {
    // Not an async method: one promise layer less per call; what throws here still rejects.
    try {
      const h = this.handle(server);
      const registry = this.features.registry;
      if (!registry.isLoaded(server, 'tools') && !this.waitedForLists.has(options)) {
        const first = this.beforeFirstCall(h, options);
        if (first) return first.then((opts) => this.callTool(server, tool, args, opts));
      }
      registry.validateArguments(server, tool, args);
      const context = this.metaFor(h, options.context);
      // No `_meta: {}` on the wire when there is nothing to say (the server parses every byte).
      const meta = options.meta ? { ...context, ...options.meta } : context;
      if (options.task) {
        const params = meta ? { name: tool, arguments: args, _meta: meta } : { name: tool, arguments: args };
        return runToolTask(h, { ...this.followSpec(h, tool, options), params });
      }
      if (options.cache && registry.isReadOnly(server, tool)) {
        const { cache: _cache, ...rest } = options;
        return this.features.cache.get(server, toolResultKey(tool, args), () =>
          this.callTool(server, tool, args, rest),
        );
      }
      // No closure per call: the path hands `arg` to one shared request function and runs the
      // result's check in its own `then` (no promise layer of ours around the SDK's).
      // A modern server over HTTP may ask for headers mirrored from a changed schema: there the
      // SDK keeps its own lookup, which refreshes and retries on a header mismatch.
      // The SDK mirrors `x-mcp-header` arguments into headers from the definition it is given; a
      // modern server over HTTP answers a stale one with a header mismatch, and then the tool list
      // is read again and the call sent once more (as the SDK's own lookup would).
      const mirrors = h.config.transport === 'streamable-http' && h.protocolStatus().era !== 'legacy';
      const arg: CallToolArg = {
        params: meta ? { name: tool, arguments: args, _meta: meta } : { name: tool, arguments: args },
        definition: registry.requestDefinition(server, tool),
      };
      if (mirrors) arg.refresh = (client) => this.freshDefinition(server, tool, client);
      return h.callTool(tool, options, sendCallTool, {
        arg,
        check: this.checkToolResult,
        mapError: toolCallError,
        withInput: callToolWithInput,
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Reads the server's tool list again (on `client`) and gives `tool`'s definition from it. */
  private async freshDefinition(server: string, tool: string, client: Client): Promise<Tool | undefined> {
    await this.features.lists.list(server, 'tools', client);
    return this.features.registry.requestDefinition(server, tool);
  }

  /**
   * Before the tool list is known, a call waits (within its own deadline and signal) for the
   * connection and the lists loaded on connect, so its arguments are validated like every later
   * call's. Resolves with the options for what is left of the deadline; undefined = go at once.
   */
  private beforeFirstCall(h: ServerHandle, options: CallToolOptions): Promise<CallToolOptions> | undefined {
    const listing = this.features.lists.pending(h.name);
    const ready = h.existingConnection?.isReady === true;
    if (!listing && (ready || h.state === 'failed' || h.state === 'closed')) return undefined;
    const startedMs = Date.now();
    const timeoutMs = options.timeoutMs ?? h.config.timeoutMs;
    const waited = ready ? Promise.resolve() : h.pool.waitReady(timeoutMs, options.signal);
    const rest = (): CallToolOptions => {
      const opts = { ...options, timeoutMs: Math.max(1, timeoutMs - (Date.now() - startedMs)) };
      this.waitedForLists.add(opts); // once: a server without a tool list is not waited for again
      return opts;
    };
    // Not ready in time: the call path reports it (and counts it) as for any call. A listing that
    // hangs (the server never answers tools/list) costs the call at most half of what is left of its
    // deadline: the other half is the call's own, unvalidated.
    const listed = () => {
      const pending = this.features.lists.pending(h.name);
      const leftMs = timeoutMs - (Date.now() - startedMs);
      return pending && leftMs > 1 ? settledWithin(pending, leftMs / 2, options.signal) : undefined;
    };
    return waited.then(listed).then(rest, rest);
  }

  /**
   * The result's checks, run by the call path: `structuredContent` against the tool's known
   * `outputSchema` (the one validation: see {@link sendCallTool}), and `isError` as TOOL.
   */
  private readonly checkToolResult = (
    result: CallToolResult,
    spec: CallSpec<CallToolResult>,
    server: string,
  ): CallToolResult => {
    const tool = spec.tool ?? '';
    if (!result.isError) {
      this.features.registry.validateStructuredContent(server, tool, result.structuredContent);
    } else if (!(spec.options as CallToolOptions).allowToolError) {
      const text = result.content?.find((c) => c.type === 'text')?.text;
      throw new ToolError(`${tool} on ${server} failed${text ? `: ${text}` : ''}`, tool, result, { server });
    }
    return result;
  };

  /** Lists a server's tools (follows pagination). */
  async listTools(server: string, options: CallOptions = {}): Promise<ListToolsResult['tools']> {
    const listing = this.paginate(server, 'tools/list', options, (client, cursor, opts) =>
      client.listTools(cursor ? { cursor } : undefined, opts).then((r) => [r.tools, r.nextCursor]),
    ).then((tools) => {
      this.features.registry.ingest(server, 'tools', tools);
      return tools;
    });
    // The list on connect waits for this one instead of sending a second tools/list.
    this.features.lists.track(server, listing);
    return listing;
  }

  /** Lists a server's resources (follows pagination). */
  async listResources(server: string, options: CallOptions = {}): Promise<ListResourcesResult['resources']> {
    return this.paginate(server, 'resources/list', options, (client, cursor, opts) =>
      client.listResources(cursor ? { cursor } : undefined, opts).then((r) => [r.resources, r.nextCursor]),
    );
  }

  /** Lists a server's prompts (follows pagination). */
  async listPrompts(server: string, options: CallOptions = {}): Promise<ListPromptsResult['prompts']> {
    return this.paginate(server, 'prompts/list', options, (client, cursor, opts) =>
      client.listPrompts(cursor ? { cursor } : undefined, opts).then((r) => [r.prompts, r.nextCursor]),
    ).then((prompts) => {
      this.features.registry.ingest(server, 'prompts', prompts);
      return prompts;
    });
  }

  /**
   * Reads a resource, through the cache (concurrent reads share one request; invalidated by
   * `resources/updated`, list_changed and session re-initialisation). `cache: false` bypasses it.
   */
  async readResource(server: string, uri: string, options: ReadOptions = {}): Promise<ReadResourceResult> {
    const h = this.handle(server);
    const meta = this.metaFor(h, options.context);
    const read = (): Promise<ReadResourceResult> =>
      h.call(`resources/read ${uri}`, options, sendReadResource, {
        arg: meta ? { uri, _meta: meta } : { uri },
        withInput: withInputLeg,
      });
    return options.cache === false
      ? read()
      : this.features.cache.get(server, resourceKey(uri), read, options.shared ? { shared: true } : {});
  }

  /** The resource cache: `rt.cache.stats()`, `rt.cache.clear(server?)`. */
  get cache(): ResourceCache {
    return this.features.cache;
  }

  /** Every known tool across servers (`server.tool` names, schemas, annotations); see `refreshTools`. */
  tools(server?: string): RegisteredTool[] {
    return this.features.registry.tools(server);
  }

  /** Every known prompt across servers; see `refreshTools`. */
  prompts(server?: string): RegisteredPrompt[] {
    return this.features.registry.prompts(server);
  }

  /** A tool by qualified name (`demo.echo`): the server is before the first dot. */
  findTool(qualifiedName: string): RegisteredTool | undefined {
    return this.features.registry.findTool(qualifiedName);
  }

  /** Loads tools and prompts of every server (or the ones named) into the registry. */
  async refreshTools(servers: string[] = this.serverNames): Promise<RegisteredTool[]> {
    await Promise.all(
      servers.map(async (name) => {
        await this.listTools(name);
        const caps = this.features.session(name)?.actor.getSnapshot().context.capabilities;
        if (!caps || 'prompts' in caps) await this.listPrompts(name);
      }),
    );
    return this.tools();
  }

  /** Lists a server's resource templates (cached; follows pagination). */
  async listResourceTemplates(
    server: string,
    options: CallOptions = {},
  ): Promise<ListResourceTemplatesResult['resourceTemplates']> {
    return this.features.cache.get(server, listKey('templates'), () =>
      this.paginate(server, 'resources/templates/list', options, (client, cursor, opts) =>
        client
          .listResourceTemplates(cursor ? { cursor } : undefined, opts)
          .then((r) => [r.resourceTemplates, r.nextCursor]),
      ),
    );
  }

  /** Expands an RFC 6570 template (`demo://items/{id}`) with `vars` and reads the resource. */
  async readTemplate(
    server: string,
    template: string,
    vars: TemplateVariables,
    options: ReadOptions = {},
  ): Promise<ReadResourceResult> {
    return this.readResource(server, expandTemplate(template, vars, server), options);
  }

  /** Argument completion (`completion/complete`) for a prompt or a resource template. */
  async complete(
    server: string,
    ref: CompletionRef,
    argument: { name: string; value: string },
    options: CallOptions & { arguments?: Record<string, string> } = {},
  ): Promise<CompleteResult['completion']> {
    const { arguments: context, ...callOptions } = options;
    const result = await this.handle(server).call('completion/complete', callOptions, (client, opts) =>
      client.complete(
        { ref: completionRef(ref), argument, ...(context ? { context: { arguments: context } } : {}) },
        opts,
      ),
    );
    return result.completion;
  }

  /**
   * Runs a tool (or reads a resource) as an async iterator of progress events, then the result.
   * Breaking out of the loop cancels the request (the server gets `notifications/cancelled`).
   */
  stream<S extends StreamTarget>(
    server: string,
    target: S,
    options: CallToolOptions = {},
  ): AsyncGenerator<StreamEvent<StreamResult<S>>, void, undefined> {
    this.handle(server);
    return progressStream<StreamResult<S>>(
      (signal, onProgress, onTaskStatus, onInputRound) =>
        ('tool' in target
          ? this.callTool(server, target.tool, target.args ?? {}, {
              ...options,
              signal,
              onProgress,
              onTaskStatus,
              onInputRound,
            })
          : this.readResource(server, target.resource, {
              ...options,
              signal,
              onProgress,
              onInputRound,
              cache: false,
            })) as Promise<StreamResult<S>>,
      options.signal,
    );
  }

  /**
   * Subscribes to a resource and yields it each time the server reports it updated (after the
   * cache refresh); ending the loop unsubscribes. The subscription survives re-initialisation.
   */
  watch(server: string, uri: string, options: { signal?: AbortSignal } = {}) {
    this.handle(server);
    return this.features.watch(server, uri, options.signal);
  }

  /** Subscribes to `resources/updated` for a URI (kept across re-initialisations). */
  subscribe(server: string, uri: string): Promise<void> {
    return this.features.subscribe(server, uri);
  }

  /** Ends a subscription. */
  unsubscribe(server: string, uri: string): Promise<void> {
    return this.features.unsubscribe(server, uri);
  }

  /** Sets the minimum level of the server's `log` events (`logging/setLevel`; kept across re-initialisations). */
  setLogLevel(server: string, level: LoggingLevel): Promise<void> {
    return this.features.setLogLevel(server, level);
  }

  /** Latency p50/p99, error rate and last error of a server's requests, and its protocol era. */
  health(server: string): HealthSnapshot & { protocol: ProtocolStatus } {
    const h = this.handle(server);
    // lastError carries what the server said: masked like every other exit.
    const health = secretsFor(h.config).redactValue(this.features.health(server) as HealthSnapshot);
    return { ...health, protocol: h.protocolStatus() };
  }

  /** Tells every connected server that the roots changed (`notifications/roots/list_changed`). */
  async notifyRootsChanged(): Promise<void> {
    await Promise.all(
      [...this.servers.values()].map((h) =>
        h.existingConnection?.isReady ? h.existingConnection.client.sendRootsListChanged() : undefined,
      ),
    );
  }

  /** Gets a prompt with its arguments filled in. */
  async getPrompt(
    server: string,
    name: string,
    args: Record<string, string> = {},
    options: CallOptions = {},
  ): Promise<GetPromptResult> {
    return this.handle(server).call(`prompts/get ${name}`, options, sendGetPrompt, {
      arg: { name, arguments: args },
      withInput: withInputLeg,
    });
  }

  /**
   * Lists a server's skills (SEP-2640 skills extension; empty when the server does not declare it).
   * Only the list: no skill file is read until {@link readSkill} asks for it.
   *
   * @example
   * const [skill] = await rt.listSkills('docs');
   * const manifest = await rt.readSkill('docs', skill!); // SKILL.md, verified
   */
  listSkills(server: string, options: CallOptions = {}): Promise<Skill[]> {
    const h = this.handle(server);
    return listSkills((operation, run) => h.call(operation, options, run));
  }

  /**
   * Reads one file of a skill (default its `SKILL.md`; `ref` relative to the skill's root or an
   * absolute URI), verified against the skill's entry: listed, size, digest, and the `SKILL.md`
   * frontmatter. A file that fails is not returned: PROTOCOL, `cause` the SDK's
   * `SkillVerificationError`. `skill` is an entry of {@link listSkills}, or its name or URI (then
   * the list is read first).
   */
  async readSkill(
    server: string,
    skill: Skill | string,
    ref?: string,
    options: CallOptions = {},
  ): Promise<SkillFile> {
    const h = this.handle(server);
    return readSkill((operation, run) => h.call(operation, options, run), server, skill, ref);
  }

  /** Sends an MCP ping; resolves with the round-trip time in ms. */
  async ping(server: string, options: CallOptions = {}): Promise<number> {
    return this.handle(server).call('ping', options, async (client, opts) => {
      const started = performance.now();
      await client.ping(opts);
      return performance.now() - started;
    });
  }

  /**
   * What is worth keeping across a process restart (breakers with their deadlines, retry budgets,
   * session ids, cached list results with their age), as versioned JSON. Pass it back as
   * `createRuntime(config, { restoreFrom })`.
   */
  persist(): PersistedRuntime {
    return {
      format: PERSIST_FORMAT,
      version: PERSIST_VERSION,
      savedAt: Date.now(),
      servers: Object.fromEntries(
        [...this.servers].map(([name, h]) => [
          name,
          { ...h.persist(), lists: this.features.cache.exportLists(name) },
        ]),
      ),
      tasks: this.taskLedger.list(),
    };
  }

  /** JSON view of every server: state, attempts, last error, counters. No secrets. */
  snapshot() {
    // Every part, whoever adds it, leaves with all servers' secrets masked.
    return secretsForAll(this.config.servers.values()).redactValue({
      at: new Date().toISOString(),
      closed: this.isClosed,
      servers: Object.fromEntries(
        [...this.servers].map(([name, h]) => [
          name,
          // Progress that came after its call settled: dropped, counted for debugging.
          { ...h.snapshot(), lateProgressDropped: this.lateProgress.get(name) ?? 0 },
        ]),
      ),
      sessions: Object.fromEntries(this.serverNames.map((name) => [name, this.features.snapshot(name)])),
      cache: this.features.cache.stats(),
    });
  }

  /** Closes every server: pending calls reject with CLOSED; no timer, socket or child is left. Idempotent. */
  close(): Promise<void> {
    this.closePromise ??= Promise.all([
      ...[...this.servers.values()].map((h) => h.close()),
      this.fleet?.then((f) => f?.close()),
      // Open inspector pages go with the runtime, at once (no socket left behind).
      ...[...this.inspectors].map((i) => i.close()),
    ]).then(() => {
      this.telemetry.shutdown();
      return this.features.close();
    });
    return this.closePromise;
  }

  /**
   * Connects the fleet's store (bounded; an unreachable Redis gives a degraded fleet that rejoins
   * later). Its state changes are `fleet` events. A failure to create it leaves the runtime
   * single-process and is reported as an `error` event, never thrown at a call.
   */
  private joinFleet(config: FleetConfig): Promise<Fleet | undefined> {
    const emit = (change: FleetStoreStateChange): void => {
      this.emit('fleet', {
        ...this.base('*'),
        at: change.atMs,
        state: change.state,
        namespace: config.namespace,
        ...(change.reason ? { reason: change.reason } : {}),
      });
    };
    // Imported here: a runtime without `fleet` never loads the fleet layer (nor ioredis).
    return import('./fleet/fleet.js')
      .then(({ Fleet }) => Fleet.create(config, emit))
      .then(async (fleet) => {
        // The shared second-level cache; the fleet's invalidations drop the local copies.
        const cache = this.features.cache;
        cache.attachShared(
          await fleet.cache(this.config.cache.ttlMs, (inv) => cache.dropLocal(inv.server, inv.key)),
        );
        return fleet;
      })
      .catch((error: unknown) => {
        this.emitError(
          '*',
          error instanceof McpRuntimeError
            ? error
            : new ConfigError([{ path: 'fleet', message: 'the fleet could not start' }], { cause: error }),
        );
        return undefined;
      });
  }

  /** `await using rt = createRuntime(...)` closes the runtime at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private handle(server: string): ServerHandle {
    const h = this.servers.get(server);
    if (!h) {
      if (this.isClosed) throw new ClosedError();
      throw new ConfigError([
        { path: 'servers', message: `unknown server "${server}" (known: ${this.serverNames.join(', ')})` },
      ]);
    }
    return h;
  }

  private async paginate<T>(
    server: string,
    operation: string,
    options: CallOptions,
    page: (
      client: Client,
      cursor: string | undefined,
      opts: Parameters<ServerHandle['call']>[1] & object,
    ) => Promise<[T[], string | undefined]>,
  ): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 1_000; pages++) {
      const [batch, next] = await this.handle(server).call(operation, options, (client, opts) =>
        page(client, cursor, opts),
      );
      items.push(...batch);
      if (!next || next === cursor) break;
      cursor = next;
    }
    return items;
  }

  private metaFor(h: ServerHandle, override?: Record<string, unknown>): Record<string, unknown> | undefined {
    const context = override ? { ...h.config.context, ...override } : h.config.context;
    return hasOwnKeys(context) ? { [CONTEXT_META_KEY]: context } : undefined;
  }

  private createFeatures(): RuntimeFeatures {
    return new RuntimeFeatures(
      {
        config: this.config,
        connectionOf: (server) => this.servers.get(server)?.existingConnection,
        emit: (event, payload) => {
          (this.emit as (e: string, p: unknown) => boolean)(event, payload);
        },
        listens: (event) => this.listenerCount(event) > 0,
        base: (server) => this.base(server),
        subscribeRequest: (server, uri, all) => {
          const h = this.handle(server);
          return h
            .call(`resources/subscribe ${uri}`, {}, (_client, opts) =>
              h.conn.subscribe(all, [uri], opts.timeout ?? h.config.timeoutMs),
            )
            .then(() => {});
        },
        unsubscribeRequest: (server, uri, all) => {
          const h = this.handle(server);
          return h
            .call(
              `resources/unsubscribe ${uri}`,
              {},
              (client, opts): Promise<unknown> =>
                h.conn.session?.era === 'modern'
                  ? h.conn.listen(all, opts.timeout ?? h.config.timeoutMs)
                  : client.unsubscribeResource({ uri }, opts),
            )
            .then(() => {});
        },
        setLevelRequest: (server, level) =>
          this.handle(server)
            .call('logging/setLevel', {}, (client, opts) => client.setLoggingLevel(level, opts))
            .then(() => {}),
        isClosed: () => this.isClosed,
      },
      this.inspection.observer,
    );
  }

  private base(server: string): EventBase {
    return { server, at: Date.now(), context: this.servers.get(server)?.config.context ?? {} };
  }

  private emitError(server: string, error: McpRuntimeError): void {
    // An 'error' with no listener must not crash the application: the runtime reports, it does not throw.
    if (this.listenerCount('error') > 0) this.emit('error', { ...this.base(server), error });
  }

  /**
   * Every event payload that names a server leaves with that server's secrets masked (errors are
   * masked in place). Free when nobody listens.
   */
  override emit<T extends EventEmitter.EventNames<RuntimeEvents>>(
    event: T,
    ...args: EventEmitter.EventArgs<RuntimeEvents, T>
  ): boolean {
    if (this.listenerCount(event) === 0) return false;
    const payload = args[0] as { server?: unknown } | undefined;
    const h = typeof payload?.server === 'string' ? this.servers.get(payload.server) : undefined;
    const secrets = h ? secretsFor(h.config) : secretsForAll(this.config.servers.values());
    args[0] = secrets.redactValue(args[0]);
    return super.emit(event, ...args);
  }

  private configureClient(server: string, client: Client): void {
    let onerror = this.protocolErrorHandlers.get(server);
    if (!onerror) {
      // One per server, shared by the Clients of its pool.
      onerror = protocolErrorHandler(
        server,
        (error) => this.emitError(server, error),
        () => this.lateProgress.set(server, (this.lateProgress.get(server) ?? 0) + 1),
      );
      this.protocolErrorHandlers.set(server, onerror);
    }
    watchProtocolErrors(client, onerror);
    this.features.configureClient(server, client);
    // Server-initiated requests and notification handlers are registered here (session features).
  }

  private onConnectionState(change: ConnectionStateChange & { memberId?: string }): void {
    const handle = this.servers.get(change.server);
    // The session follows the primary connection (where subscriptions live), not every pool member.
    if (!change.memberId || !handle || handle.isPrimary(change.memberId))
      this.features.onConnectionState(change);
    const base = this.base(change.server);
    const config = this.servers.get(change.server)?.config;
    if (config) warnSecurityOnce(config, (w) => this.emit('warning', { ...base, ...w }));
    this.emit('state', {
      ...base,
      at: change.at,
      actor:
        change.memberId && this.servers.get(change.server)?.config.pool.max !== 1
          ? `connection ${change.memberId}`
          : 'connection',
      from: change.from,
      to: change.to,
      attempt: change.attempt,
      retryDelayMs: change.retryDelayMs,
      lastError: change.lastError,
    });
    if (change.to === 'ready') {
      this.emit('connect', { ...base, session: change.session, reconnect: change.readyCount > 1 });
    } else if (change.from === 'ready') {
      this.emit('disconnect', { ...base, reason: change.lastError, to: change.to });
    }
  }
}

/** Sends `resources/read` with `arg` as its params. */
function sendReadResource(client: Client, opts: RequestOptions, arg: unknown): Promise<ReadResourceResult> {
  return client.readResource(arg as ReadResourceRequestParams, opts);
}

/** Sends `prompts/get` with `arg` as its params. */
function sendGetPrompt(client: Client, opts: RequestOptions, arg: unknown): Promise<GetPromptResult> {
  return client.getPrompt(arg as GetPromptRequestParams, opts);
}

/** The SDK's own outputSchema failure as a ValidationError naming the field; others unchanged. */
function toolCallError(error: unknown, spec: CallSpec<CallToolResult>, server: string): unknown {
  return structuredContentError(server, spec.tool ?? '', error) ?? error;
}

/** The SDK's own outputSchema check failed: the same failure as a ValidationError naming the field. */
function structuredContentError(server: string, tool: string, error: unknown): ValidationError | undefined {
  const message = String((error as Error | undefined)?.message ?? '');
  if (
    !/Structured content does not match|has an output schema but did not return structured content/.test(
      message,
    )
  ) {
    return undefined;
  }
  const field = /data((?:\/[^\s/]+)*)/.exec(message)?.[1] ?? '';
  const path = ['structuredContent', ...field.split('/').filter(Boolean)].join('.');
  return new ValidationError(`${tool} on ${server} returned invalid structuredContent: ${message}`, path, {
    server,
    cause: error,
  });
}

/**
 * Creates a runtime. The configuration is validated first: a bad field throws {@link ConfigError}
 * naming its path, before any I/O. Nothing connects until `start()` or the first call.
 *
 * @example
 * await using rt = createRuntime({ servers: { demo: { url: 'ws://127.0.0.1:8080' } } });
 * const result = await rt.callTool('demo', 'echo', { text: 'hi' });
 */
export function createRuntime(config: RuntimeConfig, options: RuntimeOptions = {}): McpRuntime {
  return new McpRuntime(resolveConfig(config), options);
}

/**
 * A live connection to one MCP server: the connection machine running as an actor, with the I/O
 * it invokes (transport open, era negotiation, liveness probe, close) provided here. One SDK `Client`
 * lives as long as the connection and is re-connected to each new transport, so notification
 * handlers registered once survive reconnects.
 *
 * Negotiation uses the SDK v2 Client's own: `server/discover` with fallback to `initialize`
 * (`versionNegotiation: 'auto'`), a pin to 2026-07-28, the plain 2025 handshake, or a known modern
 * verdict adopted with no round trip (`connect({ prior })`). The verdict (and the discover result a
 * modern one needs) is kept here, so reconnects skip the probe.
 *
 * The hot path does not touch the actor: `isReady` is a field read, and requests go straight to
 * the Client. Only lifecycle changes (transport loss, heartbeat misses, close) are events.
 */

import {
  Client,
  type ClientOptions,
  type ConnectOptions,
  type DiscoverResult,
  type Implementation,
  type JSONRPCMessage,
  type McpSubscription,
  SdkError,
  SdkErrorCode,
  type Transport,
  type VersionNegotiationOptions,
} from '@modelcontextprotocol/client';
import {
  type Actor,
  type AnyActorRef,
  createActor,
  fromPromise,
  type InspectionEvent,
  type Observer,
} from 'xstate';
import {
  AuthError,
  ClosedError,
  ConnectionLostError,
  type McpRuntimeError,
  ProtocolError,
  RemoteError,
  ServerFailedError,
  TimeoutError,
} from '../errors/index.js';
import {
  type BackoffPolicy,
  backoffCeilingMs,
  type ConnectionErrorSummary,
  type ConnectionStateName,
  connectionMachine,
  type EraVerdict,
  type HeartbeatPolicy,
  type Liveness,
  type NegotiationMode,
  type ProtocolPreference,
  type SessionInfo,
  summarisedError,
} from '../machines/connection.js';
import { isNetworkFailure, isPermanent, markPermanent, toRuntimeError } from './map-error.js';
import { ReadyWaiters } from './ready-waiters.js';
import { ReauthTransport } from './reauth-transport.js';
import { type Receive, StartedTransport, type StartedTransportHooks } from './started-transport.js';
import { createTransport, type TransportSpec } from './transport-factory.js';

/** Options of a {@link ServerConnection}. */
export interface ServerConnectionOptions {
  server: string;
  /** Builds the transport spec for each attempt (async so token providers can run per attempt). */
  spec: () => TransportSpec | Promise<TransportSpec>;
  backoff: BackoffPolicy;
  heartbeat: HeartbeatPolicy;
  connectTimeoutMs: number;
  initializeTimeoutMs: number;
  clientInfo: Implementation;
  clientOptions?: ClientOptions;
  /** Jitter seed; random by default. */
  seed?: number;
  /** Protocol era preference (default `auto`). */
  protocol?: ProtocolPreference;
  /** An era verdict learned earlier (another connection of the pool, or a restored runtime). */
  verdict?: KnownEra | null;
  /** Told whenever a handshake settles the era (so the pool and `persist()` can keep it). */
  onVerdict?: (verdict: KnownEra) => void;
  /**
   * The actor this connection runs under (the server's supervisor): the connection actor joins its
   * actor system instead of carrying one of its own, and is inspected by that system's observer.
   */
  parent?: AnyActorRef;
  /** XState inspection observer, passed to the actor (ignored with `parent`: its system inspects). */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Called on every change of the flattened state name. */
  onStateChange?: (change: ConnectionStateChange) => void;
  /** Transport-level errors that do not end the connection (malformed frames, stream hiccups). */
  onTransportError?: (error: McpRuntimeError) => void;
  /** Lets the caller register notification/request handlers on the Client once. */
  configureClient?: (client: Client) => void;
  /**
   * Sees every outgoing JSON-RPC message with the negotiated version and session id (undefined
   * before the handshake) and may return a replacement (telemetry puts trace context in `_meta`).
   */
  outgoing?: (
    message: JSONRPCMessage,
    protocolVersion: string | undefined,
    sessionId: string | undefined,
  ) => JSONRPCMessage;
  /** Sees every incoming JSON-RPC message and hands it to the Client with `deliver`. */
  incoming?: Receive;
}

/**
 * What differs between the connections of one server. The rest of {@link ServerConnectionOptions}
 * can then be one object for the whole pool, which each connection keeps instead of a copy.
 */
export type ConnectionOwnOptions = Pick<
  ServerConnectionOptions,
  'seed' | 'verdict' | 'onStateChange' | 'outgoing' | 'incoming'
>;

/** An era verdict with what a modern one needs to be adopted without a round trip. */
export interface KnownEra extends EraVerdict {
  /** The server's `server/discover` result (modern era only). */
  discover?: DiscoverResult;
}

/** The longest a `server/discover` probe waits before a stream's silence counts as "legacy". */
const PROBE_TIMEOUT_CAP_MS = 2_000;

/** JSON-RPC errors that refuse the handshake itself: reconnecting gets the same answer. */
const HANDSHAKE_REFUSALS = new Set([-32020, -32022, -32600, -32601, -32602]);

/** One transition of the connection, as seen from outside. */
export interface ConnectionStateChange {
  server: string;
  from: ConnectionStateName;
  to: ConnectionStateName;
  at: number;
  attempt: number;
  retryDelayMs: number;
  lastError: ConnectionErrorSummary | null;
  /** Times this connection became ready (1 = first connect). */
  readyCount: number;
  /** What initialize negotiated (null before the first ready). */
  session: SessionInfo | null;
}

/** The connection that owns each connection actor. */
const owners = new WeakMap<object, ServerConnection>();

/** The actor systems whose connection actors report their snapshots to {@link onInspection}. */
const observedSystems = new WeakSet<object>();

/**
 * Every connection learns its state changes from its actor system's inspection, through one
 * observer per system (the server's supervisor's, shared by its pool), instead of a subscription
 * per actor (an observer, two bound functions and a closure each). An actor in `error` reports
 * nothing: failures reach the owner as states and `lastError`.
 */
function onInspection(event: InspectionEvent): void {
  if (event.type !== '@xstate.snapshot') return;
  const owner = owners.get(event.actorRef);
  const snapshot = event.snapshot as ConnectionSnapshot;
  if (owner && snapshot.status !== 'error') owner.onSnapshot(snapshot);
}

function observeSystem(system: AnyActorRef['system']): void {
  if (observedSystems.has(system)) return;
  observedSystems.add(system);
  system.inspect(onInspection);
}

function ownerOf(actor: AnyActorRef | undefined): ServerConnection {
  const owner = actor && owners.get(actor);
  if (!owner) throw new ClosedError('The connection actor has no owner');
  return owner;
}

type ConnectionSnapshot = ReturnType<Actor<typeof connectionMachine>['getSnapshot']>;

/** The negotiation options by pin and probe time: the Client keeps them, the connections share them. */
const negotiations = new Map<string, VersionNegotiationOptions>();

function versionNegotiation(pinModern: boolean, probeMs: number): VersionNegotiationOptions {
  const key = `${pinModern}:${probeMs}`;
  let options = negotiations.get(key);
  if (!options) {
    options = Object.freeze({
      mode: pinModern ? Object.freeze({ pin: '2026-07-28' as const }) : ('auto' as const),
      probe: Object.freeze({ timeoutMs: probeMs }),
    });
    negotiations.set(key, options);
  }
  return options;
}

function flatten(value: unknown): ConnectionStateName {
  return (typeof value === 'string' ? value : Object.keys(value as object)[0]) as ConnectionStateName;
}

/** The connection actor for one server, with its SDK Client. */
export class ServerConnection {
  /** The SDK client; only usable while {@link isReady}. */
  readonly client: Client;
  readonly actor: Actor<typeof connectionMachine>;
  readonly server: string;
  private transport: StartedTransport<ServerConnection> | undefined;
  private state: ConnectionStateName = 'idle';
  /** The failure of an adoption tried as the transport opened, for `adopting` to report. */
  private adoptFailure: unknown;

  /**
   * The connection machine with its I/O provided once for every connection: `provide()` builds a
   * whole state-node tree (~27 KiB of heap), so one per connection would outweigh the SDK Client.
   * Each invoked actor finds its connection through its parent, the connection actor.
   */
  private static readonly machine = connectionMachine.provide({
    actors: {
      openTransport: fromPromise<
        SessionInfo | undefined,
        { server: string; attempt: number; adopt: boolean }
      >(async ({ input, self }) => ownerOf(self._parent).openTransport(input.adopt)),
      negotiateSession: fromPromise<
        SessionInfo,
        { server: string; mode: NegotiationMode; protocol: ProtocolPreference }
      >(async ({ input, self }) => ownerOf(self._parent).negotiateSession(input.mode)),
      ping: fromPromise<void, { server: string; timeoutMs: number; liveness: Liveness }>(
        async ({ input, self }) => ownerOf(self._parent).probeLiveness(input.liveness, input.timeoutMs),
      ),
      closeTransport: fromPromise(async ({ self }) => ownerOf(self._parent).disposeTransport()),
    },
    actions: {
      disposeTransport: ({ self }) => {
        void ownerOf(self).disposeTransport();
      },
    },
  });
  /** What every connection's transports report to it (one object for all: no closures per connection). */
  private static readonly transportHooks: StartedTransportHooks<ServerConnection> = {
    onclose: (conn, wrapper) => conn.onTransportClosed(wrapper),
    onerror: (conn, wrapper, error) => conn.onTransportError(wrapper, error),
  };
  /** The same, with the `outgoing` option seeing each message (telemetry). */
  private static readonly tracedTransportHooks: StartedTransportHooks<ServerConnection> = {
    ...ServerConnection.transportHooks,
    onsend: (conn, wrapper, message) =>
      conn.own.outgoing
        ? conn.own.outgoing(
            message,
            conn.actor.getSnapshot().context.session?.protocolVersion,
            wrapper.sessionId,
          )
        : message,
  };
  /** Callers waiting for ready, while some wait: most connections are ready when asked. */
  private waiters: ReadyWaiters | undefined;
  private closePromise: Promise<void> | undefined;
  /** Times a ready connection was lost: calls failing with CONNECTION_LOST share one loss. */
  lossCount = 0;
  /** While a handshake step runs, its own rejection reports a transport loss (with the better reason). */
  private handshaking = false;
  /** The discover result of the modern verdict, needed to adopt it on the next connect. */
  private discover: DiscoverResult | undefined;
  /** True once this connection has been ready: a 404 before that means "no endpoint here". */
  private everReady = false;
  /** The open `subscriptions/listen` stream of a 2026 session. */
  private listening: McpSubscription | undefined;
  /** Transport closes under way (the `disposeTransport` action does not wait; `closeTransport` does). */
  private disposals: Set<Promise<void>> | undefined;
  /**
   * The network failure the transport reported during the current handshake: the SDK then only
   * says "connection closed", and the real cause (`ECONNREFUSED 127.0.0.1:3001`) would be lost.
   */
  private handshakeCause: McpRuntimeError | undefined;

  /**
   * @param options what the connection needs; a pool may give all its connections one object
   * @param own what is this connection's own (taken from `options` when not given)
   */
  constructor(
    private readonly options: ServerConnectionOptions,
    private readonly own: ConnectionOwnOptions = options,
  ) {
    this.server = options.server;
    this.client = new Client(options.clientInfo, options.clientOptions);
    options.configureClient?.(this.client);
    this.discover = own.verdict?.discover;
    this.actor = createActor(ServerConnection.machine, {
      input: {
        server: options.server,
        backoff: options.backoff,
        heartbeat: options.heartbeat,
        connectTimeoutMs: options.connectTimeoutMs,
        initializeTimeoutMs: options.initializeTimeoutMs,
        // Below 2^30: a small integer is stored in place, a larger one boxed (twice: input and
        // context), and the jitter needs no more bits than that.
        seed: own.seed ?? Math.floor(Math.random() * 2 ** 30),
        protocol: options.protocol ?? 'auto',
        verdict: usableVerdict(own.verdict),
      },
      ...(options.parent ? { parent: options.parent } : options.inspect ? { inspect: options.inspect } : {}),
    });
    owners.set(this.actor, this);
    observeSystem(this.actor.system);
    this.actor.start();
  }

  /** The flattened state name (`ready` covers its heartbeat substates). */
  get stateName(): ConnectionStateName {
    return this.state;
  }

  /** True when requests can be sent right now (a field read: the hot path). */
  get isReady(): boolean {
    return this.state === 'ready';
  }

  /** What the handshake negotiated on the current session. */
  get session(): SessionInfo | null {
    return this.actor.getSnapshot().context.session;
  }

  /** The era verdict known for this server (null until the first handshake settles it). */
  get verdict(): KnownEra | null {
    const v = this.actor.getSnapshot().context.verdict;
    if (!v) return null;
    return v.era === 'modern' && this.discover ? { ...v, discover: this.discover } : v;
  }

  /**
   * Calls are waiting for this connection: a reconnect backoff grown while nobody waited is cut to
   * the first step (CALLS_WAITING, see machines/connection.ts). A field check first, so a burst of
   * waiting calls sends one event, not one per call.
   */
  callsWaiting(): void {
    if (this.state !== 'reconnecting') return;
    const c = this.actor.getSnapshot().context;
    if (c.hurried || c.retryAt === null || c.retryAt - Date.now() <= backoffCeilingMs(c.backoff, 1)) return;
    this.actor.send({ type: 'CALLS_WAITING' });
  }

  /** Starts connecting (no-op unless idle or failed). */
  connect(): void {
    if (this.state === 'idle' || this.state === 'failed') this.actor.send({ type: 'CONNECT' });
  }

  /**
   * Resolves when the connection is ready; connects lazily. Rejects with TIMEOUT after `timeoutMs`,
   * CANCELLED on abort, SERVER_FAILED when the machine gave up, CLOSED when closed.
   */
  whenReady(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.state === 'ready') return Promise.resolve();
    if (this.state === 'closing' || this.state === 'closed') {
      return Promise.reject(new ClosedError(`${this.server} is closed`, { server: this.server }));
    }
    if (this.state === 'failed') return Promise.reject(this.failedError());
    this.connect();
    this.waiters ??= new ReadyWaiters();
    return this.waiters.wait(
      timeoutMs,
      signal,
      () => {
        const last = this.actor.getSnapshot().context.lastError;
        return new TimeoutError(
          `${this.server} was not ready within ${timeoutMs} ms (state ${this.state}${last ? `, last error: ${last.message}` : ''})`,
          timeoutMs,
          { server: this.server },
        );
      },
      () => toRuntimeError(Object.assign(new Error('aborted'), { name: 'AbortError' }), this.ctx('connect')),
    );
  }

  /** Leaves `failed` and tries again from attempt 1. */
  retry(): void {
    this.actor.send({ type: 'RETRY' });
  }

  /** Closes the connection: pending waiters get CLOSED, the transport and its timers go. Idempotent. */
  close(): Promise<void> {
    if (this.closePromise) return this.closePromise;
    this.closePromise = new Promise<void>((resolve) => {
      const done = (): void => {
        // An actor under a parent stops itself in its final state (`closed`); only a root is stopped.
        if (!this.actor._parent) this.actor.stop();
        resolve();
      };
      if (this.actor.getSnapshot().status !== 'active') return done();
      const sub = this.actor.subscribe((snapshot) => {
        if (snapshot.status !== 'active' || snapshot.value === 'closed') {
          sub.unsubscribe();
          done();
        }
      });
      this.actor.send({ type: 'CLOSE' });
    });
    return this.closePromise;
  }

  private ctx(operation: string) {
    return { server: this.server, operation };
  }

  private failedError(): ServerFailedError | AuthError {
    const last = this.actor.getSnapshot().context.lastError;
    if (last?.code === 'AUTH') {
      // Reconnecting cannot fix credentials: say so with the error the caller can act on.
      return new AuthError(`${this.server}: ${last.message}; fix the credentials and call restart`, {
        server: this.server,
        cause: summarisedError(last) ?? last,
      });
    }
    return new ServerFailedError(
      `${this.server} is failed${last ? ` (${last.code}: ${last.message})` : ''}; call restart to try again`,
      { server: this.server, ...(last ? { cause: summarisedError(last) ?? last } : {}) },
    );
  }

  /** A snapshot of this connection's actor (see {@link onInspection}). */
  onSnapshot(snapshot: ConnectionSnapshot): void {
    const next = flatten(snapshot.value);
    if (next === this.state) return;
    const from = this.state;
    this.state = next;
    if (from === 'ready') this.lossCount++;
    const c = snapshot.context;
    this.own.onStateChange?.({
      server: this.server,
      from,
      to: next,
      at: Date.now(),
      attempt: c.attempt,
      retryDelayMs: c.retryDelayMs,
      lastError: c.lastError,
      readyCount: c.readyCount,
      session: c.session,
    });
    const waiters = this.waiters;
    if (!waiters) return;
    if (waiters.size > 0) {
      if (next === 'ready') waiters.resolveAll();
      else if (next === 'failed') waiters.rejectAll(this.failedError());
      else if (next === 'closing' || next === 'closed') {
        waiters.rejectAll(new ClosedError(`${this.server} was closed`, { server: this.server }));
      }
    }
    if (waiters.size === 0) this.waiters = undefined;
  }

  /**
   * Opens the transport; with `adopt` over a stream, adopts the known modern verdict in the same
   * step (no message is sent, see the machine's `openTransport`) and gives the session. A failed
   * adoption is kept for `adopting`, which reports it as a handshake failure.
   */
  private async openTransport(adopt: boolean): Promise<SessionInfo | undefined> {
    this.adoptFailure = undefined;
    await this.disposeTransport();
    const spec = await this.options.spec();
    // Closed (or timed out) while the spec was being built: opening now would leak a socket or a child.
    if (this.closePromise || this.state !== 'connecting') {
      throw new ClosedError(`${this.server}: the connection attempt was abandoned`, { server: this.server });
    }
    const inner: Transport = createTransport(spec);
    const wrapper = new StartedTransport(
      inner,
      this.own.outgoing ? ServerConnection.tracedTransportHooks : ServerConnection.transportHooks,
      this as ServerConnection,
      spec.kind === 'stdio' || spec.kind === 'websocket' || spec.kind === 'memory',
      this.own.incoming,
    );
    this.transport = wrapper;
    this.handshaking = true;
    this.handshakeCause = undefined;
    try {
      await inner.start();
      // Its 401 retry is over: a long-lived connection keeps the WebSocket transport, not the wrapper.
      if (inner instanceof ReauthTransport) wrapper.adopt(inner.inner);
      if (this.closePromise && this.transport === wrapper) {
        // The runtime closed while the transport opened: it must not outlive close().
        this.transport = undefined;
        await wrapper.close();
        throw new ClosedError(`${this.server} was closed`, { server: this.server });
      }
    } catch (error) {
      await wrapper.close();
      throw toRuntimeError(error, { ...this.ctx('connect'), firstContact: !this.everReady });
    } finally {
      this.handshaking = false;
    }
    if (!adopt || !wrapper.isStream) return undefined;
    try {
      return await this.negotiateSession('adopt');
    } catch (error) {
      this.adoptFailure = error;
      return undefined;
    }
  }

  /** Runs the handshake of `mode` (see the machine's `negotiating` state) on the open transport. */
  private async negotiateSession(mode: NegotiationMode): Promise<SessionInfo> {
    const failed = this.adoptFailure;
    if (failed !== undefined) {
      // The adoption tried as the transport opened failed: report it here, as any handshake's.
      this.adoptFailure = undefined;
      throw failed;
    }
    const wrapper = this.transport;
    if (!wrapper || wrapper.isClosed)
      throw new ConnectionLostError(`${this.server}: transport closed before the handshake`);
    const timeout = this.options.initializeTimeoutMs;
    const protocol = this.options.protocol ?? 'auto';
    let connectOptions: ConnectOptions = { timeout };
    if (mode === 'adopt' && this.discover) {
      connectOptions = { timeout, prior: { kind: 'modern', discover: this.discover } };
    } else if (mode === 'initialize') {
      connectOptions = { timeout, prior: { kind: 'legacy' } };
    } else {
      // On a stream (stdio, WebSocket) a silent probe means a legacy server: leave time for the
      // initialize that follows within the handshake's deadline.
      const probeMs = Math.max(1, Math.min(PROBE_TIMEOUT_CAP_MS, Math.floor(timeout / 3)));
      this.client.setVersionNegotiation(versionNegotiation(protocol === '2026-07-28', probeMs));
    }
    this.handshaking = true;
    try {
      await this.client.connect(wrapper, connectOptions);
      if (mode === 'adopt' && !wrapper.isStream) {
        // Over HTTP, opening the transport reaches nobody: without one round trip "ready" would be
        // a guess, and a server that is down would flap ready → lost on every first request.
        await this.client.discover({ timeout });
      }
    } catch (error) {
      throw this.handshakeError(error);
    } finally {
      this.handshaking = false;
    }
    // A close during the handshake is left to the handshake (onTransportClosed), but adopting a
    // verdict sends nothing that could fail: without this, the connection would go ready on a
    // transport that is already gone.
    if (wrapper.isClosed) {
      throw new ConnectionLostError(`${this.server}: transport closed during the handshake`, {
        server: this.server,
      });
    }
    this.everReady = true;
    const era = this.client.getProtocolEra() === 'modern' ? 'modern' : 'legacy';
    const protocolVersion = this.client.getNegotiatedProtocolVersion() ?? 'unknown';
    if (era === 'modern') this.discover = this.client.getDiscoverResult() ?? this.discover;
    this.options.onVerdict?.({
      era,
      protocolVersion,
      ...(era === 'modern' && this.discover ? { discover: this.discover } : {}),
    });
    const info = this.client.getServerVersion();
    return {
      protocolVersion,
      era,
      liveness: era === 'legacy' ? 'mcp-ping' : wrapper.canPing ? 'ws-ping' : 'none',
      serverName: info?.name ?? 'unknown',
      serverVersion: info?.version ?? 'unknown',
      instructions: this.client.getInstructions(),
      sessionId: wrapper.sessionId,
    };
  }

  /** The handshake's failure as the machine needs it: permanent when reconnecting cannot help. */
  private handshakeError(error: unknown): McpRuntimeError {
    if (error instanceof SdkError && error.code === SdkErrorCode.EraNegotiationFailed) {
      // A stdio server that exits on the discovery probe is a legacy server: initialize next time.
      if (
        /closed during the server\/discover probe/.test(error.message) &&
        this.options.protocol !== '2026-07-28'
      ) {
        return Object.assign(
          new ConnectionLostError(
            `${this.server}: the server closed on server/discover; retrying with initialize`,
            {
              server: this.server,
              cause: error,
            },
          ),
          { legacyHint: true },
        );
      }
    }
    const mapped = this.networkCause(
      toRuntimeError(error, { ...this.ctx('handshake'), firstContact: !this.everReady }),
    );
    if (mapped instanceof RemoteError && HANDSHAKE_REFUSALS.has(mapped.rpcCode)) {
      // The server refused the handshake itself (unsupported or missing protocol version, no such
      // method): the same request gets the same answer, so fail now, naming what it said.
      const said = mapped.message.replace(/^handshake on [^:]+: /, '');
      return markPermanent(
        new ProtocolError(`${this.server} refused the protocol handshake (${mapped.rpcCode}): ${said}`, {
          server: this.server,
          cause: mapped,
        }),
      );
    }
    return mapped;
  }

  /**
   * A handshake that ended because the transport failed reads "connection closed" from the SDK;
   * the transport's own report (refused, reset, unreachable) names the cause a user can act on.
   */
  private networkCause(mapped: McpRuntimeError): McpRuntimeError {
    const cause = this.handshakeCause;
    this.handshakeCause = undefined;
    if (!cause || isPermanent(mapped) || mapped.code === 'AUTH' || mapped.code === 'REMOTE') return mapped;
    return new ConnectionLostError(`${this.server}: ${cause.message.replace(/^[^:]+ on [^:]+: /, '')}`, {
      server: this.server,
      cause,
    });
  }

  /**
   * Subscribes to updates of `uris` (the whole set, replacing the previous one) in the session's era:
   * `resources/subscribe` per URI on 2025 servers; on 2026 servers one `subscriptions/listen` stream
   * for the URIs and the list changes the server announces. Fails at once with PROTOCOL when the
   * server has no `resources.subscribe` capability (instead of waiting for updates that never come).
   */
  async subscribe(uris: readonly string[], added: readonly string[], timeoutMs: number): Promise<void> {
    const caps = this.client.getServerCapabilities();
    if (added.length > 0 && !caps?.resources?.subscribe) {
      throw markPermanent(
        new ProtocolError(
          `${this.server} does not support resource subscriptions (no resources.subscribe capability)`,
          { server: this.server },
        ),
      );
    }
    if (this.session?.era === 'modern') return this.listen(uris, timeoutMs);
    await Promise.all(added.map((uri) => this.client.subscribeResource({ uri }, { timeout: timeoutMs })));
  }

  /**
   * (Re)opens the 2026 `subscriptions/listen` stream: list changes the server announces, and
   * `uris`. Notifications on it reach the handlers registered on the Client, as on 2025 servers.
   */
  async listen(uris: readonly string[], timeoutMs: number): Promise<void> {
    const caps = this.client.getServerCapabilities();
    const filter = {
      ...(caps?.tools?.listChanged ? { toolsListChanged: true } : {}),
      ...(caps?.prompts?.listChanged ? { promptsListChanged: true } : {}),
      ...(caps?.resources?.listChanged ? { resourcesListChanged: true } : {}),
      ...(uris.length > 0 ? { resourceSubscriptions: [...uris] } : {}),
    };
    const previous = this.listening;
    this.listening = undefined;
    await previous?.close().catch(() => {});
    if (Object.keys(filter).length === 0) return;
    try {
      this.listening = await this.client.listen(filter, { timeout: timeoutMs });
    } catch (error) {
      throw toRuntimeError(error, this.ctx('subscriptions/listen'));
    }
  }

  /** One liveness probe: MCP ping on 2025 sessions, a WebSocket ping frame on 2026 ones. */
  private async probeLiveness(liveness: Liveness, timeoutMs: number): Promise<void> {
    if (liveness === 'mcp-ping') {
      await this.client.ping({ timeout: timeoutMs });
      return;
    }
    const wrapper = this.transport;
    if (liveness === 'ws-ping' && wrapper) await wrapper.ping(timeoutMs);
  }

  /**
   * Closes the current transport; the Client's pending requests reject with ConnectionClosed now.
   * Resolves when every transport this connection is closing is closed (a stdio child and its
   * process group have exited), so `close()` leaves nothing behind.
   */
  private async disposeTransport(): Promise<void> {
    const wrapper = this.transport;
    this.transport = undefined;
    if (wrapper) {
      const closing = wrapper.close();
      this.disposals ??= new Set();
      const disposals = this.disposals;
      disposals.add(closing);
      void closing.finally(() => disposals.delete(closing));
    }
    if (this.disposals?.size) await Promise.all(this.disposals);
  }

  private onTransportClosed(wrapper: StartedTransport<ServerConnection>): void {
    // A close of a transport we already replaced (or disposed on purpose) is old news.
    if (this.transport !== wrapper || this.handshaking) return;
    this.transport = undefined;
    const reason = (wrapper.inner as { lastCloseError?: McpRuntimeError }).lastCloseError;
    const error =
      reason ?? new ConnectionLostError(`${this.server}: transport closed`, { server: this.server });
    this.actor.send({
      type: 'TRANSPORT_CLOSED',
      error: { code: error.code, message: error.message },
      fatal: error.code === 'AUTH',
    });
  }

  private onTransportError(wrapper: StartedTransport<ServerConnection>, error: Error): void {
    // Before the first ready, a 404 means "no MCP endpoint here", not an expired session.
    const mapped = toRuntimeError(error, { ...this.ctx('transport'), firstContact: !this.everReady });
    this.options.onTransportError?.(mapped);
    if (this.transport === wrapper && this.handshaking && mapped.code === 'CONNECTION_LOST') {
      this.handshakeCause = mapped;
    }
    // The SDK's HTTP transports report a dead server as an error on the stream, not a close;
    // closing it here fails the requests in flight at once instead of at their timeout.
    if (this.transport === wrapper && isNetworkFailure(error)) void wrapper.close();
  }
}

/** The machine's part of a known era (null when there is none, or a modern one cannot be adopted). */
function usableVerdict(verdict: KnownEra | null | undefined): EraVerdict | null {
  if (!verdict) return null;
  // A modern verdict without its discover result cannot be adopted: discover again.
  if (verdict.era === 'modern' && !verdict.discover) return null;
  return { era: verdict.era, protocolVersion: verdict.protocolVersion };
}

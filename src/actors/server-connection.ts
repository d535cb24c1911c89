/**
 * A live connection to one MCP server: the connection machine running as an actor, with the I/O
 * it invokes (transport open, initialize handshake, ping, close) provided here. One SDK `Client`
 * lives as long as the connection and is re-connected to each new transport, so notification
 * handlers registered once survive reconnects.
 *
 * The hot path does not touch the actor: `isReady` is a field read, and requests go straight to
 * the Client. Only lifecycle changes (transport loss, heartbeat misses, close) are events.
 */
import { Client, type ClientOptions } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Implementation, JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { type Actor, createActor, fromPromise, type InspectionEvent, type Observer } from 'xstate';
import {
  AuthError,
  ClosedError,
  ConnectionLostError,
  type McpRuntimeError,
  ServerFailedError,
  TimeoutError,
} from '../errors/index.js';
import {
  type BackoffPolicy,
  type ConnectionErrorSummary,
  type ConnectionStateName,
  connectionMachine,
  type HeartbeatPolicy,
  type SessionInfo,
} from '../machines/connection.js';
import { isNetworkFailure, toRuntimeError } from './map-error.js';
import { ReadyWaiters } from './ready-waiters.js';
import { StartedTransport } from './started-transport.js';
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
  /** XState inspection observer, passed to the actor. */
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
}

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

/** The connection that owns each running connection actor, by the actor's system. */
const owners = new WeakMap<object, ServerConnection>();

function ownerOf(system: object): ServerConnection {
  const owner = owners.get(system);
  if (!owner) throw new ClosedError('The connection actor has no owner');
  return owner;
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
  private transport: StartedTransport | undefined;
  private state: ConnectionStateName = 'idle';

  /**
   * The connection machine with its I/O provided once for every connection: `provide()` builds a
   * whole state-node tree (~27 KiB of heap), so one per connection would outweigh the SDK Client.
   * Each invoked actor finds its connection through its actor system (one system per root actor).
   */
  private static readonly machine = connectionMachine.provide({
    actors: {
      openTransport: fromPromise(async ({ system }) => ownerOf(system).openTransport()),
      initializeSession: fromPromise(async ({ system }) => ownerOf(system).initializeSession()),
      ping: fromPromise<void, { server: string; timeoutMs: number }>(async ({ input, system }) => {
        await ownerOf(system).client.ping({ timeout: input.timeoutMs });
      }),
      closeTransport: fromPromise(async ({ system }) => ownerOf(system).disposeTransport()),
    },
    actions: {
      disposeTransport: ({ system }) => {
        void ownerOf(system).disposeTransport();
      },
    },
  });
  private readonly waiters = new ReadyWaiters();
  private closePromise: Promise<void> | undefined;
  /** Times a ready connection was lost: calls failing with CONNECTION_LOST share one loss. */
  lossCount = 0;
  /** While a handshake step runs, its own rejection reports a transport loss (with the better reason). */
  private handshaking = false;

  constructor(private readonly options: ServerConnectionOptions) {
    this.server = options.server;
    this.client = new Client(options.clientInfo, options.clientOptions);
    options.configureClient?.(this.client);
    this.actor = createActor(ServerConnection.machine, {
      input: {
        server: options.server,
        backoff: options.backoff,
        heartbeat: options.heartbeat,
        connectTimeoutMs: options.connectTimeoutMs,
        initializeTimeoutMs: options.initializeTimeoutMs,
        seed: options.seed ?? Math.floor(Math.random() * 2 ** 32),
      },
      ...(options.inspect ? { inspect: options.inspect } : {}),
      systemId: `connection:${options.server}`,
    });
    owners.set(this.actor.system, this);
    this.actor.subscribe({ next: (snapshot) => this.onSnapshot(snapshot), error: () => {} });
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

  /** What initialize negotiated on the current session. */
  get session(): SessionInfo | null {
    return this.actor.getSnapshot().context.session;
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
        this.actor.stop();
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
        cause: last,
      });
    }
    return new ServerFailedError(
      `${this.server} is failed${last ? ` (${last.code}: ${last.message})` : ''}; call restart to try again`,
      { server: this.server, ...(last ? { cause: last } : {}) },
    );
  }

  private onSnapshot(snapshot: ReturnType<typeof this.actor.getSnapshot>): void {
    const next = flatten(snapshot.value);
    if (next === this.state) return;
    const from = this.state;
    this.state = next;
    if (from === 'ready') this.lossCount++;
    const c = snapshot.context;
    this.options.onStateChange?.({
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
    if (next === 'ready') this.waiters.resolveAll();
    else if (next === 'failed') this.waiters.rejectAll(this.failedError());
    else if (next === 'closing' || next === 'closed') {
      this.waiters.rejectAll(new ClosedError(`${this.server} was closed`, { server: this.server }));
    }
  }

  private async openTransport(): Promise<void> {
    await this.disposeTransport();
    const spec = await this.options.spec();
    const inner: Transport = createTransport(spec);
    const outgoing = this.options.outgoing;
    const wrapper: StartedTransport = new StartedTransport(inner, {
      onclose: () => this.onTransportClosed(wrapper),
      onerror: (error) => this.onTransportError(wrapper, error),
      ...(outgoing
        ? {
            onsend: (message: JSONRPCMessage) =>
              outgoing(message, this.actor.getSnapshot().context.session?.protocolVersion, wrapper.sessionId),
          }
        : {}),
    });
    this.transport = wrapper;
    this.handshaking = true;
    try {
      await inner.start();
    } catch (error) {
      await wrapper.close();
      throw toRuntimeError(error, this.ctx('connect'));
    } finally {
      this.handshaking = false;
    }
  }

  private async initializeSession(): Promise<SessionInfo> {
    const wrapper = this.transport;
    if (!wrapper || wrapper.isClosed)
      throw new ConnectionLostError(`${this.server}: transport closed before initialize`);
    this.handshaking = true;
    try {
      await this.client.connect(wrapper, { timeout: this.options.initializeTimeoutMs });
    } catch (error) {
      throw toRuntimeError(error, this.ctx('initialize'));
    } finally {
      this.handshaking = false;
    }
    const info = this.client.getServerVersion();
    const inner = wrapper.inner as Transport & { protocolVersion?: string };
    return {
      protocolVersion: inner.protocolVersion ?? 'unknown',
      serverName: info?.name ?? 'unknown',
      serverVersion: info?.version ?? 'unknown',
      instructions: this.client.getInstructions(),
      sessionId: wrapper.sessionId,
    };
  }

  /** Closes the current transport; the Client's pending requests reject with ConnectionClosed now. */
  private async disposeTransport(): Promise<void> {
    const wrapper = this.transport;
    this.transport = undefined;
    if (wrapper) await wrapper.close();
  }

  private onTransportClosed(wrapper: StartedTransport): void {
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

  private onTransportError(wrapper: StartedTransport, error: Error): void {
    const mapped = toRuntimeError(error, this.ctx('transport'));
    this.options.onTransportError?.(mapped);
    // The SDK's HTTP transports report a dead server as an error on the stream, not a close;
    // closing it here fails the requests in flight at once instead of at their timeout.
    if (this.transport === wrapper && isNetworkFailure(error)) void wrapper.close();
  }
}

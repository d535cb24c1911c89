/**
 * Wraps a transport that the connection actor has already started, so the SDK `Client` can
 * `connect()` to it (its `start()` becomes a no-op). This is what lets the connection machine
 * show `connecting` (socket/process) and `initializing` (MCP handshake) as separate states.
 *
 * It also guarantees `onclose` fires exactly once, synchronously when the actor disposes the
 * transport, so the Client rejects everything in flight at once and can connect again.
 */
import type {
  JSONRPCMessage,
  MessageExtraInfo,
  Transport,
  TransportSendOptions,
} from '@modelcontextprotocol/client';
import { isProgress, type OrderedReceiver, ProgressOrder } from './progress-order.js';
import { TaskResultLift, taskDeclaringId } from './task-results.js';

/**
 * Extra observers of the inner transport, called besides the Client's own callbacks. They get the
 * transport's owner, so one hooks object serves every transport of a kind (no closures per
 * connection).
 */
export interface StartedTransportHooks<O> {
  onclose: (owner: O, transport: StartedTransport<O>) => void;
  onerror: (owner: O, transport: StartedTransport<O>, error: Error) => void;
  /** Sees every outgoing message and may return a replacement (trace context in `_meta`). */
  onsend?: (owner: O, transport: StartedTransport<O>, message: JSONRPCMessage) => JSONRPCMessage;
}

/**
 * Sees every incoming message and hands it on with `deliver` (telemetry delivers a response that
 * asks for input in the context of the call it answers).
 */
export type Receive = (
  message: JSONRPCMessage,
  extra: MessageExtraInfo | undefined,
  deliver: Deliver,
) => void;

/** Hands an incoming message to the Client. */
export type Deliver = (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;

/** A started transport the Client can connect to. */
export class StartedTransport<O = unknown> implements Transport, OrderedReceiver {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void;
  private closed = false;
  /**
   * 2026 task results the SDK Client cannot decode, lifted for the task path (task-results.ts).
   * Made on the first task-declaring call.
   */
  private tasks: TaskResultLift | undefined = undefined;
  /** Progress ahead of the result it precedes (progress-order.ts). Made on the first progress. */
  private order: ProgressOrder | undefined = undefined;
  /** `deliver` as a function for `receive`, made on its first message (telemetry only). */
  private deliverFn: Deliver | undefined;
  /** A long-lived stream (stdio, WebSocket, in-memory): opening it reached the peer. */
  readonly isStream: boolean;

  constructor(
    private innerTransport: Transport,
    private readonly hooks: StartedTransportHooks<O>,
    private readonly owner: O,
    streamLike = false,
    private readonly receive?: Receive,
  ) {
    const inner = innerTransport;
    this.isStream = streamLike;
    if (streamLike) {
      // The SDK's era probe reads a silent peer on a stdio-shaped channel as a legacy server (some
      // ignore unknown requests before initialize) and falls back to initialize; on HTTP it reads
      // silence as an outage. A WebSocket is a long-lived stream like stdio: mark it so. The
      // probe recognises the shape by these two fields.
      Object.assign(this, { pid: undefined, stderr: undefined });
    }
    // Three callbacks over one context (`this`): what they need is in fields, not in closures.
    inner.onmessage = (message, extra) => {
      if (this.order === undefined) {
        if (!isProgress(message)) return this.handOn(message, extra);
        this.order = new ProgressOrder();
      }
      this.order.pass(message, extra, this);
    };
    inner.onerror = (error) => {
      // Once closed, what the transport reports is its own teardown (aborted streams): not news,
      // and it may come after the runtime's close() resolved.
      if (this.closed) return;
      this.onerror?.(error);
      this.hooks.onerror(this.owner, this, error);
    };
    inner.onclose = () => this.markClosed();
  }

  /** The transport underneath (the one that was started, once {@link adopt} swapped it in). */
  get inner(): Transport {
    return this.innerTransport;
  }

  /**
   * Swaps in `started`, the transport a start-only wrapper (ReauthTransport) opened, and moves this
   * wrapper's callbacks onto it: the wrapper is then unreferenced, and messages skip one hop.
   */
  adopt(started: Transport): void {
    const previous = this.innerTransport;
    started.onmessage = previous.onmessage;
    started.onerror = previous.onerror;
    started.onclose = previous.onclose;
    this.innerTransport = started;
  }

  /** An incoming message, in order: to `receive` when given, else to the Client. */
  handOn(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    const receive = this.receive;
    if (receive) {
      this.deliverFn ??= (m, e) => this.deliver(m, e);
      receive(message, extra, this.deliverFn);
    } else {
      this.deliver(message, extra);
    }
  }

  private deliver(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    const tasks = this.tasks;
    this.onmessage?.(tasks ? tasks.received(message) : message, extra);
  }

  get sessionId(): string | undefined {
    return this.innerTransport.sessionId;
  }

  /** The inner transport is already started; the Client's call is a no-op. */
  async start(): Promise<void> {}

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const onsend = this.hooks.onsend;
    const out = onsend ? onsend(this.owner, this, message) : message;
    const taskId = taskDeclaringId(out);
    if (taskId !== undefined) {
      this.tasks ??= new TaskResultLift();
      this.tasks.expect(taskId);
    }
    return this.innerTransport.send(out, options);
  }

  setProtocolVersion(version: string): void {
    this.innerTransport.setProtocolVersion?.(version);
  }

  /** True when the inner transport can send a liveness ping (WebSocket ping frames). */
  get canPing(): boolean {
    return typeof (this.innerTransport as { ping?: unknown }).ping === 'function';
  }

  /** Sends the inner transport's liveness ping; resolves on its answer. */
  ping(timeoutMs: number): Promise<void> {
    const ping = (this.innerTransport as { ping?: (timeoutMs: number) => Promise<void> }).ping;
    return ping ? ping.call(this.innerTransport, timeoutMs) : Promise.resolve();
  }

  /** Closes the inner transport; `onclose` fires now, once, whatever the inner one does. */
  async close(): Promise<void> {
    this.markClosed();
    try {
      await this.innerTransport.close();
    } catch {
      // Closing a transport that already died may throw; the wrapper is closed either way.
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.tasks?.clear();
    this.onclose?.();
    this.hooks.onclose(this.owner, this);
  }
}

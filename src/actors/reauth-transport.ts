/**
 * A transport whose `start()` handles authentication failures of the opening handshake: a 401 gets one
 * more try with fresh headers (a refreshed token) before failing with AUTH, and a failed TLS certificate
 * check is reported as AUTH (see tls.ts). Used for WebSocket, whose token travels in the upgrade request.
 */
import type {
  JSONRPCMessage,
  MessageExtraInfo,
  Transport,
  TransportSendOptions,
} from '@modelcontextprotocol/client';
import { AuthError } from '../errors/index.js';
import { tlsFailureOf } from './tls.js';

/** Options of {@link ReauthTransport}. */
export interface ReauthTransportOptions {
  server?: string;
  /** Headers of the first attempt. */
  headers: Record<string, string>;
  /** Makes a fresh, unstarted transport sending `headers`. */
  create: (headers: Record<string, string>) => Transport;
  /** Headers to merge in after a 401 (a fresh token); absent: a 401 fails at once. */
  refreshHeaders?: (() => Promise<Record<string, string>>) | undefined;
}

/**
 * Starts an inner transport, retrying a 401 handshake once with refreshed headers. Once started it
 * forwards everything to the inner transport; `onclose` fires once, also for a failed `start()`.
 *
 * @example
 * const t = new ReauthTransport({ headers, create: (h) => new WebSocketClientTransport({ url, headers: h }),
 *   refreshHeaders: async () => ({ Authorization: `Bearer ${await getToken()}` }) });
 */
export class ReauthTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void;
  #inner: Transport;
  #starting = false;
  #closed = false;
  #closeFired = false;
  readonly #server: string | undefined;
  /**
   * Needed by `start()` only (a 401 makes a fresh inner transport): dropped once it settled, so a
   * long-lived connection does not keep the factory, its spec and the headers.
   */
  #options: ReauthTransportOptions | undefined;

  constructor(options: ReauthTransportOptions) {
    this.#options = options;
    this.#server = options.server;
    this.#inner = this.#wire(options.create(options.headers));
  }

  /** The inner transport in use. */
  get inner(): Transport {
    return this.#inner;
  }

  get sessionId(): string | undefined {
    return this.#inner.sessionId;
  }

  /** Why the inner transport ended, when it says (WebSocketClientTransport does). */
  get lastCloseError(): unknown {
    return (this.#inner as { lastCloseError?: unknown }).lastCloseError;
  }

  async start(): Promise<void> {
    const options = this.#options;
    this.#starting = true;
    try {
      try {
        await this.#inner.start();
      } catch (error) {
        const refresh = options?.refreshHeaders;
        if (!(error instanceof AuthError && error.status === 401 && refresh)) throw error;
        const fresh = await refresh();
        if (this.#closed) throw error;
        this.#inner = this.#wire(options.create({ ...options.headers, ...fresh }));
        await this.#inner.start();
      }
    } catch (error) {
      this.#fireClose();
      throw tlsFailureOf(error, this.#server) ?? error;
    } finally {
      this.#starting = false;
      this.#options = undefined;
    }
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    return this.#inner.send(message, options);
  }

  setProtocolVersion(version: string): void {
    this.#inner.setProtocolVersion?.(version);
  }

  /** The inner transport's liveness ping, when it has one (WebSocket ping frames). */
  get ping(): ((timeoutMs: number) => Promise<void>) | undefined {
    const inner = this.#inner as { ping?: (timeoutMs: number) => Promise<void> };
    return inner.ping ? (timeoutMs) => inner.ping!(timeoutMs) : undefined;
  }

  async close(): Promise<void> {
    this.#closed = true;
    try {
      await this.#inner.close();
    } finally {
      this.#fireClose();
    }
  }

  #wire(inner: Transport): Transport {
    inner.onmessage = (message, extra) => {
      if (inner === this.#inner) this.onmessage?.(message, extra);
    };
    inner.onerror = (error) => {
      if (inner === this.#inner) this.onerror?.(error);
    };
    inner.onclose = () => {
      // During start() a failed attempt may be retried: the outcome of start() decides.
      if (inner === this.#inner && !this.#starting) this.#fireClose();
    };
    return inner;
  }

  #fireClose(): void {
    this.#closed = true;
    if (this.#closeFired) return;
    this.#closeFired = true;
    this.onclose?.();
  }
}

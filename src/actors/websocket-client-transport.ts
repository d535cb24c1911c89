/**
 * An MCP client transport over WebSocket (the `ws` package), with headers, TLS, a payload bound, a
 * handshake timeout and typed errors. The SDK's own WebSocket transport takes neither headers nor TLS
 * options and needs a global `WebSocket`, hence this one.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/client';
import WebSocket from 'ws';
import {
  AuthError,
  ClosedError,
  ConfigError,
  ConnectionLostError,
  ProtocolError,
  ValidationError,
} from '../errors/index.js';
import { decodeJsonRpcFrame } from './json-rpc-frame.js';
import { markPermanent } from './map-error.js';
import { watchClientCertificate } from './tls.js';

/** TLS options for `wss://` URLs (passed to Node's `tls.connect`). */
export interface WebSocketTlsOptions {
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer | Array<string | Buffer>;
  key?: string | Buffer | Array<string | Buffer>;
  passphrase?: string;
  servername?: string;
  rejectUnauthorized?: boolean;
}

/** Options of {@link WebSocketClientTransport}. */
export interface WebSocketClientTransportOptions {
  /** `ws://` or `wss://` URL of the MCP server. */
  url: string | URL;
  /** Extra HTTP headers for the upgrade request (e.g. `Authorization`). */
  headers?: Record<string, string>;
  tls?: WebSocketTlsOptions;
  /** Largest inbound message accepted; a bigger one closes the connection with 1009. Default 16 MiB. */
  maxPayloadBytes?: number;
  /** Deadline for the opening handshake; none by default. */
  handshakeTimeoutMs?: number;
  /** How long `close()` waits for the peer's close frame before dropping the socket. Default 1000. */
  closeTimeoutMs?: number;
  /** Subprotocols offered; the server must pick one of them. Default `['mcp']`. */
  protocols?: string[];
  /** Configured server name, copied onto every error raised. */
  server?: string;
}

/** Default bound on inbound messages: 16 MiB. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;
const DEFAULT_CLOSE_TIMEOUT_MS = 1_000;

/** Errors that end (or prevent) a WebSocket connection. */
export type WebSocketCloseError = ConnectionLostError | AuthError | ProtocolError | ClosedError;

/** Close codes that `ws` uses for its own receive-side failures, by `ws` error code. */
const RECEIVER_CLOSE_CODES: Record<string, number> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009,
  WS_ERR_INVALID_UTF8: 1007,
};

/**
 * MCP client transport over WebSocket. `start()` resolves once the socket is open and rejects with a
 * typed error: {@link AuthError} (HTTP 401/403 on upgrade), {@link ProtocolError} (subprotocol not
 * accepted, HTTP 400/426), {@link ConnectionLostError} (refused, reset, handshake timeout, other HTTP
 * statuses). Malformed inbound frames go to `onerror` as {@link ProtocolError} and are dropped.
 * `onclose` fires exactly once, for any end (including a failed `start()`); just before it,
 * {@link lastCloseError} says why, or stays `undefined` when the end was a local `close()`.
 *
 * @example
 * const transport = new WebSocketClientTransport({ url: 'ws://127.0.0.1:8080', headers: { Authorization: 'Bearer x' } });
 * const client = new Client({ name: 'app', version: '1.0.0' });
 * await client.connect(transport);
 */
export class WebSocketClientTransport implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: (<T extends JSONRPCMessage>(message: T) => void) | undefined;
  sessionId?: string | undefined;

  /** Why the connection ended (set before `onclose`); `undefined` after a local `close()`. */
  lastCloseError: WebSocketCloseError | undefined;

  readonly #options: WebSocketClientTransportOptions;
  readonly #server: string | undefined;
  #ws: WebSocket | undefined;
  #opened = false;
  #closeRequested = false;
  #closed = false;
  /** The reason a handshake failed, learnt before `ws` reports the failure. */
  #handshakeError: WebSocketCloseError | undefined;
  /** Close code implied by a receive-side failure (1009, 1007, 1002), which `ws` may report as 1006. */
  #receiverCloseCode: number | undefined;
  #lastSocketError: Error | undefined;
  #startSettle:
    | { resolve: () => void; reject: (error: Error) => void; timer: NodeJS.Timeout | undefined }
    | undefined;
  #closeWaiters: Array<() => void> = [];
  #notifiedThisTick = false;
  #deferred: JSONRPCMessage[] | undefined;

  constructor(options: WebSocketClientTransportOptions) {
    this.#options = options;
    this.#server = options.server;
  }

  /** Opens the socket; rejects with a typed error (see the class comment). */
  start(): Promise<void> {
    if (this.#closed || this.#closeRequested) {
      return Promise.reject(new ClosedError('The WebSocket transport is closed', { server: this.#server }));
    }
    if (this.#ws !== undefined) {
      return Promise.reject(
        new ProtocolError('WebSocketClientTransport already started', { server: this.#server }),
      );
    }
    const o = this.#options;
    let ws: WebSocket;
    try {
      // `closeTimeout` (ws >= 8.18) is missing from @types/ws.
      const wsOptions: WebSocket.ClientOptions & { closeTimeout: number } = {
        headers: o.headers,
        maxPayload: o.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
        closeTimeout: o.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
        perMessageDeflate: false,
        followRedirects: false,
        ...o.tls,
        ...(new URL(String(o.url)).protocol === 'wss:' ? { createConnection: connectWatched } : {}),
      };
      ws = new WebSocket(o.url, o.protocols ?? ['mcp'], wsOptions);
    } catch (cause) {
      const error = new ConfigError([{ path: 'url', message: describe(cause) }], {
        server: this.#server,
        cause,
      });
      this.lastCloseError = undefined;
      this.#fireClose();
      return Promise.reject(error);
    }
    this.#ws = ws;
    ws.on('open', this.#onOpen);
    ws.on('unexpected-response', this.#onUnexpectedResponse);
    ws.on('error', this.#onError);
    ws.on('close', this.#onSocketClose);
    ws.on('message', this.#onMessage);
    return new Promise((resolve, reject) => {
      // The handshake deadline is a timer of ours, not ws's `handshakeTimeout`: that one arms the
      // socket's idle timeout, and the socket keeps the cleared timer (~0.2 KB) for its whole life.
      const timeoutMs = o.handshakeTimeoutMs;
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.#handshakeError ??= new ConnectionLostError(
                'WebSocket connection failed: Opening handshake has timed out',
                { server: this.#server },
              );
              ws.terminate();
            }, timeoutMs);
      this.#startSettle = { resolve, reject, timer };
    });
  }

  /** Sends one message; rejects with {@link ConnectionLostError} when the socket is not open. */
  async send(message: JSONRPCMessage): Promise<void> {
    const ws = this.#ws;
    if (ws === undefined || ws.readyState !== WebSocket.OPEN) {
      // The peer started a close and the socket lingers in its closing handshake: end it now, so
      // `onclose` fires and the runtime moves calls to a live connection instead of this one.
      if (ws?.readyState === WebSocket.CLOSING) ws.terminate();
      throw new ConnectionLostError('The WebSocket is not open', {
        server: this.#server,
        cause: this.lastCloseError,
      });
    }
    let text: string;
    try {
      text = JSON.stringify(message);
    } catch (cause) {
      throw new ValidationError('The message is not JSON-serialisable', 'message', {
        server: this.#server,
        cause,
      });
    }
    ws.send(text);
  }

  /**
   * Sends a WebSocket ping frame and resolves on its pong: the liveness probe of 2026 servers, which
   * have no MCP `ping`. Rejects with {@link ConnectionLostError} when the socket is not open or no
   * pong comes within `timeoutMs`.
   */
  ping(timeoutMs: number): Promise<void> {
    const ws = this.#ws;
    if (ws === undefined || ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new ConnectionLostError('The WebSocket is not open', { server: this.#server }));
    }
    return new Promise((resolve, reject) => {
      const onPong = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        ws.off('pong', onPong);
        reject(new ConnectionLostError(`No WebSocket pong within ${timeoutMs} ms`, { server: this.#server }));
      }, timeoutMs);
      ws.once('pong', onPong);
      ws.ping();
    });
  }

  /** Closes the connection (1000); idempotent, never throws, resolves once the socket is closed. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#closeWaiters.push(resolve));
    if (!this.#closeRequested) {
      this.#closeRequested = true;
      const ws = this.#ws;
      if (ws === undefined) {
        this.#fireClose();
      } else {
        try {
          ws.close(1000);
        } catch {
          ws.terminate();
        }
      }
    }
    return done;
  }

  readonly #onOpen = (): void => {
    this.#opened = true;
    const settle = this.#startSettle;
    this.#startSettle = undefined;
    clearTimeout(settle?.timer);
    settle?.resolve();
  };

  readonly #onUnexpectedResponse = (_req: ClientRequest, res: IncomingMessage): void => {
    const status = res.statusCode ?? 0;
    res.resume();
    const server = this.#server;
    const message = `WebSocket upgrade refused with HTTP ${status}`;
    if (status === 401 || status === 403) this.#handshakeError = new AuthError(message, { server, status });
    else if (status >= 500) this.#handshakeError = new ConnectionLostError(message, { server });
    else {
      // 404 from a plain HTTP server, 400/426, a 200 page, a redirect: no WebSocket MCP endpoint is
      // at this URL, and reconnecting will not put one there.
      this.#handshakeError = markPermanent(
        new ProtocolError(`${message}: no WebSocket MCP endpoint at ${this.#options.url}`, { server }),
      );
    }
    this.#ws?.terminate();
  };

  readonly #onError = (error: Error): void => {
    this.#lastSocketError = error;
    if (!this.#opened) {
      this.#handshakeError ??= this.#handshakeFailure(error);
      return;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code?.startsWith('WS_ERR_')) {
      // A frame broke the protocol (too big, bad UTF-8, bad opcode): ws is closing; report and drop now.
      this.#receiverCloseCode = RECEIVER_CLOSE_CODES[code] ?? 1002;
      this.onerror?.(
        new ProtocolError(`WebSocket protocol violation: ${error.message}`, {
          server: this.#server,
          cause: error,
        }),
      );
      this.#ws?.terminate();
    }
  };

  readonly #onSocketClose = (code: number, reason: Buffer): void => {
    if (!this.#opened) {
      const error: WebSocketCloseError =
        this.#handshakeError ??
        (this.#closeRequested
          ? new ClosedError('The WebSocket transport was closed before it opened', { server: this.#server })
          : new ConnectionLostError('The WebSocket closed before it opened', {
              server: this.#server,
              closeCode: code,
            }));
      this.lastCloseError = error instanceof ClosedError ? undefined : error;
      const settle = this.#startSettle;
      this.#startSettle = undefined;
      clearTimeout(settle?.timer);
      settle?.reject(error);
    } else if (!this.#closeRequested || this.#receiverCloseCode !== undefined) {
      this.lastCloseError = this.#closeErrorFor(this.#receiverCloseCode ?? code, reason.toString('utf8'));
    }
    this.#fireClose();
  };

  readonly #onMessage = (data: WebSocket.RawData): void => {
    const text =
      typeof data === 'string'
        ? data
        : Array.isArray(data)
          ? Buffer.concat(data).toString()
          : data.toString();
    const decoded = decodeJsonRpcFrame(text, this.#server);
    if (decoded instanceof ProtocolError) this.onerror?.(decoded);
    else if (this.#deferred !== undefined) this.#deferred.push(decoded);
    else this.#deliver(decoded);
  };

  /**
   * The SDK runs notification handlers one microtask late but settles responses at once, so a progress
   * notification read in the same tick as its response would be dropped. A response that follows a
   * notification within one tick is therefore delivered a microtask later (with everything after it).
   */
  #deliver(message: JSONRPCMessage): void {
    if ('method' in message) {
      if (!('id' in message) && !this.#notifiedThisTick) {
        this.#notifiedThisTick = true;
        queueMicrotask(this.#endTick);
      }
    } else if (this.#notifiedThisTick) {
      this.#deferred = [message];
      queueMicrotask(this.#flushDeferred);
      return;
    }
    this.onmessage?.(message);
  }

  readonly #endTick = (): void => {
    this.#notifiedThisTick = false;
  };

  readonly #flushDeferred = (): void => {
    const queue = this.#deferred ?? [];
    this.#deferred = undefined;
    this.#notifiedThisTick = false;
    for (let i = 0; i < queue.length; i++) {
      if (this.#deferred !== undefined) {
        // A response after a notification again: keep the rest in order for the next microtask.
        (this.#deferred as JSONRPCMessage[]).push(...queue.slice(i));
        return;
      }
      this.#deliver(queue[i]!);
    }
  };

  #handshakeFailure(error: Error): WebSocketCloseError {
    const server = this.#server;
    if (/subprotocol/i.test(error.message)) {
      return new ProtocolError(`The server did not accept the WebSocket subprotocol: ${error.message}`, {
        server,
        cause: error,
      });
    }
    if (this.#closeRequested)
      return new ClosedError('The WebSocket transport was closed before it opened', { server });
    return new ConnectionLostError(`WebSocket connection failed: ${error.message}`, { server, cause: error });
  }

  #closeErrorFor(code: number, reason: string): WebSocketCloseError {
    const server = this.#server;
    const suffix = reason ? `: ${reason.slice(0, 123)}` : '';
    if (code === 4401 || code === 4403) {
      return new AuthError(`The server closed the WebSocket (${code})${suffix}`, {
        server,
        status: code - 4000,
      });
    }
    const what = CLOSE_CODE_NAMES[code] ?? 'closed';
    return new ConnectionLostError(`The WebSocket ${what} (${code})${suffix}`, {
      server,
      closeCode: code,
      cause: this.#lastSocketError,
    });
  }

  #fireClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    const ws = this.#ws;
    if (ws !== undefined) {
      ws.off('message', this.#onMessage);
      ws.off('open', this.#onOpen);
      ws.off('unexpected-response', this.#onUnexpectedResponse);
      // The 'error' listener stays: ws may still emit one and an unhandled 'error' would throw.
    }
    try {
      this.onclose?.();
    } finally {
      const waiters = this.#closeWaiters;
      this.#closeWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}

const CLOSE_CODE_NAMES: Record<number, string> = {
  1000: 'was closed normally by the server',
  1001: 'was closed: the server is going away',
  1002: 'was closed: protocol error',
  1006: 'closed abnormally (no close frame)',
  1007: 'was closed: invalid frame payload',
  1008: 'was closed: policy violation',
  1009: 'was closed: message too big',
  1011: 'was closed: server error',
  1012: 'was closed: server restarting',
  1013: 'was closed: try again later',
};

/**
 * `ws`'s own TLS connect (SNI from the host name, none for an IP), with the socket watched for a
 * client certificate the server refuses after the handshake (tls.ts).
 */
const connectWatched = ((options: ConnectionOptions & { path?: string }) => {
  const socket = tlsConnect({
    ...options,
    path: undefined,
    servername: options.servername ?? (options.host && isIP(options.host) ? '' : options.host),
  } as ConnectionOptions);
  socket.once('secureConnect', () => watchClientCertificate(socket));
  return socket;
}) as unknown as WebSocket.ClientOptions['createConnection'];

function describe(value: unknown): string {
  return value instanceof Error ? value.message : String(value);
}

/**
 * Serving MCP over WebSocket: a server-side SDK v2 {@link Transport} around one accepted `ws` socket,
 * and {@link serveWebSocket}, which accepts connections (subprotocol `mcp` only) and serves each with
 * its own MCP server instance, in the protocol eras asked for (2026-07-28 stateless, 2025-11-25 with
 * `initialize`, or both, decided by the connection's opening message). The SDK has no WebSocket
 * server transport.
 */
import { randomUUID } from 'node:crypto';
import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type IncomingMessage,
  STATUS_CODES,
} from 'node:http';
import { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  type JSONRPCMessage,
  McpServer,
  type McpServerFactory,
  type Transport,
} from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import WebSocket, { WebSocketServer } from 'ws';
import { ConnectionLostError, ProtocolError, ValidationError } from '../errors/index.js';
import { decodeJsonRpcFrame } from './json-rpc-frame.js';
import { DEFAULT_MAX_PAYLOAD_BYTES } from './websocket-client-transport.js';

/** The one WebSocket subprotocol MCP uses. */
export const MCP_SUBPROTOCOL = 'mcp';

/**
 * The protocol eras a server accepts: `both` (the default of an SDK v2 server), `2026-07-28` only
 * (refuses `initialize` with -32022, as a 2026-only server does) or `2025-11-25` only (answers
 * `server/discover` with method-not-found, as a legacy server does).
 */
export type ServedEras = 'both' | '2026-07-28' | '2025-11-25';

/** A served MCP connection: closing it closes its server instance and its transport. */
export interface ServedConnection {
  close(): Promise<void>;
}

/**
 * Serves one persistent connection (WebSocket, stdio, in-memory) in the given eras. With `both` or
 * `2026-07-28` the SDK's connection entry decides the era from the opening message and pins one
 * `factory` instance for the connection's life; with `2025-11-25` a plain instance is connected,
 * which knows only the `initialize` handshake.
 *
 * @example
 * const [client, server] = InMemoryTransport.createLinkedPair();
 * const served = await serveMcpConnection(server, () => createDemoMcpServer(), 'both');
 */
export async function serveMcpConnection(
  transport: Transport,
  factory: McpServerFactory,
  eras: ServedEras = 'both',
  onError?: (error: Error) => void,
): Promise<ServedConnection> {
  if (eras === '2025-11-25') {
    const server = await factory({ era: 'legacy' });
    await server.connect(transport);
    const core = server instanceof McpServer ? server.server : server;
    if (onError !== undefined) core.onerror = onError;
    return { close: () => server.close() };
  }
  return serveStdio(factory, {
    transport,
    legacy: eras === 'both' ? 'serve' : 'reject',
    ...(onError === undefined ? {} : { onerror: onError }),
  });
}

/**
 * Server-side MCP transport over one accepted WebSocket. Frames that arrive before `start()` are held
 * and delivered in order; malformed frames go to `onerror` as {@link ProtocolError} and are dropped.
 *
 * @example
 * wss.on('connection', (socket) => void serveMcpConnection(new WebSocketServerTransport(socket), factory));
 */
export class WebSocketServerTransport implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: (<T extends JSONRPCMessage>(message: T) => void) | undefined;
  /** A random id per connection, visible to handlers as `ctx.sessionId`. */
  readonly sessionId: string;

  readonly #socket: WebSocket;
  #started = false;
  #closed = false;
  #held: JSONRPCMessage[] | undefined = [];

  constructor(socket: WebSocket, options: { sessionId?: string } = {}) {
    this.#socket = socket;
    this.sessionId = options.sessionId ?? randomUUID();
    socket.on('message', this.#onMessage);
    socket.on('error', this.#onError);
    socket.once('close', this.#onClose);
    if (socket.readyState === WebSocket.CLOSED) queueMicrotask(this.#onClose);
  }

  /** Delivers the frames held so far; the socket is already open. */
  async start(): Promise<void> {
    if (this.#started) throw new ProtocolError('WebSocketServerTransport already started');
    this.#started = true;
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const message of held) this.onmessage?.(message);
  }

  /** Sends one message; rejects with {@link ConnectionLostError} when the socket is not open. */
  async send(message: JSONRPCMessage): Promise<void> {
    if (this.#socket.readyState !== WebSocket.OPEN) {
      throw new ConnectionLostError('The WebSocket is not open');
    }
    let text: string;
    try {
      text = JSON.stringify(message);
    } catch (cause) {
      throw new ValidationError('The message is not JSON-serialisable', 'message', { cause });
    }
    this.#socket.send(text);
  }

  /** Closes the socket (1000); idempotent, resolves once the socket is closed. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#socket.once('close', () => resolve()));
    this.#socket.close(1000);
    return done;
  }

  readonly #onMessage = (data: WebSocket.RawData): void => {
    const text = Array.isArray(data) ? Buffer.concat(data).toString() : data.toString();
    // The shared decoder is typed with SDK v1's message type; the wire shape is the same JSON-RPC 2.0.
    const decoded = decodeJsonRpcFrame(text) as JSONRPCMessage | ProtocolError;
    if (decoded instanceof ProtocolError) this.onerror?.(decoded);
    else if (this.#held !== undefined) this.#held.push(decoded);
    else this.onmessage?.(decoded);
  };

  readonly #onError = (error: Error): void => {
    const code = (error as NodeJS.ErrnoException).code;
    if (code?.startsWith('WS_ERR_'))
      this.onerror?.(new ProtocolError(`WebSocket protocol violation: ${error.message}`, { cause: error }));
    else this.onerror?.(error);
  };

  readonly #onClose = (): void => {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.off('message', this.#onMessage);
    this.#held = undefined;
    this.onclose?.();
  };
}

/** Options of {@link serveWebSocket}. */
export interface ServeWebSocketOptions {
  /** Port to listen on (0, the default, picks a free one). Ignored when `server` is already listening. */
  port?: number;
  /** Interface to bind. Default `127.0.0.1`. */
  host?: string;
  /** Upgrade path accepted. Default `/` (any path when unset and attached to a server of one's own). */
  path?: string;
  /** Largest inbound message accepted; a bigger one closes the connection with 1009. Default 16 MiB. */
  maxPayloadBytes?: number;
  /** Decides whether an upgrade request may connect; `false` (or a throw) answers HTTP 401. */
  authenticate?: (req: IncomingMessage) => boolean | Promise<boolean>;
  /** Makes the MCP server for one new connection (and, with both eras, one for a discarded probe). */
  createServer: McpServerFactory;
  /** Protocol eras accepted. Default `both`. */
  eras?: ServedEras;
  /** An HTTP(S) server to attach to instead of creating one; it is not closed by `close()`. */
  server?: HttpServer | HttpsServer;
  /** Errors of connections (failed connect, transport errors); ignored by default. */
  onError?: (error: Error) => void;
}

/** A running WebSocket MCP endpoint. */
export interface WebSocketServeHandle {
  /** `ws://host:port/path` to connect to. */
  readonly url: string;
  readonly port: number;
  /** Connections currently open. */
  readonly connections: number;
  /** Stops accepting, terminates every socket, closes the HTTP server if it was ours; idempotent. */
  close(): Promise<void>;
}

/**
 * Serves MCP over WebSocket: accepts only subprotocol `mcp` (else HTTP 400), runs `authenticate` (else
 * HTTP 401), and serves each accepted socket with {@link serveMcpConnection} in `eras`.
 *
 * @example
 * const endpoint = await serveWebSocket({ port: 0, createServer: () => createDemoMcpServer() });
 * // ... new WebSocketClientTransport({ url: endpoint.url })
 * await endpoint.close();
 */
export async function serveWebSocket(options: ServeWebSocketOptions): Promise<WebSocketServeHandle> {
  const host = options.host ?? '127.0.0.1';
  const path = options.path ?? '/';
  const owned = options.server === undefined;
  const httpServer =
    options.server ??
    createHttpServer((_req, res) => {
      res.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket', Connection: 'close' });
      res.end('WebSocket upgrade required');
    });
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    maxPayload: options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has(MCP_SUBPROTOCOL) ? MCP_SUBPROTOCOL : false),
  });
  const sockets = new Set<WebSocket>();
  const pending = new Set<Duplex>();
  let closing: Promise<void> | undefined;
  const reportError = (error: Error): void => options.onError?.(error);

  const accept = (socket: WebSocket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const transport = new WebSocketServerTransport(socket);
    serveMcpConnection(transport, options.createServer, options.eras, reportError).catch((error: unknown) => {
      reportError(error as Error);
      socket.close(1011, 'server error');
    });
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (options.path !== undefined || !owned) {
      if (pathname !== path) {
        // On a shared server another upgrade listener may own this path.
        if (owned || httpServer.listenerCount('upgrade') <= 1) rejectUpgrade(socket, 404, 'Not found');
        return;
      }
    }
    if (closing !== undefined) {
      rejectUpgrade(socket, 503, 'Server closing');
      return;
    }
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!offered.includes(MCP_SUBPROTOCOL)) {
      rejectUpgrade(socket, 400, `WebSocket subprotocol "${MCP_SUBPROTOCOL}" required`);
      return;
    }
    pending.add(socket);
    const onSocketError = (): void => {
      socket.destroy();
    };
    socket.on('error', onSocketError);
    void authorise(req).then((allowed) => {
      pending.delete(socket);
      socket.off('error', onSocketError);
      if (socket.destroyed) return;
      if (closing !== undefined) return rejectUpgrade(socket, 503, 'Server closing');
      if (!allowed) return rejectUpgrade(socket, 401, 'Unauthorized');
      wss.handleUpgrade(req, socket, head, accept);
    });
  };

  const authorise = async (req: IncomingMessage): Promise<boolean> => {
    if (options.authenticate === undefined) return true;
    try {
      return (await options.authenticate(req)) === true;
    } catch (error) {
      reportError(error as Error);
      return false;
    }
  };

  httpServer.on('upgrade', onUpgrade);
  if (!httpServer.listening) {
    try {
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(options.port ?? 0, host, () => {
          httpServer.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      httpServer.off('upgrade', onUpgrade);
      wss.close();
      throw new ConnectionLostError(
        `Cannot listen on ${host}:${options.port ?? 0}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }
  const address = httpServer.address() as AddressInfo;
  const scheme = httpServer instanceof HttpsServer ? 'wss' : 'ws';
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${scheme}://${hostPart}:${address.port}${path}`;

  const close = (): Promise<void> => {
    closing ??= (async () => {
      httpServer.off('upgrade', onUpgrade);
      for (const socket of pending) socket.destroy();
      pending.clear();
      const closed = [...sockets].map(
        (s) => new Promise<void>((resolve) => s.once('close', () => resolve())),
      );
      for (const socket of sockets) socket.terminate();
      await Promise.all(closed);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      if (owned) {
        await new Promise<void>((resolve) => {
          httpServer.close(() => resolve());
          httpServer.closeAllConnections();
        });
      }
    })();
    return closing;
  };

  return {
    url,
    port: address.port,
    get connections() {
      return sockets.size;
    },
    close,
  };
}

function rejectUpgrade(socket: Duplex, status: number, message: string): void {
  if (socket.destroyed) return;
  socket.once('finish', () => socket.destroy());
  socket.once('error', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`,
  );
}

/**
 * A raw MCP peer over `ws` for hostile-input tests: it answers `initialize` and `ping` properly and
 * hands every other request to a script that may send anything at all (malformed JSON, wrong shapes,
 * responses to unknown ids, duplicates, floods, huge or binary frames).
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

/** What a script can do on the socket of the current request. */
export interface HostileSocket {
  /** The request being answered. */
  request: { id: string | number; method: string; params?: unknown };
  /** Sends a text frame as is. */
  sendText(text: string): void;
  /** Sends a JSON value as a text frame. */
  sendJson(value: unknown): void;
  /** Sends a binary frame. */
  sendBinary(bytes: Uint8Array): void;
  /** Answers the request with a proper tool result. */
  reply(text: string): void;
}

/** Options of {@link serveHostile}. */
export interface HostileServerOptions {
  /** Runs for each request other than initialize/ping. Default: reply with the method name. */
  onRequest?: (socket: HostileSocket) => void | Promise<void>;
  /** Upgrade check; `false` answers 401. */
  authenticate?: (req: IncomingMessage) => boolean;
  /** The capabilities `initialize` answers with. Default `{ tools: {} }`. */
  capabilities?: Record<string, unknown>;
}

/** A running hostile peer. */
export interface HostileServer {
  url: string;
  /** Upgrade requests seen (their Authorization header, or ''). */
  readonly authorizations: string[];
  onRequest: NonNullable<HostileServerOptions['onRequest']>;
  close(): Promise<void>;
}

/** Starts a hostile MCP peer on 127.0.0.1. */
export async function serveHostile(options: HostileServerOptions = {}): Promise<HostileServer> {
  const authorizations: string[] = [];
  const wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    handleProtocols: () => 'mcp',
    verifyClient: (info: { req: IncomingMessage }) => {
      authorizations.push(info.req.headers.authorization ?? '');
      return options.authenticate ? options.authenticate(info.req) : true;
    },
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const server: HostileServer = {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    authorizations,
    onRequest: options.onRequest ?? ((s) => s.reply(s.request.method)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
  wss.on('connection', (ws: WebSocket) => {
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let message: { id?: string | number; method?: string; params?: { protocolVersion?: string } };
      try {
        message = JSON.parse(String(data));
      } catch {
        return;
      }
      const { id, method } = message;
      if (id === undefined || typeof method !== 'string') return;
      const send = (value: unknown) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(value));
      };
      if (method === 'initialize') {
        send({
          jsonrpc: '2.0',
          id,
          result: {
            protocolVersion: message.params?.protocolVersion ?? '2025-06-18',
            capabilities: options.capabilities ?? { tools: {} },
            serverInfo: { name: 'hostile', version: '0.0.0' },
          },
        });
        return;
      }
      if (method === 'ping') {
        send({ jsonrpc: '2.0', id, result: {} });
        return;
      }
      const socket: HostileSocket = {
        request: { id, method, params: message.params },
        sendText: (text) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(text);
        },
        sendJson: send,
        sendBinary: (bytes) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(bytes, { binary: true });
        },
        reply: (text) => send({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text }] } }),
      };
      void Promise.resolve(server.onRequest(socket)).catch(() => {});
    });
  });
  return server;
}

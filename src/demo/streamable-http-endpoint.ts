/**
 * A Streamable HTTP endpoint on node:http at `/mcp` serving both protocol eras from one factory:
 * 2026-07-28 requests (per-request `_meta` envelope) go to SDK v2's stateless `createMcpHandler`
 * (one instance per request, `subscriptions/listen` streams on a change bus); 2025-era traffic goes
 * to a stateful wiring with sessions (an `initialize` POST opens one: one SDK transport and one
 * instance per session, GET for the SSE stream, DELETE to end it, 404 for an unknown session id).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@modelcontextprotocol/node';
import {
  createMcpHandler,
  isLegacyRequest,
  type McpServerFactory,
  type ServerEventBus,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server';
import type { ServedEras } from '../actors/websocket-server-transport.js';
import { ConnectionLostError } from '../errors/index.js';

/** Options of {@link serveStreamableHttp}. */
export interface StreamableHttpEndpointOptions {
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Makes the instance for one 2025 session or one 2026 request. */
  createServer: McpServerFactory;
  /** Protocol eras accepted. Default `both`. */
  eras?: ServedEras;
  /** The change bus 2026 `subscriptions/listen` streams follow (default: a bus of the endpoint's own). */
  bus?: ServerEventBus;
  onError?: (error: Error) => void;
}

/** A running Streamable HTTP endpoint. */
export interface StreamableHttpEndpoint {
  /** `http://host:port/mcp`. */
  readonly url: string;
  readonly port: number;
  /** 2025 sessions currently open. */
  readonly sessions: number;
  /** Closes every session, every 2026 exchange and the HTTP server; idempotent. */
  close(): Promise<void>;
}

const MCP_PATH = '/mcp';

/** A JSON-RPC error answer with no request id (the request was not read as one). */
function jsonRpcError(status: number, code: number, message: string): Response {
  return Response.json({ jsonrpc: '2.0', error: { code, message }, id: null }, { status });
}

/**
 * Serves MCP over Streamable HTTP on `host:port` at `/mcp`, in the eras asked for: with `2026-07-28`
 * an `initialize` gets the unsupported-version error (-32022); with `2025-11-25` every request goes to
 * the session wiring, so `server/discover` is refused as a legacy server refuses it.
 *
 * @example
 * const endpoint = await serveStreamableHttp({ port: 0, createServer: demoServerFactory() });
 * // new StreamableHTTPClientTransport(new URL(endpoint.url))
 */
export async function serveStreamableHttp(
  options: StreamableHttpEndpointOptions,
): Promise<StreamableHttpEndpoint> {
  const host = options.host ?? '127.0.0.1';
  const eras = options.eras ?? 'both';
  const reportError = (error: Error): void => options.onError?.(error);
  const sessions = new Map<string, WebStandardStreamableHTTPServerTransport>();
  const modern = createMcpHandler(options.createServer, {
    legacy: 'reject',
    onerror: reportError,
    ...(options.bus === undefined ? {} : { bus: options.bus }),
  });

  const openSession = async (request: Request): Promise<Response> => {
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (id) => {
        sessions.set(id, transport);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
    };
    const server = await options.createServer({ era: 'legacy' });
    await server.connect(transport);
    const response = await transport.handleRequest(request);
    // A first request that was not `initialize` opened no session: drop its instance.
    if (transport.sessionId === undefined) await server.close();
    return response;
  };

  const serveLegacy = async (request: Request): Promise<Response> => {
    const sessionId = request.headers.get('mcp-session-id');
    if (sessionId !== null) {
      const transport = sessions.get(sessionId);
      if (transport === undefined) return jsonRpcError(404, -32001, 'Session not found');
      return transport.handleRequest(request);
    }
    if (request.method !== 'POST') return jsonRpcError(400, -32000, 'Missing session id');
    return openSession(request);
  };

  const serve = async (request: Request): Promise<Response> => {
    if (eras === '2025-11-25') return serveLegacy(request);
    if (eras === 'both' && (await isLegacyRequest(request))) return serveLegacy(request);
    return modern.fetch(request);
  };

  const toNode = toNodeHandler({ fetch: serve }, { onerror: reportError });
  const httpServer = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== MCP_PATH) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found');
      return;
    }
    toNode(req, res).catch((error: unknown) => {
      reportError(error as Error);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end();
    });
  });

  try {
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(options.port ?? 0, host, () => {
        httpServer.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await modern.close();
    throw new ConnectionLostError(
      `Cannot listen on ${host}:${options.port ?? 0}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const address = httpServer.address() as AddressInfo;
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${hostPart}:${address.port}${MCP_PATH}`,
    port: address.port,
    get sessions() {
      return sessions.size;
    },
    close() {
      closing ??= (async () => {
        const open = [...sessions.values()];
        sessions.clear();
        await Promise.allSettled([modern.close(), ...open.map((t) => t.close())]);
        await new Promise<void>((resolve) => {
          httpServer.close(() => resolve());
          httpServer.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}

/**
 * A stateful Streamable HTTP endpoint on node:http at `/mcp`: one SDK transport and one MCP server per
 * session (created by an `initialize` POST), GET for the SSE stream, DELETE to end a session.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ConnectionLostError } from '../errors/index.js';

/** Options of {@link serveStreamableHttp}. */
export interface StreamableHttpEndpointOptions {
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
  createServer: () => McpServer;
  onError?: (error: Error) => void;
}

/** A running Streamable HTTP endpoint. */
export interface StreamableHttpEndpoint {
  /** `http://host:port/mcp`. */
  readonly url: string;
  readonly port: number;
  /** Sessions currently open. */
  readonly sessions: number;
  /** Closes every session and the HTTP server; idempotent. */
  close(): Promise<void>;
}

const MCP_PATH = '/mcp';

/**
 * Serves MCP over Streamable HTTP (stateful, session ids) on `host:port` at `/mcp`.
 *
 * @example
 * const endpoint = await serveStreamableHttp({ port: 0, createServer: () => createDemoMcpServer() });
 * // new StreamableHTTPClientTransport(new URL(endpoint.url))
 */
export async function serveStreamableHttp(
  options: StreamableHttpEndpointOptions,
): Promise<StreamableHttpEndpoint> {
  const host = options.host ?? '127.0.0.1';
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const reportError = (error: Error): void => options.onError?.(error);

  const openSession = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (id) => {
        sessions.set(id, transport);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
    };
    await options.createServer().connect(transport);
    await transport.handleRequest(req, res);
    // A first request that was not `initialize` created no session: drop its server.
    if (transport.sessionId === undefined) await transport.close();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== MCP_PATH) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found');
      return;
    }
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const transport = sessions.get(sessionId);
      if (transport === undefined) {
        res.writeHead(404, { 'Content-Type': 'application/json' }).end(
          JSON.stringify({
            jsonrpc: '2.0',
            error: { code: -32001, message: 'Session not found' },
            id: null,
          }),
        );
        return;
      }
      await transport.handleRequest(req, res);
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(400, { 'Content-Type': 'application/json' }).end(
        JSON.stringify({
          jsonrpc: '2.0',
          error: { code: -32000, message: 'Missing session id' },
          id: null,
        }),
      );
      return;
    }
    await openSession(req, res);
  };

  const httpServer = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
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
    throw new ConnectionLostError(
      `Cannot listen on ${host}:${options.port ?? 0}: ${(error as Error).message}`,
      {
        cause: error,
      },
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
        await Promise.allSettled(open.map((t) => t.close()));
        await new Promise<void>((resolve) => {
          httpServer.close(() => resolve());
          httpServer.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}

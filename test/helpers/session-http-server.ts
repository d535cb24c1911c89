/**
 * A stateful Streamable HTTP MCP endpoint for session tests: the demo server plus its extras, with
 * counters (initialize, subscribe per session) and two faults — `hold()` parks incoming requests,
 * `forgetSessions()` drops every session so requests carrying its id get HTTP 404.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { registerDemoExtras } from '../../src/demo/demo-extras.js';
import { createDemoMcpServer } from '../../src/demo/demo-server.js';

/** A running session test endpoint. */
export interface SessionHttpServer {
  url: string;
  /** `initialize` requests received. */
  readonly initializeCount: number;
  /** `resources/subscribe` requests received, by URI. */
  readonly subscribes: string[];
  /** Requests answered 404 because their session was unknown. */
  readonly notFoundCount: number;
  /** Parks every request that carries a session id until `release()`. */
  hold(): void;
  /** Number of requests parked now. */
  readonly held: number;
  /** Lets the parked requests (and later ones) through. */
  release(): void;
  /** Forgets every session (closes them): requests with their ids get 404. */
  forgetSessions(): Promise<void>;
  close(): Promise<void>;
}

/** Starts the endpoint on 127.0.0.1 (free port). */
export async function startSessionHttpServer(): Promise<SessionHttpServer> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const retired: StreamableHTTPServerTransport[] = [];
  let initializeCount = 0;
  let notFoundCount = 0;
  const subscribes: string[] = [];
  let holding = false;
  let parked: Array<() => void> = [];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body = text ? (JSON.parse(text) as { method?: string }) : undefined;
    const sid = req.headers['mcp-session-id'];
    if (typeof sid === 'string') {
      if (holding && req.method === 'POST') await new Promise<void>((resolve) => parked.push(resolve));
      const transport = sessions.get(sid);
      if (!transport) {
        notFoundCount++;
        res.writeHead(404, { 'Content-Type': 'application/json' }).end(
          JSON.stringify({
            jsonrpc: '2.0',
            error: { code: -32001, message: 'Session not found' },
            id: null,
          }),
        );
        return;
      }
      await transport.handleRequest(req, res, body);
      return;
    }
    if (body?.method === 'initialize') initializeCount++;
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (id) => {
        sessions.set(id, transport);
      },
    });
    const server = createDemoMcpServer();
    registerDemoExtras(server, { onSubscribe: (uri) => subscribes.push(uri) });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };

  const http = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;

  const release = (): void => {
    holding = false;
    const go = parked;
    parked = [];
    for (const resolve of go) resolve();
  };
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    get initializeCount() {
      return initializeCount;
    },
    get notFoundCount() {
      return notFoundCount;
    },
    subscribes,
    hold() {
      holding = true;
    },
    get held() {
      return parked.length;
    },
    release,
    async forgetSessions() {
      const open = [...sessions.values()];
      sessions.clear();
      retired.push(...open);
    },
    async close() {
      release();
      await Promise.allSettled([...sessions.values(), ...retired].map((t) => t.close()));
      sessions.clear();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}

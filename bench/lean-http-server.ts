/**
 * A lean stateless Streamable HTTP server for the 2026-07-28 era, so that the client is the
 * bottleneck of the HTTP rows: `node:http`, each POST carries one JSON-RPC request and gets one
 * `application/json` answer (no SSE stream per POST, no session, no SDK). It answers
 * `server/discover`, `tools/list` (the one echo tool: a server that declares tools lists them, and a
 * client may then skip its own lookups) and `tools/call` (echo) with the bytes the SDK v2 server
 * sends for them (captured from `createMcpHandler`), JSON-RPC errors for anything else, 202 for notifications
 * and 405 for GET (no standalone stream in this era). Also answers the raw floor's bare
 * `tools/call` (no `_meta`): the same handler serves both.
 */
import { createServer, type Server } from 'node:http';

const SERVER_INFO_META = { 'io.modelcontextprotocol/serverInfo': { name: 'bench-lean', version: '1.0.0' } };
const DISCOVER_RESULT = {
  supportedVersions: ['2026-07-28'],
  capabilities: { tools: {} },
  resultType: 'complete',
  ttlMs: 0,
  cacheScope: 'private',
  _meta: SERVER_INFO_META,
};

const TOOLS_RESULT = {
  tools: [
    {
      name: 'echo',
      description: 'Echoes the text back.',
      inputSchema: {
        type: 'object',
        properties: { text: { type: 'string' } },
        required: ['text'],
        $schema: 'http://json-schema.org/draft-07/schema#',
      },
    },
  ],
  resultType: 'complete',
  ttlMs: 0,
  cacheScope: 'private',
  _meta: SERVER_INFO_META,
};

interface Request {
  jsonrpc?: string;
  id?: string | number;
  method?: string;
  params?: { name?: string; arguments?: { text?: unknown } };
}

function answer(m: Request): unknown {
  switch (m.method) {
    case 'server/discover':
      return { jsonrpc: '2.0', id: m.id, result: DISCOVER_RESULT };
    case 'tools/list':
      return { jsonrpc: '2.0', id: m.id, result: TOOLS_RESULT };
    case 'tools/call':
      if (m.params?.name === 'echo' || m.params?.name === undefined) {
        const text = String(m.params?.arguments?.text ?? '');
        return {
          jsonrpc: '2.0',
          id: m.id,
          result: { content: [{ type: 'text', text }], resultType: 'complete', _meta: SERVER_INFO_META },
        };
      }
      return { jsonrpc: '2.0', id: m.id, error: { code: -32602, message: `Unknown tool ${m.params?.name}` } };
    default:
      return { jsonrpc: '2.0', id: m.id, error: { code: -32601, message: `Method not found: ${m.method}` } };
  }
}

/**
 * Starts the server on 127.0.0.1 (a free port).
 *
 * @example
 * const lean = await startLeanHttpServer(); // lean.url ... await lean.close();
 */
export async function startLeanHttpServer(): Promise<{
  url: string;
  server: Server;
  close(): Promise<void>;
}> {
  const server = createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let m: Request;
      try {
        m = JSON.parse(Buffer.concat(chunks).toString()) as Request;
      } catch {
        res.writeHead(400).end();
        return;
      }
      if (m.id === undefined) {
        res.writeHead(202).end();
        return;
      }
      const body = JSON.stringify(answer(m));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Child-process entry of the benchmark servers (one process, apart from the benchmark's own):
 *
 * - the demo MCP server (SDK v1, 2025 era) over WebSocket (ours, over `ws`) and Streamable HTTP
 *   (SSE responses);
 * - the bench's SDK v2 server (bench/server-v2.ts, both eras) over the same WebSocket transport;
 * - the lean stateless 2026 Streamable HTTP server (bench/lean-http-server.ts), also the target of
 *   the raw `node:http` floor;
 * - a raw `ws` JSON echo (the floor of any JSON-RPC over WebSocket);
 *
 * Prints one JSON line with the URLs. Reads commands on stdin, one a line:
 * `drop` closes every WebSocket (MCP and raw) from the server side with 1001 and answers `dropped`;
 * `cpu` answers the CPU time this process has used so far, in µs.
 */
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { WebSocketServer } from 'ws';
import { WebSocketServerTransport } from '../src/actors/websocket-server-transport.js';
import { createDemoMcpServer } from '../src/demo/demo-server.js';
import { serveStreamableHttp } from '../src/demo/streamable-http-endpoint.js';
import { startLeanHttpServer } from './lean-http-server.js';
import { serveV2 } from './server-v2.js';

const host = '127.0.0.1';

function listening(wss: WebSocketServer): Promise<number> {
  return new Promise((resolve) => wss.once('listening', () => resolve((wss.address() as AddressInfo).port)));
}

const mcpWs = new WebSocketServer({
  port: 0,
  host,
  perMessageDeflate: false,
  handleProtocols: (protocols) => (protocols.has('mcp') ? 'mcp' : false),
});
mcpWs.on('connection', (socket) => {
  createDemoMcpServer()
    .connect(new WebSocketServerTransport(socket))
    .catch(() => socket.terminate());
});

const mcpWs2026 = new WebSocketServer({
  port: 0,
  host,
  perMessageDeflate: false,
  handleProtocols: (protocols) => (protocols.has('mcp') ? 'mcp' : false),
});
mcpWs2026.on('connection', (socket) => {
  // Our transport is typed against the client SDK's Transport; the v2 server's is the same shape.
  serveV2(new WebSocketServerTransport(socket) as unknown as Parameters<typeof serveV2>[0]);
});

const rawWs = new WebSocketServer({ port: 0, host, perMessageDeflate: false });
rawWs.on('connection', (socket) => {
  socket.on('message', (data) => {
    const m = JSON.parse(String(data)) as { id: number; params?: { arguments?: { text?: string } } };
    socket.send(
      JSON.stringify({
        jsonrpc: '2.0',
        id: m.id,
        result: { content: [{ type: 'text', text: m.params?.arguments?.text ?? '' }] },
      }),
    );
  });
});

const ports = Promise.all([listening(mcpWs), listening(rawWs), listening(mcpWs2026)]);
const http = await serveStreamableHttp({ port: 0, host, createServer: () => createDemoMcpServer() });
const lean = await startLeanHttpServer();
const [mcpWsPort, rawWsPort, mcpWs2026Port] = await ports;

process.stdout.write(
  `${JSON.stringify({
    mcpWsUrl: `ws://${host}:${mcpWsPort}/`,
    mcpHttpUrl: http.url,
    mcpWs2026Url: `ws://${host}:${mcpWs2026Port}/`,
    leanHttpUrl: lean.url,
    rawWsUrl: `ws://${host}:${rawWsPort}/`,
    pid: process.pid,
  })}\n`,
);

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'cpu') {
    const u = process.cpuUsage();
    process.stdout.write(`${u.user + u.system}\n`);
  } else if (line.trim() === 'drop') {
    for (const s of mcpWs.clients) s.close(1001, 'bench drop');
    for (const s of mcpWs2026.clients) s.close(1001, 'bench drop');
    for (const s of rawWs.clients) s.close(1001, 'bench drop');
    process.stdout.write('dropped\n');
  }
});
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

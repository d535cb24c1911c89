/**
 * Child-process entry of the benchmark servers (one process, apart from the benchmark's own):
 *
 * - the demo MCP server over WebSocket (ours, over `ws`) and Streamable HTTP (SSE responses);
 * - a raw `ws` JSON echo (the floor of any JSON-RPC over WebSocket);
 * - a raw `node:http` keep-alive JSON echo (the floor of any JSON-RPC over HTTP).
 *
 * Prints one JSON line with the URLs. Reads commands on stdin, one a line:
 * `drop` closes every WebSocket (MCP and raw) from the server side with 1001 and answers `dropped`;
 * `cpu` answers the CPU time this process has used so far, in µs.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { WebSocketServer } from 'ws';
import { WebSocketServerTransport } from '../src/actors/websocket-server-transport.js';
import { createDemoMcpServer } from '../src/demo/demo-server.js';
import { serveStreamableHttp } from '../src/demo/streamable-http-endpoint.js';

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

const rawHttp = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const m = JSON.parse(Buffer.concat(chunks).toString()) as {
      id: number;
      params?: { arguments?: { text?: string } };
    };
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: m.id,
      result: { content: [{ type: 'text', text: m.params?.arguments?.text ?? '' }] },
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
rawHttp.keepAliveTimeout = 60_000;

const ports = Promise.all([listening(mcpWs), listening(rawWs)]);
const http = await serveStreamableHttp({ port: 0, host, createServer: () => createDemoMcpServer() });
const [mcpWsPort, rawWsPort] = await ports;
await new Promise<void>((resolve) => rawHttp.listen(0, host, resolve));

process.stdout.write(
  `${JSON.stringify({
    mcpWsUrl: `ws://${host}:${mcpWsPort}/`,
    mcpHttpUrl: http.url,
    rawWsUrl: `ws://${host}:${rawWsPort}/`,
    rawHttpUrl: `http://${host}:${(rawHttp.address() as AddressInfo).port}/`,
    pid: process.pid,
  })}\n`,
);

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'cpu') {
    const u = process.cpuUsage();
    process.stdout.write(`${u.user + u.system}\n`);
  } else if (line.trim() === 'drop') {
    for (const s of mcpWs.clients) s.close(1001, 'bench drop');
    for (const s of rawWs.clients) s.close(1001, 'bench drop');
    process.stdout.write('dropped\n');
  }
});
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

/**
 * Child-process entry for the chaos suite: the demo server (src/demo) over WebSocket and
 * Streamable HTTP, whose non-idempotent `counter` tool also appends one line per EXECUTION to an
 * execution log (`CHAOS_COUNTER_LOG`): the call id the client put in `_meta.chaosId`. The write is
 * synchronous, so a SIGKILL never loses a line of an execution that happened; the log outlives the
 * process and so counts every execution across kills and restarts. A `start <pid>` line marks
 * each process start (so the log can be cross-checked against the server's own `demo://counter`).
 *
 *   node --import tsx test/chaos/counting-demo-server.ts --ws-port N --http-port N
 *   prints {"wsUrl","httpUrl","pid"} on stdout.
 */
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { serveWebSocket } from '../../src/actors/websocket-server-transport.js';
import { createDemoMcpServer } from '../../src/demo/demo-server.js';
import { serveStreamableHttp } from '../../src/demo/streamable-http-endpoint.js';

const { values } = parseArgs({
  options: { 'ws-port': { type: 'string', default: '0' }, 'http-port': { type: 'string', default: '0' } },
  strict: true,
});
const log = process.env.CHAOS_COUNTER_LOG;
if (!log) throw new Error('CHAOS_COUNTER_LOG is required');
appendFileSync(log, `start ${process.pid}\n`);

interface ToolEntry {
  handler: (extra: { _meta?: Record<string, unknown> }) => unknown;
}

/** The demo server with its `counter` handler wrapped to log each execution first. */
function createServer(): McpServer {
  const server = createDemoMcpServer();
  const tools = (server as unknown as { _registeredTools: Record<string, ToolEntry> })._registeredTools;
  const counter = tools.counter;
  if (!counter) throw new Error('the demo server has no counter tool');
  const run = counter.handler;
  counter.handler = (extra) => {
    appendFileSync(log as string, `${String(extra._meta?.chaosId ?? '?')}\n`);
    return run(extra);
  };
  return server;
}

const ws = await serveWebSocket({ port: Number(values['ws-port']), createServer });
const http = await serveStreamableHttp({ port: Number(values['http-port']), createServer });
process.stdout.write(`${JSON.stringify({ wsUrl: ws.url, httpUrl: http.url, pid: process.pid })}\n`);
process.on('SIGTERM', () => {
  void Promise.all([ws.close(), http.close()]).then(() => process.exit(0));
});

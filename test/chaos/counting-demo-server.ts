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
import { serveWebSocket } from '../../src/actors/websocket-server-transport.js';
import { demoServerFactory } from '../../src/demo/demo-server.js';
import { serveStreamableHttp } from '../../src/demo/streamable-http-endpoint.js';

const { values } = parseArgs({
  options: { 'ws-port': { type: 'string', default: '0' }, 'http-port': { type: 'string', default: '0' } },
  strict: true,
});
const log = process.env.CHAOS_COUNTER_LOG;
if (!log) throw new Error('CHAOS_COUNTER_LOG is required');
appendFileSync(log, `start ${process.pid}\n`);

/** The demo server, logging each `counter` execution first; both eras, as the demo serves them. */
const createServer = demoServerFactory({
  onCounterCall: (meta) => appendFileSync(log, `${String(meta?.chaosId ?? '?')}\n`),
});

const ws = await serveWebSocket({ port: Number(values['ws-port']), createServer });
const http = await serveStreamableHttp({ port: Number(values['http-port']), createServer });
process.stdout.write(`${JSON.stringify({ wsUrl: ws.url, httpUrl: http.url, pid: process.pid })}\n`);
process.on('SIGTERM', () => {
  void Promise.all([ws.close(), http.close()]).then(() => process.exit(0));
});

/**
 * A live integration test: the demo server runs as a real child process (WebSocket + Streamable
 * HTTP on loopback); the runtime talks to it over both transports, a non-idempotent call runs
 * exactly once, then the server is SIGKILLed and restarted on the same ports and the runtime
 * reconnects by itself. With a URL argument only the calls are checked (no process to kill).
 * Run: npx tsx examples/live-integration.ts [ws://host:port]
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRuntime } from '../src/index.js';
import { textOf } from './demo-target.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Starts src/demo/demo-server-main.ts; resolves with its URLs (its first stdout line). */
function spawnDemo(ports: { ws: number; http: number } = { ws: 0, http: 0 }) {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/demo/demo-server-main.ts',
      '--ws-port',
      String(ports.ws),
      '--http-port',
      String(ports.http),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise<{ child: ChildProcess; exited: Promise<void>; wsUrl: string; httpUrl: string }>(
    (resolve, reject) => {
      let out = '';
      child.once('exit', (code) => reject(new Error(`demo server exited (${code})`)));
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('\n')) resolve({ child, exited, ...JSON.parse(out.slice(0, out.indexOf('\n'))) });
      });
    },
  );
}

let checks = 0;
const check = (what: string, ok: boolean): void => {
  assert.ok(ok, what);
  checks++;
  console.log(`ok ${checks} - ${what}`);
};

const given = process.argv[2];
let server = given ? undefined : await spawnDemo();
try {
  const servers: Record<string, { url: string }> = given
    ? { ws: { url: given } }
    : { ws: { url: server!.wsUrl }, http: { url: server!.httpUrl } };
  await using rt = createRuntime({
    servers,
    defaults: { reconnect: { initialDelayMs: 50, maxDelayMs: 300 }, timeoutMs: 10_000 },
  });
  await rt.start();
  for (const name of Object.keys(servers)) {
    check(`${name}: echo round-trips`, textOf(await rt.callTool(name, 'echo', { text: 'live' })) === 'live');
  }
  const before = Number(textOf(await rt.callTool('ws', 'counter')));
  const after = Number(textOf(await rt.callTool('ws', 'counter')));
  check('a non-idempotent call runs exactly once', after === before + 1);

  if (server) {
    const ports = { ws: Number(new URL(server.wsUrl).port), http: Number(new URL(server.httpUrl).port) };
    const reconnected = new Promise<void>((resolve) =>
      // A reconnect, or (after a long outage) the pool's replacement member connecting anew.
      rt.on('connect', ({ server: s }) => {
        if (s === 'ws') resolve();
      }),
    );
    server.child.kill('SIGKILL');
    await server.exited;
    server = await spawnDemo(ports);
    await reconnected;
    check('reconnects after SIGKILL + restart on the same port', true);
    check(
      'ws: calls succeed after the restart',
      textOf(await rt.callTool('ws', 'echo', { text: 'again' })) === 'again',
    );
    check(
      'http: calls succeed on a new session',
      textOf(await rt.callTool('http', 'echo', { text: 'again' })) === 'again',
    );
  }
} finally {
  server?.child.kill('SIGTERM');
  await server?.exited;
}
console.log(`live integration: ${checks} checks passed`);

/**
 * Child-process entry of the demo server.
 *
 *   tsx src/demo/demo-server-main.ts [--ws-port N] [--http-port N] [--host H] [--eras E] [--extras]
 *     serves WebSocket and Streamable HTTP; prints one JSON line {"wsUrl","httpUrl","pid"} to stdout.
 *   tsx src/demo/demo-server-main.ts --stdio [--eras E] [--extras]
 *     serves over stdio (nothing else is written to stdout).
 *
 * `--eras` is `both` (default), `2026-07-28` or `2025-11-25`: the protocol eras accepted.
 * Shuts down cleanly on SIGTERM/SIGINT (exit code 0). The `crash` tool is enabled (exits with 1).
 */
import { parseArgs } from 'node:util';
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import { type ServedEras, serveMcpConnection } from '../actors/websocket-server-transport.js';
import { demoServerFactory, startDemoServer } from './demo-server.js';

const { values } = parseArgs({
  options: {
    'ws-port': { type: 'string' },
    'http-port': { type: 'string' },
    host: { type: 'string' },
    stdio: { type: 'boolean', default: false },
    eras: { type: 'string', default: 'both' },
    extras: { type: 'boolean', default: false },
  },
  strict: true,
});

function port(value: string | undefined, flag: string): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) {
    process.stderr.write(`${flag} must be a port number (0-65535), got ${JSON.stringify(value)}\n`);
    process.exit(2);
  }
  return n;
}

const ERAS: readonly ServedEras[] = ['both', '2026-07-28', '2025-11-25'];

function eras(value: string): ServedEras {
  const found = ERAS.find((e) => e === value);
  if (found === undefined) {
    process.stderr.write(`--eras must be one of ${ERAS.join(', ')}, got ${JSON.stringify(value)}\n`);
    process.exit(2);
  }
  return found;
}

async function main(): Promise<void> {
  let close: (() => Promise<void>) | undefined;
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    (close?.() ?? Promise.resolve()).then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`demo server: close failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  // Installed before the ready line: a parent may signal as soon as it reads it.
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const served = eras(values.eras);
  if (values.stdio) {
    const factory = demoServerFactory({ allowCrash: true, extras: values.extras });
    const connection = await serveMcpConnection(new StdioServerTransport(), factory, served, (error) =>
      process.stderr.write(`demo server: ${error.message}\n`),
    );
    close = () => connection.close();
  } else {
    const demo = await startDemoServer({
      eras: served,
      extras: values.extras,
      wsPort: port(values['ws-port'], '--ws-port'),
      httpPort: port(values['http-port'], '--http-port'),
      host: values.host,
      allowCrash: true,
      onError: (error) => process.stderr.write(`demo server: ${error.message}\n`),
    });
    process.stdout.write(
      `${JSON.stringify({ wsUrl: demo.wsUrl, httpUrl: demo.httpUrl, pid: process.pid })}\n`,
    );
    close = () => demo.close();
  }
  // The stdio binding: a server exits promptly once its client closes stdin.
  if (values.stdio) process.stdin.once('end', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `demo server failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});

/**
 * Runs a real `redis-server` child for tests: a free loopback port (never 6379 by assumption), a
 * temp dir, no persistence; stopped by pid. `kill('SIGKILL')` + `restart()` keep the port, for the
 * chaos tests. Tests that need Redis use {@link redisAvailable} to skip with a clear message when
 * the binary is absent locally (CI installs it: scripts/ensure-redis.sh).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const STARTUP_TIMEOUT_MS = 5_000;
const PING_INTERVAL_MS = 20;

/** Why Redis tests skip, or undefined when `redis-server` is on the PATH. */
export const redisMissingReason: string | undefined = (() => {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'redis-server is not installed (bash scripts/ensure-redis.sh installs it); Redis tests skipped';
  }
})();

/** Whether `redis-server` can be started here. */
export const redisAvailable = redisMissingReason === undefined;

/** A redis-server child process. The port stays the same across `restart()`. */
export interface RedisServerProcess {
  readonly port: number;
  readonly url: string;
  readonly pid: number;
  /** Sends `signal` (default SIGTERM) and waits for the exit. No-op when it already exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port (after a kill), and waits until it answers PING. */
  restart(): Promise<void>;
  /** Kills it and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** A free loopback port: bind port 0, read it, close. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `redis-server` on a free loopback port and waits until it answers PING.
 *
 * @example
 * const redis = await startRedisServer();
 * await redis.kill('SIGKILL'); // chaos
 * await redis.restart();       // same port
 * await redis.stop();
 */
export async function startRedisServer(): Promise<RedisServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-actors-redis-'));
  const port = await freePort();
  let child = await start(port, dir);
  const kill = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const c = child;
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill(signal);
    await exited;
  };
  let stopped = false;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child.pid ?? -1;
    },
    kill,
    async restart() {
      await kill('SIGKILL');
      child = await start(port, dir);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function start(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  // Bounded: at most STARTUP_TIMEOUT_MS / PING_INTERVAL_MS attempts.
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}): ${stderr}`);
    if (await answersPing(port)) return child;
    await new Promise((r) => setTimeout(r, PING_INTERVAL_MS));
  }
  child.kill('SIGKILL');
  throw new Error(
    `redis-server on port ${port} did not answer PING within ${STARTUP_TIMEOUT_MS} ms: ${stderr}`,
  );
}

/** One raw RESP PING, so the helper needs no client library. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

/**
 * Spawns the benchmark servers (bench/server-main.ts) in a child process, so server work never
 * shares the benchmark's event loop, and the demo server over stdio for the stdio scenarios.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT_DIR = fileURLToPath(new URL('../', import.meta.url));
const MAIN_PATH = fileURLToPath(new URL('./server-main.ts', import.meta.url));
const DEMO_MAIN_PATH = fileURLToPath(new URL('../src/demo/demo-server-main.ts', import.meta.url));
const V2_MAIN_PATH = fileURLToPath(new URL('./server-v2.ts', import.meta.url));
/** tsx's loader as an absolute URL, so children run from any working directory. */
export const TSX_LOADER_URL = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const STARTUP_TIMEOUT_MS = 20_000;

/** URLs of the servers in the child. */
export interface BenchServerUrls {
  mcpWsUrl: string;
  mcpHttpUrl: string;
  /** The bench's SDK v2 server (both eras) over our WebSocket transport. */
  mcpWs2026Url: string;
  /** The lean stateless 2026 HTTP server; the raw `node:http` floor posts to it too. */
  leanHttpUrl: string;
  rawWsUrl: string;
  pid: number;
}

/** The running server child. */
export interface BenchServers extends BenchServerUrls {
  /** Closes every WebSocket from the server side (close 1001); resolves when the child confirms. */
  drop(): Promise<void>;
  /** CPU time (user + system) the server child has used so far, in µs. */
  cpuUs(): Promise<number>;
  /** Ends the child and waits for its exit. */
  stop(): Promise<void>;
}

/**
 * Starts bench/server-main.ts and waits for its URLs.
 *
 * @example
 * const servers = await startBenchServers();
 * // ... servers.mcpWsUrl ...
 * await servers.stop();
 */
export function startBenchServers(): Promise<BenchServers> {
  const child: ChildProcess = spawn(process.execPath, ['--import', TSX_LOADER_URL, MAIN_PATH], {
    cwd: ROOT_DIR,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let buffered = '';
  const lineWaiters: Array<(line: string) => void> = [];
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      lineWaiters.shift()?.(line);
    }
  });
  const nextLine = (timeoutMs: number): Promise<string> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('bench server: no answer in time')), timeoutMs);
      lineWaiters.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  return nextLine(STARTUP_TIMEOUT_MS).then((line) => {
    const urls = JSON.parse(line) as BenchServerUrls;
    return {
      ...urls,
      async drop() {
        const answer = nextLine(5_000);
        child.stdin?.write('drop\n');
        await answer;
      },
      async cpuUs() {
        const answer = nextLine(5_000);
        child.stdin?.write('cpu\n');
        return Number(await answer);
      },
      async stop() {
        child.stdin?.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
        await exited;
        clearTimeout(timer);
      },
    };
  });
}

/** The command line that runs the demo server over stdio. */
export function demoStdioCommand(): { command: string; args: string[]; cwd: string } {
  return {
    command: process.execPath,
    args: ['--import', TSX_LOADER_URL, DEMO_MAIN_PATH, '--stdio'],
    cwd: ROOT_DIR,
  };
}

/** The command line that runs the bench's SDK v2 server (both eras) over stdio. */
export function v2StdioCommand(): { command: string; args: string[]; cwd: string } {
  return {
    command: process.execPath,
    args: ['--import', TSX_LOADER_URL, V2_MAIN_PATH, '--stdio'],
    cwd: ROOT_DIR,
  };
}

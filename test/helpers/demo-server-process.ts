/**
 * Runs the demo MCP server (src/demo/demo-server-main.ts) in a child process, for tests that kill,
 * restart and reconnect to a real server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT_DIR = fileURLToPath(new URL('../../', import.meta.url));
const MAIN_PATH = fileURLToPath(new URL('../../src/demo/demo-server-main.ts', import.meta.url));
/** tsx's loader as an absolute URL, so the child runs from any working directory. */
const TSX_LOADER_URL = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const STARTUP_TIMEOUT_MS = 15_000;

/** A demo server child process. Its URLs stay the same across `restart()`. */
export interface DemoServerProcess {
  readonly wsUrl: string;
  readonly httpUrl: string;
  readonly pid: number;
  /** Sends `signal` (default SIGTERM) and waits for the process to exit. No-op when it already exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Kills the process if it still runs, then starts it again on the same ports. */
  restart(): Promise<void>;
  /** Exit code or signal of the last exit, once it exited. */
  readonly exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

interface Started {
  child: ChildProcess;
  wsUrl: string;
  httpUrl: string;
  pid: number;
  exited: Promise<void>;
}

/**
 * Spawns `node --import tsx src/demo/demo-server-main.ts` and waits for its JSON line.
 *
 * @example
 * const demo = await spawnDemoServer();
 * await demo.kill('SIGKILL');
 * await demo.restart();
 */
export async function spawnDemoServer(
  options: { wsPort?: number; httpPort?: number } = {},
): Promise<DemoServerProcess> {
  let exit: DemoServerProcess['exit'];
  let current = await start(options.wsPort ?? 0, options.httpPort ?? 0, (code, signal) => {
    exit = { code, signal };
  });
  const wsPort = Number(new URL(current.wsUrl).port);
  const httpPort = Number(new URL(current.httpUrl).port);

  const kill = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const { child, exited } = current;
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };

  return {
    get wsUrl() {
      return current.wsUrl;
    },
    get httpUrl() {
      return current.httpUrl;
    },
    get pid() {
      return current.pid;
    },
    get exit() {
      return exit;
    },
    kill,
    async restart() {
      await kill('SIGKILL');
      exit = undefined;
      current = await start(wsPort, httpPort, (code, signal) => {
        exit = { code, signal };
      });
    },
  };
}

/** The command line that runs the demo server over stdio (for `StdioClientTransport`). */
export function demoStdioCommand(): { command: string; args: string[]; cwd: string } {
  return {
    command: process.execPath,
    args: ['--import', TSX_LOADER_URL, MAIN_PATH, '--stdio'],
    cwd: ROOT_DIR,
  };
}

function start(
  wsPort: number,
  httpPort: number,
  onExit: (code: number | null, signal: NodeJS.Signals | null) => void,
): Promise<Started> {
  const child = spawn(
    process.execPath,
    ['--import', TSX_LOADER_URL, MAIN_PATH, '--ws-port', String(wsPort), '--http-port', String(httpPort)],
    { cwd: ROOT_DIR, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      onExit(code, signal);
      resolve();
    });
  });
  return new Promise<Started>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`demo server did not start: ${why}\n${stderr}`));
    };
    const timer = setTimeout(() => fail(`no output within ${STARTUP_TIMEOUT_MS} ms`), STARTUP_TIMEOUT_MS);
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('exit', (code, signal) => fail(`exited (${code ?? signal}) before printing its URLs`));
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      if (settled) return;
      stdout += chunk;
      const newline = stdout.indexOf('\n');
      if (newline < 0) return;
      const firstLine = stdout.slice(0, newline);
      let line: { wsUrl: string; httpUrl: string; pid: number };
      try {
        line = JSON.parse(firstLine) as typeof line;
      } catch (error) {
        fail(`bad first line ${JSON.stringify(firstLine)}: ${String(error)}`);
        return;
      }
      settled = true;
      clearTimeout(timer);
      resolve({ child, wsUrl: line.wsUrl, httpUrl: line.httpUrl, pid: line.pid, exited });
    });
  });
}

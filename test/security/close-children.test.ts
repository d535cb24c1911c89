/**
 * `close()` leaves nothing behind (issue 15, item 4). A hostile stdio server that ignores stdin EOF
 * and SIGTERM and spawns a grandchild holding its stdout: after `await rt.close()` (and after
 * `mcp-actors connect -- cmd` exits) neither process is alive. Over Streamable HTTP (both eras), no
 * event is emitted after `close()` resolves.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoServerHandle, startDemoServer } from '../../src/demo/demo-server.js';
import { createRuntime } from '../../src/index.js';

const require = createRequire(import.meta.url);
/** node's arguments that run the CLI from source. */
const CLI = [
  '--import',
  pathToFileURL(require.resolve('tsx')).href,
  fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url)),
];
let dir: string;
let child: string;

/**
 * True while `pid` runs. A zombie counts as gone: an orphan re-parented to a pid 1 that does not
 * reap (as in some containers) stays a zombie, yet it has exited and holds nothing.
 */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/** The hostile server: MCP over stdio, deaf to EOF and SIGTERM, with a grandchild just as deaf. */
function writeStubbornServer(): string {
  const sdk = (path: string): string =>
    pathToFileURL(require.resolve(`@modelcontextprotocol/sdk/${path}`)).href;
  const file = join(dir, 'stubborn.mjs');
  writeFileSync(
    file,
    `import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { McpServer } from ${JSON.stringify(sdk('server/mcp.js'))};
import { StdioServerTransport } from ${JSON.stringify(sdk('server/stdio.js'))};
process.on('SIGTERM', () => {});
process.stdin.on('end', () => {});
setInterval(() => {}, 1_000);
// The grandchild keeps the server's stdout open, so the pipe's 'close' never comes on its own.
const grandchild = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"], {
  stdio: ['ignore', 'inherit', 'ignore'],
});
const pids = { child: process.pid, grandchild: grandchild.pid };
// The runtime passes its child a minimal environment: the pid file comes as an argument.
if (process.argv[2]) writeFileSync(process.argv[2], JSON.stringify(pids));
const server = new McpServer({ name: 'stubborn', version: '1.0.0' }, { capabilities: { tools: {} } });
server.registerTool('pids', { description: 'its pids' }, async () => ({
  content: [{ type: 'text', text: JSON.stringify(pids) }],
}));
server.registerTool('hang', { description: 'never answers' }, () => new Promise(() => {}));
await server.connect(new StdioServerTransport());
`,
  );
  return file;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mcp-actors-close-'));
  child = writeStubbornServer();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('close() and stdio children', () => {
  it('a child deaf to EOF and SIGTERM, and its grandchild, are gone when close() resolves', async () => {
    const rt = createRuntime({
      servers: { s: { command: process.execPath, args: [child], connectTimeoutMs: 15_000 } },
      defaults: { timeoutMs: 15_000, initializeTimeoutMs: 15_000, heartbeat: { intervalMs: 0 } },
    });
    let pids: { child: number; grandchild: number } | undefined;
    try {
      const result = await rt.callTool('s', 'pids');
      pids = JSON.parse((result.content as Array<{ text: string }>)[0]!.text);
      expect(alive(pids!.child)).toBe(true);
      expect(alive(pids!.grandchild)).toBe(true);
      const started = Date.now();
      await rt.close();
      // EOF, then SIGTERM, then SIGKILL: two bounded waits of 2 s, not more.
      expect(Date.now() - started).toBeLessThan(8_000);
      expect(alive(pids!.child)).toBe(false);
      expect(alive(pids!.grandchild)).toBe(false);
    } finally {
      await rt.close();
      for (const pid of Object.values(pids ?? {})) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  }, 40_000);

  it('mcp-actors connect -- cmd leaves no child or grandchild behind', async () => {
    const pidFile = join(dir, 'cli-pids.json');
    const run = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        [...CLI, 'connect', '--', process.execPath, child, pidFile],
        { env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 },
        (error, stdout) => resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout }),
      );
    });
    const pids = JSON.parse(readFileSync(pidFile, 'utf8')) as { child: number; grandchild: number };
    try {
      expect(run.stdout).toContain('connected to stubborn');
      expect(run.code).toBe(0);
      expect(alive(pids.child)).toBe(false);
      expect(alive(pids.grandchild)).toBe(false);
    } finally {
      for (const pid of Object.values(pids)) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  }, 70_000);

  it('Ctrl-C during a CLI call closes the runtime: no child or grandchild behind', async () => {
    const pidFile = join(dir, 'cli-sigint-pids.json');
    const cli = spawn(process.execPath, [...CLI, 'call', 'hang', '--', process.execPath, child, pidFile], {
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => cli.once('exit', (code) => resolve(code)));
    let pids: { child: number; grandchild: number } | undefined;
    try {
      // The server writes its pids once it runs (bounded: 300 x 50 ms).
      for (let i = 0; i < 300 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 50));
      pids = JSON.parse(readFileSync(pidFile, 'utf8'));
      cli.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(alive(pids!.child)).toBe(false);
      expect(alive(pids!.grandchild)).toBe(false);
    } finally {
      if (cli.exitCode === null) cli.kill('SIGKILL');
      for (const pid of Object.values(pids ?? {})) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  }, 70_000);
});

describe('close() over Streamable HTTP', () => {
  let demo: DemoServerHandle;
  beforeAll(async () => {
    demo = await startDemoServer();
  });
  afterAll(() => demo?.close());

  for (const protocol of ['2025-11-25', '2026-07-28'] as const) {
    it(`${protocol}: nothing is emitted after close() resolves`, async () => {
      const rt = createRuntime({
        servers: { s: { url: demo.httpUrl, protocol } },
        defaults: { timeoutMs: 5_000, heartbeat: { intervalMs: 0 } },
      });
      const late: string[] = [];
      const closingErrors: string[] = [];
      let closing = false;
      let closed = false;
      for (const name of ['error', 'state', 'disconnect', 'serverStatus', 'warning', 'session'] as const) {
        const listener = (e: { error?: { code: string } }): void => {
          if (closed) late.push(`${name}${e.error ? ` ${e.error.code}` : ''}`);
          else if (closing && e.error) closingErrors.push(e.error.code);
        };
        rt.on(name, listener as never);
      }
      await rt.subscribe('s', 'demo://note').catch(() => {});
      await rt.callTool('s', 'echo', { text: 'x' });
      closing = true;
      await rt.close();
      closed = true;
      // Tearing down its own streams is not an error the runtime reports.
      expect(closingErrors).toEqual([]);
      // What the SDK reports late comes on the next turns (aborted streams, socket closes).
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(late).toEqual([]);
    }, 20_000);
  }
});

/**
 * `mcp-actors demo` (and `npm run demo`): starts two embedded demo MCP servers in child processes, a
 * current one (2026-07-28, stateless; it also serves 2025 clients) and a legacy one (2025-11-25 only,
 * sessions), connects one runtime to them side by side (WebSocket and Streamable HTTP to the
 * current one, Streamable HTTP to the legacy one), makes calls, kills both servers (SIGKILL) and
 * restarts them, and prints every actor transition live plus a summary with each server's era.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMcpRuntimeError } from '../errors/index.js';
import { createRuntime, type McpRuntime } from '../runtime/runtime.js';

// The server child runs the way this module runs: compiled JS (the package) with plain node, or the
// TypeScript source (`npm run demo` in a checkout) through tsx, a development dependency.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const SERVER_MAIN = fileURLToPath(
  new URL(`../demo/demo-server-main.${FROM_SOURCE ? 'ts' : 'js'}`, import.meta.url),
);
const LOADER_ARGS = FROM_SOURCE
  ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href]
  : [];

interface DemoServer {
  child: ChildProcess;
  wsUrl: string;
  httpUrl: string;
}

/** Starts a demo server child (accepting `eras`) and waits for its `{wsUrl, httpUrl}` line. */
function startServer(wsPort = 0, httpPort = 0, eras = 'both'): Promise<DemoServer> {
  const child = spawn(
    process.execPath,
    [
      ...LOADER_ARGS,
      SERVER_MAIN,
      '--ws-port',
      String(wsPort),
      '--http-port',
      String(httpPort),
      '--eras',
      eras,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error('demo server did not start within 20 s')), 20_000);
    child.once('exit', (code) => reject(new Error(`demo server exited early (code ${code})`)));
    lines.once('line', (line) => {
      clearTimeout(timer);
      const { wsUrl, httpUrl } = JSON.parse(line) as { wsUrl: string; httpUrl: string };
      resolve({ child, wsUrl, httpUrl });
    });
  });
}

function killServer(server: DemoServer): Promise<void> {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) return resolve();
    server.child.once('exit', () => resolve());
    server.child.kill('SIGKILL');
  });
}

const t0 = performance.now();
const stamp = (): string => `[+${((performance.now() - t0) / 1000).toFixed(3)}s]`;
const useColour = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number, text: string): string => (useColour ? `\x1b[${code}m${text}\x1b[0m` : text);

interface Tally {
  calls: number;
  ok: number;
  failed: Record<string, number>;
}

async function tracked<T>(tally: Tally, label: string, run: () => Promise<T>): Promise<T | undefined> {
  tally.calls++;
  try {
    const value = await run();
    tally.ok++;
    console.log(`${stamp()} ${paint(32, 'ok  ')} ${label}`);
    return value;
  } catch (error) {
    const code = isMcpRuntimeError(error) ? error.code : 'UNKNOWN';
    tally.failed[code] = (tally.failed[code] ?? 0) + 1;
    console.log(`${stamp()} ${paint(31, 'fail')} ${label}: ${code} ${(error as Error).message}`);
    return undefined;
  }
}

function text(result: { content?: Array<{ type: string; text?: string }> } | undefined): string {
  return result?.content?.find((c) => c.type === 'text')?.text ?? '';
}

function waitForReady(rt: McpRuntime, servers: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const pending = new Set(servers.filter((s) => rt.snapshot().servers[s]?.state !== 'ready'));
    if (pending.size === 0) return resolve();
    const timer = setTimeout(
      () => reject(new Error(`not ready after ${timeoutMs} ms: ${[...pending]}`)),
      timeoutMs,
    );
    const onConnect = ({ server }: { server: string }): void => {
      pending.delete(server);
      if (pending.size === 0) {
        clearTimeout(timer);
        rt.off('connect', onConnect);
        resolve();
      }
    };
    rt.on('connect', onConnect);
  });
}

/** Runs the demo; resolves with the process exit code. */
export async function runDemo(): Promise<number> {
  console.log(
    paint(1, 'mcp-actors demo: one runtime, a stateless 2026 server and a legacy 2025 one side by side'),
  );
  let server = await startServer();
  let legacyServer = await startServer(0, 0, '2025-11-25');
  const wsPort = Number(new URL(server.wsUrl).port);
  const httpPort = Number(new URL(server.httpUrl).port);
  const legacyPorts = [Number(new URL(legacyServer.wsUrl).port), Number(new URL(legacyServer.httpUrl).port)];
  console.log(`${stamp()} 2026 demo server pid ${server.child.pid} at ${server.wsUrl} and ${server.httpUrl}`);
  console.log(`${stamp()} 2025 demo server pid ${legacyServer.child.pid} at ${legacyServer.httpUrl}`);

  const rt = createRuntime({
    servers: { ws: { url: server.wsUrl }, http: { url: server.httpUrl }, old: { url: legacyServer.httpUrl } },
    defaults: {
      timeoutMs: 5_000,
      reconnect: { initialDelayMs: 50, factor: 2, maxDelayMs: 500, maxAttempts: 50 },
      heartbeat: { intervalMs: 1_000, timeoutMs: 500, maxMissed: 2 },
    },
    context: { project: 'demo', environment: 'development' },
  });
  rt.on('state', (e) => {
    const retry = e.to === 'reconnecting' ? ` (attempt ${e.attempt}, retry in ${e.retryDelayMs} ms)` : '';
    const why =
      e.lastError && (e.to === 'reconnecting' || e.to === 'failed')
        ? ` ← ${e.lastError.code}: ${e.lastError.message}`
        : '';
    console.log(
      `${stamp()} ${paint(36, `${e.server.padEnd(4)} ${e.actor}`)}: ${e.from} → ${paint(1, e.to)}${retry}${why}`,
    );
  });
  rt.on('connect', ({ server: s, session, reconnect }) => {
    if (!session) return;
    const era =
      session.era === 'modern' ? 'stateless, no session' : `session ${session.sessionId ? 'kept' : 'none'}`;
    console.log(
      `${stamp()} ${paint(36, s.padEnd(4))} ${reconnect ? 'reconnected' : 'connected'}: protocol ${session.protocolVersion} (${era})`,
    );
  });
  const tally: Tally = { calls: 0, ok: 0, failed: {} };
  const servers = ['ws', 'http', 'old'];
  let reconnectMs: Record<string, number> = {};
  try {
    await rt.start();
    for (const s of servers) {
      // Listing tools teaches the runtime their annotations: read-only tools become safe to retry.
      await tracked(tally, `${s}: list tools`, async () => (await rt.listTools(s)).length);
      await tracked(tally, `${s}: echo`, () => rt.callTool(s, 'echo', { text: `hello over ${s}` }));
      await tracked(tally, `${s}: add 2+40`, async () => text(await rt.callTool(s, 'add', { a: 2, b: 40 })));
      await tracked(tally, `${s}: read demo://greeting`, () => rt.readResource(s, 'demo://greeting'));
      await tracked(tally, `${s}: prompt greet`, () => rt.getPrompt(s, 'greet', { name: 'Ada' }));
      await tracked(tally, `${s}: fail (a tool error)`, () =>
        rt.callTool(s, 'fail', { message: 'on purpose' }),
      );
    }
    await tracked(tally, 'ws: slow with progress', () =>
      rt.callTool(
        'ws',
        'slow',
        { durationMs: 600, steps: 3 },
        {
          onProgress: (p) =>
            console.log(`${stamp()}      progress ${p.progress}/${p.total ?? '?'} ${p.message ?? ''}`),
        },
      ),
    );

    console.log(paint(1, `${stamp()} killing both demo servers (SIGKILL) with calls in flight`));
    const inflight = servers.flatMap((s) => [
      // slow is annotated read-only: the runtime may send it again, so it waits out the outage.
      tracked(tally, `${s}: slow (read-only) in flight during the kill, retried after the restart`, () =>
        rt.callTool(s, 'slow', { durationMs: 1_000, steps: 1 }, { timeoutMs: 30_000 }),
      ),
      // retry: false marks a call that must never run twice: it fails at once and is not repeated.
      tracked(tally, `${s}: slow with retry:false in flight during the kill, not repeated`, () =>
        rt.callTool(s, 'slow', { durationMs: 1_000, steps: 1 }, { timeoutMs: 30_000, retry: false }),
      ),
    ]);
    await new Promise((r) => setTimeout(r, 200));
    const killedAt = performance.now();
    await Promise.all([killServer(server), killServer(legacyServer)]);
    const duringOutage = servers.map((s) =>
      tracked(tally, `${s}: echo made during the outage (waits for ready)`, () =>
        rt.callTool(s, 'echo', { text: 'patient' }, { timeoutMs: 30_000 }),
      ),
    );
    await new Promise((r) => setTimeout(r, 1_000));
    console.log(paint(1, `${stamp()} restarting both demo servers on the same ports`));
    const restartAt = performance.now();
    [server, legacyServer] = await Promise.all([
      startServer(wsPort, httpPort),
      startServer(legacyPorts[0], legacyPorts[1], '2025-11-25'),
    ]);
    const listeningAt = performance.now();
    const readyAt: Record<string, number> = {};
    const onConnect = ({ server: s }: { server: string }): void => {
      readyAt[s] = performance.now();
    };
    rt.on('connect', onConnect);
    await waitForReady(rt, servers, 30_000);
    rt.off('connect', onConnect);
    await Promise.all([...duringOutage, ...inflight]);
    reconnectMs = Object.fromEntries(
      servers.map((s) => [s, Math.max(0, (readyAt[s] ?? listeningAt) - listeningAt)]),
    );
    for (const s of servers) {
      await tracked(tally, `${s}: echo after the restart`, () =>
        rt.callTool(s, 'echo', { text: 'back again' }),
      );
    }
    const snapshot = rt.snapshot();
    console.log(paint(1, '\nsummary'));
    console.log(`  calls made:     ${tally.calls}`);
    console.log(`  ok:             ${tally.ok}`);
    console.log(
      `  failed:         ${
        Object.entries(tally.failed)
          .map(([c, n]) => `${n} ${c}`)
          .join(', ') || 'none'
      }`,
    );
    console.log(`  outage:         ${((restartAt - killedAt) / 1000).toFixed(2)} s (server down on purpose)`);
    for (const s of servers) {
      const snap = snapshot.servers[s];
      const protocol = (snap as { protocol?: { era: string | null; version: string | null } } | undefined)
        ?.protocol;
      console.log(
        `  reconnect ${s.padEnd(4)}: ready ${reconnectMs[s]?.toFixed(0)} ms after the server listened again (${snap?.readyCount} connects; ${protocol?.version ?? '?'}, ${protocol?.era ?? '?'} era)`,
      );
    }
    return 0;
  } catch (error) {
    console.error(`${stamp()} demo failed:`, error);
    return 1;
  } finally {
    await rt.close();
    await Promise.all([killServer(server), killServer(legacyServer)]);
  }
}

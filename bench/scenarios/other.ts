/**
 * The scenarios that are not plain throughput: (d) queue cost per request at scale, (e) reconnect
 * after a server-side close, (g) start time with 1,000 servers, (h) cached vs uncached reads.
 */
import WebSocket from 'ws';
import { createRuntime, type McpRuntime } from '../../src/runtime/runtime.js';
import { ECHO_TEXT } from '../clients.js';
import { interleave, median, throughput } from '../harness.js';
import { QUEUE_SIZES, queueScale } from '../queue-scale.js';
import { type Row, row } from '../report.js';
import type { BenchServers } from '../server-process.js';

/** (d) Per-request queue cost at 1k / 10k / 100k queued, as a ratio to 1k. */
export function queueScenario(
  rounds: number,
  requestsPerRound: number,
  sizes: readonly number[] = QUEUE_SIZES,
): Row[] {
  const results = queueScale(rounds, requestsPerRound, sizes);
  const base = results.get(sizes[0] as number) ?? [];
  return sizes.map((n) => {
    const r = results.get(n) ?? [];
    return row('queue', `cost per request, ${n.toLocaleString('en-US')} queued`, 'µs', r, median(r), {
      baseline: {
        name: `${(sizes[0] as number).toLocaleString('en-US')} queued`,
        value: median(base),
        rounds: base,
      },
      ...(n === 100_000 ? { target: { on: 'ratio', op: '<=', limit: 1.5 } as const } : {}),
    });
  });
}

const once = <T>(subscribe: (resolve: (v: T) => void, reject: (e: unknown) => void) => void): Promise<T> =>
  new Promise(subscribe);

/**
 * One runtime reconnect: ms from the observed close (the `disconnect` event) to the first
 * successful call after it. The call is made at once; it waits for the reconnect (backoff first
 * delay 0, no jitter) and the era's handshake: `initialize` on 2025, none on 2026 (the verdict is
 * cached, discover is not repeated).
 */
async function runtimeReconnect(url: string, drop: () => Promise<void>): Promise<number> {
  const rt = createRuntime({
    servers: { demo: { url, reconnect: { initialDelayMs: 0, jitter: false } } },
  });
  try {
    await rt.start();
    await rt.callTool('demo', 'echo', { text: ECHO_TEXT });
    const answered = once<number>((resolve, reject) =>
      rt.once('disconnect', () => {
        const closedAt = performance.now();
        rt.callTool('demo', 'echo', { text: ECHO_TEXT }).then(
          () => resolve(performance.now() - closedAt),
          reject,
        );
      }),
    );
    await drop();
    return await answered;
  } finally {
    await rt.close();
  }
}

/** What a raw client sends on a new socket: requests (answered before the next) and notifications. */
type RawFrame = { id?: number; method: string; params?: Record<string, unknown> };

const ECHO_CALL = { name: 'echo', arguments: { text: ECHO_TEXT } };
/** 2026-07-28: one self-describing request, no handshake. */
const RAW_2026: RawFrame[] = [
  {
    id: 1,
    method: 'tools/call',
    params: {
      ...ECHO_CALL,
      _meta: {
        'io.modelcontextprotocol/protocolVersion': '2026-07-28',
        'io.modelcontextprotocol/clientInfo': { name: 'bench-raw', version: '1.0.0' },
        'io.modelcontextprotocol/clientCapabilities': {},
      },
    },
  },
];
/** 2025-11-25: initialize, initialized, then the call (the protocol's own minimum). */
const RAW_2025: RawFrame[] = [
  {
    id: 1,
    method: 'initialize',
    params: {
      protocolVersion: '2025-11-25',
      capabilities: {},
      clientInfo: { name: 'bench-raw', version: '1.0.0' },
    },
  },
  { method: 'notifications/initialized' },
  { id: 2, method: 'tools/call', params: ECHO_CALL },
];

/**
 * A raw floor: ms from the close to a new socket open and `frames` answered on it, with `ws` and
 * JSON only (no SDK, no runtime). Against the trivial echo server it is the socket's floor; against
 * the MCP server of an era it adds what that server costs on a new connection (a new server
 * instance, its first call), which any client reconnecting there pays.
 */
async function rawReconnect(servers: BenchServers, url: string, frames: RawFrame[]): Promise<number> {
  const open = (): Promise<WebSocket> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url, 'mcp', { perMessageDeflate: false });
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  const first = await open();
  const closed = once<number>((resolve) => first.once('close', () => resolve(performance.now())));
  const reopened = closed.then(async (closedAt) => {
    const ws = await open();
    for (const frame of frames) {
      const message = JSON.stringify({ jsonrpc: '2.0', ...frame });
      if (frame.id === undefined) {
        ws.send(message);
        continue;
      }
      await new Promise<void>((resolve) => {
        const onMessage = (data: WebSocket.RawData) => {
          if ((JSON.parse(String(data)) as { id?: unknown }).id !== frame.id) return;
          ws.off('message', onMessage);
          resolve();
        };
        ws.on('message', onMessage);
        ws.send(message);
      });
    }
    const ms = performance.now() - closedAt;
    ws.close();
    return ms;
  });
  await servers.drop();
  return reopened;
}

/**
 * (e) Reconnect after a server-side close, on both eras. The target's floor is raw `ws` frames to
 * the same MCP server (what the server costs on a new connection is in both); the trivial echo
 * floor is shown beside it (information).
 */
export async function reconnectScenario(servers: BenchServers, rounds: number): Promise<Row[]> {
  const drop = () => servers.drop();
  const r = await interleave(rounds, {
    runtime2025: () => runtimeReconnect(servers.mcpWsUrl, drop),
    runtime2026: () => runtimeReconnect(servers.mcpWs2026Url, drop),
    raw: () => rawReconnect(servers, servers.rawWsUrl, [{ id: 1, method: 'tools/call', params: ECHO_CALL }]),
    raw2025: () => rawReconnect(servers, servers.mcpWsUrl, RAW_2025),
    raw2026: () => rawReconnect(servers, servers.mcpWs2026Url, RAW_2026),
  });
  const target = { on: 'ratio', op: '<=', limit: 2 } as const;
  const echoFloor = { name: 'raw ws floor (echo server)', value: median(r.raw), rounds: r.raw };
  const rows: Row[] = [
    row('reconnect', 'raw ws reopen + 1 echo (floor, echo server)', 'ms', r.raw, median(r.raw)),
  ];
  for (const era of ['2025', '2026'] as const) {
    const raw = era === '2025' ? r.raw2025 : r.raw2026;
    const runtime = era === '2025' ? r.runtime2025 : r.runtime2026;
    const steps = era === '2025' ? 'initialize, initialized, echo' : 'one echo, no handshake';
    const floor = { name: `raw ws floor (same MCP server)`, value: median(raw), rounds: raw };
    rows.push(
      row('reconnect', `raw ws reopen + ${steps} (floor, same MCP server)`, 'ms', raw, median(raw), { era }),
      row('reconnect', 'runtime: close → first successful call', 'ms', runtime, median(runtime), {
        era,
        baseline: floor,
        target,
      }),
      row(
        'reconnect',
        'runtime: close → first successful call, vs the echo server',
        'ms',
        runtime,
        median(runtime),
        {
          era,
          baseline: echoFloor,
        },
      ),
    );
  }
  return rows;
}

/** (g) createRuntime with 1,000 configured servers (lazy: nothing connects). */
export async function startScenario(url: string, rounds: number, count = 1_000): Promise<Row[]> {
  const servers = Object.fromEntries(Array.from({ length: count }, (_, i) => [`s${i}`, { url }]));
  const times: number[] = [];
  for (let i = 0; i < rounds + 1; i++) {
    const t = performance.now();
    const rt: McpRuntime = createRuntime({ servers });
    const ms = performance.now() - t;
    await rt.close();
    if (i > 0) times.push(ms); // the first round loads and compiles code
  }
  return [
    row(
      'start',
      `createRuntime with ${count.toLocaleString('en-US')} servers (lazy)`,
      'ms',
      times,
      median(times),
      {
        target: { on: 'value', op: '<', limit: 1000 },
      },
    ),
  ];
}

/** (h) readResource through the cache vs `cache: false`, over WebSocket, 1 in flight. */
export async function cacheScenario(
  servers: BenchServers,
  rounds: number,
  durationMs: number,
): Promise<Row[]> {
  const rt = createRuntime({ servers: { demo: { url: servers.mcpWsUrl } } });
  try {
    await rt.start();
    const uri = 'demo://greeting';
    const r = await interleave(rounds, {
      cached: () => throughput(() => rt.readResource('demo', uri), 1, durationMs),
      uncached: () => throughput(() => rt.readResource('demo', uri, { cache: false }), 1, durationMs),
    });
    const c = r.cached.map((m) => m.callsPerSec);
    const u = r.uncached.map((m) => m.callsPerSec);
    return [
      row('cache', 'readResource, cache: false (WebSocket)', 'calls/s', u, median(u)),
      row('cache', 'readResource, cached', 'calls/s', c, median(c), {
        baseline: { name: 'uncached', value: median(u), rounds: u },
        target: { on: 'ratio', op: '>=', limit: 20 },
      }),
    ];
  } finally {
    await rt.close();
  }
}

/** Runs bench/heap-child.ts in a child with --expose-gc; bytes per connection of each round. */
async function heapChild(url: string, variant: string, count: number, rounds: number): Promise<number[]> {
  const { spawn } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const { TSX_LOADER_URL } = await import('../server-process.js');
  const main = fileURLToPath(new URL('../heap-child.ts', import.meta.url));
  const child = spawn(
    process.execPath,
    ['--expose-gc', '--import', TSX_LOADER_URL, main, url, variant, String(count), String(rounds)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    out += c;
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`heap child (${variant}) exited with ${code}`);
  return (JSON.parse(out.trim().split('\n').pop() ?? '{}') as { perConnectionBytes: number[] })
    .perConnectionBytes;
}

/** (f) Heap per pooled connection vs the bare SDK v2 Client (KiB; v1 as information), and per whole server. */
export async function heapScenario(servers: BenchServers, count: number, rounds: number): Promise<Row[]> {
  const kib = (xs: number[]) => xs.map((x) => x / 1024);
  // Heap is not timing: the three children run at once.
  const [sdk, sdkv1, pooled, server] = (
    await Promise.all(
      ['sdk', 'sdkv1', 'pooled', 'server'].map((v) => heapChild(servers.mcpWsUrl, v, count, rounds)),
    )
  ).map(kib) as [number[], number[], number[], number[]];
  const base = { name: 'bare SDK v2 Client (own validator)', value: median(sdk), rounds: sdk };
  const era = '2025';
  return [
    row('heap', 'bare SDK v2 Client + WebSocket transport', 'KiB', sdk, median(sdk), { era }),
    row('heap', 'bare SDK v1 Client + WebSocket transport', 'KiB', sdkv1, median(sdkv1), {
      era,
      baseline: base,
    }),
    row('heap', 'runtime pooled connection (shared validator)', 'KiB', pooled, median(pooled), {
      era,
      baseline: base,
      v1: sdkv1,
      target: { on: 'ratio', op: '<=', limit: 1 },
    }),
    row('heap', 'runtime server (connection + queue + breaker + session)', 'KiB', server, median(server), {
      era,
      baseline: base,
      v1: sdkv1,
    }),
  ];
}

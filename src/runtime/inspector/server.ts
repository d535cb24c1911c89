/**
 * The live inspector: a page on 127.0.0.1 that leads with one overview row a server (era, state,
 * breaker, queue, calls/s, p50/p99, last error), then per-server figures, each server's actors as
 * statecharts with the current state highlighted, and a transition log without heartbeats. The page and its
 * charts are served from this process (no network); updates stream over Server-Sent Events from
 * the runtime's inspection hub and `state` events. Every message is scrubbed of the configured
 * secrets before it leaves; figures come from `rt.snapshot()`, which is redacted already.
 * Only loopback `Host`/`Origin` are served, or requests with the token (access.ts); a page that
 * stops reading is dropped once its backlog passes `maxClientBufferBytes`.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AnyActorRef, AnyStateMachine, InspectionEvent } from 'xstate';
import { ConfigError } from '../../errors/index.js';
import type { McpRuntime } from '../runtime.js';
import { type AccessVerdict, inspectorAccess, isLoopbackHost } from './access.js';
import { activeStateIds, allStates, chartModel, eventLabel } from './chart-model.js';
import type { InspectionHub } from './hub.js';
import { CallRate, type OverviewSnapshot, overviewRows } from './overview.js';
import { configSecrets, scrubJson } from './secrets.js';
import { STATECHARTS_DIR } from './statecharts.js';

/** Options of `rt.inspect()`. */
export interface InspectorOptions {
  /** Port; 0 (default) picks a free one. */
  port?: number;
  /** Address to listen on (default `127.0.0.1`). Any other than loopback needs a `token`. */
  host?: string;
  /**
   * Required of every request when set: `Authorization: Bearer <token>` or `?token=<token>` (which
   * sets a cookie for the page's own requests). Without it only loopback `Host`/`Origin` are served.
   */
  token?: string;
  /** A page whose unsent data passes this many bytes (it stopped reading) is dropped (default 1 MiB). */
  maxClientBufferBytes?: number;
  /** How often the per-server figures are pushed, in ms (default 1000). */
  figuresIntervalMs?: number;
  /** Transitions kept for a page that connects late (default 200). */
  logSize?: number;
}

/** A running inspector. */
export interface InspectorHandle {
  /** `http://127.0.0.1:PORT/` (without the token) */
  readonly url: string;
  /** Pages reading `/events` now (a page dropped for not reading is no longer counted). */
  readonly pages: number;
  /** Stops serving; open pages are disconnected. Idempotent. */
  close(): Promise<void>;
}

/** What the inspector needs from a runtime. */
export interface InspectorSource {
  runtime: McpRuntime;
  hub: InspectionHub;
}

/** Default of {@link InspectorOptions.maxClientBufferBytes}. */
const MAX_CLIENT_BUFFER_BYTES = 1 << 20;

const ASSETS_DIR = fileURLToPath(new URL('./assets/', import.meta.url));
const ASSETS: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/style.css': 'style.css',
};
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  json: 'application/json; charset=utf-8',
};

interface ActorInfo {
  key: string;
  /** `server/machine#n`, numbered per server and machine in the order the page learnt of them. */
  label: string;
  server: string;
  machine: AnyStateMachine;
  value: string | undefined;
}

function machineOf(ref: AnyActorRef): AnyStateMachine {
  return (ref as unknown as { logic: AnyStateMachine }).logic;
}

/** Where actors created for no single server are listed. */
export const RUNTIME_WIDE = 'runtime';

const HEARTBEAT_STATES = new Set(['ready.waiting', 'ready.pinging']);

/** A connection's heartbeat (ready.waiting ⇄ ready.pinging): every interval, so kept out of the log. */
export function isHeartbeat(machine: string, from: string, to: string): boolean {
  return machine === 'connection' && HEARTBEAT_STATES.has(from) && HEARTBEAT_STATES.has(to);
}

/** `{ ready: 'waiting' }` → `ready.waiting`; parallel regions in parentheses. */
export function formatStateValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const parts = Object.entries(value as Record<string, unknown>).map(([k, v]) => {
      const inner = formatStateValue(v);
      return inner ? `${k}.${inner}` : k;
    });
    return parts.length === 1 ? parts[0]! : `(${parts.join(', ')})`;
  }
  return '';
}

/**
 * Starts the inspector for a runtime (use `rt.inspect({ port })`).
 *
 * @example
 * const inspector = await rt.inspect({ port: 4777 });
 * console.log(`open ${inspector.url}`);
 * await inspector.close();
 */
export async function startInspector(
  source: InspectorSource,
  options: InspectorOptions = {},
): Promise<InspectorHandle> {
  const { runtime, hub } = source;
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host) && !options.token) {
    throw new ConfigError([
      { path: 'inspect.token', message: `required to serve the inspector on ${host} (not loopback)` },
    ]);
  }
  const maxBufferBytes = options.maxClientBufferBytes ?? MAX_CLIENT_BUFFER_BYTES;
  const secrets = configSecrets(runtime.config);
  const clients = new Set<ServerResponse>();
  const actors = new Map<string, ActorInfo>();
  const log: string[] = [];
  const logSize = options.logSize ?? 200;
  const figuresIntervalMs = options.figuresIntervalMs ?? 1_000;
  const rate = new CallRate(figuresIntervalMs);
  const numbers = new Map<string, number>();

  const encode = (message: Record<string, unknown>): string =>
    `data: ${scrubJson(JSON.stringify(message), secrets)}\n\n`;
  /** Writes to one page; a page that stopped reading is dropped, so its backlog cannot grow the heap. */
  const write = (res: ServerResponse, frame: string): void => {
    if (res.destroyed) return;
    res.write(frame);
    if (res.writableLength > maxBufferBytes) {
      clients.delete(res);
      res.destroy();
    }
  };
  const broadcast = (message: Record<string, unknown>): string => {
    const frame = encode(message);
    for (const res of clients) write(res, frame);
    return frame;
  };

  const describe = (ref: AnyActorRef): ActorInfo | undefined => {
    const known = actors.get(ref.sessionId);
    if (known?.key.includes(':')) return known;
    const machine = (ref as { logic?: AnyStateMachine }).logic;
    if (!machine?.root) return undefined;
    const systemId = (ref as { systemId?: string }).systemId;
    const context = (ref.getSnapshot() as { context?: { server?: unknown } }).context;
    const ownServer = typeof context?.server === 'string' ? context.server : undefined;
    const server = systemId?.includes(':')
      ? systemId.slice(systemId.indexOf(':') + 1)
      : (ownServer ?? hub.serverOf(ref) ?? RUNTIME_WIDE);
    const kind = `${server}/${machine.id}`;
    const n = (numbers.get(kind) ?? 0) + 1;
    numbers.set(kind, n);
    const info: ActorInfo = {
      // A machine that names its server (a connection: the members of a pool, and the connection
      // that replaces a failed one) keeps one card per server, as a system id would give it.
      key: systemId ?? (ownServer ? `${machine.id}:${ownServer}` : `${machine.id}#${ref.sessionId}`),
      label: known?.label ?? `${kind}#${n}`,
      server,
      machine,
      value: known?.value,
    };
    actors.set(ref.sessionId, info);
    return info;
  };

  const actorMessage = (info: ActorInfo, snapshot: { value?: unknown; status?: string }, at: number) => ({
    type: 'actor',
    key: info.key,
    label: info.label,
    server: info.server,
    machine: info.machine.id,
    value: formatStateValue(snapshot.value),
    active: activeStateIds(info.machine, snapshot.value),
    status: snapshot.status ?? 'active',
    at,
  });

  const onInspection = (event: InspectionEvent): void => {
    if (event.type !== '@xstate.snapshot') return;
    const info = describe(event.actorRef as AnyActorRef);
    if (!info) return;
    const snapshot = event.snapshot as { value?: unknown; status?: string };
    const value = formatStateValue(snapshot.value);
    if (value === info.value && snapshot.status === 'active') return;
    const at = Date.now();
    if (
      info.value !== undefined &&
      value !== info.value &&
      !isHeartbeat(info.machine.id, info.value, value)
    ) {
      const frame = broadcast({
        type: 'transition',
        key: info.key,
        label: info.label,
        server: info.server,
        machine: info.machine.id,
        from: info.value,
        to: value,
        event: eventLabel(event.event.type),
        at,
      });
      log.push(frame);
      if (log.length > logSize) log.shift();
    }
    info.value = value;
    broadcast(actorMessage(info, snapshot, at));
    if (snapshot.status !== 'active') actors.delete(event.actorRef.sessionId);
  };

  const figures = (): Record<string, unknown> => {
    const snapshot = runtime.snapshot();
    const at = Date.now();
    const servers = snapshot.servers as Record<string, OverviewSnapshot>;
    const overview = overviewRows(servers, (name) => runtime.health(name), rate, at);
    // Only what the page shows: a frame must stay well below maxClientBufferBytes with many servers.
    return { type: 'figures', at, overview, servers };
  };
  const onState = (): void => {
    broadcast(figures());
  };

  const charts = Object.fromEntries(
    [...new Set(hub.machineActors.map((r) => machineOf(r)))].map((m) => [
      m.id,
      allStates(chartModel(m)).map((s) => ({ id: s.id, key: s.key, depth: s.path.length })),
    ]),
  );
  const hello = (): Record<string, unknown> => {
    for (const ref of hub.machineActors) {
      const m = machineOf(ref);
      charts[m.id] ??= allStates(chartModel(m)).map((s) => ({ id: s.id, key: s.key, depth: s.path.length }));
    }
    return { type: 'hello', servers: runtime.serverNames, charts, at: Date.now() };
  };

  const serveEvents = (req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    clients.add(res);
    write(res, encode(hello()));
    for (const ref of hub.machineActors) {
      const info = describe(ref);
      if (!info) continue;
      const snapshot = ref.getSnapshot() as { value?: unknown; status?: string };
      info.value = formatStateValue(snapshot.value);
      write(res, encode(actorMessage(info, snapshot, Date.now())));
    }
    for (const frame of log) write(res, frame);
    write(res, encode(figures()));
    req.on('close', () => clients.delete(res));
  };

  const serveFile = async (res: ServerResponse, path: string, type: string): Promise<void> => {
    try {
      const body = await readFile(path);
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  };

  let access: (req: IncomingMessage) => AccessVerdict = () => ({
    ok: false,
    status: 403,
    reason: 'not listening',
  });
  const server = createServer((req, res) => {
    const verdict = access(req);
    if (!verdict.ok) {
      res.writeHead(verdict.status, {
        'content-type': 'text/plain',
        ...(verdict.status === 401 ? { 'www-authenticate': 'Bearer' } : {}),
      });
      res.end(verdict.reason);
      return;
    }
    if (verdict.setCookie) res.setHeader('set-cookie', verdict.setCookie);
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' });
      res.end();
      return;
    }
    if (path === '/events') return serveEvents(req, res);
    if (path === '/snapshot.json') {
      res.writeHead(200, { 'content-type': TYPES.json!, 'cache-control': 'no-store' });
      res.end(scrubJson(JSON.stringify(runtime.snapshot()), secrets));
      return;
    }
    const asset = ASSETS[path];
    if (asset) return void serveFile(res, join(ASSETS_DIR, asset), TYPES[asset.split('.').pop()!]!);
    const chart = /^\/charts\/([A-Za-z0-9_-]+)\.svg$/.exec(path);
    if (chart) return void serveFile(res, join(STATECHARTS_DIR, `${chart[1]}.svg`), TYPES.svg!);
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const unsubscribe = hub.subscribe(onInspection);
  runtime.on('state', onState);
  let closePromise: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closePromise ??= new Promise<void>((resolve) => {
      clearInterval(timer);
      unsubscribe();
      runtime.off('state', onState);
      for (const res of clients) res.end();
      clients.clear();
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closePromise;
  };
  const timer = setInterval(() => {
    // A closed runtime takes its inspector with it.
    if (runtime.isClosed) void close();
    else if (clients.size > 0) broadcast(figures());
  }, figuresIntervalMs);
  timer.unref();

  const { port } = server.address() as AddressInfo;
  access = inspectorAccess({ port, token: options.token });
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    get pages() {
      return clients.size;
    },
    close,
  };
}

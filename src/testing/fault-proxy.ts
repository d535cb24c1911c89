/**
 * `createFaultProxy({ target })`: a loopback proxy between a runtime and a real MCP server, for
 * both WebSocket (frames relayed one by one) and HTTP (Streamable HTTP requests and their SSE
 * responses piped). On command, or on a schedule, it adds latency, drops or duplicates frames,
 * blackholes (accepts but never answers), cuts connections, answers 404 to a session, or answers
 * 429/503 with `Retry-After`. Random choices come from a seeded PRNG, so a seed replays a run;
 * every fault counts against `maxFaults`, so a run stays bounded.
 */
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { ConnectionLostError, ValidationError } from '../errors/index.js';
import { nextRandom } from '../machines/random.js';

/** Options of {@link createFaultProxy}. */
export interface FaultProxyOptions {
  /** The real server: `ws://host:port/path` or `http://host:port/path`. */
  target: string;
  /** PRNG seed for probabilistic faults (default 1). */
  seed?: number;
  /** Most faults injected over the proxy's life (default 10,000); past it, traffic passes clean. */
  maxFaults?: number;
  /** Port to listen on (default: a free one). */
  port?: number;
}

/** One scheduled command: at `atMs` after `schedule()` is called, run `apply(proxy)`. */
export interface ScheduledFault {
  atMs: number;
  apply: (proxy: FaultProxy) => void;
}

/** Counters of what the proxy did. */
export interface FaultProxyStats {
  wsConnections: number;
  httpRequests: number;
  framesForwarded: number;
  framesDropped: number;
  framesDuplicated: number;
  blackholed: number;
  cuts: number;
  statusesInjected: number;
  faults: number;
}

type Direction = 'toServer' | 'toClient';

interface StatusRule {
  method: string | undefined;
  status: number;
  retryAfterS: number | undefined;
  remaining: number;
}

/** The running proxy. Create it with {@link createFaultProxy}. */
export class FaultProxy {
  readonly stats: FaultProxyStats = {
    wsConnections: 0,
    httpRequests: 0,
    framesForwarded: 0,
    framesDropped: 0,
    framesDuplicated: 0,
    blackholed: 0,
    cuts: 0,
    statusesInjected: 0,
    faults: 0,
  };
  private latencyMs = 0;
  private jitterMs = 0;
  private dropP = 0;
  private dropNextN = 0;
  private dropMethod: string | undefined;
  private dupMethod: string | undefined;
  private dupP = 0;
  private dupNextN = 0;
  private holeOn = false;
  private notFound:
    | { session: string | undefined; remaining: number; method: string | undefined }
    | undefined;
  private readonly statusRules: StatusRule[] = [];
  /** One PRNG stream per direction: frames in one direction arrive in order, so a seed replays. */
  private readonly rng: Record<Direction, number>;
  private readonly sockets = new Set<WebSocket>();
  private readonly httpSockets = new Set<Socket>();
  private readonly held = new Set<ServerResponse>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private closing: Promise<void> | undefined;
  /** Keep-alive connections to the target are the proxy's own, so `close()` can end them. */
  private readonly upstreamAgent = new Agent({ keepAlive: true });

  constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
    private readonly target: URL,
    private readonly maxFaults: number,
    seed: number,
  ) {
    this.rng = { toServer: seed >>> 0, toClient: (seed ^ 0x9e3779b9) >>> 0 };
  }

  /** The proxy's address for the target's scheme and path. */
  get url(): string {
    return this.target.protocol.startsWith('ws') ? this.wsUrl : this.httpUrl;
  }

  /** `ws://127.0.0.1:port/path`. */
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}${this.target.pathname}`;
  }

  /** `http://127.0.0.1:port/path`. */
  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}${this.target.pathname}`;
  }

  /** The port it listens on. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  private get filtered(): boolean {
    return this.dropMethod !== undefined || this.dupMethod !== undefined;
  }

  /** Delays every frame / request by `ms` plus up to `jitterMs` (seeded). `latency(0)` clears. */
  latency(ms: number, jitterMs = 0): this {
    this.latencyMs = nonNegative(ms, 'ms');
    this.jitterMs = nonNegative(jitterMs, 'jitterMs');
    return this;
  }

  /** Drops frames (WebSocket) or requests (HTTP, the socket is destroyed): the next `n`, or each with probability `p`. */
  drop(spec: FaultSpec): this {
    this.dropNextN = nonNegative(spec.next ?? 0, 'next');
    this.dropP = probability(spec.probability ?? 0);
    this.dropMethod = spec.method;
    return this;
  }

  /** Delivers frames (WebSocket) or POSTs (HTTP) twice: the next `n`, or each with probability `p`. */
  duplicate(spec: FaultSpec): this {
    this.dupNextN = nonNegative(spec.next ?? 0, 'next');
    this.dupP = probability(spec.probability ?? 0);
    this.dupMethod = spec.method;
    return this;
  }

  /** While on, accepts everything and answers nothing (frames vanish, HTTP requests hang). */
  blackhole(on = true): this {
    this.holeOn = on;
    if (!on) for (const res of [...this.held]) this.release(res);
    return this;
  }

  /** Cuts every open connection now (WebSocket terminated, HTTP sockets destroyed). */
  cut(): this {
    this.stats.cuts++;
    this.count();
    for (const socket of this.sockets) socket.terminate();
    for (const socket of this.httpSockets) socket.destroy();
    this.held.clear();
    return this;
  }

  /** HTTP: answers 404 (session not found) to the next `count` requests of `session` (any session when omitted). */
  expireSession(session?: string, count = 1, method?: string): this {
    this.notFound = { session, remaining: nonNegative(count, 'count'), method };
    return this;
  }

  /** HTTP: answers the next `count` requests with `status` (429, 503...) and `Retry-After: retryAfterS`. */
  respondWith(status: number, options: { retryAfterS?: number; count?: number; method?: string } = {}): this {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new ValidationError('respondWith: status must be 4xx or 5xx', 'status');
    }
    this.statusRules.push({
      method: options.method,
      status,
      retryAfterS: options.retryAfterS,
      remaining: nonNegative(options.count ?? 1, 'count'),
    });
    return this;
  }

  /** Clears every fault (held requests are released to the server). */
  reset(): this {
    this.latency(0);
    this.drop({});
    this.duplicate({});
    this.blackhole(false);
    this.notFound = undefined;
    this.statusRules.length = 0;
    return this;
  }

  /** Runs commands at offsets from now (timers: a virtual clock drives them). At most 1,000 entries. */
  schedule(entries: readonly ScheduledFault[]): this {
    if (entries.length > 1_000) throw new ValidationError('schedule: at most 1,000 entries', 'entries');
    for (const entry of entries) {
      const timer = setTimeout(
        () => {
          this.timers.delete(timer);
          if (!this.closing) entry.apply(this);
        },
        nonNegative(entry.atMs, 'atMs'),
      );
      this.timers.add(timer);
    }
    return this;
  }

  /** Stops: cancels schedules, cuts connections, closes the listener; idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const timer of this.timers) clearTimeout(timer);
      this.timers.clear();
      for (const socket of this.sockets) socket.terminate();
      for (const socket of this.httpSockets) socket.destroy();
      await new Promise<void>((resolve) => this.wss.close(() => resolve()));
      await new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.server.closeAllConnections();
      });
      this.upstreamAgent.destroy();
    })();
    return this.closing;
  }

  /** `await using proxy = await createFaultProxy(...)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** @internal A relayed WebSocket pair. */
  relayWebSocket(client: WebSocket, upstream: WebSocket): void {
    this.stats.wsConnections++;
    this.sockets.add(client);
    this.sockets.add(upstream);
    const chains = new Map<WebSocket, number>();
    const forward = (to: WebSocket, data: WebSocket.RawData, isBinary: boolean): void => {
      const dir: Direction = to === upstream ? 'toServer' : 'toClient';
      if (this.holeOn && this.count()) {
        this.stats.blackholed++;
        return;
      }
      const method = this.filtered ? methodOf(data) : undefined;
      if (this.decide('drop', dir, method)) {
        this.stats.framesDropped++;
        return;
      }
      const copies = this.decide('dup', dir, method) ? 2 : 1;
      if (copies === 2) this.stats.framesDuplicated++;
      // Frames keep their order per direction, whatever the jitter.
      const dueAt = Math.max(chains.get(to) ?? 0, Date.now() + this.delayMs(dir));
      chains.set(to, dueAt);
      const send = (): void => {
        for (let i = 0; i < copies; i++) {
          if (to.readyState === WebSocket.OPEN) {
            to.send(data, { binary: isBinary });
            this.stats.framesForwarded++;
          }
        }
      };
      this.later(dueAt - Date.now(), send);
    };
    client.on('message', (data, isBinary) => forward(upstream, data, isBinary));
    upstream.on('message', (data, isBinary) => forward(client, data, isBinary));
    const end = (other: WebSocket, code: number): void => {
      this.sockets.delete(client);
      this.sockets.delete(upstream);
      if (other.readyState === WebSocket.OPEN) other.close(code === 1005 || code === 1006 ? 1001 : code);
      else other.terminate();
    };
    client.on('close', (code) => end(upstream, code));
    upstream.on('close', (code) => end(client, code));
    client.on('error', () => client.terminate());
    upstream.on('error', () => upstream.terminate());
  }

  /** @internal One proxied HTTP request. */
  handleHttp(req: IncomingMessage, res: ServerResponse): void {
    this.stats.httpRequests++;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => this.decideHttp(req, res, Buffer.concat(chunks)));
  }

  private decideHttp(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const method = methodOf(body);
    const session = req.headers['mcp-session-id'];
    const nf = this.notFound;
    if (
      nf &&
      nf.remaining > 0 &&
      typeof session === 'string' &&
      (nf.session === undefined || nf.session === session) &&
      matches(nf.method, method) &&
      this.count()
    ) {
      nf.remaining--;
      this.stats.statusesInjected++;
      res
        .writeHead(404, { 'Content-Type': 'application/json' })
        .end(
          JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }),
        );
      return;
    }
    const rule = this.statusRules.find((r) => r.remaining > 0 && matches(r.method, method));
    if (rule && this.count()) {
      rule.remaining--;
      this.stats.statusesInjected++;
      res
        .writeHead(rule.status, {
          'Content-Type': 'text/plain',
          ...(rule.retryAfterS !== undefined ? { 'Retry-After': String(rule.retryAfterS) } : {}),
        })
        .end(`fault proxy: ${rule.status}`);
      return;
    }
    if (this.holeOn && this.count()) {
      this.stats.blackholed++;
      this.held.add(res);
      res.on('close', () => this.held.delete(res));
      return;
    }
    if (this.decide('drop', 'toServer', method)) {
      this.stats.framesDropped++;
      req.socket.destroy();
      return;
    }
    const copies = req.method === 'POST' && this.decide('dup', 'toServer', method) ? 2 : 1;
    if (copies === 2) this.stats.framesDuplicated++;
    this.later(this.delayMs('toServer'), () => {
      for (let i = 0; i < copies; i++) this.forwardHttp(req, body, i === 0 ? res : undefined);
    });
  }

  /** @internal Tracks an HTTP socket so `cut()` can destroy it. */
  trackHttpSocket(socket: Socket): void {
    this.httpSockets.add(socket);
    socket.once('close', () => this.httpSockets.delete(socket));
  }

  private forwardHttp(req: IncomingMessage, body: Buffer, res: ServerResponse | undefined): void {
    const headers = { ...req.headers, host: this.target.host };
    const upstream = httpRequest(
      {
        host: this.target.hostname,
        port: this.target.port,
        path: req.url,
        method: req.method,
        headers,
        agent: this.upstreamAgent,
      },
      (up) => {
        if (!res) return void up.resume();
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        res.on('close', () => up.destroy());
      },
    );
    upstream.on('error', () => {
      if (res && !res.headersSent) res.writeHead(502).end();
      else res?.destroy();
    });
    upstream.end(body);
  }

  private release(res: ServerResponse): void {
    this.held.delete(res);
    res.destroy();
  }

  private random(dir: Direction): number {
    const [value, next] = nextRandom(this.rng[dir]);
    this.rng[dir] = next;
    return value;
  }

  private delayMs(dir: Direction): number {
    return this.latencyMs + (this.jitterMs > 0 ? Math.floor(this.random(dir) * this.jitterMs) : 0);
  }

  /** One seeded decision; true (and counted) when the fault applies and the budget allows it. */
  private decide(kind: 'drop' | 'dup', dir: Direction, method: string | undefined): boolean {
    if (!matches(kind === 'drop' ? this.dropMethod : this.dupMethod, method)) return false;
    const next = kind === 'drop' ? this.dropNextN : this.dupNextN;
    const p = kind === 'drop' ? this.dropP : this.dupP;
    let hit = false;
    if (next > 0) {
      hit = true;
      if (kind === 'drop') this.dropNextN--;
      else this.dupNextN--;
    } else if (p > 0) hit = this.random(dir) < p;
    return hit && this.count();
  }

  private count(): boolean {
    if (this.stats.faults >= this.maxFaults) return false;
    this.stats.faults++;
    return true;
  }

  private later(ms: number, fn: () => void): void {
    if (ms <= 0) {
      fn();
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }
}

/** Which frames a drop/duplicate rule applies to: the next `n`, or each with probability `p`; only JSON-RPC `method` when given. */
export interface FaultSpec {
  next?: number;
  probability?: number;
  /** Only frames (or POST bodies) carrying this JSON-RPC method, e.g. `tools/call`. */
  method?: string;
}

function matches(wanted: string | undefined, method: string | undefined): boolean {
  return wanted === undefined || wanted === method;
}

/** The JSON-RPC method of a frame or body (first of a batch), if any. */
function methodOf(data: WebSocket.RawData | Buffer): string | undefined {
  try {
    const text = Array.isArray(data) ? Buffer.concat(data).toString() : data.toString();
    const parsed = JSON.parse(text) as { method?: unknown } | Array<{ method?: unknown }>;
    const first = Array.isArray(parsed) ? parsed[0] : parsed;
    return typeof first?.method === 'string' ? first.method : undefined;
  } catch {
    return undefined;
  }
}

function nonNegative(value: number, field: string): number {
  if (!Number.isFinite(value) || value < 0)
    throw new ValidationError(`${field} must be a finite number >= 0`, field);
  return value;
}

function probability(value: number): number {
  if (!(value >= 0 && value <= 1))
    throw new ValidationError('probability must be within [0, 1]', 'probability');
  return value;
}

/**
 * Starts a fault proxy on 127.0.0.1 in front of `target` (WebSocket and HTTP on one port).
 *
 * @example
 * const proxy = await createFaultProxy({ target: demo.wsUrl, seed: 7 });
 * const rt = createRuntime({ servers: { demo: { url: proxy.url } } });
 * proxy.latency(50).drop({ probability: 0.05 });
 * proxy.schedule([{ atMs: 1_000, apply: (p) => p.cut() }]);
 * await proxy.close();
 */
export async function createFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  let target: URL;
  try {
    target = new URL(options.target);
  } catch (cause) {
    throw new ValidationError(`target is not a URL: ${options.target}`, 'target', { cause });
  }
  if (!['ws:', 'http:'].includes(target.protocol)) {
    throw new ValidationError(
      'target must be a ws:// or http:// URL (the proxy is loopback plain text)',
      'target',
    );
  }
  const upstreamBase = `ws://${target.host}`;
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (p) => [...p][0] ?? false,
  });
  let proxy!: FaultProxy;
  const server = createServer((req, res) => proxy.handleHttp(req, res));
  server.on('connection', (socket) => proxy.trackHttpSocket(socket));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const protocols = (req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    const upstream = new WebSocket(`${upstreamBase}${req.url ?? '/'}`, protocols, {
      headers: req.headers.authorization ? { authorization: req.headers.authorization } : {},
    });
    upstream.once('open', () => {
      wss.handleUpgrade(req, socket, head, (client) => proxy.relayWebSocket(client, upstream));
    });
    upstream.once('unexpected-response', (_r, response) => {
      socket.end(
        `HTTP/1.1 ${response.statusCode ?? 502} Upstream refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
      );
      upstream.terminate();
    });
    upstream.once('error', () => {
      if (!socket.destroyed)
        socket.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (cause) {
    throw new ConnectionLostError(`fault proxy cannot listen: ${(cause as Error).message}`, { cause });
  }
  proxy = new FaultProxy(server, wss, target, options.maxFaults ?? 10_000, options.seed ?? 1);
  return proxy;
}

/**
 * Helpers of the chaos suite: the counting demo server as a child process (SIGKILL and restart on
 * the same ports), a seeded PRNG, outcome bookkeeping, and the open-handle check.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMcpRuntimeError } from '../../src/index.js';

const ROOT_DIR = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = fileURLToPath(new URL('./counting-demo-server.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** The counting demo server in a child process; URLs stay the same across `restart()`. */
export interface CountingServer {
  readonly wsUrl: string;
  readonly httpUrl: string;
  /** SIGKILLs the process and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts it again on the same ports. */
  restart(): Promise<void>;
  /** SIGTERM; waits for the exit. */
  stop(): Promise<void>;
  /** Executions of `counter` by call id, over every process lifetime, from the execution log. */
  executions(): Map<string, number>;
  /** Executions logged since the last process start. */
  executionsSinceLastStart(): number;
}

interface Started {
  child: ChildProcess;
  wsUrl: string;
  httpUrl: string;
  exited: Promise<void>;
}

function start(log: string, wsPort: number, httpPort: number): Promise<Started> {
  const child = spawn(
    process.execPath,
    ['--import', TSX, ENTRY, '--ws-port', String(wsPort), '--http-port', String(httpPort)],
    { cwd: ROOT_DIR, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CHAOS_COUNTER_LOG: log } },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise<Started>((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`counting demo server did not start within 15 s\n${err}`));
    }, 15_000);
    child.stderr?.setEncoding('utf8').on('data', (c: string) => {
      err += c;
    });
    child.stdout?.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      const line = JSON.parse(out.slice(0, nl)) as { wsUrl: string; httpUrl: string };
      resolve({ child, wsUrl: line.wsUrl, httpUrl: line.httpUrl, exited });
    });
  });
}

/** Spawns the counting demo server, logging executions to `log` (a fresh file path). */
export async function spawnCountingServer(log: string): Promise<CountingServer> {
  let current = await start(log, 0, 0);
  const wsPort = Number(new URL(current.wsUrl).port);
  const httpPort = Number(new URL(current.httpUrl).port);
  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    const { child, exited } = current;
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    await exited;
  };
  const lines = (): string[] =>
    readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0);
  return {
    get wsUrl() {
      return current.wsUrl;
    },
    get httpUrl() {
      return current.httpUrl;
    },
    kill: () => signal('SIGKILL'),
    stop: () => signal('SIGTERM'),
    async restart() {
      await signal('SIGKILL');
      current = await start(log, wsPort, httpPort);
    },
    executions() {
      const byId = new Map<string, number>();
      for (const l of lines()) if (!l.startsWith('start ')) byId.set(l, (byId.get(l) ?? 0) + 1);
      return byId;
    },
    executionsSinceLastStart() {
      const all = lines();
      let n = 0;
      for (let i = all.length - 1; i >= 0 && !all[i]!.startsWith('start '); i--) n++;
      return n;
    },
  };
}

/** A small seeded PRNG (mulberry32): the same seed gives the same schedule and the same load. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** One call's outcome, recorded when (and each time) its promise settles. */
export interface Outcome {
  id: string;
  server: string;
  op: string;
  idempotent: boolean;
  ok: boolean;
  code?: string;
  /** The error's message, for a failing assertion to show. */
  message?: string;
  /** A REMOTE error's JSON-RPC code, or its HTTP status when the answer was not JSON-RPC. */
  rpcCode?: number;
  settledTimes: number;
}

/** Bookkeeping of every call made: each settles exactly once. */
export class CallLedger {
  readonly outcomes = new Map<string, Outcome>();
  private readonly pending = new Set<Promise<unknown>>();
  private next = 0;

  /** Runs `call`, recording how it settled; resolves with the outcome, never rejects. */
  track(
    server: string,
    op: string,
    idempotent: boolean,
    call: (id: string) => Promise<unknown>,
  ): Promise<Outcome> {
    const id = `c${++this.next}`;
    const o: Outcome = { id, server, op, idempotent, ok: false, settledTimes: 0 };
    this.outcomes.set(id, o);
    let p: Promise<unknown>;
    try {
      p = call(id);
    } catch (error) {
      p = Promise.reject(error);
    }
    const done = p.then(
      () => {
        o.settledTimes++;
        o.ok = true;
      },
      (error: unknown) => {
        o.settledTimes++;
        o.code = isMcpRuntimeError(error) ? error.code : `NOT_A_RUNTIME_ERROR: ${String(error)}`;
        o.message = error instanceof Error ? error.message : String(error);
        if (isMcpRuntimeError(error, 'REMOTE')) o.rpcCode = error.rpcCode;
      },
    );
    this.pending.add(done);
    void done.then(() => this.pending.delete(done));
    return done.then(() => o);
  }

  /** Resolves when every call made so far has settled. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  get size(): number {
    return this.outcomes.size;
  }

  /** Outcomes matching `filter`. */
  where(filter: (o: Outcome) => boolean): Outcome[] {
    return [...this.outcomes.values()].filter(filter);
  }

  /** Counts by `code` (ok calls under `ok`). */
  codes(filter: (o: Outcome) => boolean = () => true): Record<string, number> {
    const out: Record<string, number> = {};
    for (const o of this.where(filter)) {
      const k = o.ok ? 'ok' : (o.code ?? '?');
      out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  }
}

/** The active handles and requests, as a multiset of kinds. */
export function activeResources(): Map<string, number> {
  const m = new Map<string, number>();
  for (const k of process.getActiveResourcesInfo()) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

/**
 * Kinds with more live instances now than in `baseline` (empty when back to baseline). TCP sockets
 * to `ignoreRemotePorts` are not counted: the test's own infrastructure (a fault proxy's keep-alive
 * connections to the server it fronts), not the runtime's.
 */
export function leakedSince(
  baseline: Map<string, number>,
  ignoreRemotePorts: number[] = [],
): Record<string, number> {
  const out: Record<string, number> = {};
  const ignored =
    ignoreRemotePorts.length === 0
      ? 0
      : openSockets().filter((s) => ignoreRemotePorts.includes(s.remotePort ?? -1)).length;
  for (const [k, n] of activeResources()) {
    const extra = n - (baseline.get(k) ?? 0) - (k === 'TCPSocketWrap' ? ignored : 0);
    if (extra > 0) out[k] = extra;
  }
  return out;
}

/** Waits (bounded) for the active handles to come back to `baseline`; returns what is left over. */
export async function waitForBaseline(
  baseline: Map<string, number>,
  options: { maxMs?: number; ignoreRemotePorts?: number[] } = {},
): Promise<Record<string, number>> {
  const until = Date.now() + (options.maxMs ?? 3_000);
  let leaked = leakedSince(baseline, options.ignoreRemotePorts);
  while (Object.keys(leaked).length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 25));
    leaked = leakedSince(baseline, options.ignoreRemotePorts);
  }
  // The polling timer itself has fired and gone. A leak names its sockets' ends, so a failure says
  // whose they are (the runtime's, a proxy's, or a server connection of the test's own).
  if (leaked.TCPSocketWrap) {
    const ends = openSockets().map(
      (s) => `${s.localPort}->${s.remotePort ?? '?'}${s.connecting ? ' (connecting)' : ''}`,
    );
    leaked[`sockets: ${ends.join(', ')}`] = 0;
  }
  return leaked;
}

/** The open TCP sockets of this process. */
function openSockets(): Socket[] {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((h): h is Socket => h instanceof Socket && !h.destroyed);
}

/** Resolves after `ms` of real time (pacing the load and the fault schedule, never a timer test). */
export function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** One kind of fault the schedule injects. */
export interface Fault {
  name: string;
  /** Applies the fault; resolves when it is in place (a restart resolves once the server is back). */
  apply: () => Promise<void> | void;
  /** How long it stays before everything is reset. */
  holdMs: number;
}

/** A running fault schedule: the load goes on while `loadOn()`. */
export interface FaultSchedule {
  /** Names of the faults injected so far, in order. */
  readonly injected: string[];
  loadOn(): boolean;
  /** Resolves when the schedule has ended (and the load should stop). */
  readonly done: Promise<void>;
}

/**
 * Injects a seeded deck (every kind once per round, 3 rounds, in a seeded order), one fault at a
 * time, resetting after each. Runs at least `minLoadMs` and one full round, never past `hardStopMs`.
 */
export function runFaultSchedule(options: {
  faults: readonly Fault[];
  rand: () => number;
  minLoadMs: number;
  hardStopMs: number;
  reset: () => void;
}): FaultSchedule {
  const { faults, rand } = options;
  const deck: Fault[] = [];
  for (let round = 0; round < 3; round++) {
    const shuffled = [...faults];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    deck.push(...shuffled);
  }
  const startedAt = Date.now();
  const injected: string[] = [];
  let on = true;
  const done = (async () => {
    for (const fault of deck) {
      await pause(150 + Math.floor(rand() * 250));
      const elapsedMs = Date.now() - startedAt;
      if (
        (elapsedMs >= options.minLoadMs && injected.length >= faults.length) ||
        elapsedMs >= options.hardStopMs
      )
        break;
      injected.push(fault.name);
      await fault.apply();
      await pause(fault.holdMs);
      options.reset();
    }
    on = false;
  })();
  return { injected, loadOn: () => on, done };
}

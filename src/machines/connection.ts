/**
 * The Connection machine: one transport to one MCP server.
 *
 *   idle → connecting → negotiating → ready ⇄ reconnecting → failed | closed
 *
 * `negotiating` picks the protocol era of the server (MCP 2026-07-28 is stateless, with
 * `server/discover`; 2025-11-25 and older use `initialize` and sessions):
 *
 *   choosing ─ legacy wanted or known ─────────────► initializing (the 2025 handshake)
 *            ─ modern verdict known (cached/restored) ► adopting (no round trip)
 *            ─ otherwise ────────────────────────────► discovering (server/discover; a legacy
 *                                                       answer falls back to initialize)
 *
 * The verdict is kept in context, so reconnects skip the probe; a refused version or a missing
 * MCP endpoint is permanent (`failed` at once, no reconnect loop). Over a stream (WebSocket,
 * stdio) adopting a modern verdict needs no message, so `openTransport` does it as it opens and
 * `connecting` goes straight to `ready`; over HTTP, `adopting` sends one `server/discover`.
 *
 * Pure: it decides WHEN to open, initialise, ping, back off and give up; the actor layer
 * (`src/actors/server-connection.ts`) provides the I/O actors (`openTransport`, `negotiateSession`,
 * `ping`, `closeTransport`) and the `disposeTransport` action with `machine.provide()`.
 *
 * Backoff is exponential with full jitter (delay = random(0, min(cap, initial × factor^(attempt-1)))).
 * The random numbers come from a seeded PRNG kept in context, so a run is reproducible from its
 * input and a snapshot carries everything. The retry deadline is a timestamp in context.
 *
 * Calls waiting (`CALLS_WAITING`): a backoff that grew while nobody waited must not keep a caller
 * waiting after the server is back. When the pending retry is further out than the first step, it
 * is rescheduled within the first step: never sooner than half of `initialDelayMs` after the last
 * failure (a bound on the attempt rate), plus full jitter over the other half, so the clients of a
 * fleet that lost a server together do not retry in lockstep.
 * A hurried attempt does not count towards `maxAttempts` (the give-up time stays that of the plain
 * backoff, which resumes at the step it had reached).
 */
import { assign, fromPromise, setup } from 'xstate';
import { nextRandom } from './random.js';

/** Reconnect policy: exponential backoff with full jitter, bounded attempts. */
export interface BackoffPolicy {
  /** Upper bound of the first delay. */
  initialDelayMs: number;
  /** Growth of the upper bound per attempt. */
  factor: number;
  /** Cap of the upper bound. */
  maxDelayMs: number;
  /** Consecutive failed attempts before the machine gives up (`failed`). */
  maxAttempts: number;
  /** Full jitter (default) or the plain exponential delay (deterministic, for benchmarks and tests). */
  jitter: boolean;
}

/**
 * Liveness policy: a probe every `intervalMs` while ready; `maxMissed` missed answers declare the
 * peer dead. The probe is an MCP `ping` on 2025 servers and a WebSocket ping frame on 2026 ones
 * (the revision has no `ping`); over stateless HTTP or stdio the next request is the probe.
 */
export interface HeartbeatPolicy {
  /** 0 disables the heartbeat. */
  intervalMs: number;
  timeoutMs: number;
  maxMissed: number;
}

/** A serialisable summary of the last error (the Error object itself stays in the actor layer). */
export interface ConnectionErrorSummary {
  code: string;
  message: string;
  /** Reconnecting cannot fix it (no such command, no MCP endpoint, a refused protocol version). */
  permanent?: boolean;
  /** The failure shows the server is a legacy (2025) one: the next attempt initializes directly. */
  legacyHint?: boolean;
}

/** Which protocol era(s) a server may be spoken to in (config `protocol`). */
export type ProtocolPreference = 'auto' | '2026-07-28' | '2025-11-25';

/** The protocol era: `modern` = 2026-07-28 and later (stateless), `legacy` = 2025-11-25 and older. */
export type ProtocolEra = 'modern' | 'legacy';

/** How the connection checks that a ready peer is alive. */
export type Liveness = 'mcp-ping' | 'ws-ping' | 'none';

/** A negotiated era, kept per server so reconnects (and restored runtimes) skip the probe. */
export interface EraVerdict {
  era: ProtocolEra;
  protocolVersion: string;
}

/** How the negotiating state talks to the server this time. */
export type NegotiationMode = 'discover' | 'adopt' | 'initialize';

/** What the handshake negotiated, as the connection saw it. */
export interface SessionInfo {
  /** The negotiated protocol revision (`2026-07-28`, `2025-11-25`, ...). */
  protocolVersion: string;
  era: ProtocolEra;
  /** The liveness probe this session supports. */
  liveness: Liveness;
  serverName: string;
  serverVersion: string;
  instructions: string | undefined;
  sessionId: string | undefined;
}

/** Input of the connection machine. */
export interface ConnectionInput {
  server: string;
  backoff: BackoffPolicy;
  heartbeat: HeartbeatPolicy;
  connectTimeoutMs: number;
  initializeTimeoutMs: number;
  /** Seed of the jitter PRNG. */
  seed: number;
  /** Era preference (default `auto`). */
  protocol?: ProtocolPreference;
  /** A verdict learned earlier (restored from `persist()`). */
  verdict?: EraVerdict | null;
  /** Start connecting at once (otherwise wait for CONNECT). */
  autoConnect?: boolean;
}

/** Context of the connection machine. */
export interface ConnectionContext {
  server: string;
  backoff: BackoffPolicy;
  heartbeat: HeartbeatPolicy;
  connectTimeoutMs: number;
  initializeTimeoutMs: number;
  /** Consecutive failed attempts since the last time the connection was ready. */
  attempt: number;
  /** Delay chosen for the pending retry. */
  retryDelayMs: number;
  /** Timestamp (ms since epoch) at which the pending retry fires; null when none is pending. */
  retryAt: number | null;
  /** When the pending retry was scheduled (the last failure): hurried retries keep a gap from it. */
  retryFromMs: number;
  /** The pending retry was hurried by CALLS_WAITING: its failure does not count as an attempt. */
  hurried: boolean;
  missedPongs: number;
  rngState: number;
  lastError: ConnectionErrorSummary | null;
  session: SessionInfo | null;
  /** Times the connection became ready (1 = first connect, more = reconnects). */
  readyCount: number;
  autoConnect: boolean;
  protocol: ProtocolPreference;
  /** The era verdict learned (or restored) for this server; null until known. */
  verdict: EraVerdict | null;
}

/** Events the connection machine accepts. */
export type ConnectionEvent =
  | { type: 'CONNECT' }
  | { type: 'RETRY' }
  | { type: 'CLOSE' }
  | { type: 'TRANSPORT_CLOSED'; error: ConnectionErrorSummary; fatal?: boolean }
  /** Calls are waiting for this connection: a grown backoff is cut to the first step (see above). */
  | { type: 'CALLS_WAITING' };

/** Every reconnect attempt the backoff policy allows was made. */
function attemptsExhausted(context: ConnectionContext): boolean {
  return context.attempt >= context.backoff.maxAttempts;
}

/** Error codes after which retrying cannot help (a new config or token is needed). */
const FATAL_CODES: ReadonlySet<string> = new Set(['AUTH', 'CONFIG']);

function summarise(error: unknown): ConnectionErrorSummary {
  if (error && typeof error === 'object') {
    const e = error as { code?: unknown; message?: unknown; permanent?: unknown; legacyHint?: unknown };
    const summary: ConnectionErrorSummary = {
      code: typeof e.code === 'string' ? e.code : 'CONNECTION_LOST',
      message: typeof e.message === 'string' ? e.message : String(error),
      ...(e.permanent === true ? { permanent: true } : {}),
      ...(e.legacyHint === true ? { legacyHint: true } : {}),
    };
    // The error itself rides along, not enumerable: snapshots and persist() stay plain data, and
    // the actor layer can give it as the `cause` of the error a caller gets.
    Object.defineProperty(summary, SUMMARISED_ERROR, { value: error, enumerable: false });
    return summary;
  }
  return { code: 'CONNECTION_LOST', message: String(error) };
}

const SUMMARISED_ERROR = Symbol('mcp-actors.summarisedError');

/** The error a summary was made from, when it was an object (for `cause`). */
export function summarisedError(summary: ConnectionErrorSummary | null | undefined): unknown {
  return summary ? (summary as { [SUMMARISED_ERROR]?: unknown })[SUMMARISED_ERROR] : undefined;
}

/** A modern verdict is known (cached, restored) and not overridden: no handshake round trip. */
function hasModernVerdict(context: ConnectionContext): boolean {
  return context.protocol !== '2025-11-25' && context.verdict?.era === 'modern';
}

/** The handshake `negotiating.choosing` picks for this context, named for messages. */
function handshakeStep(context: ConnectionContext): string {
  if (context.protocol === '2025-11-25' || (context.protocol === 'auto' && context.verdict?.era === 'legacy'))
    return 'initialize';
  if (context.verdict?.era === 'modern') return 'the handshake';
  return 'server/discover';
}

/** Upper bound of the backoff window for the given attempt (1-based). */
export function backoffCeilingMs(policy: BackoffPolicy, attempt: number): number {
  const raw = policy.initialDelayMs * policy.factor ** Math.max(0, attempt - 1);
  return Math.min(policy.maxDelayMs, raw);
}

/** The least time between a failed attempt and a retry hurried by waiting calls. */
export function minRetryGapMs(policy: BackoffPolicy): number {
  return Math.floor(backoffCeilingMs(policy, 1) / 2);
}

/**
 * A negotiation substate that runs on a verdict (cached, restored or pinned): `adopting` and
 * `initializing` differ only in the mode. A permanent failure of a cached verdict in `auto`
 * forgets it (the server may have changed era) and probes again on the next attempt.
 */
function negotiationOnVerdict(mode: 'adopt' | 'initialize') {
  return {
    invoke: {
      id: 'negotiateSession',
      src: 'negotiateSession',
      input: ({ context }: { context: ConnectionContext }) => ({
        server: context.server,
        mode,
        protocol: context.protocol,
      }),
      onDone: { target: '#connection.ready', actions: 'markReady' },
      onError: [
        {
          guard: 'cachedVerdictFailed',
          target: '#connection.reconnecting',
          actions: ['recordError', 'forgetVerdict'],
        },
        {
          guard: 'isFatalError',
          target: '#connection.failed',
          actions: ['recordError', 'disposeTransport'],
        },
        { target: '#connection.reconnecting', actions: 'recordError' },
      ],
    },
  } as const;
}

/** The connection statechart. Provide the I/O actors with `connectionMachine.provide(...)`. */
export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
    input: {} as ConnectionInput,
  },
  actors: {
    /**
     * Opens the transport (socket handshake, child process spawn). With `adopt` (a modern verdict is
     * known), where adopting it is local (a stream: no round trip) it adopts it in the same step and
     * resolves with the session, so a reconnect goes straight to `ready`; otherwise (or when that
     * adoption failed, which `adopting` then reports) it resolves with nothing and `negotiating`
     * runs the handshake. Provided by the actor layer.
     */
    openTransport: fromPromise<SessionInfo | undefined, { server: string; attempt: number; adopt: boolean }>(
      async () => {
        throw new Error('openTransport not provided');
      },
    ),
    /**
     * Runs the handshake of the chosen mode on the open transport (`discover`: server/discover with
     * fallback to initialize for a legacy answer; `adopt`: the known modern verdict, no round trip;
     * `initialize`: the 2025 handshake). Provided by the actor layer.
     */
    negotiateSession: fromPromise<
      SessionInfo,
      { server: string; mode: NegotiationMode; protocol: ProtocolPreference }
    >(async () => {
      throw new Error('negotiateSession not provided');
    }),
    /** Sends one liveness probe (MCP ping or WebSocket ping frame) and resolves on the answer. */
    ping: fromPromise<void, { server: string; timeoutMs: number; liveness: Liveness }>(async () => {
      throw new Error('ping not provided');
    }),
    /** Closes the transport for good. Provided by the actor layer. */
    closeTransport: fromPromise<void, { server: string }>(async () => {}),
  },
  actions: {
    /** Tear down whatever transport is left (I/O; provided by the actor layer). */
    disposeTransport: () => {},
    recordError: assign({
      lastError: ({ event }) => summarise('error' in event ? event.error : event),
    }),
    recordConnectTimeout: assign({
      lastError: ({ context }) => ({
        code: 'TIMEOUT',
        message: `Connecting to ${context.server} took longer than ${context.connectTimeoutMs} ms`,
      }),
    }),
    recordInitializeTimeout: assign({
      lastError: ({ context }) => ({
        code: 'TIMEOUT',
        message: `${handshakeStep(context)} on ${context.server} took longer than ${context.initializeTimeoutMs} ms`,
      }),
    }),
    /** The server closed on the discovery probe (a legacy stdio server): initialize next time. */
    recordLegacyHint: assign({
      verdict: ({ context, event }) =>
        summarise('error' in event ? event.error : undefined).legacyHint
          ? { era: 'legacy' as const, protocolVersion: 'unknown' }
          : context.verdict,
    }),
    /** A cached verdict failed the handshake: the server may have changed era; probe again. */
    forgetVerdict: assign({ verdict: null }),
    recordPeerDead: assign({
      lastError: ({ context }) => ({
        code: 'CONNECTION_LOST',
        message: `${context.server} missed ${context.missedPongs} heartbeat pings in a row`,
      }),
    }),
    scheduleRetry: assign(({ context }) => {
      // A hurried attempt that failed leaves the plain backoff where it was (see the header).
      const attempt = context.hurried ? context.attempt : context.attempt + 1;
      const ceiling = backoffCeilingMs(context.backoff, attempt);
      const [r, rngState] = nextRandom(context.rngState);
      const retryDelayMs = context.backoff.jitter ? Math.floor(r * ceiling) : Math.floor(ceiling);
      const nowMs = Date.now();
      return {
        attempt,
        retryDelayMs,
        retryAt: nowMs + retryDelayMs,
        retryFromMs: nowMs,
        hurried: false,
        rngState,
        missedPongs: 0,
      };
    }),
    hurryRetry: assign(({ context }) => {
      const gapMs = minRetryGapMs(context.backoff);
      const spreadMs = backoffCeilingMs(context.backoff, 1) - gapMs;
      const [r, rngState] = nextRandom(context.rngState);
      const jittered = context.backoff.jitter ? Math.floor(r * spreadMs) : Math.floor(spreadMs);
      const nowMs = Date.now();
      const retryAt = Math.max(nowMs, context.retryFromMs + gapMs) + jittered;
      return { retryAt, retryDelayMs: retryAt - nowMs, rngState, hurried: true };
    }),
    clearRetry: assign({ retryAt: null }),
    markReady: assign({
      attempt: 0,
      hurried: false,
      missedPongs: 0,
      retryAt: null,
      lastError: null,
      readyCount: ({ context }) => context.readyCount + 1,
      session: ({ event }) => (event as unknown as { output: SessionInfo }).output,
      verdict: ({ event }) => {
        const info = (event as unknown as { output: SessionInfo }).output;
        return { era: info.era, protocolVersion: info.protocolVersion };
      },
    }),
    resetAttempts: assign({ attempt: 0, hurried: false, lastError: null }),
    resetMissedPongs: assign({ missedPongs: 0 }),
    countMissedPong: assign({ missedPongs: ({ context }) => context.missedPongs + 1 }),
  },
  guards: {
    shouldAutoConnect: ({ context }) => context.autoConnect,
    attemptsExhausted: ({ context }) => attemptsExhausted(context),
    isFatalError: ({ event }) => {
      if (event.type === 'TRANSPORT_CLOSED' && event.fatal) return true;
      const error = summarise('error' in event ? event.error : undefined);
      return error.permanent === true || FATAL_CODES.has(error.code);
    },
    /** The handshake failed on a verdict we had cached, in `auto`: the server may have changed era. */
    cachedVerdictFailed: ({ context, event }) => {
      if (context.protocol !== 'auto' || context.verdict === null) return false;
      const error = summarise('error' in event ? event.error : undefined);
      return error.permanent === true && !FATAL_CODES.has(error.code);
    },
    wantsLegacy: ({ context }) =>
      context.protocol === '2025-11-25' || (context.protocol === 'auto' && context.verdict?.era === 'legacy'),
    hasModernVerdict: ({ context }) => hasModernVerdict(context),
    /** The transport opened with the known modern verdict adopted (see `openTransport`). */
    adoptedOnOpen: ({ context, event }) =>
      hasModernVerdict(context) && (event as { output?: SessionInfo }).output !== undefined,
    heartbeatEnabled: ({ context }) =>
      context.heartbeat.intervalMs > 0 && (context.session?.liveness ?? 'none') !== 'none',
    peerDead: ({ context }) => context.missedPongs + 1 >= context.heartbeat.maxMissed,
    /** A retry due now; not when attempts are exhausted (the parent's `failed` must win). */
    noRetryDelay: ({ context }) => context.retryDelayMs === 0 && !attemptsExhausted(context),
    /** The pending retry is further out than any first-step retry would be. */
    backoffGrown: ({ context }) =>
      context.retryAt !== null && context.retryAt - Date.now() > backoffCeilingMs(context.backoff, 1),
  },
  delays: {
    retryBackoff: ({ context }) => context.retryDelayMs,
    heartbeatInterval: ({ context }) => context.heartbeat.intervalMs,
    connectTimeout: ({ context }) => context.connectTimeoutMs,
    initializeTimeout: ({ context }) => context.initializeTimeoutMs,
  },
}).createMachine({
  id: 'connection',
  context: ({ input }) => ({
    server: input.server,
    backoff: input.backoff,
    heartbeat: input.heartbeat,
    connectTimeoutMs: input.connectTimeoutMs,
    initializeTimeoutMs: input.initializeTimeoutMs,
    attempt: 0,
    retryDelayMs: 0,
    retryAt: null,
    retryFromMs: 0,
    hurried: false,
    missedPongs: 0,
    rngState: input.seed >>> 0,
    lastError: null,
    session: null,
    readyCount: 0,
    autoConnect: input.autoConnect ?? false,
    protocol: input.protocol ?? 'auto',
    verdict: input.verdict ?? null,
  }),
  initial: 'idle',
  on: {
    CLOSE: { target: '.closing' },
  },
  states: {
    idle: {
      always: { guard: 'shouldAutoConnect', target: 'connecting' },
      on: { CONNECT: { target: 'connecting' } },
    },
    connecting: {
      invoke: {
        id: 'openTransport',
        src: 'openTransport',
        input: ({ context }) => ({
          server: context.server,
          attempt: context.attempt,
          adopt: hasModernVerdict(context),
        }),
        onDone: [
          { guard: 'adoptedOnOpen', target: 'ready', actions: 'markReady' },
          { target: 'negotiating' },
        ],
        onError: [
          { guard: 'isFatalError', target: 'failed', actions: ['recordError', 'disposeTransport'] },
          { target: 'reconnecting', actions: 'recordError' },
        ],
      },
      after: {
        connectTimeout: { target: 'reconnecting', actions: 'recordConnectTimeout' },
      },
      on: {
        TRANSPORT_CLOSED: [
          { guard: 'isFatalError', target: 'failed', actions: ['recordError', 'disposeTransport'] },
          { target: 'reconnecting', actions: 'recordError' },
        ],
      },
    },
    negotiating: {
      initial: 'choosing',
      after: {
        initializeTimeout: { target: 'reconnecting', actions: 'recordInitializeTimeout' },
      },
      on: {
        TRANSPORT_CLOSED: [
          { guard: 'isFatalError', target: 'failed', actions: ['recordError', 'disposeTransport'] },
          { target: 'reconnecting', actions: 'recordError' },
        ],
      },
      states: {
        choosing: {
          always: [
            { guard: 'wantsLegacy', target: 'initializing' },
            { guard: 'hasModernVerdict', target: 'adopting' },
            { target: 'discovering' },
          ],
        },
        discovering: {
          invoke: {
            id: 'negotiateSession',
            src: 'negotiateSession',
            input: ({ context }) => ({
              server: context.server,
              mode: 'discover',
              protocol: context.protocol,
            }),
            onDone: { target: '#connection.ready', actions: 'markReady' },
            onError: [
              {
                guard: 'isFatalError',
                target: '#connection.failed',
                actions: ['recordError', 'disposeTransport'],
              },
              { target: '#connection.reconnecting', actions: ['recordError', 'recordLegacyHint'] },
            ],
          },
        },
        adopting: negotiationOnVerdict('adopt'),
        initializing: negotiationOnVerdict('initialize'),
      },
    },
    ready: {
      initial: 'waiting',
      on: {
        TRANSPORT_CLOSED: [
          { guard: 'isFatalError', target: 'failed', actions: ['recordError', 'disposeTransport'] },
          { target: 'reconnecting', actions: 'recordError' },
        ],
      },
      states: {
        waiting: {
          after: {
            heartbeatInterval: { guard: 'heartbeatEnabled', target: 'pinging' },
          },
        },
        pinging: {
          invoke: {
            id: 'ping',
            src: 'ping',
            input: ({ context }) => ({
              server: context.server,
              timeoutMs: context.heartbeat.timeoutMs,
              liveness: context.session?.liveness ?? 'none',
            }),
            onDone: { target: 'waiting', actions: 'resetMissedPongs' },
            onError: [
              {
                guard: 'peerDead',
                target: '#connection.reconnecting',
                actions: ['countMissedPong', 'recordPeerDead'],
              },
              { target: 'waiting', actions: 'countMissedPong' },
            ],
          },
        },
      },
    },
    reconnecting: {
      entry: ['disposeTransport', 'scheduleRetry'],
      exit: 'clearRetry',
      always: { guard: 'attemptsExhausted', target: 'failed' },
      initial: 'backingOff',
      states: {
        // Re-entered by CALLS_WAITING, so its timer restarts with the hurried delay.
        backingOff: {
          // A delay of 0 (initialDelayMs: 0, or a jitter draw under 1 ms) goes at once: a 0 ms timer
          // is still a timer turn (about 1.5 ms measured) on the reconnect's critical path.
          always: { guard: 'noRetryDelay', target: '#connection.connecting' },
          after: {
            retryBackoff: { target: '#connection.connecting' },
          },
          on: {
            CALLS_WAITING: {
              guard: 'backoffGrown',
              target: 'backingOff',
              reenter: true,
              actions: 'hurryRetry',
            },
          },
        },
      },
    },
    failed: {
      on: {
        RETRY: { target: 'connecting', actions: 'resetAttempts' },
        CONNECT: { target: 'connecting', actions: 'resetAttempts' },
      },
    },
    closing: {
      entry: 'disposeTransport',
      invoke: {
        id: 'closeTransport',
        src: 'closeTransport',
        input: ({ context }) => ({ server: context.server }),
        onDone: { target: 'closed' },
        onError: { target: 'closed' },
      },
    },
    closed: {
      type: 'final',
    },
  },
});

/** The connection machine's state values, flattened (`ready` covers its heartbeat substates). */
export type ConnectionStateName =
  | 'idle'
  | 'connecting'
  | 'negotiating'
  | 'ready'
  | 'reconnecting'
  | 'failed'
  | 'closing'
  | 'closed';

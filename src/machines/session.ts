/**
 * The Session machine: the server-level MCP state that outlives connections.
 *
 *   idle → active ⇄ expired | suspended → restoring → active … → closed
 *
 * It holds what `initialize` negotiated (protocol version, capabilities, server info, instructions,
 * the Streamable HTTP session id), counts session generations, and keeps the set of active resource
 * subscriptions. It is driven by the connection actor's state CHANGES only (`CONNECTED` when the
 * connection becomes ready, `DISCONNECTED` when it leaves ready) and by `SESSION_EXPIRED` when a
 * request on the current session got HTTP 404; a healthy call never sends it an event.
 *
 * On `SESSION_EXPIRED` for the CURRENT generation it asks for one re-initialisation
 * (`requestReinitialize`, provided by the runtime: the connection reconnects); every later report
 * for the same (or an older) generation is ignored, so twenty callers that hit the 404 together
 * cause exactly one `initialize`. When a session comes back (after an expiry or a reconnect) it
 * invalidates the server's cache (`invalidateCache`) and re-subscribes every active subscription
 * (`resubscribe`) before it is `active` again.
 */
import { assign, fromPromise, setup } from 'xstate';
import type { SessionInfo } from './connection.js';

/** Why the current session was (re)established. */
export type SessionReason = 'initial' | 'expired' | 'reconnect';

/** Input of the session machine. */
export interface SessionInput {
  server: string;
}

/** A serialisable summary of the last restore failure. */
export interface SessionErrorSummary {
  code: string;
  message: string;
}

/** Context of the session machine. */
export interface SessionContext {
  server: string;
  /** Negotiated on the current (or last) session; null before the first `initialize`. */
  info: SessionInfo | null;
  /** The server's capabilities as it declared them in `initialize`. */
  capabilities: Record<string, unknown> | null;
  /** Sessions established so far (1 = the first one); a call remembers the generation it ran on. */
  generation: number;
  /** The generation that expired last (HTTP 404); 0 when none did. */
  expiredGeneration: number;
  /** Re-initialisations after an expiry or a reconnect. */
  reinitCount: number;
  reason: SessionReason;
  /** URIs with an active `resources/subscribe`, in subscription order. */
  subscriptions: string[];
  lastError: SessionErrorSummary | null;
}

/** Events the session machine accepts. */
export type SessionEvent =
  | { type: 'CONNECTED'; info: SessionInfo; capabilities: Record<string, unknown> | null }
  | { type: 'DISCONNECTED' }
  | { type: 'SESSION_EXPIRED'; generation: number }
  | { type: 'SUBSCRIBED'; uri: string }
  | { type: 'UNSUBSCRIBED'; uri: string }
  | { type: 'CLOSE' };

/** The session machine's state names. */
export type SessionStateName = 'idle' | 'active' | 'expired' | 'suspended' | 'restoring' | 'closed';

function summarise(error: unknown): SessionErrorSummary {
  const e = (error ?? {}) as { code?: unknown; message?: unknown };
  return {
    code: typeof e.code === 'string' ? e.code : 'PROTOCOL',
    message: typeof e.message === 'string' ? e.message : String(error),
  };
}

/** The session statechart. Provide `resubscribe`, `requestReinitialize` and `invalidateCache`. */
export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    events: {} as SessionEvent,
    input: {} as SessionInput,
  },
  actors: {
    /** Re-subscribes every URI on the new session. Provided by the runtime. */
    resubscribe: fromPromise<void, { server: string; uris: string[] }>(async () => {
      throw new Error('resubscribe not provided');
    }),
  },
  actions: {
    /** Forces a new connection + `initialize` (I/O; provided by the runtime). */
    requestReinitialize: () => {},
    /** Drops what the cache holds for this server (provided by the runtime). */
    invalidateCache: () => {},
    assignSession: assign(({ context, event }) => {
      const e = event as Extract<SessionEvent, { type: 'CONNECTED' }>;
      return {
        info: e.info,
        capabilities: e.capabilities,
        generation: context.generation + 1,
        lastError: null,
      };
    }),
    markInitial: assign({ reason: 'initial' as SessionReason }),
    markReinitialized: assign({
      reinitCount: ({ context }) => context.reinitCount + 1,
      reason: ({ context }) =>
        (context.expiredGeneration === context.generation - 1 ? 'expired' : 'reconnect') as SessionReason,
    }),
    recordExpired: assign({ expiredGeneration: ({ context }) => context.generation }),
    addSubscription: assign({
      subscriptions: ({ context, event }) => {
        const uri = (event as Extract<SessionEvent, { type: 'SUBSCRIBED' }>).uri;
        return context.subscriptions.includes(uri) ? context.subscriptions : [...context.subscriptions, uri];
      },
    }),
    removeSubscription: assign({
      subscriptions: ({ context, event }) => {
        const uri = (event as Extract<SessionEvent, { type: 'UNSUBSCRIBED' }>).uri;
        return context.subscriptions.filter((u) => u !== uri);
      },
    }),
    recordRestoreError: assign({
      lastError: ({ event }) => summarise((event as { error?: unknown }).error),
    }),
  },
  guards: {
    isCurrentGeneration: ({ context, event }) =>
      (event as Extract<SessionEvent, { type: 'SESSION_EXPIRED' }>).generation === context.generation,
  },
}).createMachine({
  id: 'session',
  context: ({ input }) => ({
    server: input.server,
    info: null,
    capabilities: null,
    generation: 0,
    expiredGeneration: 0,
    reinitCount: 0,
    reason: 'initial',
    subscriptions: [],
    lastError: null,
  }),
  initial: 'idle',
  on: {
    SUBSCRIBED: { actions: 'addSubscription' },
    UNSUBSCRIBED: { actions: 'removeSubscription' },
    CLOSE: { target: '.closed' },
  },
  states: {
    idle: {
      on: {
        CONNECTED: { target: 'active', actions: ['assignSession', 'markInitial'] },
      },
    },
    active: {
      on: {
        SESSION_EXPIRED: {
          guard: 'isCurrentGeneration',
          target: 'expired',
          actions: ['recordExpired', 'requestReinitialize'],
        },
        DISCONNECTED: { target: 'suspended' },
      },
    },
    expired: {
      on: {
        CONNECTED: {
          target: 'restoring',
          actions: ['assignSession', 'markReinitialized', 'invalidateCache'],
        },
      },
    },
    suspended: {
      on: {
        CONNECTED: {
          target: 'restoring',
          actions: ['assignSession', 'markReinitialized', 'invalidateCache'],
        },
      },
    },
    restoring: {
      invoke: {
        id: 'resubscribe',
        src: 'resubscribe',
        input: ({ context }) => ({ server: context.server, uris: context.subscriptions }),
        onDone: { target: 'active' },
        onError: { target: 'active', actions: 'recordRestoreError' },
      },
      on: {
        SESSION_EXPIRED: {
          guard: 'isCurrentGeneration',
          target: 'expired',
          actions: ['recordExpired', 'requestReinitialize'],
        },
        DISCONNECTED: { target: 'suspended' },
      },
    },
    closed: {
      type: 'final',
    },
  },
});

/**
 * The store a fleet of runtimes shares: a few atomic primitives (get/set with TTL, counters,
 * guarded writes for locks with a lease and a fencing token) and publish/subscribe. Two
 * implementations: in memory (one process; the default, also a fake fleet in tests) and Redis.
 *
 * Shared state is advisory. Every operation settles within the store's `timeoutMs`; a failed or
 * slow operation rejects with {@link FleetStoreError} and the store turns `degraded` (and back to
 * `ok` once Redis answers again). While degraded, operations reject at once without a round trip,
 * so callers fall back to local state without waiting.
 */

/** Health of the shared store, as the fleet reports it (`fleet` event). */
export type FleetStoreState = 'ok' | 'degraded';

/** A change of {@link FleetStoreState}: `degraded` names its cause (no secrets: never the URL). */
export interface FleetStoreStateChange {
  state: 'degraded' | 'rejoined';
  atMs: number;
  reason?: string;
}

/** Options of {@link FleetStore.set}. */
export interface FleetSetOptions {
  /** Expiry of the key (PX). Without it the key lives until deleted. */
  ttlMs?: number;
  /** Set only when the key does not exist (NX); the result says whether it was set. */
  onlyIfAbsent?: boolean;
}

/** A write that happens only while `key` holds `equals` (a lock's holder, checked atomically). */
export interface FleetGuard {
  key: string;
  equals: string;
}

/**
 * Answer of {@link FleetStore.reserveSlot}: `clear` (the count is zero: nothing to guard),
 * `reserved` (a slot is held for `slotId`), `full` (count + live slots reached the limit), `over`
 * (the count alone reached it: the breaker should be open).
 */
export type FleetSlotReply = 'clear' | 'reserved' | 'full' | 'over' | { waitMs: number };

/** Options of {@link FleetStore.reserveSlot}. */
export interface FleetSlotOptions {
  /** Failures at which the breaker opens. */
  limit: number;
  /** How long a slot is held at most (a process that dies holding it loses it then). */
  leaseMs: number;
  /**
   * No slot is granted before this long after the first reservation of an episode (answer
   * `{ waitMs }`): time for every process to hear of the failures and declare its calls in flight.
   */
  settleMs: number;
  /** Expiry of the episode's start mark (the failure window). */
  windowMs: number;
  /** Take the slot whatever the count (a call already in flight declares itself). */
  force?: boolean;
}

/** The shared store. Keys and channels are already namespaced by the caller (see fleet.ts). */
export interface FleetStore {
  readonly kind: 'memory' | 'redis';
  /** `ok`, or `degraded` after a failed operation until the store answers again. */
  readonly state: FleetStoreState;
  get(key: string): Promise<string | undefined>;
  /** MGET: the values of `keys`, in order (undefined where absent). */
  getMany(keys: readonly string[]): Promise<(string | undefined)[]>;
  /** SET with optional PX and NX; resolves whether the value was written. */
  set(key: string, value: string, options?: FleetSetOptions): Promise<boolean>;
  del(key: string): Promise<void>;
  /** Atomic INCRBY; `ttlMs` (re)arms the key's expiry when given. Resolves the new value. */
  incr(key: string, by?: number, ttlMs?: number): Promise<number>;
  /** Writes `key` only while `guard.key` equals `guard.equals` (atomic); resolves whether it wrote. */
  setIf(guard: FleetGuard, key: string, value: string, ttlMs?: number): Promise<boolean>;
  /** Deletes `key` only while it equals `expected` (atomic); resolves whether it deleted. */
  deleteIf(key: string, expected: string): Promise<boolean>;
  /** Re-arms the expiry of `key` only while it equals `expected` (a lease renewal). */
  expireIf(key: string, expected: string, ttlMs: number): Promise<boolean>;
  /**
   * Atomically: drops the expired slots, then reserves one for `slotId` when the counter plus the
   * live slots stay below `limit` and the episode's settle time has passed (see {@link FleetSlotOptions}).
   */
  reserveSlot(
    keys: { count: string; slots: string; onset: string },
    slotId: string,
    options: FleetSlotOptions,
  ): Promise<FleetSlotReply>;
  /**
   * Atomically releases the slot `slotId`; when `failed`, adds one to the counter at `countKey`
   * (re-arming its expiry `ttlMs`). Resolves the counter's value.
   */
  settleSlot(
    countKey: string,
    slotsKey: string,
    slotId: string,
    failed: boolean,
    ttlMs: number,
  ): Promise<number>;
  /** Publishes to every subscriber of `channel` in the fleet (this process included). */
  publish(channel: string, message: string): Promise<void>;
  /**
   * Listens on `channel`; the returned function stops listening. Subscriptions survive a
   * reconnect (the Redis store re-subscribes); messages published while disconnected are lost.
   */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<() => void>;
  /** Listens to `degraded` / `rejoined`; the returned function stops listening. */
  onStateChange(listener: (change: FleetStoreStateChange) => void): () => void;
  /** Closes connections and timers. Idempotent. */
  close(): Promise<void>;
}

/** Why a store operation failed: the caller falls back to its local state. */
export type FleetStoreFailure = 'timeout' | 'unavailable' | 'closed';

/**
 * A store operation failed or timed out. Internal to the fleet layer: every user of the store
 * catches it and falls back to local state, so it never reaches a caller of the runtime.
 */
export class FleetStoreError extends Error {
  constructor(
    readonly reason: FleetStoreFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FleetStoreError';
  }
}

/** Type guard for {@link FleetStoreError}. */
export function isFleetStoreError(error: unknown): error is FleetStoreError {
  return error instanceof FleetStoreError;
}

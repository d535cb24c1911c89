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
 * Keys of one breaker's failure accounting (see shared-breaker.ts): the failure `count` (with the
 * failure window as TTL), the `slots` held by calls at risk, the `episode` number (one more each
 * time the count leaves zero), the `acks` (member → last episode it acknowledged) and the
 * server's `members` (member → lease expiry).
 */
export interface FleetSlotKeys {
  count: string;
  slots: string;
  episode: string;
  acks: string;
  members: string;
}

/**
 * Answer of {@link FleetStore.reserveSlot}: `clear` (the count is zero: nothing to guard),
 * `reserved` (a slot is held for `slotId`), `full` (count + live slots reached the limit), `over`
 * (the count alone reached it: the breaker should be open), `{ unacked }` (a live member has not
 * acknowledged episode `unacked` yet: it may have calls in flight the slots do not know of).
 */
export type FleetSlotReply = 'clear' | 'reserved' | 'full' | 'over' | { unacked: number };

/** Options of {@link FleetStore.reserveSlot}. */
export interface FleetSlotOptions {
  /** Failures at which the breaker opens. */
  limit: number;
  /** How long a slot is held at most (a process that dies holding it loses it then). */
  leaseMs: number;
  /** Take the slot whatever the count and the acks (a call already in flight declares itself). */
  force?: boolean;
}

/** Options of {@link FleetStore.settleSlot}. */
export interface FleetSettleOptions {
  /** The call failed: count it (and acknowledge the episode for `memberId`). */
  failed: boolean;
  memberId: string;
  /** Expiry of the count and the acks (the failure window). */
  windowMs: number;
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
   * Atomically: when the count is above zero and below `limit` and every live member acknowledged
   * the current episode, drops the expired slots and reserves one for `slotId` if the count plus
   * the live slots stay below `limit` (see {@link FleetSlotReply}).
   */
  reserveSlot(keys: FleetSlotKeys, slotId: string, options: FleetSlotOptions): Promise<FleetSlotReply>;
  /**
   * Atomically releases `slotId` (when given); when `failed`, adds one to the count (re-arming its
   * expiry), starts a new episode if the count was zero, and records that `memberId` acknowledged
   * the episode. Resolves the count and the episode (0 when nothing was counted).
   */
  settleSlot(
    keys: FleetSlotKeys,
    slotId: string | undefined,
    options: FleetSettleOptions,
  ): Promise<{ count: number; episode: number }>;
  /** Records that `memberId` acknowledged `episode` (never lowers a later acknowledgement). */
  ackEpisode(keys: FleetSlotKeys, memberId: string, episode: number, ttlMs: number): Promise<void>;
  /** Renews `memberId`'s membership in `membersKey` for `leaseMs` (0: leaves). */
  heartbeat(membersKey: string, memberId: string, leaseMs: number): Promise<void>;
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

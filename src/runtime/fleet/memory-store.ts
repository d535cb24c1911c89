/**
 * The in-memory {@link FleetStore}: the default (one process, nothing shared, no cost), and a fake
 * fleet in tests when several fleet layers share one instance. Expiry is read from an injected
 * clock at each access (no timers), so tests run it on a virtual clock. `fail()` makes it behave
 * like an unreachable Redis, for fallback tests without a server.
 */
import {
  type FleetGuard,
  type FleetSetOptions,
  type FleetSettleOptions,
  type FleetSlotKeys,
  type FleetSlotOptions,
  type FleetSlotReply,
  type FleetStore,
  FleetStoreError,
  type FleetStoreState,
  type FleetStoreStateChange,
} from './store.js';

interface Entry {
  value: string;
  expiresAtMs: number | undefined;
}

/** Options of {@link MemoryFleetStore}. */
export interface MemoryFleetStoreOptions {
  /** The clock TTLs are measured on (default `Date.now`). */
  nowMs?: () => number;
}

/**
 * A store in this process's memory.
 *
 * @example
 * const store = new MemoryFleetStore();
 * await store.set('a', '1', { ttlMs: 1_000, onlyIfAbsent: true }); // true
 */
export class MemoryFleetStore implements FleetStore {
  readonly kind = 'memory';
  private readonly entries = new Map<string, Entry>();
  /** Slot and member sets (reserveSlot, heartbeat): id → expiry, per key. */
  private readonly slots = new Map<string, Map<string, number>>();
  /** Acknowledged episodes (ackEpisode): member → episode, per key. */
  private readonly acks = new Map<string, Map<string, number>>();
  private readonly channels = new Map<string, Set<(message: string) => void>>();
  private readonly stateListeners = new Set<(change: FleetStoreStateChange) => void>();
  private readonly nowMs: () => number;
  private failing = false;
  private closed = false;

  constructor(options: MemoryFleetStoreOptions = {}) {
    this.nowMs = options.nowMs ?? Date.now;
  }

  get state(): FleetStoreState {
    return this.failing ? 'degraded' : 'ok';
  }

  /** Test hook: makes every operation reject as an unreachable Redis would (`false` heals it). */
  fail(failing = true): void {
    if (this.failing === failing) return;
    this.failing = failing;
    const change: FleetStoreStateChange = failing
      ? { state: 'degraded', atMs: this.nowMs(), reason: 'simulated outage' }
      : { state: 'rejoined', atMs: this.nowMs() };
    for (const l of this.stateListeners) l(change);
  }

  async get(key: string): Promise<string | undefined> {
    this.check();
    return this.live(key)?.value;
  }

  async getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    this.check();
    return keys.map((k) => this.live(k)?.value);
  }

  async set(key: string, value: string, options: FleetSetOptions = {}): Promise<boolean> {
    this.check();
    if (options.onlyIfAbsent && this.live(key)) return false;
    this.entries.set(key, { value, expiresAtMs: this.expiry(options.ttlMs) });
    return true;
  }

  async del(key: string): Promise<void> {
    this.check();
    this.entries.delete(key);
  }

  async incr(key: string, by = 1, ttlMs?: number): Promise<number> {
    this.check();
    const e = this.live(key);
    const next = (e ? Number(e.value) : 0) + by;
    this.entries.set(key, {
      value: String(next),
      expiresAtMs: ttlMs === undefined ? e?.expiresAtMs : this.expiry(ttlMs),
    });
    return next;
  }

  async setIf(guard: FleetGuard, key: string, value: string, ttlMs?: number): Promise<boolean> {
    this.check();
    if (this.live(guard.key)?.value !== guard.equals) return false;
    this.entries.set(key, { value, expiresAtMs: this.expiry(ttlMs) });
    return true;
  }

  async deleteIf(key: string, expected: string): Promise<boolean> {
    this.check();
    if (this.live(key)?.value !== expected) return false;
    this.entries.delete(key);
    return true;
  }

  async expireIf(key: string, expected: string, ttlMs: number): Promise<boolean> {
    this.check();
    const e = this.live(key);
    if (e?.value !== expected) return false;
    e.expiresAtMs = this.expiry(ttlMs);
    return true;
  }

  async reserveSlot(keys: FleetSlotKeys, slotId: string, o: FleetSlotOptions): Promise<FleetSlotReply> {
    this.check();
    const now = this.nowMs();
    const slots = this.expiring(keys.slots);
    if (o.force) {
      slots.set(slotId, now + o.leaseMs);
      return 'reserved';
    }
    const count = Number(this.live(keys.count)?.value ?? 0);
    if (count === 0) return 'clear';
    if (count >= o.limit) return 'over';
    const episode = Number(this.live(keys.episode)?.value ?? 0);
    const acks = this.acks.get(keys.acks);
    for (const member of this.expiring(keys.members).keys())
      if ((acks?.get(member) ?? 0) < episode) return { unacked: episode };
    if (count + slots.size >= o.limit) return 'full';
    slots.set(slotId, now + o.leaseMs);
    return 'reserved';
  }

  async settleSlot(
    keys: FleetSlotKeys,
    slotId: string | undefined,
    o: FleetSettleOptions,
  ): Promise<{ count: number; episode: number }> {
    this.check();
    if (slotId !== undefined) this.slots.get(keys.slots)?.delete(slotId);
    if (!o.failed) return { count: Number(this.live(keys.count)?.value ?? 0), episode: 0 };
    const count = await this.incr(keys.count, 1, o.windowMs);
    const episode = count === 1 ? await this.incr(keys.episode) : Number(this.live(keys.episode)?.value ?? 0);
    await this.ackEpisode(keys, o.memberId, episode);
    return { count, episode };
  }

  async ackEpisode(keys: FleetSlotKeys, memberId: string, episode: number): Promise<void> {
    this.check();
    let acks = this.acks.get(keys.acks);
    if (!acks) {
      acks = new Map();
      this.acks.set(keys.acks, acks);
    }
    if ((acks.get(memberId) ?? 0) < episode) acks.set(memberId, episode);
  }

  async heartbeat(membersKey: string, memberId: string, leaseMs: number): Promise<void> {
    this.check();
    const members = this.expiring(membersKey);
    if (leaseMs <= 0) members.delete(memberId);
    else members.set(memberId, this.nowMs() + leaseMs);
  }

  async publish(channel: string, message: string): Promise<void> {
    this.check();
    // Delivered on a later microtask, as a message from Redis would be: never inside the caller.
    for (const l of [...(this.channels.get(channel) ?? [])]) queueMicrotask(() => l(message));
  }

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<() => void> {
    this.check();
    let set = this.channels.get(channel);
    if (!set) {
      set = new Set();
      this.channels.set(channel, set);
    }
    const listener = (m: string): void => {
      if (!this.failing) onMessage(m);
    };
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  onStateChange(listener: (change: FleetStoreStateChange) => void): () => void {
    this.stateListeners.add(listener);
    return () => {
      this.stateListeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.channels.clear();
    this.stateListeners.clear();
  }

  private check(): void {
    if (this.closed) throw new FleetStoreError('closed', 'the fleet store is closed');
    if (this.failing) throw new FleetStoreError('unavailable', 'the fleet store is unavailable (simulated)');
  }

  private expiry(ttlMs: number | undefined): number | undefined {
    return ttlMs === undefined ? undefined : this.nowMs() + ttlMs;
  }

  /** The id → expiry set at `key`, its expired ids dropped. */
  private expiring(key: string): Map<string, number> {
    let set = this.slots.get(key);
    if (!set) {
      set = new Map();
      this.slots.set(key, set);
    }
    const now = this.nowMs();
    for (const [id, expiresAtMs] of set) if (expiresAtMs <= now) set.delete(id);
    return set;
  }

  private live(key: string): Entry | undefined {
    const e = this.entries.get(key);
    if (e?.expiresAtMs !== undefined && this.nowMs() >= e.expiresAtMs) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }
}

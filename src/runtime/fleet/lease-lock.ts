/**
 * A lock in the fleet store with a lease and a fencing token: at most one holder at a time, a
 * holder that dies loses the lock when its lease expires, and every acquisition carries a fence
 * number larger than any earlier one, so a write made under a lock that was lost meanwhile is
 * refused (the write is guarded by the holder value, which includes the fence).
 */
import type { FleetGuard, FleetStore } from './store.js';

/** A held lock: its fence number and the value that guards writes made under it. */
export interface LeaseLockHandle {
  readonly key: string;
  /** Strictly larger than the fence of every earlier acquisition of this lock. */
  readonly fence: number;
  /** The lock's value while this handle holds it (`owner:fence`). */
  readonly holder: string;
}

/**
 * One named lock in the store.
 *
 * @example
 * const lock = new LeaseLock(store, 'ns:tok:lock', processId);
 * const held = await lock.tryAcquire(5_000);
 * if (held) try { await store.setIf(lock.guard(held), 'ns:tok', value); } finally { await lock.release(held); }
 */
export class LeaseLock {
  constructor(
    private readonly store: FleetStore,
    readonly key: string,
    private readonly owner: string,
  ) {}

  /** Takes the lock for `leaseMs` unless someone holds it. Rejects only when the store fails. */
  async tryAcquire(leaseMs: number): Promise<LeaseLockHandle | undefined> {
    // The fence is drawn before the attempt, so a later holder always has a larger one.
    const fence = await this.store.incr(`${this.key}:fence`);
    const holder = `${this.owner}:${fence}`;
    const won = await this.store.set(this.key, holder, { ttlMs: leaseMs, onlyIfAbsent: true });
    return won ? { key: this.key, fence, holder } : undefined;
  }

  /** Extends the lease while still held; false when it was lost (expired and maybe taken). */
  renew(handle: LeaseLockHandle, leaseMs: number): Promise<boolean> {
    return this.store.expireIf(this.key, handle.holder, leaseMs);
  }

  /** Releases the lock if still held by `handle` (never someone else's). */
  release(handle: LeaseLockHandle): Promise<boolean> {
    return this.store.deleteIf(this.key, handle.holder);
  }

  /** The guard of a write allowed only while `handle` still holds the lock. */
  guard(handle: LeaseLockHandle): FleetGuard {
    return { key: this.key, equals: handle.holder };
  }
}

/**
 * Shared bits of the fleet tests: one real redis-server per file, "processes" as fleet contexts on
 * their own Redis connections, and bounded waits for messages (a guard timer, never a sleep).
 */
import { FleetContext } from '../../src/runtime/fleet/fleet-context.js';
import { createRedisFleetStore } from '../../src/runtime/fleet/redis-store.js';
import type { FleetStore, FleetStoreStateChange } from '../../src/runtime/fleet/store.js';

/** Store timeout used by the tests: short, so every fault settles fast. */
export const TEST_TIMEOUT_MS = 100;

/** `n` fleet members (own connections, one namespace) on the Redis at `url`. */
export async function members(url: string, n: number, namespace: string): Promise<FleetContext[]> {
  const out: FleetContext[] = [];
  for (let i = 0; i < n; i++) {
    const store = await createRedisFleetStore({ url, timeoutMs: TEST_TIMEOUT_MS, probeIntervalMs: 50 });
    out.push(new FleetContext(store, namespace, `p${i}`));
  }
  return out;
}

/** Closes the members' stores. */
export async function closeAll(ctxs: FleetContext[]): Promise<void> {
  await Promise.all(ctxs.map((c) => c.store.close()));
}

/** Resolves when `promise` does, or rejects after `limitMs` naming `what` (so nothing hangs). */
export function within<T>(promise: Promise<T>, limitMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${limitMs} ms`)), limitMs);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** A promise for the next state change of `store` to `state`. */
export function nextState(
  store: FleetStore,
  state: FleetStoreStateChange['state'],
): Promise<FleetStoreStateChange> {
  return new Promise((resolve) => {
    const off = store.onStateChange((c) => {
      if (c.state === state) {
        off();
        resolve(c);
      }
    });
  });
}

/** A latch: `wait(n)` resolves once `hit()` was called n times in all. */
export function counter(): { hit: () => void; count: () => number; wait: (n: number) => Promise<void> } {
  let hits = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  return {
    hit() {
      hits++;
      for (const w of [...waiters]) {
        if (hits >= w.n) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    },
    count: () => hits,
    wait: (n) => (hits >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
  };
}

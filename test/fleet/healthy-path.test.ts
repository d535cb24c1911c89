/**
 * Issue 19, item 2: "No Redis round trip on a healthy call." A runtime in a fleet makes healthy
 * calls without touching its store: the breaker, the retry budget and the cache read the local
 * view that the fleet's messages keep. The store here counts every operation it is asked for.
 */
import { describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/index.js';
import { MemoryFleetStore } from '../../src/runtime/fleet/memory-store.js';
import type { FleetStore } from '../../src/runtime/fleet/store.js';
import { createMockServer } from '../../src/testing/index.js';

/** The store, with a count of each operation called on it. */
function countingStore(): { store: FleetStore; counts: Map<string, number> } {
  const inner = new MemoryFleetStore();
  const counts = new Map<string, number>();
  const store = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function' || typeof name !== 'string') return value;
      return (...args: unknown[]) => {
        counts.set(name, (counts.get(name) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, counts };
}

describe('fleet: the healthy path', () => {
  it('500 healthy calls (64 at once) ask the store for nothing', async () => {
    const { store, counts } = countingStore();
    const mock = createMockServer().addTool('echo', ({ text }) => String(text));
    const rt = createRuntime({
      servers: { m: { mock, retry: { maxAttempts: 3 } } },
      fleet: { namespace: 'healthy', store },
    });
    try {
      await rt.start();
      await rt.callTool('m', 'echo', { text: 'warm' });
      // Membership leases are renewed on a timer, not by calls: left out of the count.
      const perCall = () =>
        [...counts].filter(([name]) => name !== 'heartbeat').reduce((sum, [, n]) => sum + n, 0);
      const before = perCall();
      for (let round = 0; round < 8; round++) {
        const calls = Array.from({ length: 64 }, (_, i) =>
          rt.callTool('m', 'echo', { text: `${round}-${i}` }),
        );
        await Promise.all(calls);
      }
      expect(rt.snapshot().servers.m!.stats.ok).toBeGreaterThanOrEqual(500);
      expect(perCall() - before, JSON.stringify([...counts])).toBe(0);
      // The store was in use: the fleet joined and subscribed through it.
      expect(before).toBeGreaterThan(0);
    } finally {
      await rt.close();
    }
  });
});

/**
 * The runtime's resource cache with the 2026 caching hints and a fleet's shared cache behind it:
 * `ttlMs` shortens an entry (capped by the configured ttl; 0 = not stored), `cacheScope: 'public'`
 * (or a read marked shared) reaches another process, `'private'` never does, and an invalidation
 * in one process drops the entry in the others. Two "processes" share one in-memory store.
 */
import { describe, expect, it } from 'vitest';
import { FleetContext } from '../../src/runtime/fleet/fleet-context.js';
import { MemoryFleetStore } from '../../src/runtime/fleet/memory-store.js';
import { SharedResponseCache } from '../../src/runtime/fleet/shared-cache.js';
import { ResourceCache } from '../../src/runtime/resource-cache.js';

const POLICY = { maxSize: 100, ttlMs: 60_000 };

async function twoProcesses() {
  const store = new MemoryFleetStore();
  const caches: ResourceCache[] = [];
  for (const id of ['a', 'b']) {
    const cache = new ResourceCache(() => POLICY);
    const shared = new SharedResponseCache(new FleetContext(store, 'ns', id), { defaultTtlMs: POLICY.ttlMs });
    await shared.start((inv) => cache.dropLocal(inv.server, inv.key));
    cache.attachShared(shared);
    caches.push(cache);
  }
  return caches as [ResourceCache, ResourceCache];
}

/** Lets the store's microtask-delivered messages and background writes land. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('resource cache: 2026 caching hints', () => {
  it('honours ttlMs, capped by the configured ttl; ttlMs 0 is not stored', async () => {
    let nowMs = 1_000; // not 0: lru-cache reads a start time of 0 as "no start"
    const cache = new ResourceCache(() => POLICY, { nowMs: () => nowMs });
    await cache.get('s', 'short', async () => ({ contents: [], ttlMs: 1_000 }));
    await cache.get('s', 'long', async () => ({ contents: [], ttlMs: 10 * POLICY.ttlMs }));
    await cache.get('s', 'never', async () => ({ contents: [], ttlMs: 0 }));
    expect(cache.has('s', 'short')).toBe(true);
    expect(cache.has('s', 'never')).toBe(false);
    nowMs = 1_000 + 1_001;
    expect(cache.has('s', 'short')).toBe(false);
    nowMs = 1_000 + POLICY.ttlMs - 1;
    expect(cache.has('s', 'long')).toBe(true);
    nowMs = 1_000 + POLICY.ttlMs + 1;
    expect(cache.has('s', 'long')).toBe(false); // capped by the configured ttlMs
  });

  it('public results reach another process; private ones never, even marked shared', async () => {
    const [a, b] = await twoProcesses();
    let loads = 0;
    const load = (scope: string) => async () => {
      loads++;
      return { contents: [{ uri: 'x', text: String(loads) }], cacheScope: scope, ttlMs: 30_000 };
    };
    await a.get('s', 'pub', load('public'));
    await a.get('s', 'priv', load('private'), { shared: true });
    await settle();
    loads = 0;
    await b.get('s', 'pub', load('public'));
    expect(loads).toBe(0); // served from the fleet
    await b.get('s', 'priv', load('private'));
    expect(loads).toBe(1); // private: loaded again
  });

  it('a read marked shared (no hint) reaches another process; unmarked stays local', async () => {
    const [a, b] = await twoProcesses();
    let loads = 0;
    const load = async () => ({ contents: [], n: ++loads });
    await a.get('s', 'marked', load, { shared: true });
    await a.get('s', 'local', load);
    await settle();
    await b.get('s', 'marked', load);
    expect(loads).toBe(2);
    await b.get('s', 'local', load);
    expect(loads).toBe(3);
  });

  it('an invalidation (resources/updated) in one process drops the entry in every process', async () => {
    const [a, b] = await twoProcesses();
    let version = 1;
    const load = async () => ({ contents: [], version, cacheScope: 'public' });
    await a.get('s', 'r', load);
    await settle();
    await b.get('s', 'r', load);
    expect(b.has('s', 'r')).toBe(true);
    version = 2;
    a.invalidate('s', 'r');
    await settle();
    await settle();
    expect(b.has('s', 'r')).toBe(false);
    expect(((await b.get('s', 'r', load)) as { version: number }).version).toBe(2);
  });
});

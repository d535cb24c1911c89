import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, ResourceCache } from '../../src/runtime/resource-cache.js';
import { validateAgainstSchema } from '../../src/runtime/schema.js';

describe('resource cache', () => {
  it('LRU eviction is counted; maxSize 0 stores nothing but still shares loads', async () => {
    const cache = new ResourceCache((s) =>
      s === 'none' ? { maxSize: 0, ttlMs: 0 } : { maxSize: 2, ttlMs: 0 },
    );
    for (const k of ['a', 'b', 'c']) await cache.get('s', k, async () => k);
    expect(cache.stats('s')).toEqual({ hits: 0, misses: 3, evictions: 1, size: 2 });
    expect(cache.has('s', 'a')).toBe(false);
    let loads = 0;
    const load = async () => ++loads;
    const [x, y] = await Promise.all([cache.get('none', 'k', load), cache.get('none', 'k', load)]);
    expect([x, y, loads]).toEqual([1, 1, 1]);
    await cache.get('none', 'k', load);
    expect(loads).toBe(2);
  });

  it('a load in flight during an invalidation is delivered but not stored', async () => {
    const cache = new ResourceCache(() => ({ maxSize: 10, ttlMs: 0 }));
    let release!: (v: string) => void;
    const pending = cache.get('s', 'k', () => new Promise<string>((r) => (release = r)));
    cache.invalidate('s', 'k');
    release('stale');
    expect(await pending).toBe('stale');
    expect(cache.has('s', 'k')).toBe(false);
    expect(await cache.get('s', 'k', async () => 'fresh')).toBe('fresh');
    expect(cache.has('s', 'k')).toBe(true);
    cache.clear();
    expect(cache.stats().size).toBe(0);
  });

  it('property: canonical JSON is equal for objects equal up to key order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(obj));
      }),
    );
  });
});

describe('shared schema validation', () => {
  const schema = {
    type: 'object',
    properties: { text: { type: 'string' }, items: { type: 'array', items: { type: 'integer' } } },
    required: ['text'],
    additionalProperties: false,
  };
  it.each([
    [{}, 'arguments.text', /is required/],
    [{ text: 1 }, 'arguments.text', /must be string/],
    [{ text: 'x', items: [1, 'b'] }, 'arguments.items.1', /must be integer/],
    [{ text: 'x', extra: true }, 'arguments.extra', /additional/],
  ])('%j is rejected naming %s', (value, path, message) => {
    expect(() => validateAgainstSchema(schema, value, 'arguments', 'echo on demo', 'demo')).toThrowError(
      expect.objectContaining({
        code: 'VALIDATION',
        path,
        server: 'demo',
        message: expect.stringMatching(message),
      }),
    );
  });
  it('valid input passes', () => {
    expect(() => validateAgainstSchema(schema, { text: 'x', items: [1] }, 'arguments', 'echo')).not.toThrow();
  });
});

/**
 * The background re-reads of updated resources: per URI at most one read in flight (updates during
 * it fold into one more read), per server at most `maxInFlight`, and every URI requested is read
 * after its last request (nothing lost).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ResourceRefresher } from '../../src/runtime/resource-refresher.js';

describe('ResourceRefresher', () => {
  it('bounds and deduplicates reads, and reads every URI after its last update', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('a', 'b'), fc.integer({ min: 0, max: 6 })), { maxLength: 60 }),
        fc.integer({ min: 1, max: 3 }),
        fc.scheduler(),
        async (updates, maxInFlight, s) => {
          const inFlight = new Map<string, number>();
          let peak = 0;
          let peakPerUri = 0;
          /** Per key: the index of the last request, and whether a read started after it. */
          const lastRequest = new Map<string, number>();
          const readStartedAfter = new Map<string, boolean>();
          let settled = 0;
          const refresher = new ResourceRefresher<string>({
            maxInFlight,
            read: (server, uri) => {
              const key = `${server}:${uri}`;
              readStartedAfter.set(key, true);
              inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
              const perServer = [...inFlight].filter(([k, n]) => k.startsWith(`${server}:`) && n > 0).length;
              peak = Math.max(peak, perServer);
              peakPerUri = Math.max(peakPerUri, inFlight.get(key)!);
              return s.schedule(Promise.resolve(key)).then((v) => {
                inFlight.set(key, inFlight.get(key)! - 1);
                return v;
              });
            },
            settled: () => {
              settled++;
            },
          });
          updates.forEach(([server, n], i) => {
            const key = `${server}:res://${n}`;
            lastRequest.set(key, i);
            readStartedAfter.set(key, false);
            refresher.request(server, `res://${n}`);
          });
          await s.waitFor(new Promise<void>((resolve) => setImmediate(resolve)));
          while (s.count() > 0) await s.waitOne();
          expect(peak).toBeLessThanOrEqual(maxInFlight);
          expect(peakPerUri).toBeLessThanOrEqual(1);
          expect(settled).toBeLessThanOrEqual(updates.length);
          for (const key of lastRequest.keys()) expect(readStartedAfter.get(key)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('2,000 updates of one URI with the read hanging make one read; close() silences what settles late', async () => {
    let reads = 0;
    let release!: () => void;
    const settled: string[] = [];
    const refresher = new ResourceRefresher<string>({
      maxInFlight: 4,
      read: () => {
        reads++;
        return new Promise<string>((resolve) => {
          release = () => resolve('v');
        });
      },
      settled: (_s, uri) => settled.push(uri),
    });
    for (let i = 0; i < 2_000; i++) refresher.request('s', 'res://x');
    expect(reads).toBe(1);
    expect(refresher.stats('s')).toEqual({ inFlight: 1, waiting: 1 });
    release();
    await Promise.resolve();
    await Promise.resolve();
    expect(settled).toEqual(['res://x']);
    expect(reads).toBe(2);
    refresher.close();
    release();
    await Promise.resolve();
    await Promise.resolve();
    expect(settled).toEqual(['res://x']);
  });
});

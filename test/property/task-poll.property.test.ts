import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nextPollIntervalMs, type TaskCallOptions } from '../../src/runtime/tasks.js';

const task = fc.record(
  {
    minPollIntervalMs: fc.integer({ min: 0, max: 2_000 }),
    maxPollIntervalMs: fc.integer({ min: 0, max: 20_000 }),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<TaskCallOptions>;
const hint = fc.option(fc.integer({ min: 0, max: 10_000 }), { nil: undefined });

describe('task polling interval', () => {
  it('never polls faster than the server asks (nor the minimum), never slower than the cap allows', () => {
    fc.assert(
      fc.property(
        task,
        fc.array(fc.tuple(fc.boolean(), hint), { minLength: 1, maxLength: 50 }),
        (t, steps) => {
          let intervalMs = 0;
          for (const [changed, hintMs] of steps) {
            const next = nextPollIntervalMs(intervalMs, changed, hintMs, t);
            const floorMs = Math.max(t.minPollIntervalMs ?? 50, hintMs ?? 0);
            expect(next).toBeGreaterThanOrEqual(floorMs);
            expect(next).toBeLessThanOrEqual(Math.max(t.maxPollIntervalMs ?? 5_000, floorMs));
            // A change resets to the server's pace: the next status comes as soon as it suggests.
            if (changed) expect(next).toBe(floorMs);
            intervalMs = next;
          }
        },
      ),
    );
  });

  it('backs off while nothing changes, up to the cap', () => {
    const t = { minPollIntervalMs: 100, maxPollIntervalMs: 1_000 };
    const seen: number[] = [];
    let intervalMs = 0;
    for (let i = 0; i < 10; i++) {
      intervalMs = nextPollIntervalMs(intervalMs, false, 200, t);
      seen.push(intervalMs);
    }
    expect(seen.slice(0, 4)).toEqual([200, 300, 450, 675]);
    expect(seen.at(-1)).toBe(1_000);
  });
});

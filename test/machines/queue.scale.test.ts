/**
 * Scale, without timing anything (the timing lives in bench/queue-scale.ts): 100,000 requests
 * queued behind a window of 16 all settle exactly once, in priority-then-FIFO order, with aborts
 * and deadlines mixed in, and the queue ends empty.
 */

import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { queueCounts, queueMachine, takeQueueOutput } from '../../src/machines/queue.js';

describe('queue at scale', () => {
  it('100,000 queued requests: each dispatched or rejected exactly once, in order', () => {
    const n = 100_000;
    const window = 16;
    const actor = createActor(queueMachine, { input: { concurrency: window, maxQueued: n } }).start();
    const ctx = () => actor.getSnapshot().context;
    const inFlight: string[] = [];
    const dispatched: number[] = [];
    const aborted = new Set<string>();
    const take = () => {
      for (const o of takeQueueOutput(ctx())) {
        if (o.kind === 'dispatch') {
          inFlight.push(o.id);
          dispatched.push(Number(o.id.slice(1)));
        } else {
          aborted.add(`${o.id}:${o.reason}`);
        }
      }
    };
    for (let i = 0; i < n + window; i++) {
      const priority = i >= window && i % 4 === 0 ? 'high' : 'normal';
      actor.send({
        type: 'ENQUEUE',
        id: `r${i}`,
        nowMs: 1,
        priority,
        deadlineAt: i % 3 === 0 ? 1e9 + i : undefined,
      });
      take();
    }
    expect(queueCounts(ctx())).toMatchObject({ queued: n, inFlight: window });
    for (let i = window + 1; i < n + window; i += 7) {
      actor.send({ type: 'ABORT', id: `r${i}`, nowMs: 2 });
      take();
    }
    while (inFlight.length > 0) {
      actor.send({ type: 'SETTLE', id: inFlight.shift() as string, nowMs: 3 });
      take();
    }
    expect(queueCounts(ctx())).toMatchObject({ queued: 0, inFlight: 0 });
    expect([...aborted].every((a) => a.endsWith(':aborted'))).toBe(true);
    expect(dispatched.length + aborted.size).toBe(n + window);
    expect(new Set(dispatched).size).toBe(dispatched.length);
    // After the first window: every high in arrival order, then every normal in arrival order.
    const rest = dispatched.slice(window);
    const highs = rest.filter((i) => i % 4 === 0);
    expect(rest).toEqual([...highs, ...rest.filter((i) => i % 4 !== 0)]);
    expect(highs).toEqual(highs.slice().sort((a, b) => a - b));
    actor.stop();
  }, 60_000); // ~3 s alone; the headroom is for a shared, loaded machine (nothing here is timed)
});

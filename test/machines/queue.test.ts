/** Unit tests of the queue's pieces: config and bad input, the store and its structures, deadlines. */

import { describe, expect, it } from 'vitest';
import { createActor, initialTransition, SimulatedClock } from 'xstate';
import { ConfigError } from '../../src/errors/index.js';
import {
  MAX_TIMER_MS,
  queueCounts,
  queueMachine,
  resolveQueueConfig,
  takeQueueOutput,
  tryAdmitFast,
  tryEnqueueFast,
  trySettleFast,
} from '../../src/machines/queue.js';
import { MinHeap, RingDeque } from '../../src/machines/queue-deque.js';
import { QueueStore } from '../../src/machines/queue-store.js';

describe('queue config and bad input', () => {
  const bad: [object, string][] = [
    [{ concurrency: 0, maxQueued: 1 }, 'queue.concurrency'],
    [{ concurrency: 1.5, maxQueued: 1 }, 'queue.concurrency'],
    [{ concurrency: 1, maxQueued: -1 }, 'queue.maxQueued'],
    [{ concurrency: '4', maxQueued: 1 }, 'queue.concurrency'],
    [{ concurrency: 1, maxQueued: Number.POSITIVE_INFINITY }, 'queue.maxQueued'],
  ];
  for (const [config, path] of bad) {
    it(`rejects ${JSON.stringify(config)} naming ${path}`, () => {
      expect(() => resolveQueueConfig(config as never)).toThrow(ConfigError);
      try {
        resolveQueueConfig(config as never);
      } catch (e) {
        expect((e as ConfigError).issues.map((i) => i.path)).toContain(path);
      }
      const [s] = initialTransition(queueMachine, config as never);
      expect(s.status).toBe('error');
    });
  }

  it('rejects invalid, duplicate and already-expired entries with a reason, never silently', () => {
    const actor = createActor(queueMachine, { input: { concurrency: 1, maxQueued: 5 } }).start();
    const ctx = () => actor.getSnapshot().context;
    actor.send({ type: 'ENQUEUE', id: 'a', nowMs: 10 });
    actor.send({ type: 'ENQUEUE', id: 'a', nowMs: 10 });
    actor.send({ type: 'ENQUEUE', id: '', nowMs: 10 });
    actor.send({ type: 'ENQUEUE', id: 'b', nowMs: Number.NaN });
    actor.send({ type: 'ENQUEUE', id: 'c', nowMs: 10, priority: 'urgent' as never });
    actor.send({ type: 'ENQUEUE', id: 'd', nowMs: 10, deadlineAt: 10 });
    expect(takeQueueOutput(ctx())).toEqual([
      { kind: 'dispatch', id: 'a' },
      { kind: 'reject', id: 'a', reason: 'duplicate' },
      { kind: 'reject', id: '', reason: 'invalid' },
      { kind: 'reject', id: 'b', reason: 'invalid' },
      { kind: 'reject', id: 'c', reason: 'invalid' },
      { kind: 'reject', id: 'd', reason: 'expired' },
    ]);
    expect(tryAdmitFast(ctx(), 'a')).toBe(false); // window full, and 'a' already runs
    actor.send({ type: 'SETTLE', id: 'never-started', nowMs: 11 });
    expect(queueCounts(ctx())).toMatchObject({ queued: 0, inFlight: 1 });
    actor.stop();
  });

  it('maxQueued 0 admits into the window only; everything beyond is rejected `full`', () => {
    const actor = createActor(queueMachine, { input: { concurrency: 1, maxQueued: 0 } }).start();
    actor.send({ type: 'ENQUEUE', id: 'a', nowMs: 0 });
    actor.send({ type: 'ENQUEUE', id: 'b', nowMs: 0 });
    expect(takeQueueOutput(actor.getSnapshot().context)).toEqual([
      { kind: 'dispatch', id: 'a' },
      { kind: 'reject', id: 'b', reason: 'full' },
    ]);
    actor.stop();
  });
});

describe('fast path', () => {
  it('admits, queues and settles without events while accepting; events only where the machine must act', () => {
    const actor = createActor(queueMachine, { input: { concurrency: 1, maxQueued: 10 } }).start();
    const ctx = () => actor.getSnapshot().context;
    const before = actor.getSnapshot();
    expect(tryAdmitFast(ctx(), 'a')).toBe(true);
    expect(actor.getSnapshot()).toBe(before); // no step was taken
    // Past the window without a deadline: queued in the store, no step.
    expect(tryEnqueueFast(ctx(), 'b', 'normal', undefined, 1)).toBe(true);
    expect(actor.getSnapshot()).toBe(before);
    // A deadline with no timer armed needs the event (the timer must be armed).
    expect(tryEnqueueFast(ctx(), 'c', 'normal', 100, 1)).toBe(false);
    actor.send({ type: 'ENQUEUE', id: 'c', nowMs: 1, deadlineAt: 100 });
    expect(ctx().armedDeadlineAt).toBe(100);
    const armed = actor.getSnapshot();
    expect(tryEnqueueFast(ctx(), 'd', 'normal', 100, 1)).toBe(true); // the timer fires at or before it
    expect(tryEnqueueFast(ctx(), 'e', 'normal', 99, 1)).toBe(false); // earlier: the timer must move
    expect(tryEnqueueFast(ctx(), 'd', 'normal', 200, 1)).toBe(false); // duplicate: the machine rejects it
    expect(tryEnqueueFast(ctx(), 'f', 'normal', 200, 300)).toBe(false); // already due: rejected `expired`
    expect(actor.getSnapshot()).toBe(armed);
    // Settling frees the slot and starts the next waiting entry, with no step.
    expect(trySettleFast(ctx(), 'a', 2)).toBe(true);
    expect(takeQueueOutput(ctx())).toEqual([{ kind: 'dispatch', id: 'b' }]);
    expect(trySettleFast(ctx(), 'b', 150)).toBe(true); // 'c' and 'd' are past their deadline by now
    expect(takeQueueOutput(ctx())).toEqual([
      { kind: 'reject', id: 'c', reason: 'expired' },
      { kind: 'reject', id: 'd', reason: 'expired' },
    ]);
    expect(trySettleFast(ctx(), 'b', 150)).toBe(false); // not in flight any more
    expect(actor.getSnapshot()).toBe(armed);
    actor.send({ type: 'PAUSE' });
    expect(tryAdmitFast(ctx(), 'c')).toBe(false);
    expect(tryEnqueueFast(ctx(), 'x', 'normal', undefined, 3)).toBe(false);
    actor.stop();
  });
});

describe('deadlines', () => {
  it('a queued entry expires at its deadline on the virtual clock, not a millisecond early', () => {
    const clock = new SimulatedClock();
    const actor = createActor(queueMachine, { clock, input: { concurrency: 1, maxQueued: 5 } }).start();
    const ctx = () => actor.getSnapshot().context;
    actor.send({ type: 'ENQUEUE', id: 'run', nowMs: 0 });
    actor.send({ type: 'ENQUEUE', id: 'late', nowMs: 0, deadlineAt: 100 });
    actor.send({ type: 'ENQUEUE', id: 'soon', nowMs: 0, deadlineAt: 50 });
    takeQueueOutput(ctx());
    clock.increment(49);
    expect(takeQueueOutput(ctx())).toEqual([]);
    clock.increment(1);
    expect(takeQueueOutput(ctx())).toEqual([{ kind: 'reject', id: 'soon', reason: 'expired' }]);
    clock.increment(50);
    expect(takeQueueOutput(ctx())).toEqual([{ kind: 'reject', id: 'late', reason: 'expired' }]);
    expect(actor.getSnapshot().value).toEqual({ mode: 'accepting', deadline: 'idle' });
    actor.stop();
  });

  it('a handled event whose time is past a deadline expires the entry even if the timer is late', () => {
    const clock = new SimulatedClock();
    const actor = createActor(queueMachine, { clock, input: { concurrency: 1, maxQueued: 5 } }).start();
    actor.send({ type: 'ENQUEUE', id: 'run', nowMs: 0 });
    actor.send({ type: 'ENQUEUE', id: 'q', nowMs: 0, deadlineAt: 50 });
    actor.send({ type: 'ENQUEUE', id: 'next', nowMs: 75 }); // the clock has not fired the timer yet
    expect(takeQueueOutput(actor.getSnapshot().context)).toEqual([
      { kind: 'dispatch', id: 'run' },
      { kind: 'reject', id: 'q', reason: 'expired' },
    ]);
    actor.stop();
  });

  it('a deadline beyond what a timer can wait is armed in steps, never fired at once', () => {
    const actor = createActor(queueMachine, { input: { concurrency: 1, maxQueued: 5 } }).start();
    actor.send({ type: 'ENQUEUE', id: 'run', nowMs: 0 });
    actor.send({ type: 'ENQUEUE', id: 'far', nowMs: 0, deadlineAt: 1e13 });
    expect(actor.getSnapshot().context.armedDeadlineAt).toBe(MAX_TIMER_MS);
    actor.stop();
  });

  it('JSON of the context shows counts, never entries', () => {
    const actor = createActor(queueMachine, { input: { concurrency: 1, maxQueued: 5 } }).start();
    actor.send({ type: 'ENQUEUE', id: 'secret-1', nowMs: 0 });
    actor.send({ type: 'ENQUEUE', id: 'secret-2', nowMs: 0, priority: 'low' });
    const json = JSON.stringify(actor.getSnapshot().context);
    expect(json).not.toContain('secret');
    expect(JSON.parse(json).store).toEqual({ queued: 1, inFlight: 1, high: 0, normal: 0, low: 1 });
    actor.stop();
  });
});

describe('store structures', () => {
  it('RingDeque keeps FIFO order across growth and wrap-around', () => {
    const d = new RingDeque<number>(16);
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) d.push(i);
    for (let i = 0; i < 5; i++) seen.push(d.shift() as number);
    for (let i = 10; i < 100; i++) d.push(i);
    for (let x = d.shift(); x !== undefined; x = d.shift()) seen.push(x);
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('MinHeap pops in order', () => {
    const h = new MinHeap<number>((a, b) => a < b);
    const xs = [5, 3, 9, 1, 1, 8, 2, 7, 0, 6];
    for (const x of xs) h.push(x);
    const out: number[] = [];
    for (let x = h.pop(); x !== undefined; x = h.pop()) out.push(x);
    expect(out).toEqual(xs.slice().sort((a, b) => a - b));
  });

  it('aborting most of a large queue compacts it and keeps FIFO order and counts', () => {
    const s = new QueueStore();
    for (let i = 0; i < 10_000; i++) s.enqueue(`r${i}`, 'normal', i % 2 ? 1e9 + i : undefined, 0);
    for (let i = 0; i < 10_000; i++) if (i % 100 !== 0) s.remove(`r${i}`);
    expect(s.queuedCount).toBe(100);
    expect(s.nextDeadline()).toBeNull(); // every survivor (i % 100 === 0) is even: no deadline
    const order: string[] = [];
    for (let e = s.shift(); e; e = s.shift()) order.push(e.id);
    expect(order).toEqual(Array.from({ length: 100 }, (_, k) => `r${k * 100}`));
  });

  it('clone is independent of the original', () => {
    const a = new QueueStore();
    a.enqueue('x', 'high', 5, 0);
    a.inFlight.add('y');
    const b = a.clone();
    b.shift();
    b.inFlight.delete('y');
    expect(a.counts()).toMatchObject({ queued: 1, inFlight: 1 });
    expect(b.counts()).toMatchObject({ queued: 0, inFlight: 0 });
    expect(a.nextDeadline()).toBe(5);
  });
});

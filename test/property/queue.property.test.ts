/**
 * Property test of the queue as the runtime drives it (fast path first, events otherwise, the
 * output box taken after every step), against a simple array-based reference model:
 * - the output of every command (dispatches and rejections, in order) equals the model's, which
 *   encodes FIFO within a priority, high before normal before low, the bound and the window;
 * - the window is never exceeded and the bound holds;
 * - every request settles exactly once (completed after dispatch, or rejected), none is lost or
 *   duplicated, across enqueue, complete, fail, abort, pause, resume, drain, close and time.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Actor, createActor, SimulatedClock } from 'xstate';
import {
  type QueueMachine,
  type QueueOutput,
  type QueuePriority,
  queueCounts,
  queueMachine,
  takeQueueOutput,
  tryAdmitFast,
  tryEnqueueFast,
  trySettleFast,
} from '../../src/machines/queue.js';

const NUM_RUNS = 100;
const PRIORITIES: QueuePriority[] = ['high', 'normal', 'low'];

interface Entry {
  id: string;
  deadlineAt: number | undefined;
  seq: number;
}
type Mode = 'accepting' | 'paused' | 'draining' | 'closed';

/** The reference model: plain arrays, O(n) everything, obviously right. */
class Model {
  mode: Mode = 'accepting';
  lanes: Record<QueuePriority, Entry[]> = { high: [], normal: [], low: [] };
  inFlight = new Set<string>();
  seq = 0;
  constructor(
    readonly concurrency: number,
    readonly maxQueued: number,
  ) {}
  queued(): number {
    return this.lanes.high.length + this.lanes.normal.length + this.lanes.low.length;
  }
  private shift(): Entry | undefined {
    for (const p of PRIORITIES) if (this.lanes[p].length > 0) return this.lanes[p].shift();
    return undefined;
  }
  private fill(nowMs: number, out: QueueOutput[]): void {
    while (this.inFlight.size < this.concurrency) {
      const e = this.shift();
      if (!e) break;
      if (e.deadlineAt !== undefined && e.deadlineAt <= nowMs)
        out.push({ kind: 'reject', id: e.id, reason: 'expired' });
      else {
        this.inFlight.add(e.id);
        out.push({ kind: 'dispatch', id: e.id });
      }
    }
  }
  private settleIfDrained(): void {
    if (this.mode === 'draining' && this.queued() === 0 && this.inFlight.size === 0) this.mode = 'closed';
  }
  enqueue(id: string, p: QueuePriority, deadlineAt: number | undefined, nowMs: number): QueueOutput[] {
    if (this.mode === 'draining' || this.mode === 'closed') return [{ kind: 'reject', id, reason: 'closed' }];
    if (this.mode === 'accepting' && this.queued() === 0 && this.inFlight.size < this.concurrency) {
      this.inFlight.add(id);
      return [{ kind: 'dispatch', id }];
    }
    if (this.queued() >= this.maxQueued) return [{ kind: 'reject', id, reason: 'full' }];
    if (deadlineAt !== undefined && deadlineAt <= nowMs) return [{ kind: 'reject', id, reason: 'expired' }];
    this.lanes[p].push({ id, deadlineAt, seq: this.seq++ });
    return [];
  }
  settle(id: string, nowMs: number): QueueOutput[] {
    const out: QueueOutput[] = [];
    if (!this.inFlight.delete(id)) return out;
    if (this.mode === 'accepting' || this.mode === 'draining') this.fill(nowMs, out);
    this.settleIfDrained();
    return out;
  }
  abort(id: string): QueueOutput[] {
    if (this.mode === 'closed') return [];
    for (const p of PRIORITIES) {
      const i = this.lanes[p].findIndex((e) => e.id === id);
      if (i >= 0) {
        this.lanes[p].splice(i, 1);
        this.settleIfDrained();
        return [{ kind: 'reject', id, reason: 'aborted' }];
      }
    }
    return [];
  }
  pause(): QueueOutput[] {
    if (this.mode === 'accepting') this.mode = 'paused';
    return [];
  }
  resume(nowMs: number): QueueOutput[] {
    const out: QueueOutput[] = [];
    if (this.mode === 'paused') {
      this.mode = 'accepting';
      this.fill(nowMs, out);
    }
    return out;
  }
  drain(nowMs: number): QueueOutput[] {
    const out: QueueOutput[] = [];
    if (this.mode === 'paused') this.fill(nowMs, out);
    if (this.mode === 'accepting' || this.mode === 'paused') this.mode = 'draining';
    this.settleIfDrained();
    return out;
  }
  close(): QueueOutput[] {
    const out: QueueOutput[] = [];
    if (this.mode === 'closed') return out;
    for (let e = this.shift(); e; e = this.shift()) out.push({ kind: 'reject', id: e.id, reason: 'closed' });
    this.mode = 'closed';
    return out;
  }
  /** Time moves one millisecond to `nowMs`: entries due by then expire, by deadline then arrival. */
  tick(nowMs: number): QueueOutput[] {
    const due: (Entry & { p: QueuePriority })[] = [];
    for (const p of PRIORITIES)
      for (const e of this.lanes[p])
        if (e.deadlineAt !== undefined && e.deadlineAt <= nowMs) due.push({ ...e, p });
    due.sort((a, b) => (a.deadlineAt as number) - (b.deadlineAt as number) || a.seq - b.seq);
    for (const e of due) this.lanes[e.p] = this.lanes[e.p].filter((x) => x.id !== e.id);
    this.settleIfDrained();
    return due.map((e) => ({ kind: 'reject', id: e.id, reason: 'expired' }));
  }
}

/** The runtime-like driver around the real actor, with a settlement ledger. */
class Real {
  readonly clock = new SimulatedClock();
  readonly actor: Actor<QueueMachine>;
  readonly started = new Set<string>(); // dispatched, not yet finished
  readonly outcome = new Map<string, string>(); // id -> how it settled (exactly once)
  submitted: string[] = [];
  counter = 0;
  constructor(input: { concurrency: number; maxQueued: number }) {
    this.actor = createActor(queueMachine, { clock: this.clock, input: { ...input, nowMs: 0 } }).start();
  }
  get ctx() {
    return this.actor.getSnapshot().context;
  }
  now(): number {
    return this.clock.now();
  }
  settleOnce(id: string, how: string): void {
    expect(this.outcome.has(id), `${id} settled twice (${this.outcome.get(id)}, then ${how})`).toBe(false);
    this.outcome.set(id, how);
  }
  apply(out: QueueOutput[]): void {
    for (const o of out) {
      if (o.kind === 'dispatch') {
        expect(this.started.has(o.id) || this.outcome.has(o.id), `${o.id} dispatched twice`).toBe(false);
        this.started.add(o.id);
      } else {
        expect(this.started.has(o.id), `${o.id} rejected while in flight`).toBe(false);
        this.settleOnce(o.id, o.reason);
      }
    }
    expect(this.ctx.store.inFlight.size).toBeLessThanOrEqual(this.ctx.concurrency);
    expect(this.ctx.store.queuedCount).toBeLessThanOrEqual(this.ctx.maxQueued);
  }
}

type Cmd = fc.Command<Model, Real>;
const same = (m: Model, r: Real, expected: QueueOutput[], actual: QueueOutput[]) => {
  expect(actual).toEqual(expected);
  r.apply(actual);
  const c = queueCounts(r.ctx);
  expect([c.queued, c.inFlight]).toEqual([m.queued(), m.inFlight.size]);
  expect([c.high, c.normal, c.low]).toEqual([m.lanes.high.length, m.lanes.normal.length, m.lanes.low.length]);
};

class Enqueue implements Cmd {
  constructor(
    readonly p: QueuePriority,
    readonly deadlineInMs: number | undefined,
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const id = `r${r.counter++}`;
    r.submitted.push(id);
    const nowMs = r.now();
    const deadlineAt = this.deadlineInMs === undefined ? undefined : nowMs + this.deadlineInMs;
    let out: QueueOutput[];
    if (tryAdmitFast(r.ctx, id)) out = [{ kind: 'dispatch', id }];
    else if (tryEnqueueFast(r.ctx, id, this.p, deadlineAt, nowMs)) out = takeQueueOutput(r.ctx);
    else {
      r.actor.send({ type: 'ENQUEUE', id, nowMs, priority: this.p, deadlineAt });
      out = takeQueueOutput(r.ctx);
    }
    same(m, r, m.enqueue(id, this.p, deadlineAt, nowMs), out);
  }
  toString = () => `enqueue(${this.p}, ${this.deadlineInMs})`;
}

class Finish implements Cmd {
  constructor(
    readonly pick: number,
    readonly ok: boolean,
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const ids = [...r.started];
    const id = ids[this.pick % Math.max(1, ids.length)];
    if (id === undefined) return;
    r.started.delete(id);
    r.settleOnce(id, this.ok ? 'completed' : 'failed');
    if (!trySettleFast(r.ctx, id, r.now())) r.actor.send({ type: 'SETTLE', id, nowMs: r.now() });
    const out = takeQueueOutput(r.ctx);
    same(m, r, m.settle(id, r.now()), out);
  }
  toString = () => `${this.ok ? 'complete' : 'fail'}(${this.pick})`;
}

class Abort implements Cmd {
  constructor(readonly pick: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const id = r.submitted[this.pick % Math.max(1, r.submitted.length)] ?? 'nobody';
    r.actor.send({ type: 'ABORT', id, nowMs: r.now() });
    same(m, r, m.abort(id), takeQueueOutput(r.ctx));
  }
  toString = () => `abort(${this.pick})`;
}

class Simple implements Cmd {
  constructor(readonly kind: 'PAUSE' | 'RESUME' | 'DRAIN' | 'CLOSE') {}
  check = () => true;
  run(m: Model, r: Real): void {
    const nowMs = r.now();
    if (this.kind === 'PAUSE' || this.kind === 'CLOSE') r.actor.send({ type: this.kind });
    else r.actor.send({ type: this.kind, nowMs });
    const expected =
      this.kind === 'PAUSE'
        ? m.pause()
        : this.kind === 'RESUME'
          ? m.resume(nowMs)
          : this.kind === 'DRAIN'
            ? m.drain(nowMs)
            : m.close();
    same(m, r, expected, takeQueueOutput(r.ctx));
    expect((r.actor.getSnapshot().value as { mode: string }).mode).toBe(m.mode);
  }
  toString = () => this.kind.toLowerCase();
}

class Advance implements Cmd {
  constructor(readonly ms: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    for (let i = 0; i < this.ms; i++) {
      r.clock.increment(1);
      same(m, r, m.tick(r.now()), takeQueueOutput(r.ctx));
    }
    expect((r.actor.getSnapshot().value as { mode: string }).mode).toBe(m.mode);
  }
  toString = () => `advance(${this.ms})`;
}

describe('queue properties', () => {
  it(`matches the reference model; window, bound, FIFO per priority, settle-once hold (numRuns ${NUM_RUNS})`, () => {
    const commands = [
      fc
        .tuple(fc.constantFrom(...PRIORITIES), fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }))
        .map(([p, d]) => new Enqueue(p, d)),
      fc.tuple(fc.nat(50), fc.boolean()).map(([pick, ok]) => new Finish(pick, ok)),
      fc.nat(200).map((pick) => new Abort(pick)),
      fc
        .constantFrom<Simple['kind']>('PAUSE', 'RESUME', 'RESUME', 'DRAIN', 'CLOSE')
        .map((k) => new Simple(k)),
      fc.integer({ min: 1, max: 30 }).map((ms) => new Advance(ms)),
    ];
    const reached = { full: 0, expired: 0, aborted: 0, closed: 0 };
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 6 }),
        fc.commands(commands, { maxCommands: 100, size: 'large' }),
        (concurrency, maxQueued, cmds) => {
          const real = new Real({ concurrency, maxQueued });
          const model = new Model(concurrency, maxQueued);
          fc.modelRun(() => ({ model, real }), cmds);
          // Wind down: close, finish what runs; every submitted request settled exactly once.
          real.actor.send({ type: 'CLOSE' });
          same(model, real, model.close(), takeQueueOutput(real.ctx));
          while (real.started.size > 0) new Finish(0, true).run(model, real);
          expect(real.started.size).toBe(0);
          expect(queueCounts(real.ctx)).toMatchObject({ queued: 0, inFlight: 0 });
          expect(real.submitted.filter((id) => !real.outcome.has(id))).toEqual([]);
          expect(real.outcome.size).toBe(real.submitted.length);
          for (const how of real.outcome.values()) if (how in reached) reached[how as keyof typeof reached]++;
          real.actor.stop();
        },
      ),
      { numRuns: NUM_RUNS },
    );
    expect(reached.full).toBeGreaterThan(0);
    expect(reached.expired).toBeGreaterThan(0);
    expect(reached.aborted).toBeGreaterThan(0);
    expect(reached.closed).toBeGreaterThan(0);
  });
});

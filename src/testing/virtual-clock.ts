/**
 * A virtual clock for testing timeouts, backoff and breakers without waiting, with no test
 * framework needed. `install()` replaces `setTimeout`/`setInterval` (and their clears),
 * `Date.now()`/`new Date()` and `performance.now()`; `advance(ms)` moves time forward, firing
 * due timers in order and letting promises settle between them. `setImmediate` and
 * `process.nextTick` stay real: they are how pending promise chains and I/O get to run.
 */

/** A fake timer handle; looks enough like Node's `Timeout` for code that calls `unref()`. */
class VirtualTimer {
  constructor(
    readonly id: number,
    public dueMs: number,
    readonly callback: (...args: unknown[]) => void,
    readonly args: unknown[],
    readonly intervalMs: number | undefined,
  ) {}
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  hasRef(): boolean {
    return true;
  }
  refresh(): this {
    return this;
  }
  [Symbol.toPrimitive](): number {
    return this.id;
  }
}

/** The virtual clock. Create it with {@link createVirtualClock}. */
export class VirtualClock {
  private nowMs: number;
  private seq = 0;
  private readonly timers = new Map<number, VirtualTimer>();
  private saved: Record<string, unknown> | undefined;
  private readonly realSetImmediate = setImmediate;

  constructor(startMs: number) {
    this.nowMs = startMs;
  }

  /** The virtual time, in ms since the epoch. */
  now(): number {
    return this.nowMs;
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.timers.size;
  }

  /** Replaces the global timer and time functions; idempotent. */
  install(): this {
    if (this.saved) return this;
    const g = globalThis as unknown as Record<string, unknown>;
    this.saved = {
      setTimeout: g.setTimeout,
      clearTimeout: g.clearTimeout,
      setInterval: g.setInterval,
      clearInterval: g.clearInterval,
      Date: g.Date,
      performanceNow: performance.now,
    };
    const clock = this;
    const RealDate = Date;
    g.setTimeout = (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) =>
      this.add(fn, ms, args, false);
    g.setInterval = (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) =>
      this.add(fn, ms, args, true);
    g.clearTimeout = g.clearInterval = (handle: unknown) => {
      if (handle !== undefined && handle !== null) this.timers.delete(Number(handle));
    };
    // A Date whose "now" is virtual; explicit dates are untouched.
    const VirtualDate = function (this: unknown, ...args: unknown[]) {
      if (!new.target) return new RealDate(clock.nowMs).toString();
      return args.length === 0
        ? new RealDate(clock.nowMs)
        : new (RealDate as DateConstructor)(...(args as []));
    } as unknown as DateConstructor;
    Object.setPrototypeOf(VirtualDate, RealDate);
    Object.defineProperty(VirtualDate, 'prototype', { value: RealDate.prototype });
    VirtualDate.now = () => clock.nowMs;
    g.Date = VirtualDate;
    const origin = this.nowMs;
    performance.now = () => clock.nowMs - origin;
    return this;
  }

  /** Puts the real functions back; pending virtual timers are dropped. Idempotent. */
  uninstall(): void {
    const s = this.saved;
    if (!s) return;
    const g = globalThis as unknown as Record<string, unknown>;
    g.setTimeout = s.setTimeout;
    g.clearTimeout = s.clearTimeout;
    g.setInterval = s.setInterval;
    g.clearInterval = s.clearInterval;
    g.Date = s.Date;
    performance.now = s.performanceNow as typeof performance.now;
    this.saved = undefined;
    this.timers.clear();
  }

  /** `using clock = createVirtualClock().install()` uninstalls at the end of the scope. */
  [Symbol.dispose](): void {
    this.uninstall();
  }

  /** Lets every settled promise chain run (a few turns of the real event loop, no time passes). */
  async flush(turns = 5): Promise<void> {
    for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => this.realSetImmediate(resolve));
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order, flushing in between. */
  async advance(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('advance: ms must be a finite number >= 0');
    const target = this.nowMs + ms;
    await this.flush();
    for (let fired = 0; fired < 100_000; fired++) {
      const next = this.nextDue();
      if (!next || next.dueMs > target) break;
      this.nowMs = Math.max(this.nowMs, next.dueMs);
      this.fire(next);
      await this.flush();
    }
    this.nowMs = target;
    await this.flush();
  }

  /** Advances to the next timer and fires it; resolves with the ms advanced (0 when none is pending). */
  async next(): Promise<number> {
    const next = this.nextDue();
    if (!next) return 0;
    const step = Math.max(0, next.dueMs - this.nowMs);
    await this.advance(step);
    return step;
  }

  /** Fires timers until none is left (bounded: intervals would never end), resolving with the time advanced. */
  async runAll(maxTimers = 10_000): Promise<number> {
    const start = this.nowMs;
    for (let i = 0; i < maxTimers && this.timers.size > 0; i++) await this.next();
    return this.nowMs - start;
  }

  private add(
    fn: (...a: unknown[]) => void,
    ms: number | undefined,
    args: unknown[],
    repeat: boolean,
  ): VirtualTimer {
    if (typeof fn !== 'function') throw new TypeError('The "callback" argument must be of type function');
    const delayMs = Math.max(repeat ? 1 : 0, Number(ms) || 0);
    const timer = new VirtualTimer(++this.seq, this.nowMs + delayMs, fn, args, repeat ? delayMs : undefined);
    this.timers.set(timer.id, timer);
    return timer;
  }

  private nextDue(): VirtualTimer | undefined {
    let best: VirtualTimer | undefined;
    for (const t of this.timers.values()) if (!best || t.dueMs < best.dueMs) best = t;
    return best;
  }

  private fire(timer: VirtualTimer): void {
    if (timer.intervalMs === undefined) this.timers.delete(timer.id);
    else timer.dueMs += timer.intervalMs;
    timer.callback(...timer.args);
  }
}

/**
 * Creates a virtual clock (not yet installed). Install it before creating the runtime under test,
 * so every timer the runtime and the SDK start is virtual.
 *
 * @example
 * using clock = createVirtualClock().install();
 * const rt = createRuntime({ servers: { s: { mock } } });
 * const call = rt.callTool('s', 'slow', {}, { timeoutMs: 5_000 });
 * await clock.advance(5_000);
 * await expect(call).rejects.toMatchObject({ code: 'TIMEOUT' });
 */
export function createVirtualClock(options: { startMs?: number } = {}): VirtualClock {
  return new VirtualClock(options.startMs ?? Date.now());
}

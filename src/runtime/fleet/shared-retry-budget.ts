/**
 * The retry budget of one server, counted across the fleet: retries may not exceed `ratio` × calls
 * over the window, summed over every process, with the same floor of one retry as the local
 * {@link RetryBudget}.
 *
 * Hot path: counting a call is a local increment. Every `flushMs` a process that made calls within
 * the window adds its counts to the store (time buckets shared by the fleet, one INCRBY per counter) and reads the
 * fleet's sums back (one MGET); a retry decision is synchronous, on that view plus what this
 * process counted since. Bounded error: each process sees the others' counts at most
 * `flushMs` + the store timeout late, so the fleet can overshoot by the retries the others took
 * within that lag. When the store is degraded or the view is stale (3 × `flushMs`), the local
 * budget decides, exactly as without a fleet.
 */
import { RetryBudget, type RetryBudgetState, retriesAllowed } from '../../machines/retry-policy.js';
import type { FleetContext } from './fleet-context.js';

const BUCKETS = 10;

/** What the call path needs of a retry budget (the local {@link RetryBudget} has the same shape). */
export interface RetryBudgetLike {
  recordCall(nowMs: number): void;
  tryTakeRetry(nowMs: number): boolean;
  state(): RetryBudgetState;
  restore(state: RetryBudgetState): void;
}

/** Options of {@link SharedRetryBudget}. */
export interface SharedRetryBudgetOptions {
  ratio: number;
  windowMs: number;
  /** Retries always allowed over the window, fleet-wide (default 1). */
  minRetries?: number;
  /** How often a busy process exchanges counts with the fleet (default 100 ms). */
  flushMs?: number;
}

/**
 * A retry budget shared by the fleet.
 *
 * @example
 * const budget = new SharedRetryBudget(ctx, 'demo', { ratio: 0.2, windowMs: 10_000 });
 * budget.start();
 * budget.recordCall(Date.now());
 * if (budget.tryTakeRetry(Date.now())) retry();
 */
export class SharedRetryBudget implements RetryBudgetLike {
  private readonly local: RetryBudget;
  private readonly bucketMs: number;
  private readonly flushMs: number;
  private unflushedCalls = 0;
  private unflushedRetries = 0;
  /** Counts sent but not yet reflected in the view. */
  private sendingCalls = 0;
  private sendingRetries = 0;
  private view = { calls: 0, retries: 0, atMs: Number.NEGATIVE_INFINITY };
  private timer: ReturnType<typeof setInterval> | undefined;
  private flushing = false;
  private lastCallMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly ctx: FleetContext,
    private readonly server: string,
    private readonly options: SharedRetryBudgetOptions,
  ) {
    this.local = new RetryBudget(options.ratio, options.windowMs, options.minRetries);
    this.bucketMs = Math.max(1, Math.ceil(options.windowMs / BUCKETS));
    this.flushMs = options.flushMs ?? 100;
  }

  /** Starts the periodic exchange (an unref'd timer; it does nothing once this process was idle for a window). */
  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.flushMs);
    this.timer.unref?.();
  }

  /** Counts a first attempt: a local increment. */
  recordCall(nowMs: number): void {
    this.local.recordCall(nowMs);
    this.unflushedCalls++;
    this.lastCallMs = nowMs;
  }

  /** Takes one retry from the fleet's budget (or the local one when the fleet view is unusable). */
  tryTakeRetry(nowMs: number): boolean {
    if (!this.fleetViewUsable(nowMs)) return this.local.tryTakeRetry(nowMs);
    const calls = this.view.calls + this.sendingCalls + this.unflushedCalls;
    const retries = this.view.retries + this.sendingRetries + this.unflushedRetries;
    if (retries + 1 > retriesAllowed(calls, this.options.ratio, this.options.minRetries ?? 1)) return false;
    this.unflushedRetries++;
    return true;
  }

  /** Whether decisions currently use the fleet's counts. */
  fleetViewUsable(nowMs: number): boolean {
    return this.ctx.store.state === 'ok' && nowMs - this.view.atMs <= 3 * this.flushMs;
  }

  /** The local budget's counters (what persists; the fleet's live in the store). */
  state(): RetryBudgetState {
    return this.local.state();
  }

  restore(state: RetryBudgetState): void {
    this.local.restore(state);
  }

  /**
   * Sends this process's new counts and reads the fleet's sums. Bounded by the store timeout;
   * a failure keeps the old view (which goes stale, so the local budget takes over).
   */
  async flush(nowMs = Date.now()): Promise<void> {
    if (this.flushing) return;
    // Idle for a whole window: nothing to send and no decision to make, so no round trip.
    if (this.unflushedCalls + this.unflushedRetries === 0 && nowMs - this.lastCallMs > this.options.windowMs)
      return;
    this.flushing = true;
    const calls = this.unflushedCalls;
    const retries = this.unflushedRetries;
    this.unflushedCalls = 0;
    this.unflushedRetries = 0;
    this.sendingCalls = calls;
    this.sendingRetries = retries;
    try {
      const bucket = Math.floor(nowMs / this.bucketMs);
      const ttlMs = 2 * this.options.windowMs;
      const store = this.ctx.store;
      await Promise.all([
        calls > 0 ? store.incr(this.bucketKey('calls', bucket), calls, ttlMs) : undefined,
        retries > 0 ? store.incr(this.bucketKey('retries', bucket), retries, ttlMs) : undefined,
      ]);
      const keys: string[] = [];
      for (let i = 0; i < BUCKETS; i++) {
        keys.push(this.bucketKey('calls', bucket - i), this.bucketKey('retries', bucket - i));
      }
      const values = await store.getMany(keys);
      let fleetCalls = 0;
      let fleetRetries = 0;
      values.forEach((v, i) => {
        if (i % 2 === 0) fleetCalls += Number(v ?? 0);
        else fleetRetries += Number(v ?? 0);
      });
      this.view = { calls: fleetCalls, retries: fleetRetries, atMs: nowMs };
    } catch {
      // Degraded: the view goes stale and the local budget decides.
    } finally {
      this.sendingCalls = 0;
      this.sendingRetries = 0;
      this.flushing = false;
    }
  }

  /** Stops the timer. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private bucketKey(kind: 'calls' | 'retries', bucket: number): string {
    return this.ctx.key('budget', this.server, kind, String(bucket));
  }
}

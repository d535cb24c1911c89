/**
 * Invariants of the call path (queue → breaker → connection → retry) under arbitrary faults and
 * interleavings: every promise settles exactly once, a call that is not retry-safe reaches the
 * server at most once, attempts are bounded, the window and the half-open probe limit hold.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ServerConnection } from '../../src/actors/server-connection.js';
import { ConnectionLostError, RemoteError, TimeoutError, ToolError } from '../../src/errors/index.js';
import { CallPath, type CallPathDeps } from '../../src/runtime/call-path.js';

type Fault = 'ok' | 'lostAfterReceipt' | 'unavailable' | 'timeout' | 'toolError';

interface CallPlan {
  kind: 'tool' | 'read';
  safeTool: boolean;
  explicitRetry: boolean | undefined;
  faults: Fault[];
}

const faultArb = fc.constantFrom<Fault>('ok', 'lostAfterReceipt', 'unavailable', 'timeout', 'toolError');
const planArb: fc.Arbitrary<CallPlan> = fc.record({
  kind: fc.constantFrom<'tool' | 'read'>('tool', 'read'),
  safeTool: fc.boolean(),
  explicitRetry: fc.constantFrom<boolean | undefined>(undefined, undefined, true, false),
  faults: fc.array(faultArb, { minLength: 1, maxLength: 5 }),
});

const fakeConnection = { isReady: true, client: {} } as unknown as ServerConnection;

function deps(overrides: Partial<CallPathDeps> = {}): CallPathDeps {
  return {
    server: 'prop',
    timeoutMs: 60_000,
    retry: {
      maxAttempts: 3,
      backoffFactor: 2,
      initialDelayMs: 10,
      maxBackoffMs: 100,
      budgetRatio: 1,
      budgetWindowMs: 10_000,
      budgetMinRetries: 1,
    },
    breaker: { failureThreshold: 3, resetTimeoutMs: 1_000, halfOpenProbes: 2 },
    perToolBreakers: false,
    queue: { concurrency: 4, maxQueued: 1_000 },
    acquire: () => fakeConnection,
    release: () => {},
    toolHints: (tool) => (tool.startsWith('safe') ? { idempotentHint: true } : undefined),
    onBreaker: () => {},
    seed: 42,
    ...overrides,
  };
}

function failureFor(fault: Fault): Error | undefined {
  switch (fault) {
    case 'lostAfterReceipt':
      return new ConnectionLostError('gone', { server: 'prop' });
    case 'unavailable':
      return new RemoteError('busy', 503, undefined, { server: 'prop' });
    case 'timeout':
      return new TimeoutError('slow', 10, { server: 'prop' });
    case 'toolError':
      return new ToolError('no', 't', {}, { server: 'prop' });
    default:
      return undefined;
  }
}

describe('call path properties', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('settles once, never repeats an unsafe call, bounds attempts and the window', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(planArb, { minLength: 1, maxLength: 25 }),
        fc.scheduler(),
        async (plans, s) => {
          runs++;
          const path = new CallPath(deps());
          const receipts = plans.map(() => 0);
          const settlements = plans.map(() => 0);
          let inFlight = 0;
          let maxInFlight = 0;
          const promises = plans.map((plan, i) => {
            const tool = plan.safeTool ? `safe-${i}` : `plain-${i}`;
            return path
              .submit({
                operation: plan.kind === 'tool' ? `tools/call ${tool}` : `resources/read r${i}`,
                kind: plan.kind,
                ...(plan.kind === 'tool' ? { tool } : {}),
                options: plan.explicitRetry === undefined ? {} : { retry: plan.explicitRetry },
                run: () => {
                  const attempt = receipts[i]!++;
                  inFlight++;
                  maxInFlight = Math.max(maxInFlight, inFlight);
                  const fault = plan.faults[Math.min(attempt, plan.faults.length - 1)]!;
                  return s
                    .schedule(Promise.resolve(fault), `call ${i} attempt ${attempt + 1}: ${fault}`)
                    .then((f) => {
                      inFlight--;
                      const error = failureFor(f);
                      if (error) throw error;
                      return i;
                    });
                },
              })
              .then(
                () => settlements[i]!++,
                () => settlements[i]!++,
              );
          });
          // Deliver scheduled results and fire retry timers until every call has settled.
          for (let guard = 0; guard < 500 && settlements.some((n) => n === 0); guard++) {
            if (s.count() > 0) await s.waitOne();
            else await vi.advanceTimersByTimeAsync(50);
          }
          await Promise.all(promises);
          expect(settlements.every((n) => n === 1)).toBe(true);
          expect(maxInFlight).toBeLessThanOrEqual(4);
          plans.forEach((plan, i) => {
            expect(receipts[i]).toBeLessThanOrEqual(3);
            const safe =
              plan.explicitRetry === true ||
              (plan.explicitRetry === undefined && (plan.kind === 'read' || plan.safeTool));
            if (!safe) expect(receipts[i]).toBeLessThanOrEqual(1);
          });
          path.close();
        },
      ),
      { numRuns: 150 },
    );
    expect(runs).toBe(150);
  });

  it('in halfOpen never more than halfOpenProbes calls reach the server', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.boolean(), { minLength: 4, maxLength: 30 }),
        fc.scheduler(),
        async (succeed, s) => {
          const path = new CallPath(deps({ queue: { concurrency: 16, maxQueued: 1_000 } }));
          // Open the breaker: three counted failures in a row.
          for (let k = 0; k < 3; k++) {
            await path
              .submit({
                operation: 'ping',
                kind: 'other',
                options: {},
                run: () => Promise.reject(new ConnectionLostError('x')),
              })
              .catch(() => {});
          }
          expect(path.breaker().getSnapshot().context.circuit).toBe('open');
          await vi.advanceTimersByTimeAsync(1_000);
          let atServer = 0;
          let maxAtServer = 0;
          const results = succeed.map((ok, i) =>
            path
              .submit({
                operation: 'ping',
                kind: 'other',
                options: { retry: false },
                run: () => {
                  atServer++;
                  maxAtServer = Math.max(maxAtServer, atServer);
                  return s.schedule(Promise.resolve(ok), `probe ${i}`).then((good) => {
                    atServer--;
                    if (!good) throw new ConnectionLostError('probe failed');
                    return true;
                  });
                },
              })
              .then(
                () => 'ok',
                (e: { code: string }) => e.code,
              ),
          );
          await s.waitAll();
          const codes = await Promise.all(results);
          expect(maxAtServer).toBeLessThanOrEqual(2);
          expect(codes.every((c) => ['ok', 'CONNECTION_LOST', 'BREAKER_OPEN'].includes(c))).toBe(true);
          path.close();
        },
      ),
      { numRuns: 100 },
    );
  });

  it('QUEUE_FULL is immediate and loses nothing else', async () => {
    const path = new CallPath(deps({ queue: { concurrency: 1, maxQueued: 2 } }));
    const gates: Array<() => void> = [];
    const run = () => new Promise<number>((r) => gates.push(() => r(1)));
    const a = path.submit({ operation: 'ping', kind: 'ping', options: {}, run });
    const b = path.submit({ operation: 'ping', kind: 'ping', options: {}, run });
    const c = path.submit({ operation: 'ping', kind: 'ping', options: {}, run });
    await expect(path.submit({ operation: 'ping', kind: 'ping', options: {}, run })).rejects.toMatchObject({
      code: 'QUEUE_FULL',
      maxQueued: 2,
    });
    expect(path.snapshot().queue).toMatchObject({ queued: 2, inFlight: 1 });
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(0);
      gates.shift()?.();
    }
    expect(await Promise.all([a, b, c])).toEqual([1, 1, 1]);
    path.close();
  });

  it('an abort while queued leaves the queue at once with CANCELLED', async () => {
    const path = new CallPath(deps({ queue: { concurrency: 1, maxQueued: 10 } }));
    let release: () => void = () => {};
    const first = path.submit({
      operation: 'ping',
      kind: 'ping',
      options: {},
      run: () => new Promise<void>((r) => (release = r)),
    });
    const ac = new AbortController();
    const queued = path.submit({
      operation: 'ping',
      kind: 'ping',
      options: { signal: ac.signal },
      run: async () => 'ran',
    });
    expect(path.snapshot().queue.queued).toBe(1);
    ac.abort();
    await expect(queued).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(path.snapshot().queue.queued).toBe(0);
    release();
    await first;
    path.close();
  });

  it('a queued call whose deadline passes while the window stays busy rejects with TIMEOUT at its deadline', async () => {
    const path = new CallPath(deps({ queue: { concurrency: 1, maxQueued: 10 } }));
    let release: () => void = () => {};
    const first = path.submit({
      operation: 'ping',
      kind: 'ping',
      options: {},
      run: () => new Promise<void>((r) => (release = r)),
    });
    const settled: string[] = [];
    const queued = path.submit({
      operation: 'ping',
      kind: 'ping',
      options: { timeoutMs: 50 },
      run: async () => 'ran',
    });
    queued.catch((e: { code: string }) => settled.push(e.code));
    const later = path.submit({
      operation: 'ping',
      kind: 'ping',
      options: { timeoutMs: 80 },
      run: async () => 'ran',
    });
    later.catch((e: { code: string }) => settled.push(e.code));
    expect(path.snapshot().queue.queued).toBe(2);
    await vi.advanceTimersByTimeAsync(49);
    expect(settled).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toEqual(['TIMEOUT']);
    await vi.advanceTimersByTimeAsync(30);
    expect(settled).toEqual(['TIMEOUT', 'TIMEOUT']);
    expect(path.snapshot().queue).toMatchObject({ queued: 0, inFlight: 1 });
    release();
    await first;
    path.close();
  });

  it('past the window, queued calls take no queue event; the window and FIFO order hold', async () => {
    const events: string[] = [];
    const path = new CallPath(
      deps({
        queue: { concurrency: 2, maxQueued: 100 },
        inspect: (e) => {
          if (e.type === '@xstate.event' && (e.event as { type: string }).type !== 'xstate.init')
            events.push((e.event as { type: string }).type);
        },
      }),
    );
    const order: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const calls = Array.from({ length: 20 }, (_, i) =>
      path.submit({
        operation: 'ping',
        kind: 'ping',
        options: {},
        run: async () => {
          order.push(i);
          maxInFlight = Math.max(maxInFlight, ++inFlight);
          await Promise.resolve();
          inFlight--;
          return i;
        },
      }),
    );
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(maxInFlight).toBe(2);
    // One ENQUEUE arms the deadline timer for the first queued call; none after that.
    expect(events.filter((t) => t === 'ENQUEUE' || t === 'SETTLE')).toEqual(['ENQUEUE']);
    path.close();
  });

  it('retry honours Retry-After and the retry budget', async () => {
    const path = new CallPath(
      deps({
        retry: {
          maxAttempts: 5,
          backoffFactor: 2,
          initialDelayMs: 1,
          maxBackoffMs: 10,
          budgetRatio: 0.5,
          budgetWindowMs: 60_000,
          budgetMinRetries: 1,
        },
      }),
    );
    let attempts = 0;
    const started: number[] = [];
    const call = path.submit({
      operation: 'resources/read x',
      kind: 'read',
      options: {},
      run: async () => {
        attempts++;
        started.push(Date.now());
        throw new RemoteError('slow down', 429, undefined, { retryAfterMs: 2_000 });
      },
    });
    const outcome = call.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10_000);
    // One call in the window: the budget allows max(1, floor(1 × 0.5)) = 1 retry.
    expect(attempts).toBe(2);
    expect(started[1]! - started[0]!).toBeGreaterThanOrEqual(2_000);
    expect(await outcome).toMatchObject({ code: 'REMOTE', rpcCode: 429 });
    expect(path.snapshot().stats).toMatchObject({ retries: 1, retriesDeniedByBudget: 1 });
    path.close();
  });

  it('close() rejects queued calls and calls waiting to retry with CLOSED', async () => {
    // A long first backoff keeps the retry pending when close() comes.
    const retry = {
      maxAttempts: 3,
      backoffFactor: 2,
      initialDelayMs: 5_000,
      maxBackoffMs: 5_000,
      budgetRatio: 1,
      budgetWindowMs: 10_000,
      budgetMinRetries: 1,
    };
    const path = new CallPath(deps({ queue: { concurrency: 1, maxQueued: 10 }, retry, seed: 7 }));
    const retrying = path
      .submit({
        operation: 'resources/read x',
        kind: 'read',
        options: {},
        run: () => Promise.reject(new ConnectionLostError('x')),
      })
      .catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(0);
    path.close();
    expect(await retrying).toMatchObject({ code: 'CLOSED' });
    await expect(
      path.submit({ operation: 'ping', kind: 'ping', options: {}, run: async () => 1 }),
    ).rejects.toMatchObject({
      code: 'CLOSED',
    });
  });
});

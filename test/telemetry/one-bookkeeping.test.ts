/**
 * One bookkeeping: the inspector's latency p50/p99 and calls per second, and the OpenTelemetry
 * `mcp.client.operation.duration` histogram, come from the call path's one measurement of each
 * call. A call path on a virtual clock runs a known set of calls (some wait in the queue, some
 * fail); its health recorder (what `rt.health()` and the inspector overview read) and the
 * histogram must agree with each other and with the durations the callers saw.
 */
import type { DataPoint, Histogram } from '@opentelemetry/sdk-metrics';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ServerConnection } from '../../src/actors/server-connection.js';
import { RemoteError } from '../../src/errors/index.js';
import { CallPath } from '../../src/runtime/call-path.js';
import { HealthRecorder } from '../../src/runtime/health.js';
import { CallRate, type OverviewSnapshot, overviewRows } from '../../src/runtime/inspector/overview.js';
import { createCallTelemetry } from '../../src/runtime/telemetry/call-telemetry.js';
import { METRIC } from '../../src/runtime/telemetry/names.js';
import { describeServer } from '../../src/runtime/telemetry/server-info.js';
import { memoryMetrics, pointsOf } from './otel-harness.js';

type HistogramPoint = DataPoint<Histogram>;

const CALLS = 100;
const WINDOW_MS = 1_000;
const fakeConnection = { isReady: true, client: {} } as unknown as ServerConnection;
const idle: OverviewSnapshot = {
  state: 'ready',
  protocol: { era: 'modern', version: '2026-07-28' },
  queue: { queued: 0 },
  breakers: {},
  lastError: null,
};

/** The health recorder's percentile rule, applied to the durations the callers measured. */
function percentile(sortedMs: number[], p: number): number {
  return (
    Math.round(sortedMs[Math.min(sortedMs.length - 1, Math.ceil(p * sortedMs.length) - 1)]! * 1000) / 1000
  );
}

/** The histogram bucket (lower, upper] in seconds that holds the sample of rank ceil(p * count). */
function bucketOf(points: HistogramPoint[], p: number): [number, number] {
  const { boundaries } = points[0]!.value.buckets;
  const counts: number[] = new Array(boundaries.length + 1).fill(0);
  for (const point of points) {
    for (const [i, n] of point.value.buckets.counts.entries()) counts[i]! += n;
  }
  const rank = Math.ceil(p * counts.reduce((a, b) => a + b, 0));
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= rank) return [i === 0 ? 0 : boundaries[i - 1]!, boundaries[i] ?? Number.POSITIVE_INFINITY];
  }
  throw new Error('rank past the last bucket');
}

describe('the inspector and the metrics read one measurement', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('p50/p99, calls per second and the duration histogram agree on one set of calls', async () => {
    const metrics = memoryMetrics();
    const health = new HealthRecorder();
    const path = new CallPath({
      server: 's',
      timeoutMs: 60_000,
      retry: {
        maxAttempts: 1,
        backoffFactor: 2,
        initialDelayMs: 10,
        maxBackoffMs: 100,
        budgetRatio: 1,
        budgetWindowMs: 10_000,
        budgetMinRetries: 1,
      },
      breaker: { failureThreshold: 1_000, resetTimeoutMs: 1_000, halfOpenProbes: 1 },
      perToolBreakers: false,
      // A window of 10: most calls wait in the queue, so a call's duration is not its attempt's.
      queue: { concurrency: 10, maxQueued: 1_000 },
      acquire: () => fakeConnection,
      release: () => {},
      toolHints: () => undefined,
      onBreaker: () => {},
      onOutcome: (durationMs, error) => health.record(durationMs, error),
      telemetry: {
        calls: createCallTelemetry({ meterProvider: metrics.provider }),
        server: describeServer({ name: 's', transport: 'memory' }),
      },
      seed: 1,
    });
    const rate = new CallRate(WINDOW_MS);
    const before = health.snapshot();
    expect(overviewRows({ s: idle }, () => before, rate, Date.now())[0]!.callsPerSecond).toBeNull();

    const seenMs: number[] = [];
    const calls = Array.from({ length: CALLS }, (_, i) => {
      const startMs = performance.now();
      const workMs = ((i * 37) % 13) * 5 + 1;
      const record = () => {
        seenMs.push(performance.now() - startMs);
      };
      return path
        .submit({
          operation: 'tools/call work',
          kind: 'tool',
          tool: 'work',
          options: {},
          run: () =>
            new Promise((resolve, reject) =>
              setTimeout(
                () =>
                  i % 10 === 9
                    ? reject(new RemoteError('no such thing', -32002, undefined, { server: 's' }))
                    : resolve(i),
                workMs,
              ),
            ),
        })
        .then(record, record);
    });
    await vi.advanceTimersByTimeAsync(WINDOW_MS);
    await Promise.all(calls);
    expect(seenMs).toHaveLength(CALLS);

    // The inspector's row, as the inspector builds it.
    const h = health.snapshot();
    const [row] = overviewRows({ s: idle }, () => health.snapshot(), rate, Date.now());
    if (!row) throw new Error('no overview row');
    const points = pointsOf(await metrics.collect(), METRIC.clientOperationDuration)
      .points as HistogramPoint[];
    const count = points.reduce((n, p) => n + p.value.count, 0);
    const sumS = points.reduce((n, p) => n + (p.value.sum ?? 0), 0);

    // The same calls: as many in the histogram as the health counted, failures included.
    expect(count).toBe(CALLS);
    expect(h.requests).toBe(CALLS);
    expect(h.failures).toBe(CALLS / 10);
    expect(row.callsPerSecond).toBe((count * 1000) / WINDOW_MS);
    // The same values: what the callers saw, queueing included, in both.
    const sorted = [...seenMs].sort((a, b) => a - b);
    expect(row.latencyP50Ms).toBe(percentile(sorted, 0.5));
    expect(row.latencyP99Ms).toBe(percentile(sorted, 0.99));
    expect(sumS * 1000).toBeCloseTo(
      seenMs.reduce((a, b) => a + b, 0),
      6,
    );
    expect(Math.min(...points.map((p) => p.value.min!)) * 1000).toBeCloseTo(sorted[0]!, 6);
    expect(Math.max(...points.map((p) => p.value.max!)) * 1000).toBeCloseTo(sorted.at(-1)!, 6);
    // And the inspector's percentiles fall in the histogram's buckets of the same ranks.
    for (const [p, ms] of [
      [0.5, row.latencyP50Ms!],
      [0.99, row.latencyP99Ms!],
    ] as const) {
      const [lower, upper] = bucketOf(points, p);
      expect(ms / 1000).toBeGreaterThan(lower);
      expect(ms / 1000).toBeLessThanOrEqual(upper);
    }
    // Queueing is in the measurement: the slowest call waited far longer than any attempt ran.
    expect(row.latencyP99Ms!).toBeGreaterThan(61);
    path.close();
  });
});

/**
 * Health metrics of one server, fed by the call path once per settled call (pings included; local
 * refusals such as BREAKER_OPEN too) with the duration the caller saw, queueing and retries
 * included: the same value `mcp.client.operation.duration` records, so health, the inspector and
 * the OpenTelemetry histogram read one measurement. Latency percentiles over the last samples,
 * error rate over the last outcomes, the last error. Fixed-size ring buffers: recording is O(1) and allocation-free; percentiles are computed only when read.
 */

/** A server's health, as carried by `serverStatus` events and `rt.health(server)`. */
export interface HealthSnapshot {
  /** Median duration of the recent calls (ms); null before the first one. */
  latencyP50Ms: number | null;
  /** 99th percentile duration of the recent calls (ms); null before the first one. */
  latencyP99Ms: number | null;
  /** Latency samples the percentiles are computed over. */
  samples: number;
  /** Failed share of the recent outcomes, 0..1. */
  errorRate: number;
  /** Calls settled since the runtime started (ok + failed). */
  requests: number;
  failures: number;
  lastError: { code: string; message: string; at: number } | null;
}

const LATENCY_WINDOW = 512;
const OUTCOME_WINDOW = 100;

/** Records outcomes of one server's requests. */
export class HealthRecorder {
  private readonly latencies = new Float64Array(LATENCY_WINDOW);
  private latencyCount = 0;
  private latencyNext = 0;
  private readonly outcomes = new Uint8Array(OUTCOME_WINDOW);
  private outcomeCount = 0;
  private outcomeNext = 0;
  private failedInWindow = 0;
  private requests = 0;
  private failures = 0;
  private lastError: HealthSnapshot['lastError'] = null;

  /** One settled call: its duration, and its error when it failed. */
  record(latencyMs: number, error?: { code?: unknown; message?: unknown }): void {
    this.requests++;
    this.latencies[this.latencyNext] = latencyMs;
    this.latencyNext = (this.latencyNext + 1) % LATENCY_WINDOW;
    if (this.latencyCount < LATENCY_WINDOW) this.latencyCount++;
    const failed = error ? 1 : 0;
    if (this.outcomeCount === OUTCOME_WINDOW) this.failedInWindow -= this.outcomes[this.outcomeNext] ?? 0;
    else this.outcomeCount++;
    this.outcomes[this.outcomeNext] = failed;
    this.outcomeNext = (this.outcomeNext + 1) % OUTCOME_WINDOW;
    this.failedInWindow += failed;
    if (error) {
      this.failures++;
      this.lastError = {
        code: error.code === undefined ? 'UNKNOWN' : String(error.code),
        message: typeof error.message === 'string' ? error.message : String(error),
        at: Date.now(),
      };
    }
  }

  /** The current metrics. */
  snapshot(): HealthSnapshot {
    const sorted = Array.from(this.latencies.subarray(0, this.latencyCount)).sort((a, b) => a - b);
    const pct = (p: number): number | null =>
      sorted.length === 0
        ? null
        : Math.round((sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0) * 1000) /
          1000;
    return {
      latencyP50Ms: pct(0.5),
      latencyP99Ms: pct(0.99),
      samples: this.latencyCount,
      errorRate: this.outcomeCount === 0 ? 0 : this.failedInWindow / this.outcomeCount,
      requests: this.requests,
      failures: this.failures,
      lastError: this.lastError,
    };
  }
}

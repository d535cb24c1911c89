/**
 * A small benchmark harness: closed-loop throughput at a fixed number of calls in flight,
 * per-call latency at 1 in flight, interleaved rounds (each variant of a scenario runs in every
 * round, in a rotated order, so load from elsewhere hits them alike) and medians.
 */

/** One call of the thing measured. */
export type CallFn = () => Promise<unknown>;

/** Throughput (and, at 1 in flight, latency percentiles) of one measurement. */
export interface Measurement {
  /** Successful calls per second (failed calls are not counted). */
  callsPerSec: number;
  calls: number;
  /** Calls that failed (a benchmark reports them rather than dying on the first). */
  errors: number;
  /** CPU time of this process per call, in µs (user + system; includes an in-process server). */
  cpuUsPerCall: number;
  /** Latency percentiles in µs (only at 1 in flight). */
  p50Us?: number;
  p99Us?: number;
  /** Every call's latency in µs, sorted (only at 1 in flight): rows pool them over the rounds. */
  latenciesUs?: Float64Array;
}

/**
 * Runs `call` with `inFlight` callers in a closed loop for `durationMs`. At 1 in flight every
 * call's latency is recorded too.
 *
 * @example
 * const m = await throughput(() => client.ping(), 64, 500); // m.callsPerSec
 */
export async function throughput(call: CallFn, inFlight: number, durationMs: number): Promise<Measurement> {
  const latencies: number[] = [];
  const record = inFlight === 1;
  let calls = 0;
  let errors = 0;
  const failed = () => {
    errors++;
  };
  const cpu = process.cpuUsage();
  const started = performance.now();
  const end = started + durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      if (record) {
        const t = performance.now();
        if ((await call().then(ok, failed)) !== true) continue;
        latencies.push(performance.now() - t);
      } else if ((await call().then(ok, failed)) !== true) continue;
      calls++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsedMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const m: Measurement = {
    callsPerSec: (calls / elapsedMs) * 1000,
    calls,
    errors,
    cpuUsPerCall: (used.user + used.system) / Math.max(1, calls),
  };
  if (record && latencies.length > 0) {
    const us = Float64Array.from(latencies, (ms) => ms * 1000).sort();
    m.latenciesUs = us;
    m.p50Us = percentile(us, 0.5);
    m.p99Us = percentile(us, 0.99);
  }
  return m;
}

const ok = () => true;

/** The `p` quantile of sorted values (nearest rank). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;
}

/** The median (lower middle for an even count). */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? Number.NaN;
}

/**
 * Runs every variant once per round, `rounds` times, rotating the order each round; returns each
 * variant's results in round order. One unmeasured warm-up run of each variant comes first.
 */
export async function interleave<K extends string, R>(
  rounds: number,
  variants: Record<K, () => Promise<R>>,
  warmUp?: Record<K, () => Promise<unknown>>,
  warmForMs = 0,
): Promise<Record<K, R[]>> {
  const names = Object.keys(variants) as K[];
  const out = Object.fromEntries(names.map((n) => [n, [] as R[]])) as Record<K, R[]>;
  for (const n of names) await (warmUp?.[n] ?? variants[n])();
  // Then whole rounds, discarded, until `warmForMs` have passed: a group's first seconds ramp up
  // (a client's throughput doubled over its first 3-4 s on the lean HTTP bench, every variant
  // alike), and rounds measured during the ramp make the intervals as wide as the ramp.
  const warmUntil = performance.now() + warmForMs;
  for (let r = 0; performance.now() < warmUntil; r++) {
    for (let i = 0; i < names.length; i++) await variants[names[(i + r) % names.length] as K]();
  }
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < names.length; i++) {
      const n = names[(i + r) % names.length] as K;
      out[n].push(await variants[n]());
    }
  }
  return out;
}

/** Collects garbage when the process runs with --expose-gc (no-op otherwise). */
export function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

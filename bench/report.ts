/**
 * Rows of the benchmark report: a median, its baseline from the same run, the ratio with an
 * interval from the rounds, and a verdict against a target that holds across runs (PASS only when
 * the whole interval clears the target, MISS only when it lies entirely on the wrong side, UNSURE
 * otherwise). Printed as a table and written to bench/results/latest.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { percentile } from './harness.js';

/**
 * PASS / MISS / UNSURE against a target (see the file comment); INFO when the row has none;
 * NOT WIRED for a feature that is absent.
 */
export type Verdict = 'PASS' | 'MISS' | 'UNSURE' | 'INFO' | 'NOT WIRED';

/** One line of the report. */
export interface Row {
  scenario: string;
  /** The protocol era the row runs on (`2025` or `2026`), when it has one. */
  era?: string;
  name: string;
  /** Median over the rounds. */
  value: number;
  unit: string;
  rounds: number[];
  baseline?: string;
  baselineValue?: number;
  /**
   * subject / baseline: the geometric mean of the per-round ratios (both measured in the same
   * round), or the ratio of medians when the rounds do not pair.
   */
  ratio?: number;
  /** 95% bootstrap interval of `ratio` (or of the value, for a target on the value). */
  interval?: [number, number];
  /** The ratio to the bare SDK v1 Client in the same rounds (information: the cost of the move). */
  ratioV1?: number;
  /** e.g. `ratio >= 0.97`, `value < 1000`. */
  target?: string;
  verdict: Verdict;
}

/** A target on the ratio to the baseline, or on the value itself. */
export interface Target {
  on: 'ratio' | 'value';
  op: '>=' | '<=' | '<';
  limit: number;
}

/** Rounds of a comparison: the baseline's name, median and per-round values. */
export interface Baseline {
  name: string;
  value: number;
  rounds?: number[];
}

const BOOTSTRAP_RESAMPLES = 2_000;

/** A small seeded PRNG (mulberry32): the interval of a given set of rounds is reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * Percentile-bootstrap 95% interval of `stat` over `xs` (seeded). One sample gives a point.
 *
 * @example
 * bootstrap([1, 2, 3], mean); // [~1.33, ~2.67]
 */
export function bootstrap(
  xs: readonly number[],
  stat: (sample: readonly number[]) => number,
  seed = 1,
): [number, number] {
  const clean = xs.filter((x) => Number.isFinite(x));
  if (clean.length === 0) return [Number.NaN, Number.NaN];
  if (clean.length === 1) return [clean[0] as number, clean[0] as number];
  const next = prng(seed);
  const stats: number[] = [];
  const sample = new Array<number>(clean.length);
  for (let i = 0; i < BOOTSTRAP_RESAMPLES; i++) {
    for (let j = 0; j < clean.length; j++) sample[j] = clean[Math.floor(next() * clean.length)] as number;
    stats.push(stat(sample));
  }
  return central95(stats);
}

/** The central 95% of resampled statistics (sorts them in place). */
function central95(stats: number[]): [number, number] {
  stats.sort((a, b) => a - b);
  return [
    stats[Math.floor(0.025 * (stats.length - 1))] as number,
    stats[Math.ceil(0.975 * (stats.length - 1))] as number,
  ];
}

/**
 * A percentile of the samples of all rounds pooled, subject / baseline, with a 95% interval from
 * resampling whole rounds (the same round indices for both: they ran side by side). A p99 of one
 * round at 1 in flight is a handful of calls, one GC pause or scheduler hiccup; pooled it is not.
 *
 * @example
 * pooledPercentileRatio([[1, 2], [2, 3]], [[1, 1], [2, 2]], 0.99); // { ratio: 1.5, ... }
 */
export function pooledPercentileRatio(
  subject: readonly Float64Array[],
  baseline: readonly Float64Array[],
  p: number,
  seed = 1,
): { subject: number; baseline: number; ratio: number; interval: [number, number] } {
  const n = Math.min(subject.length, baseline.length);
  const of = (rounds: readonly Float64Array[], picks: readonly number[]): number => {
    let size = 0;
    for (const i of picks) size += (rounds[i] as Float64Array).length;
    const pooled = new Float64Array(size);
    let at = 0;
    for (const i of picks) {
      pooled.set(rounds[i] as Float64Array, at);
      at += (rounds[i] as Float64Array).length;
    }
    return percentile(pooled.sort(), p);
  };
  const all = Array.from({ length: n }, (_, i) => i);
  const s = of(subject, all);
  const b = of(baseline, all);
  if (n < 2) return { subject: s, baseline: b, ratio: s / b, interval: [s / b, s / b] };
  const next = prng(seed);
  const ratios: number[] = [];
  const picks = new Array<number>(n);
  for (let k = 0; k < POOLED_RESAMPLES; k++) {
    for (let j = 0; j < n; j++) picks[j] = Math.floor(next() * n);
    ratios.push(of(subject, picks) / of(baseline, picks));
  }
  return { subject: s, baseline: b, ratio: s / b, interval: central95(ratios) };
}

/** Resamples of {@link pooledPercentileRatio} (each sorts every pooled sample: fewer than the rest). */
const POOLED_RESAMPLES = 500;

/** Geometric mean (ratios: symmetric under inversion). */
function geoMean(xs: readonly number[]): number {
  return Math.exp(mean(xs.map(Math.log)));
}

/** Per-round ratios when the rounds pair, else undefined. */
function pairedRatios(rounds: readonly number[], base: readonly number[] | undefined): number[] | undefined {
  if (!base || base.length !== rounds.length || rounds.length === 0) return undefined;
  const rs = rounds.map((x, i) => x / (base[i] as number)).filter((r) => Number.isFinite(r) && r > 0);
  return rs.length > 0 ? rs : undefined;
}

/** The verdict of an interval against a target (see the file comment). */
export function verdictOf(interval: [number, number], t: Target): Verdict {
  const [lo, hi] = interval;
  if (Number.isNaN(lo) || Number.isNaN(hi)) return 'UNSURE';
  const good = (x: number) => (t.op === '>=' ? x >= t.limit : t.op === '<=' ? x <= t.limit : x < t.limit);
  if (good(lo) && good(hi)) return 'PASS';
  if (!good(lo) && !good(hi)) return 'MISS';
  return 'UNSURE';
}

/** Builds a row, computing ratio, interval and verdict. */
export function row(
  scenario: string,
  name: string,
  unit: string,
  rounds: number[],
  medianValue: number,
  options: {
    era?: string;
    baseline?: Baseline;
    /** The bare SDK v1 Client's rounds of the same measure (information). */
    v1?: number[];
    target?: Target;
    verdict?: Verdict;
    /** A ratio and interval computed by the caller (pooled percentiles), instead of per round. */
    pooled?: { ratio: number; interval: [number, number] };
  } = {},
): Row {
  const r: Row = { scenario, name, value: medianValue, unit, rounds, verdict: options.verdict ?? 'INFO' };
  if (options.era) r.era = options.era;
  const b = options.baseline;
  let ratios: number[] | undefined;
  if (b) {
    r.baseline = b.name;
    r.baselineValue = b.value;
    if (options.pooled) {
      r.ratio = options.pooled.ratio;
      r.interval = options.pooled.interval;
    } else {
      ratios = pairedRatios(rounds, b.rounds);
      r.ratio = ratios ? geoMean(ratios) : medianValue / b.value;
      if (ratios) r.interval = bootstrap(ratios, geoMean);
    }
  }
  const v1Ratios = pairedRatios(rounds, options.v1);
  if (v1Ratios) r.ratioV1 = geoMean(v1Ratios);
  const t = options.target;
  if (t) {
    r.target = `${t.on} ${t.op} ${t.limit}`;
    if (t.on === 'value') r.interval = bootstrap(rounds, mean);
    if (!options.verdict) {
      const interval =
        r.interval ??
        (t.on === 'ratio' ? [r.ratio ?? Number.NaN, r.ratio ?? Number.NaN] : [medianValue, medianValue]);
      r.verdict = verdictOf(interval as [number, number], t);
    }
  }
  return r;
}

function fmt(x: number | undefined, unit = ''): string {
  if (x === undefined || Number.isNaN(x)) return '';
  const digits = Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : Math.abs(x) >= 1 ? 2 : 3;
  return `${x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })}${unit}`;
}

/** The report as a Markdown table (the form bench/README.md carries). */
export function formatTable(rows: readonly Row[]): string {
  const header = [
    'scenario',
    'era',
    'measure',
    'median',
    'unit',
    'baseline',
    'ratio',
    '95% interval',
    'target',
    'verdict',
    'vs bare v1',
  ];
  const lines = rows.map((r) => [
    r.scenario,
    r.era ?? '',
    r.name,
    fmt(r.value),
    r.unit,
    r.baseline ?? '',
    r.ratio === undefined ? '' : fmt(r.ratio, 'x'),
    r.interval ? `${fmt(r.interval[0])}–${fmt(r.interval[1])}` : '',
    r.target ?? '',
    r.verdict,
    r.ratioV1 === undefined ? '' : fmt(r.ratioV1, 'x'),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const numeric = new Set([3, 6, 7, 10]);
  const cell = (s: string, i: number) => (numeric.has(i) ? s.padStart(widths[i]!) : s.padEnd(widths[i]!));
  const out = [
    `| ${header.map(cell).join(' | ')} |`,
    `|${widths.map((w, i) => (numeric.has(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`,
    ...lines.map((l) => `| ${l.map(cell).join(' | ')} |`),
  ];
  return out.join('\n');
}

/** Writes the rows and the run's facts as JSON. */
export function writeJson(path: string, rows: readonly Row[], meta: Record<string, unknown>): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify({ ...meta, rows }, null, 2)}\n`);
}

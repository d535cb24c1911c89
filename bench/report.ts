/**
 * Rows of the benchmark report: a median, its baseline from the same run, the ratio and the
 * verdict against a target. Printed as a table and written to bench/results/latest.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** PASS / MISS against a target; INFO when the row has none; NOT WIRED for a feature that is absent. */
export type Verdict = 'PASS' | 'MISS' | 'INFO' | 'NOT WIRED';

/** One line of the report. */
export interface Row {
  scenario: string;
  name: string;
  /** Median over the rounds. */
  value: number;
  unit: string;
  rounds: number[];
  baseline?: string;
  baselineValue?: number;
  /** value / baselineValue. */
  ratio?: number;
  /** e.g. `ratio >= 0.95`, `value < 1000`. */
  target?: string;
  verdict: Verdict;
}

/** A target on the ratio to the baseline, or on the value itself. */
export interface Target {
  on: 'ratio' | 'value';
  op: '>=' | '<=' | '<';
  limit: number;
}

/** Builds a row, computing ratio and verdict. */
export function row(
  scenario: string,
  name: string,
  unit: string,
  rounds: number[],
  medianValue: number,
  options: {
    baseline?: { name: string; value: number; rounds?: number[] };
    target?: Target;
    verdict?: Verdict;
  } = {},
): Row {
  const r: Row = { scenario, name, value: medianValue, unit, rounds, verdict: options.verdict ?? 'INFO' };
  const b = options.baseline;
  if (b) {
    r.baseline = b.name;
    r.baselineValue = b.value;
    // Measured in the same rounds: the median of the per-round ratios resists load that hits one round.
    r.ratio =
      b.rounds && b.rounds.length === rounds.length && rounds.length > 0
        ? medianOf(rounds.map((x, i) => x / (b.rounds?.[i] ?? Number.NaN)))
        : medianValue / b.value;
  }
  const t = options.target;
  if (t && !options.verdict) {
    const x = t.on === 'ratio' ? (r.ratio ?? Number.NaN) : medianValue;
    const ok = t.op === '>=' ? x >= t.limit : t.op === '<=' ? x <= t.limit : x < t.limit;
    r.target = `${t.on} ${t.op} ${t.limit}`;
    r.verdict = ok ? 'PASS' : 'MISS';
  } else if (t) r.target = `${t.on} ${t.op} ${t.limit}`;
  return r;
}

function medianOf(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length / 2;
  return s.length % 2 === 1
    ? (s[Math.floor(mid)] as number)
    : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
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
    'measure',
    'median',
    'unit',
    'baseline',
    'baseline median',
    'ratio',
    'target',
    '',
  ];
  const lines = rows.map((r) => [
    r.scenario,
    r.name,
    fmt(r.value),
    r.unit,
    r.baseline ?? '',
    fmt(r.baselineValue),
    r.ratio === undefined ? '' : fmt(r.ratio, 'x'),
    r.target ?? '',
    r.verdict,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const numeric = new Set([2, 5, 6]);
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

/**
 * The pure half of the conformance run (scripts/conformance.ts): parsers of the suite runner's
 * output (0.2.0-alpha.12), the scenario × client table, and the verdict against the target and
 * test/conformance/expected-failures.json. Unit-tested with captured runner output.
 */

/** The clients under test, in table order. */
export const CLIENT_LABELS = {
  ours: 'mcp-actors',
  v2: 'bare SDK v2',
  v1: 'bare SDK v1',
} as const;
/** One client program under test. */
export type ClientId = keyof typeof CLIENT_LABELS;

/**
 * One scenario's verdict, from its checks: passed with at least one SUCCESS and no FAILURE or
 * WARNING. A scenario whose checks were all SKIPPED (the client never exercised it, e.g. never
 * called `skills/list`) is not a pass, though the runner prints it with ✓.
 */
export interface ScenarioResult {
  scenario: string;
  ok: boolean;
  passed: number;
  failed: number;
  warnings: number;
  /** Not run: the runner judged it inapplicable (`- name: skipped`). */
  skipped?: boolean;
}

/** A leg: one requirement set at its own wire, or the other listed scenarios. */
export interface Leg {
  id: string;
  title: string;
}

/** One row of the table. */
export interface Row {
  leg: string;
  scenario: string;
  /** Counted by the requirement set; otherwise why not (extension, added-after-release, other). */
  notScored?: string;
  results: Partial<Record<ClientId, ScenarioResult>>;
}

/** Scenario names of `conformance list --client` (`  - name [tags]`), in order. */
export function parseList(output: string): string[] {
  return [...output.matchAll(/^ {2}- (\S+)(?: \[[^\]]*\])?$/gmu)].map((m) => m[1] as string);
}

/**
 * The client scenarios of `conformance list --client --requirements REV`: scored (the "Client
 * scenarios" block) and not scored (`    - name [client]` under "Run and reported, but never
 * scored", with the reason heading they sit under).
 */
export function parseRequirements(output: string): { scored: string[]; notScored: Map<string, string> } {
  const clientBlock = /Client scenarios[^\n]*\n((?: {2}- \S+\n?)+)/u.exec(output)?.[1] ?? '';
  const scored = parseList(clientBlock);
  const notScored = new Map<string, string>();
  let reason = '';
  const tail = output.split(/Run and reported, but never scored:/u)[1] ?? '';
  for (const line of tail.split('\n')) {
    const heading = /^ {2}([a-z-]+) \(\d+\):$/u.exec(line);
    if (heading) reason = heading[1] as string;
    const entry = /^ {4}- (\S+) \[client\]$/u.exec(line);
    if (entry) notScored.set(entry[1] as string, reason);
  }
  return { scored, notScored };
}

/** The `=== SUITE SUMMARY ===` block of a `--requirements` (or `--suite`) run. */
export function parseSummary(output: string): ScenarioResult[] {
  const summary = output.split('=== SUITE SUMMARY ===')[1] ?? '';
  const results: ScenarioResult[] = [];
  for (const m of summary.matchAll(/^([✓✗]) (\S+): (\d+) passed, (\d+) failed(?:, (\d+) warnings)?$/gmu)) {
    results.push({
      scenario: m[2] as string,
      ok: m[1] === '✓' && Number(m[3]) > 0,
      passed: Number(m[3]),
      failed: Number(m[4]),
      warnings: Number(m[5] ?? 0),
    });
  }
  for (const m of summary.matchAll(/^- (\S+): skipped$/gmu)) {
    results.push({ scenario: m[1] as string, ok: false, passed: 0, failed: 0, warnings: 0, skipped: true });
  }
  return results;
}

/**
 * A single-scenario run (`--scenario NAME`): `Passed: P/D, F failed, W warnings`. Judged by its
 * checks as the suite mode judges them (the client's exit code is not a check), or skipped.
 */
export function parseSingle(output: string, scenario: string): ScenarioResult | undefined {
  if (/^SKIPPED: scenario /mu.test(output))
    return { scenario, ok: false, passed: 0, failed: 0, warnings: 0, skipped: true };
  const m = /^Passed: (\d+)\/(\d+), (\d+) failed, (\d+) warnings$/mu.exec(output);
  if (!m) return undefined;
  const failed = Number(m[3]);
  const warnings = Number(m[4]);
  const passed = Number(m[1]);
  return { scenario, ok: passed > 0 && failed === 0 && warnings === 0, passed, failed, warnings };
}

/** Reasons, per leg and scenario, why mcp-actors cannot pass it (expected-failures.json). */
export type ExpectedFailures = Record<string, Record<string, string>>;

/** Where mcp-actors stands against the target (every row passes unless listed with a reason). */
export interface Verdict {
  /** Failing rows with no written reason. */
  unexpected: string[];
  /** Listed rows that pass now: the entry must go. */
  stale: string[];
  /** Listed scenarios the runner did not produce: a typo or a scenario gone. */
  unknown: string[];
}

/** Judges mcp-actors' column against the expected failures. */
export function judge(rows: Row[], expected: ExpectedFailures): Verdict {
  const verdict: Verdict = { unexpected: [], stale: [], unknown: [] };
  const seen = new Set<string>();
  for (const row of rows) {
    const key = `${row.leg} ${row.scenario}`;
    seen.add(key);
    const ours = row.results.ours;
    if (!ours) continue;
    const reason = expected[row.leg]?.[row.scenario];
    if (!ours.ok && reason === undefined) verdict.unexpected.push(key);
    if (ours.ok && reason !== undefined) verdict.stale.push(key);
  }
  for (const [leg, scenarios] of Object.entries(expected)) {
    for (const scenario of Object.keys(scenarios)) {
      if (!seen.has(`${leg} ${scenario}`)) verdict.unknown.push(`${leg} ${scenario}`);
    }
  }
  return verdict;
}

function cell(r: ScenarioResult | undefined): string {
  if (r === undefined) return '—';
  if (r.skipped) return 'skipped';
  if (r.passed + r.failed + r.warnings === 0) return '**not exercised**';
  return `${r.ok ? 'pass' : '**FAIL**'} (${r.passed}/${r.passed + r.failed + r.warnings})`;
}

/** `passed / run` for `client` over `rows`. */
function total(rows: Row[], client: ClientId): string {
  const run = rows.filter((r) => r.results[client] !== undefined);
  return `${run.filter((r) => r.results[client]?.ok).length} / ${run.length}`;
}

/** The table as Markdown: one section per leg, scored rows first, totals per client. */
export function table(legs: Leg[], rows: Row[], clients: ClientId[]): string {
  const out: string[] = [];
  const header = `| scenario | ${clients.map((c) => CLIENT_LABELS[c]).join(' | ')} |`;
  const rule = `|---|${clients.map(() => '---').join('|')}|`;
  for (const leg of legs) {
    const legRows = rows.filter((r) => r.leg === leg.id);
    if (legRows.length === 0) continue;
    const scored = legRows.filter((r) => r.notScored === undefined);
    const other = legRows.filter((r) => r.notScored !== undefined);
    out.push(`### ${leg.title}`, '', header, rule);
    for (const r of [...scored, ...other]) {
      const name = r.notScored && r.notScored !== 'other' ? `${r.scenario} *(${r.notScored})*` : r.scenario;
      out.push(`| ${name} | ${clients.map((c) => cell(r.results[c])).join(' | ')} |`);
    }
    if (scored.length > 0)
      out.push(`| **scored** | ${clients.map((c) => `**${total(scored, c)}**`).join(' | ')} |`);
    if (other.length > 0) {
      const label = scored.length > 0 ? '**not scored**' : '**passed**';
      out.push(`| ${label} | ${clients.map((c) => `**${total(other, c)}**`).join(' | ')} |`);
    }
    out.push('');
  }
  return out.join('\n').trimEnd();
}

/** One line per client: scored totals of each revision, then the rest. */
export function totalsLine(legs: Leg[], rows: Row[], clients: ClientId[]): string {
  return clients
    .map((c) => {
      const parts = legs.map((leg) => {
        const legRows = rows.filter((r) => r.leg === leg.id);
        const scored = legRows.filter((r) => r.notScored === undefined);
        const rest = legRows.filter((r) => r.notScored !== undefined);
        return scored.length > 0
          ? `${leg.id} ${total(scored, c)} scored, ${total(rest, c)} not scored`
          : `${leg.id} ${total(rest, c)}`;
      });
      return `${CLIENT_LABELS[c]}: ${parts.join('; ')}`;
    })
    .join('\n');
}

/** Markers of the generated block in docs/conformance.md. */
export const BEGIN = '<!-- conformance-table:begin (generated by `npm run conformance -- --write-docs`) -->';
export const END = '<!-- conformance-table:end -->';

/** Replaces the generated block of `doc` with `block`; throws when the markers are missing. */
export function replaceBlock(doc: string, block: string): string {
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error('docs/conformance.md has no conformance-table markers');
  return `${doc.slice(0, start + BEGIN.length)}\n\n${block.trim()}\n\n${doc.slice(end)}`;
}

/**
 * Generated statecharts: every machine exported by `src/machines/*.ts` becomes, in
 * `docs/statecharts/`, `NAME.json` (the importable definition), `NAME.mmd` (Mermaid), `NAME.svg`
 * (Graphviz, rendered offline by `@hpcc-js/wasm-graphviz`) and a `README.md` embedding every chart.
 * The output is byte-identical from run to run; `checkStatecharts` lists the files that differ.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type AnyStateMachine, StateMachine } from 'xstate';
import { machineDefinition } from './chart-definition.js';
import { toDot } from './chart-dot.js';
import { toMermaid } from './chart-mermaid.js';
import { allStates, chartModel } from './chart-model.js';

/** The machines directory and the output directory of this checkout. */
export const MACHINES_DIR = fileURLToPath(new URL('../../machines/', import.meta.url));
export const STATECHARTS_DIR = fileURLToPath(new URL('../../../docs/statecharts/', import.meta.url));

/** A machine found in the machines directory. */
export interface FoundMachine {
  /** The machine's id (also the file name stem). */
  name: string;
  /** The module file it is exported from (relative to the machines dir) and the export name. */
  file: string;
  exportName: string;
  machine: AnyStateMachine;
}

function isMachine(value: unknown): value is AnyStateMachine {
  if (value instanceof StateMachine) return true;
  // Another copy of xstate would fail instanceof; recognise the shape.
  const v = value as { root?: unknown; config?: unknown; provide?: unknown; id?: unknown } | null;
  return (
    !!v &&
    typeof v === 'object' &&
    !!v.root &&
    !!v.config &&
    typeof v.provide === 'function' &&
    typeof v.id === 'string'
  );
}

/**
 * Imports every `*.ts` (or compiled `*.js`) module of `dir` and returns the state machines they
 * export, sorted by name. Two machines with the same id are an error (their files would collide),
 * and so is a directory without machines.
 */
export async function discoverMachines(dir = MACHINES_DIR): Promise<FoundMachine[]> {
  // `.ts` in a checkout, `.js` in the installed package (dist).
  const files = (await readdir(dir))
    .filter((f) => (f.endsWith('.ts') && !f.endsWith('.d.ts')) || f.endsWith('.js'))
    .sort();
  const found = new Map<string, FoundMachine>();
  for (const file of files) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as Record<string, unknown>;
    for (const [exportName, value] of Object.entries(mod)) {
      if (!isMachine(value)) continue;
      const seen = found.get(value.id);
      if (seen && seen.machine === value) continue;
      if (seen) {
        throw new Error(
          `two machines share the id "${value.id}": ${seen.file}#${seen.exportName} and ${file}#${exportName}`,
        );
      }
      found.set(value.id, { name: value.id, file, exportName, machine: value });
    }
  }
  if (found.size === 0) throw new Error(`no state machines found in ${dir}`);
  return [...found.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Renders DOT to SVG. */
export type SvgRenderer = (dot: string) => string | Promise<string>;

/** The offline Graphviz renderer (WebAssembly; no network). */
export async function graphvizRenderer(): Promise<SvgRenderer> {
  const { Graphviz } = await import('@hpcc-js/wasm-graphviz');
  const graphviz = await Graphviz.load();
  return (dot) => graphviz.dot(dot);
}

/** Patterns that must never appear in a generated file (credentials in URLs, tokens, headers). */
const SECRET_PATTERNS: readonly RegExp[] = [
  /\bbearer\s+[A-Za-z0-9._~+/-]{8,}/i,
  /\bauthorization\s*[:=]/i,
  /[a-z][a-z0-9+.-]*:\/\/[^\s/:@"]+:[^\s/@"]+@/i,
  /[?&](token|api[-_]?key|access_token|secret)=/i,
];

/** Throws when `text` looks like it carries a secret. */
export function assertNoSecrets(name: string, text: string): void {
  for (const p of SECRET_PATTERNS) {
    if (p.test(text)) throw new Error(`${name} looks like it contains a secret (${p}); refusing to write it`);
  }
}

function readme(machines: readonly FoundMachine[], mermaid: ReadonlyMap<string, string>): string {
  const lines = [
    '# Statecharts',
    '',
    'Generated from `src/machines` by `npm run statecharts`; do not edit (`npm test` fails when these',
    'files are stale). For each machine: `NAME.json` is the definition (paste it into the Stately editor',
    'or `createMachine(json)`; implementations by name), `NAME.mmd` the Mermaid source, `NAME.svg` a',
    'Graphviz rendering.',
    '',
    'Edges read `EVENT [guard] / actions`; `after X` is the named delay X, `done X` / `error X` the',
    'outcome of the invoked actor X, `always` an eventless transition. Transitions declared on the',
    'machine itself start at `any state`. Mermaid cannot join states of different composites, so such',
    'an edge is drawn between their outer states (the SVG shows the exact ends).',
    '',
  ];
  for (const m of machines) {
    const states = allStates(chartModel(m.machine)).length - 1;
    lines.push(
      `## ${m.name}`,
      '',
      `\`${m.exportName}\` in \`src/machines/${m.file}\` — ${states} states. [JSON](./${m.name}.json) · [SVG](./${m.name}.svg) · [Mermaid](./${m.name}.mmd)`,
      '',
      '```mermaid',
      mermaid.get(m.name)!.trimEnd(),
      '```',
      '',
    );
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

/**
 * Every generated file, by file name. Deterministic for a given set of machines.
 *
 * @example
 * const files = await generateStatecharts(await discoverMachines(), await graphvizRenderer());
 */
export async function generateStatecharts(
  machines: readonly FoundMachine[],
  renderSvg: SvgRenderer | undefined,
): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const mermaid = new Map<string, string>();
  for (const m of machines) {
    const model = chartModel(m.machine);
    files.set(`${m.name}.json`, `${JSON.stringify(machineDefinition(m.machine), null, 2)}\n`);
    const mmd = toMermaid(model);
    mermaid.set(m.name, mmd);
    files.set(`${m.name}.mmd`, mmd);
    if (renderSvg) {
      // Both directions, keeping the narrower drawing: charts are read at page width.
      const wide = await renderSvg(toDot(model, 'LR'));
      const tall = await renderSvg(toDot(model, 'TB'));
      const svg = svgWidthPt(tall) < svgWidthPt(wide) ? tall : wide;
      files.set(`${m.name}.svg`, svg.endsWith('\n') ? svg : `${svg}\n`);
    }
  }
  files.set('README.md', readme(machines, mermaid));
  for (const [name, text] of files) assertNoSecrets(name, text);
  return files;
}

/** The width Graphviz gave an SVG (`<svg width="123pt"`); Infinity when it cannot be read. */
function svgWidthPt(svg: string): number {
  const width = /<svg width="([\d.]+)pt"/.exec(svg)?.[1];
  return width === undefined ? Number.POSITIVE_INFINITY : Number(width);
}

/** Writes the files into `dir`; returns the names written. */
export async function writeStatecharts(
  files: ReadonlyMap<string, string>,
  dir = STATECHARTS_DIR,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  for (const [name, text] of files) await writeFile(join(dir, name), text);
  return [...files.keys()];
}

/** Names of the files in `dir` that differ from `files` (missing, changed, or left over). */
export async function checkStatecharts(
  files: ReadonlyMap<string, string>,
  dir = STATECHARTS_DIR,
): Promise<string[]> {
  const stale: string[] = [];
  for (const [name, text] of files) {
    const onDisk = await readFile(join(dir, name), 'utf8').catch(() => undefined);
    if (onDisk !== text) stale.push(name);
  }
  const present = await readdir(dir).catch(() => [] as string[]);
  for (const name of present.sort()) {
    if (/\.(json|mmd|svg)$/.test(name) && !files.has(name)) stale.push(`${name} (no such machine)`);
  }
  return stale;
}

/**
 * docs/statecharts is generated from src/machines: it must be fresh, its JSON must round-trip
 * through createMachine, its SVG must be well-formed and name every state, and no secret may
 * appear in it.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMachine, setup } from 'xstate';
import { chartFiles, chartMachines } from '../scripts/statecharts.js';
import { machineDefinition } from '../src/runtime/inspector/chart-definition.js';
import { toDot } from '../src/runtime/inspector/chart-dot.js';
import { toMermaid } from '../src/runtime/inspector/chart-mermaid.js';
import { activeStateIds, allStates, chartModel } from '../src/runtime/inspector/chart-model.js';
import {
  assertNoSecrets,
  checkStatecharts,
  discoverMachines,
  type FoundMachine,
  MACHINES_DIR,
  STATECHARTS_DIR,
} from '../src/runtime/inspector/statecharts.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

let machines: FoundMachine[];
let files: Map<string, string>;

beforeAll(async () => {
  // What `npm run statecharts` draws: src/machines plus the example machines (scripts/statecharts.ts).
  machines = await chartMachines();
  files = await chartFiles(machines);
});

/** A small XML well-formedness check: every tag closes in order, attributes are quoted. */
function xmlProblems(text: string): string[] {
  const body = text
    .replace(/<\?xml[^?]*\?>/, '')
    .replace(/<!DOCTYPE[^>]*>/, '')
    .replace(/<!--[\s\S]*?-->/g, '');
  const stack: string[] = [];
  const problems: string[] = [];
  const tag = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(body); m; m = tag.exec(body)) {
    const between = body.slice(last, m.index);
    if (/[<>]/.test(between)) problems.push(`stray markup near ${JSON.stringify(between.slice(0, 40))}`);
    last = tag.lastIndex;
    const [, closing, name, , selfClosing] = m;
    if (selfClosing) continue;
    if (closing) {
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open}>`);
    } else stack.push(name!);
  }
  if (/[<>]/.test(body.slice(last))) problems.push('stray markup at the end');
  if (stack.length) problems.push(`unclosed: ${stack.join(', ')}`);
  return problems;
}

describe('statecharts of the installed package', () => {
  it('discovers the machines from compiled .js files (dist), not only .ts', async () => {
    // The package ships dist/machines/*.js: compile src/machines the same way, inside the
    // repository so `xstate` resolves.
    const root = mkdtempSync(join(ROOT, 'node_modules', '.statecharts-js-'));
    const dir = join(root, 'machines');
    try {
      // The machines and the errors they import, as dist lays them out.
      for (const folder of ['machines', 'errors']) {
        const src = join(MACHINES_DIR, '..', folder);
        mkdirSync(join(root, folder));
        for (const file of readdirSync(src).filter((f) => f.endsWith('.ts'))) {
          const { code } = await transform(readFileSync(join(src, file), 'utf8'), {
            loader: 'ts',
            format: 'esm',
          });
          writeFileSync(join(root, folder, file.replace(/\.ts$/, '.js')), code);
        }
      }
      const fromJs = (await discoverMachines(dir)).map((m) => m.name);
      const fromTs = (await discoverMachines()).map((m) => m.name);
      expect(fromJs).toEqual(fromTs);
      expect(fromJs).toEqual(expect.arrayContaining(['breaker', 'connection', 'pool', 'queue']));
      await expect(discoverMachines(join(root, 'no-such-dir'))).rejects.toThrow();
      mkdirSync(join(dir, 'empty'));
      await expect(discoverMachines(join(dir, 'empty'))).rejects.toThrow(/no state machines found/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('lays every SVG out to be read at page width', () => {
    // Issue 16 item 10: they were up to 2,833 pt wide. The connection machine is the big one.
    const widths = Object.fromEntries(
      [...files]
        .filter(([name]) => name.endsWith('.svg'))
        .map(([name, svg]) => [name, Number(/<svg width="([\d.]+)pt"/.exec(svg)?.[1])]),
    );
    for (const [name, width] of Object.entries(widths)) {
      expect(width, name).toBeLessThanOrEqual(name === 'connection.svg' ? 1_900 : 900);
    }
  });
});

describe('docs/statecharts', () => {
  it('finds every machine exported by src/machines, including connection, breaker and queue', async () => {
    const names = machines.map((m) => m.name);
    expect(names).toEqual([...names].sort());
    for (const expected of ['connection', 'breaker', 'queue']) expect(names).toContain(expected);
    expect((await discoverMachines()).map((m) => m.name)).toEqual(names.filter((n) => n !== 'embeddedAgent'));
  });

  it('draws the embedded agent of examples/ with the runtime as its invoked child `mcp`', () => {
    expect(machines.map((m) => m.name)).toContain('embeddedAgent');
    expect(files.get('embeddedAgent.svg')).toContain('invoke mcp');
    expect(files.get('embeddedAgent.json')).toContain('"src": "mcp"');
    expect(files.get('README.md')).toContain(
      '`embeddedAgentMachine` in `examples/embedded-agent-machine.ts`',
    );
  });

  it('is fresh: the files on disk are exactly what the machines generate', async () => {
    const stale = await checkStatecharts(files);
    expect(stale, 'run `npm run statecharts` and commit docs/statecharts').toEqual([]);
  });

  it('reports a changed, a missing and an unknown file as stale', async () => {
    const changed = new Map(files);
    changed.set('connection.mmd', `${files.get('connection.mmd')}%% edited\n`);
    changed.set('nosuch.mmd', 'x');
    changed.delete('breaker.json');
    const stale = await checkStatecharts(changed);
    expect(stale).toContain('connection.mmd');
    expect(stale).toContain('nosuch.mmd');
    expect(stale).toContain('breaker.json (no such machine)');
  });

  it('is deterministic: a second generation is byte-identical', async () => {
    const again = await chartFiles(await chartMachines());
    expect([...again.entries()]).toEqual([...files.entries()]);
  });

  it('writes json, mmd and svg for every machine and embeds every chart in README.md', () => {
    const readme = files.get('README.md')!;
    for (const { name } of machines) {
      for (const ext of ['json', 'mmd', 'svg'])
        expect(files.has(`${name}.${ext}`), `${name}.${ext}`).toBe(true);
      expect(readme).toContain(`## ${name}`);
      expect(readme).toContain(files.get(`${name}.mmd`)!.trimEnd());
    }
    expect(readme.match(/```mermaid/g)).toHaveLength(machines.length);
  });

  it('round-trips every JSON definition through createMachine to the same chart', () => {
    for (const { name, machine } of machines) {
      const json = JSON.parse(files.get(`${name}.json`)!) as Record<string, unknown>;
      const back = createMachine(json as Parameters<typeof createMachine>[0]);
      expect(chartModel(back), name).toEqual(chartModel(machine));
      expect(JSON.parse(JSON.stringify(back)), name).toEqual(JSON.parse(JSON.stringify(machine)));
      expect(machineDefinition(back), name).toEqual(json);
    }
  });

  it('renders well-formed SVG naming every state, with a highlightable group per state', () => {
    for (const { name, machine } of machines) {
      const svg = files.get(`${name}.svg`)!;
      expect(xmlProblems(svg), name).toEqual([]);
      for (const state of allStates(chartModel(machine)).slice(1)) {
        expect(svg, `${name}: ${state.id}`).toContain(`id="state:${state.id}"`);
        expect(svg, `${name}: ${state.key}`).toContain(`>${state.key}</text>`);
      }
    }
  });

  it('puts guards, delays and actions by name on the edges', () => {
    const mmd = files.get('connection.mmd')!;
    const svg = files.get('connection.svg')!;
    expect(mmd).toContain('reconnecting --> connecting: after retryBackoff');
    expect(mmd).toContain('connecting --> reconnecting: after connectTimeout / recordConnectTimeout');
    expect(mmd).toContain('failed --> connecting: RETRY / resetAttempts');
    expect(mmd).toContain('reconnecting --> failed: always [attemptsExhausted]');
    expect(mmd).toContain('__any --> closing: CLOSE');
    expect(svg).toContain('after retryBackoff');
    // In the SVG a transition's actions go one a line, so long labels grow down, not across.
    expect(svg).toContain('>TRANSPORT_CLOSED [isFatalError]</text>');
    expect(svg).toContain('&#160;/ recordError,</text>');
    expect(svg).toContain('disposeTransport</text>');
  });

  it('matches the files in the docs folder byte for byte (connection)', () => {
    expect(readFileSync(join(STATECHARTS_DIR, 'connection.json'), 'utf8')).toBe(files.get('connection.json'));
  });
});

describe('chart rendering of small machines', () => {
  const toy = setup({
    guards: { ok: () => true },
    actions: { note: () => {}, tick: () => {} },
    delays: { soon: 10 },
  }).createMachine({
    id: 'toy',
    initial: 'a',
    on: { RESET: '.a' },
    states: {
      a: { on: { GO: { target: 'b', guard: 'ok', actions: 'note' }, POKE: { actions: 'tick' } } },
      b: {
        initial: 'b1',
        states: { b1: { after: { soon: 'b2' } }, b2: { after: { 500: '#toy.done' } } },
        on: { BACK: 'a' },
      },
      done: { type: 'final' },
    },
  });

  it('labels edges and lists actions-only transitions inside the state', () => {
    const model = chartModel(toy);
    const mmd = toMermaid(model);
    expect(mmd).toContain('a --> b: GO [ok] / note');
    expect(mmd).toContain('a : POKE / tick');
    expect(mmd).toContain('b_b1 --> b_b2: after soon');
    expect(mmd).toContain('b --> done: after 500 ms');
    expect(mmd).toContain('__any --> a: RESET');
    expect(mmd).toContain('done --> [*]');
    const dot = toDot(model);
    expect(dot).toContain('lhead="cluster_toy.b"');
    expect(dot).toContain('ltail="cluster_toy.b"');
    expect(dot).toContain('POKE / tick');
    expect(dot).toContain('peripheries=2');
  });

  it('gives the active state ids of a state value', () => {
    expect(activeStateIds(toy, { b: 'b2' })).toEqual(['toy', 'toy.b', 'toy.b.b2']);
    expect(activeStateIds(toy, 'a')).toEqual(['toy', 'toy.a']);
    expect(activeStateIds(toy, 'nosuch')).toEqual(['toy']);
  });

  it('refuses output that looks like it carries a secret', () => {
    expect(() => assertNoSecrets('x.json', '{"url":"wss://user:hunter22@example.com"}')).toThrow(/secret/);
    expect(() => assertNoSecrets('x.json', 'Authorization: Bearer abcdefghijkl')).toThrow(/secret/);
    expect(() => assertNoSecrets('x.json', 'https://h/mcp?token=abc')).toThrow(/secret/);
    expect(() => assertNoSecrets('x.json', files.get('connection.json')!)).not.toThrow();
  });

  it('drops context and input from the definition', () => {
    const withData = setup({}).createMachine({
      id: 'data',
      context: { token: 'hunter2-secret' },
      initial: 'x',
      states: { x: {} },
    });
    const json = JSON.stringify(machineDefinition(withData));
    expect(json).not.toContain('hunter2');
    expect(json).toBe('{"id":"data","initial":"x","states":{"x":{}}}');
  });
});

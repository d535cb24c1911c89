/**
 * `npm run statecharts` writes docs/statecharts/ from the machines in src/machines and the
 * example machines listed in EXAMPLE_MACHINES (the embedded agent, drawn with the runtime as its
 * invoked child); `npm run statecharts -- --check` exits 1 (naming the files) when what is on
 * disk is stale. `--src-only` leaves the example machines out.
 */
import { relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  checkStatecharts,
  discoverMachines,
  type FoundMachine,
  generateStatecharts,
  graphvizRenderer,
  MACHINES_DIR,
  writeStatecharts,
} from '../src/runtime/inspector/statecharts.js';

/** Example modules (relative to the repository root) whose exported machines are drawn too. */
export const EXAMPLE_MACHINES = ['examples/embedded-agent-machine.ts'] as const;

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The machines of src/machines plus (unless `srcOnly`) those of {@link EXAMPLE_MACHINES}, sorted by name. */
export async function chartMachines(srcOnly = false): Promise<FoundMachine[]> {
  const machines = await discoverMachines();
  if (srcOnly) return machines;
  for (const file of EXAMPLE_MACHINES) {
    const mod = (await import(pathToFileURL(resolve(ROOT, file)).href)) as Record<string, unknown>;
    for (const [exportName, value] of Object.entries(mod)) {
      const m = value as FoundMachine['machine'];
      if (typeof m?.provide !== 'function' || typeof m?.id !== 'string' || !m.root) continue;
      if (machines.some((found) => found.name === m.id))
        throw new Error(`two machines share the id "${m.id}"`);
      // `file` is relative to src/machines, where the README's links start.
      machines.push({ name: m.id, file: relativeToMachines(file), exportName, machine: m });
    }
  }
  return machines.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function relativeToMachines(file: string): string {
  return relative(MACHINES_DIR, resolve(ROOT, file));
}

/** Every generated file; the README names example machines by their own path. */
export async function chartFiles(machines: readonly FoundMachine[]): Promise<Map<string, string>> {
  const files = await generateStatecharts(machines, await graphvizRenderer());
  const readme = files.get('README.md');
  if (readme) files.set('README.md', readme.replaceAll('`src/machines/../../', '`'));
  return files;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { check: { type: 'boolean', default: false }, 'src-only': { type: 'boolean', default: false } },
    strict: true,
  });
  const machines = await chartMachines(values['src-only']);
  const files = await chartFiles(machines);
  if (values.check) {
    const stale = await checkStatecharts(files);
    if (stale.length > 0) {
      console.error(`docs/statecharts is stale (run \`npm run statecharts\`): ${stale.join(', ')}`);
      process.exit(1);
    }
    console.log(`docs/statecharts is up to date (${machines.map((m) => m.name).join(', ')})`);
  } else {
    const written = await writeStatecharts(files);
    console.log(
      `wrote ${written.length} files for ${machines.map((m) => m.name).join(', ')} to docs/statecharts/`,
    );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();

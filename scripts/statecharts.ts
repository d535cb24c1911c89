/**
 * `npm run statecharts` writes docs/statecharts/ from the machines in src/machines;
 * `npm run statecharts -- --check` exits 1 (naming the files) when what is on disk is stale.
 */
import { parseArgs } from 'node:util';
import {
  checkStatecharts,
  discoverMachines,
  generateStatecharts,
  graphvizRenderer,
  writeStatecharts,
} from '../src/runtime/inspector/statecharts.js';

const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } }, strict: true });
const machines = await discoverMachines();
const files = await generateStatecharts(machines, await graphvizRenderer());
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

/**
 * A stdio demo server that can be kept down: `node --import tsx stdio-gate.ts <gateFile>`.
 * While the gate file reads `down` it exits at once (a server that cannot start yet); otherwise it
 * runs the demo server over stdio and writes `ready <pid>` to stderr (the restarted server's ready
 * line, which the runtime forwards as a `stderr` event).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const gate = process.argv[2];
if (gate === undefined) {
  process.stderr.write('usage: stdio-gate.ts <gateFile>\n');
  process.exit(2);
}
if (existsSync(gate) && readFileSync(gate, 'utf8').trim() === 'down') {
  process.stderr.write('gate: down\n');
  process.exit(1);
}
const main = fileURLToPath(new URL('../../src/demo/demo-server-main.ts', import.meta.url));
process.argv = [process.argv[0] as string, main, '--stdio'];
await import(main);
process.stderr.write(`ready ${process.pid}\n`);

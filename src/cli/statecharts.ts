/**
 * `mcp-actors statecharts`: writes (or, with `--check`, verifies) the statecharts of every
 * machine in src/machines: NAME.json, NAME.mmd, NAME.svg and README.md.
 */
import { resolve } from 'node:path';
import {
  checkStatecharts,
  discoverMachines,
  generateStatecharts,
  graphvizRenderer,
  type SvgRenderer,
  writeStatecharts,
} from '../runtime/inspector/statecharts.js';
import type { CommandContext } from './commands.js';
import { EXIT, UsageError } from './output.js';

/** Runs the command; exit 1 when `--check` finds stale files or the SVG renderer is missing. */
export async function statechartsCommand(ctx: CommandContext): Promise<number> {
  if (ctx.positionals.length > 0) throw new UsageError('statecharts takes no arguments', ctx.usage);
  // The runtime's own machines only; the repository's docs/statecharts also draws example
  // machines (scripts/statecharts.ts), so the default here is a folder of the caller's.
  const dir = resolve(typeof ctx.values.out === 'string' ? ctx.values.out : 'mcp-actors-statecharts');
  let renderer: SvgRenderer;
  try {
    renderer = await graphvizRenderer();
  } catch (error) {
    // The SVGs are part of what this command writes and checks: without a renderer, fail loudly.
    ctx.out.note(
      `cannot render SVGs: @hpcc-js/wasm-graphviz is not installed (${(error as Error).message}); install it next to mcp-actors (npm install --save-dev @hpcc-js/wasm-graphviz@1.29.2) and run again`,
    );
    return EXIT.failed;
  }
  const machines = await discoverMachines();
  const files = await generateStatecharts(machines, renderer);
  const names = machines.map((m) => m.name);
  if (ctx.values.check) {
    const stale = await checkStatecharts(files, dir);
    if (ctx.out.json) ctx.out.data({ ok: stale.length === 0, dir, machines: names, stale });
    else if (stale.length) ctx.out.note(`stale in ${dir}: ${stale.join(', ')} (run mcp-actors statecharts)`);
    else ctx.out.line(`${dir} is up to date (${names.join(', ')})`);
    return stale.length ? EXIT.failed : EXIT.ok;
  }
  const written = await writeStatecharts(files, dir);
  if (ctx.out.json) ctx.out.data({ ok: true, dir, machines: names, files: written });
  else ctx.out.line(`wrote ${written.length} files for ${names.join(', ')} to ${dir}`);
  return EXIT.ok;
}

/**
 * The `mcp-actors` command. Subcommands: `demo` (more arrive with the CLI issue).
 */
import { runDemo } from './demo.js';

const [command] = process.argv.slice(2);

async function main(): Promise<number> {
  switch (command) {
    case 'demo':
      return runDemo();
    default:
      console.error('usage: mcp-actors demo');
      return 2;
  }
}

process.exitCode = await main();

/**
 * The `mcp-actors` command: demo, connect, call, read, tools, watch, inspect, statecharts.
 * Exit codes: 0 ok, 1 a call or tool failed, 2 usage or configuration error. `--help` everywhere.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { CommandContext } from './commands.js';
import { loadConfigFile } from './config-file.js';
import { EXIT, Output, UsageError } from './output.js';

// Commands load their modules on first use, so `--help` and usage errors answer at once.
const lazy =
  (
    name:
      | 'callCommand'
      | 'connectCommand'
      | 'inspectCommand'
      | 'readCommand'
      | 'toolsCommand'
      | 'watchCommand',
  ) =>
  async (ctx: CommandContext): Promise<number> =>
    (await import('./commands.js'))[name](ctx);

type Options = NonNullable<ParseArgsConfig['options']>;

interface Command {
  summary: string;
  usage: string;
  options: Options;
  /** Reads the config file (default `mcp-actors.config.json`). */
  config: boolean;
  run: (ctx: CommandContext) => Promise<number>;
}

const COMMON: Options = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
};
const WITH_CONFIG: Options = { ...COMMON, config: { type: 'string', short: 'c' } };
const CALLS: Options = { ...WITH_CONFIG, timeout: { type: 'string' } };
const COMMON_HELP = `  -c, --config FILE   config file (default: ./mcp-actors.config.json; \${ENV} is filled in)
      --json          machine-readable output on stdout
  -h, --help          this help`;

const COMMANDS: Record<string, Command> = {
  demo: {
    summary: 'run the demo: a local server, calls, a kill and a restart, live transitions',
    usage:
      'usage: mcp-actors demo\n\nStarts the demo MCP server, connects over WebSocket and Streamable HTTP, kills\nand restarts the server, and prints every actor transition.',
    options: { help: COMMON.help! },
    config: false,
    run: async () => (await import('./demo.js')).runDemo(),
  },
  connect: {
    summary: 'connect and print server info, capabilities and tools',
    usage: `usage: mcp-actors connect <server|url> [options]\n       mcp-actors connect [options] -- <command> [args...]\n\n${COMMON_HELP}\n      --timeout MS    per request`,
    options: CALLS,
    config: true,
    run: lazy('connectCommand'),
  },
  call: {
    summary: 'call a tool: call <server|url> <tool> [json-arguments]',
    usage: `usage: mcp-actors call <server|url> <tool> [json-arguments] [options]\n       mcp-actors call <tool> [json-arguments] [options] -- <command> [args...]\n\nexample: mcp-actors call ws://127.0.0.1:8080 echo '{"text":"hi"}'\n\n${COMMON_HELP}\n      --timeout MS    deadline (progress extends it)`,
    options: CALLS,
    config: true,
    run: lazy('callCommand'),
  },
  read: {
    summary: 'read a resource: read <server|url> <uri>',
    usage: `usage: mcp-actors read <server|url> <uri> [options]\n       mcp-actors read <uri> [options] -- <command> [args...]\n\n${COMMON_HELP}\n      --timeout MS    deadline`,
    options: CALLS,
    config: true,
    run: lazy('readCommand'),
  },
  tools: {
    summary: 'list the tools of every configured server (or of the ones named)',
    usage: `usage: mcp-actors tools [server|url...] [options]\n       mcp-actors tools [options] -- <command> [args...]\n\n${COMMON_HELP}\n      --schema        also print each tool's input schema\n      --timeout MS    per server`,
    options: { ...CALLS, schema: { type: 'boolean' } },
    config: true,
    run: lazy('toolsCommand'),
  },
  watch: {
    summary: 'print a resource and follow its updates: watch [server|url] <uri>',
    usage: `usage: mcp-actors watch [server|url] <uri> [options]\n\n${COMMON_HELP}\n      --count N       stop after N updates (default: until Ctrl-C)`,
    options: { ...WITH_CONFIG, count: { type: 'string' } },
    config: true,
    run: lazy('watchCommand'),
  },
  inspect: {
    summary: 'serve the live inspector page for the configured servers',
    usage: `usage: mcp-actors inspect --config FILE [--port N]\n\n${COMMON_HELP}\n      --port N        port on 127.0.0.1 (default: a free one)`,
    options: { ...WITH_CONFIG, port: { type: 'string', short: 'p' } },
    config: true,
    run: lazy('inspectCommand'),
  },
  statecharts: {
    summary: 'write the statecharts of the machines (JSON, Mermaid, SVG)',
    usage: `usage: mcp-actors statecharts [--out DIR] [--check] [--json]\n\n  --out DIR   where to write (default: ./mcp-actors-statecharts)\n  --check     write nothing; exit 1 when the files on disk are stale\n  --json      list the files as JSON\n  -h, --help  this help`,
    options: { ...COMMON, out: { type: 'string' }, check: { type: 'boolean' } },
    config: false,
    run: async (ctx) => (await import('./statecharts.js')).statechartsCommand(ctx),
  },
};

/** Commands that accept a stdio server's command line after `--`. */
const TAKES_COMMAND = new Set(['connect', 'call', 'read', 'tools']);

const MAIN_USAGE = `usage: mcp-actors <command> [options]   (mcp-actors <command> --help for more)

commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`)
  .join('\n')}

exit codes: 0 ok, 1 a call or tool failed, 2 usage or configuration error`;

/** Runs the CLI with `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const jsonWanted = args.includes('--json');
  const out = new Output({ json: jsonWanted });
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? process.stderr : process.stdout).write(`${MAIN_USAGE}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version') {
    process.stdout.write('0.1.0\n');
    return EXIT.ok;
  }
  const command = COMMANDS[name];
  if (!command) return out.fail(new UsageError(`unknown command "${name}"`, MAIN_USAGE));
  try {
    const dashDash = args.indexOf('--');
    const own = dashDash >= 0 ? args.slice(0, dashDash) : args;
    const rest = dashDash >= 0 ? args.slice(dashDash + 1) : [];
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({ args: own, options: command.options, allowPositionals: true, strict: true });
    } catch (error) {
      throw new UsageError((error as Error).message, command.usage);
    }
    const values = parsed.values as Record<string, string | boolean | undefined>;
    if (values.help) {
      process.stdout.write(`${command.usage}\n`);
      return EXIT.ok;
    }
    if (rest.length > 0 && !TAKES_COMMAND.has(name)) {
      throw new UsageError(`"${name}" takes no command after --`, command.usage);
    }
    const config = command.config ? loadConfigFile(values.config as string | undefined) : undefined;
    return await command.run({
      out,
      positionals: parsed.positionals,
      rest,
      values,
      config,
      usage: command.usage,
    });
  } catch (error) {
    return out.fail(error);
  }
}

/** Runs `main` with this process's arguments and sets the exit code (used by bin/mcp-actors.js). */
export async function run(): Promise<void> {
  const code = await main(process.argv.slice(2));
  process.exitCode = code;
  // A well-behaved run has nothing left; this only bounds a straggling handle's delay.
  setTimeout(() => process.exit(code), 2_000).unref();
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) await run();

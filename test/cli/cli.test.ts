/**
 * The CLI from source (`node --import tsx src/cli/main.ts`; the packaged `bin` is run by
 * test/package/consumer.test.ts) as a child process against a real demo server on 127.0.0.1: output, --json,
 * exit codes (0 ok, 1 call/tool error, 2 usage/config), bad arguments, config files with ${ENV}.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoServerProcess, demoStdioCommand, spawnDemoServer } from '../helpers/demo-server-process.js';
import { CONTROL, HOSTILE } from '../helpers/hostile-text.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
/** node's arguments that run the CLI from source. */
const BIN = ['--import', TSX, MAIN];
const T = 120_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...BIN, ...args],
      { cwd: options.cwd ?? tmp, env: { ...process.env, NO_COLOR: '', ...options.env }, timeout: 90_000 },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: number }).code ?? null) : 0;
        resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
      },
    );
  });
}

/** Runs the invocations one after another (the concurrent describes already run tests side by side). */
async function series<T extends Array<() => Promise<Run>>>(runs: [...T]): Promise<{ [K in keyof T]: Run }> {
  const out: Run[] = [];
  for (const run of runs) out.push(await run());
  return out as { [K in keyof T]: Run };
}

let demo: DemoServerProcess;
let tmp: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'mcp-actors-cli-'));
  demo = await spawnDemoServer();
}, T);

afterAll(async () => {
  await demo?.kill('SIGKILL');
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe.concurrent('mcp-actors usage', () => {
  it(
    'prints help for the command and every subcommand',
    async () => {
      const top = await cli(['--help']);
      expect(top.code).toBe(0);
      for (const c of ['demo', 'connect', 'call', 'read', 'tools', 'watch', 'inspect', 'statecharts']) {
        expect(top.stdout).toContain(`  ${c} `);
      }
      const sub = await cli(['call', '--help']);
      expect(sub.code).toBe(0);
      expect(sub.stdout).toContain('usage: mcp-actors call <server|url> <tool>');
      const inspect = await cli(['inspect', '-h']);
      expect(inspect.stdout).toContain('--port N');
    },
    T,
  );

  it(
    'exits 2 on a missing command, an unknown command or option, and bad arguments',
    async () => {
      const [none, unknown, option, badJson, notObject, missing] = await series([
        () => cli([]),
        () => cli(['frobnicate']),
        () => cli(['call', demo.wsUrl, 'echo', '--nope']),
        () => cli(['call', demo.wsUrl, 'echo', '{text:']),
        () => cli(['call', demo.wsUrl, 'echo', '[1,2]']),
        () => cli(['read', demo.wsUrl]),
      ]);
      expect(none.code).toBe(2);
      expect(none.stderr).toContain('usage: mcp-actors <command>');
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('unknown command "frobnicate"');
      expect(option.code).toBe(2);
      expect(option.stderr).toContain("Unknown option '--nope'");
      expect(badJson.code).toBe(2);
      expect(badJson.stderr).toContain('not valid JSON');
      expect(notObject.code).toBe(2);
      expect(notObject.stderr).toContain('must be a JSON object');
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('read needs <server-or-url> <uri>');
    },
    T,
  );

  it(
    'exits 2 for a server name without a config, and for bad --timeout and --count',
    async () => {
      const [noConfig, timeout, count] = await series([
        () => cli(['call', 'demo', 'echo']),
        () => cli(['call', demo.wsUrl, 'echo', '--timeout', 'soon']),
        () => cli(['watch', demo.wsUrl, 'demo://greeting', '--count', '0']),
      ]);
      expect(noConfig.code).toBe(2);
      expect(noConfig.stderr).toContain('error CONFIG');
      expect(noConfig.stderr).toContain('no config file');
      expect(timeout.code).toBe(2);
      expect(timeout.stderr).toContain('--timeout must be a positive integer');
      expect(count.code).toBe(2);
      expect(count.stderr).toContain('--count must be a positive integer');
    },
    T,
  );
});

describe.concurrent('mcp-actors against the demo server', () => {
  it(
    'reports a typo in a server command at once (CONFIG naming the command), not after a timeout',
    async () => {
      // The same process start and runtime import as a successful connect, so the difference is
      // what the typo costs: the issue's target is 1 s (it used to wait 30 s).
      const timed = async (args: string[]): Promise<Run & { ms: number }> => {
        const t0 = performance.now();
        const run = await cli(args);
        return { ...run, ms: performance.now() - t0 };
      };
      const ok = await timed(['connect', demo.wsUrl]);
      const typo = await timed(['call', 'echo', '{}', '--', 'no-such-mcp-server-xyz']);
      expect(ok.code).toBe(0);
      expect(typo.code).toBe(2);
      expect(typo.stderr).toContain('error CONFIG');
      expect(typo.stderr).toContain('command "no-such-mcp-server-xyz" not found (ENOENT)');
      expect(typo.ms).toBeLessThan(ok.ms + 1_000);
    },
    T,
  );

  it(
    'calls a tool: text, --json, no colour when not a TTY',
    async () => {
      const [text, json] = await series([
        () => cli(['call', demo.wsUrl, 'echo', '{"text":"hi there"}']),
        () => cli(['call', demo.httpUrl, 'add', '{"a":2,"b":40}', '--json']),
      ]);
      expect(text.code).toBe(0);
      expect(text.stdout).toBe('hi there\n');
      expect(text.stdout + text.stderr).not.toContain('\x1b[');
      expect(json.code).toBe(0);
      const body = JSON.parse(json.stdout) as { ok: boolean; result: { content: Array<{ text: string }> } };
      expect(body.ok).toBe(true);
      expect(body.result.content[0]!.text).toBe('42');
    },
    T,
  );

  it(
    'shows progress on a long call (stderr) and the result (stdout)',
    async () => {
      const run = await cli(['call', demo.wsUrl, 'slow', '{"durationMs":300,"steps":3}']);
      expect(run.code).toBe(0);
      expect(run.stderr).toContain('progress 1/3');
      expect(run.stderr).toContain('progress 3/3 100%');
      expect(run.stdout).not.toContain('progress');
    },
    T,
  );

  it(
    'exits 1 when the tool reports an error (--json keeps the result)',
    async () => {
      const json = await cli(['call', demo.wsUrl, 'fail', '{"message":"on purpose"}', '--json']);
      expect(json.code).toBe(1);
      expect(json.stdout).toContain('on purpose');
      const body = JSON.parse(json.stdout) as {
        ok: boolean;
        error: { code: string };
        result: { isError: boolean };
      };
      expect(body).toMatchObject({ ok: false, error: { code: 'TOOL' }, result: { isError: true } });
    },
    T,
  );

  it(
    'exits 1 when the server cannot be reached',
    async () => {
      const run = await cli(['call', 'ws://127.0.0.1:9/', 'echo', '{}', '--timeout', '1500', '--json']);
      expect(run.code).toBe(1);
      const body = JSON.parse(run.stdout) as { ok: boolean; error: { code: string } };
      expect(body.ok).toBe(false);
      expect(['TIMEOUT', 'CONNECTION_LOST', 'SERVER_FAILED']).toContain(body.error.code);
    },
    T,
  );

  it(
    'reads a resource',
    async () => {
      const text = await cli(['read', demo.httpUrl, 'demo://greeting']);
      expect(text.code).toBe(0);
      expect(text.stdout).toBe('Hello from the demo server\n');
    },
    T,
  );

  it(
    'connects by URL and by command (stdio) and prints server info and tools',
    async () => {
      const stdio = demoStdioCommand();
      const [ws, cmd] = await series([
        () => cli(['connect', demo.wsUrl]),
        () => cli(['connect', '--json', '--', stdio.command, ...stdio.args], { cwd: stdio.cwd }),
      ]);
      expect(ws.code).toBe(0);
      expect(ws.stdout).toContain('connected to mcp-actors-demo');
      expect(ws.stdout).toContain('capabilities: tools, resources, prompts');
      expect(ws.stdout).toMatch(/^ {2}echo {2}Returns the text/m);
      expect(cmd.code).toBe(0);
      const body = JSON.parse(cmd.stdout) as { transport: string; tools: Array<{ name: string }> };
      expect(body.transport).toBe('stdio');
      expect(body.tools.map((t) => t.name)).toContain('slow');
    },
    T,
  );

  it(
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the config file's own ${ENV} syntax
    'lists the tools of every server of the config file, with ${ENV} filled in',
    async () => {
      const dir = mkdtempSync(join(tmp, 'cfg-'));
      writeFileSync(
        join(dir, 'mcp-actors.config.json'),
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the config file's own ${ENV} syntax
        JSON.stringify({ servers: { one: { url: '${DEMO_WS}' }, two: { url: '${DEMO_HTTP}' } } }),
      );
      const env = { DEMO_WS: demo.wsUrl, DEMO_HTTP: demo.httpUrl };
      const [list, unset, unknown] = await series([
        () => cli(['tools', '--json'], { cwd: dir, env }),
        () => cli(['tools'], { cwd: dir, env: { DEMO_WS: demo.wsUrl } }),
        () => cli(['call', 'three', 'echo'], { cwd: dir, env }),
      ]);
      expect(list.code).toBe(0);
      const tools = (JSON.parse(list.stdout) as { tools: Array<{ server: string; name: string }> }).tools;
      expect(tools.filter((t) => t.name === 'echo').map((t) => t.server)).toEqual(['one', 'two']);
      expect(unset.code).toBe(2);
      expect(unset.stderr).toContain('environment variable DEMO_HTTP is not set');
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('unknown server "three" (known: one, two)');
    },
    T,
  );

  it(
    'reports a config file that is missing, not JSON, or invalid (exit 2)',
    async () => {
      const bad = join(tmp, 'bad.json');
      writeFileSync(bad, '{ nope');
      const invalid = join(tmp, 'invalid.json');
      writeFileSync(invalid, JSON.stringify({ servers: { x: { url: 'ftp://h' } } }));
      const [missing, notJson, wrong] = await series([
        () => cli(['tools', '--config', join(tmp, 'nosuch.json')]),
        () => cli(['tools', '--config', bad]),
        () => cli(['call', 'x', 'echo', '--config', invalid]),
      ]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('cannot read');
      expect(notJson.code).toBe(2);
      expect(notJson.stderr).toContain(
        "is not valid JSON: Expected property name or '}' at line 1, column 3",
      );
      expect(notJson.stderr).not.toContain('nope');
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toContain('servers.x.url');
    },
    T,
  );
});

/**
 * Writes a stdio MCP server as plain JS (no tsx to load, so it starts fast on a busy machine):
 * `body` registers tools on `server`, given `HOSTILE` and the SDK's McpServer.
 */
function stdioServer(name: string, serverName: string, body: string): string[] {
  const require = createRequire(import.meta.url);
  const sdk = (path: string): string =>
    pathToFileURL(require.resolve(`@modelcontextprotocol/sdk/${path}`)).href;
  const file = join(tmp, `${name}.mjs`);
  writeFileSync(
    file,
    `import { McpServer } from ${JSON.stringify(sdk('server/mcp.js'))};
import { StdioServerTransport } from ${JSON.stringify(sdk('server/stdio.js'))};
const HOSTILE = ${JSON.stringify(HOSTILE)};
const server = new McpServer({ name: ${serverName}, version: '1.0.0' }, { capabilities: { tools: {}, resources: {} } });
${body}
await server.connect(new StdioServerTransport());
`,
  );
  return [process.execPath, file];
}

describe('mcp-actors config files, ad-hoc servers and schemas', () => {
  it(
    'a config without "servers" is a CONFIG error naming it, with a hint on the typo',
    async () => {
      const file = join(tmp, 'typo.json');
      writeFileSync(file, JSON.stringify({ server: { mem: { url: demo.wsUrl } } }));
      const [tools, call] = await series([
        () => cli(['tools', '--config', file]),
        () => cli(['call', 'mem', 'echo', '--config', file]),
      ]);
      for (const run of [tools, call]) {
        expect(run.code).toBe(2);
        expect(run.stderr).toContain('error CONFIG');
        expect(run.stderr).toContain('has no "servers"');
        expect(run.stderr).toContain('found "server": did you mean "servers"?');
      }
    },
    T,
  );

  it(
    'reads an mcpServers file (Claude Desktop, Cursor, VS Code): url, type http, command',
    async () => {
      const [command, ...args] = stdioServer(
        'echo-server',
        "'echo'",
        `server.registerTool('echo', { description: 'echo' }, async () => ({ content: [{ type: 'text', text: 'hi' }] }));`,
      );
      const dir = mkdtempSync(join(tmp, 'mcpservers-'));
      writeFileSync(
        join(dir, 'mcp-actors.config.json'),
        JSON.stringify({
          mcpServers: {
            ws: { url: demo.wsUrl },
            http: { type: 'http', url: demo.httpUrl },
            local: { command, args },
          },
        }),
      );
      const list = await cli(['tools', '--json'], { cwd: dir });
      expect(list.code, list.stderr).toBe(0);
      const tools = (JSON.parse(list.stdout) as { tools: Array<{ server: string; name: string }> }).tools;
      expect(tools.filter((t) => t.name === 'echo').map((t) => t.server)).toEqual(['ws', 'http', 'local']);
    },
    T,
  );

  it(
    'call, read and tools take a stdio command after -- without a config file',
    async () => {
      const stdio = stdioServer(
        'plain-server',
        "'plain'",
        `server.registerTool('echo', { description: 'echo' }, async () => ({ content: [{ type: 'text', text: 'over stdio' }] }));
server.registerResource('greeting', 'demo://greeting', {}, async (uri) => ({ contents: [{ uri: uri.href, text: 'Hello from the demo server' }] }));`,
      );
      const [call, read, tools] = await series([
        () => cli(['call', 'echo', '{"text":"over stdio"}', '--', ...stdio]),
        () => cli(['read', 'demo://greeting', '--', ...stdio]),
        () => cli(['tools', '--json', '--', ...stdio]),
      ]);
      expect(call.code, call.stderr).toBe(0);
      expect(call.stdout).toBe('over stdio\n');
      expect(read.code, read.stderr).toBe(0);
      expect(read.stdout).toBe('Hello from the demo server\n');
      expect(tools.code, tools.stderr).toBe(0);
      expect(
        (JSON.parse(tools.stdout) as { tools: Array<{ name: string }> }).tools.map((t) => t.name),
      ).toContain('echo');
    },
    T,
  );

  it(
    "tools --schema prints each tool's input schema",
    async () => {
      const [text, json] = await series([
        () => cli(['tools', demo.wsUrl, '--schema']),
        () => cli(['tools', demo.wsUrl, '--schema', '--json']),
      ]);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(
        // The SDK v2 server states the dialect first (`$schema`), then the schema.
        /^\S+ {2}echo {2}Returns the text it was given\.\n {4,}\{\n( {6,}"\$schema": "[^"]+",\n)? {6,}"type": "object"/m,
      );
      expect(text.stdout).toMatch(/"text": \{\n\s+"type": "string"/);
      const echo = (
        JSON.parse(json.stdout) as { tools: Array<{ name: string; inputSchema: unknown }> }
      ).tools.find((t) => t.name === 'echo');
      expect(echo?.inputSchema).toMatchObject({ type: 'object', properties: { text: { type: 'string' } } });
    },
    T,
  );

  it(
    'strips terminal control sequences from everything a hostile server sends',
    async () => {
      const server = stdioServer(
        'hostile-server',
        "'evil' + HOSTILE",
        `server.registerTool('evil', { description: HOSTILE }, async () => ({ content: [{ type: 'text', text: HOSTILE }] }));
server.registerTool('boom', { description: 'fails' }, async () => { throw new Error(HOSTILE); });`,
      );
      const command = ['--', ...server];
      const runs = await series([
        () => cli(['tools', ...command]),
        () => cli(['connect', ...command]),
        () => cli(['call', 'evil', ...command]),
        () => cli(['call', 'boom', ...command]),
        () => cli(['tools', '--schema', '--json', ...command]),
      ]);
      for (const run of runs) expect((run.stdout + run.stderr).replace(/\n|\t/g, '')).not.toMatch(CONTROL);
      for (const run of runs.slice(0, 4)) expect(run.stdout + run.stderr).toContain('beforehiddenafter');
      const [tools, connect, evil, boom, json] = runs;
      expect(tools.code).toBe(0);
      expect(tools.stdout).toContain('evil  beforehiddenafter');
      expect(connect.stdout).toContain('connected to evilbeforehiddenafter');
      expect(evil.code).toBe(0);
      expect(boom.code).toBe(1);
      expect(boom.stderr).toContain('error TOOL');
      expect(JSON.parse(json.stdout).tools[0].description).toBe(HOSTILE);
    },
    T,
  );
});

describe('mcp-actors inspect and statecharts', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  it(
    'serves the inspector for the config until SIGTERM, then exits 0',
    async () => {
      const config = join(tmp, 'inspect.json');
      writeFileSync(config, JSON.stringify({ servers: { demo: { url: demo.wsUrl } } }));
      child = spawn(process.execPath, [...BIN, 'inspect', '--config', config, '--json'], {
        cwd: tmp,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child!.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
          out += chunk;
          const line = out.split('\n')[0];
          if (out.includes('\n')) resolve((JSON.parse(line!) as { url: string }).url);
        });
        child!.once('exit', (code) => reject(new Error(`inspect exited early (${code})`)));
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect((await fetch(url)).headers.get('content-type')).toContain('text/html');
      let snapshot: { servers: Record<string, { state: string }> } | undefined;
      for (let i = 0; i < 50 && snapshot?.servers.demo?.state !== 'ready'; i++) {
        snapshot = (await (await fetch(new URL('/snapshot.json', url))).json()) as typeof snapshot;
        if (snapshot?.servers.demo?.state !== 'ready') await new Promise((r) => setTimeout(r, 200));
      }
      expect(snapshot?.servers.demo?.state).toBe('ready');
      const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    },
    T,
  );

  it(
    'writes the statecharts to a directory and checks them',
    async () => {
      const out = join(tmp, 'charts');
      const write = await cli(['statecharts', '--out', out]);
      expect(write.code).toBe(0);
      expect(readdirSync(out)).toEqual(
        expect.arrayContaining(['README.md', 'connection.svg', 'breaker.mmd']),
      );
      writeFileSync(join(out, 'connection.mmd'), 'edited\n');
      const stale = await cli(['statecharts', '--check', '--out', out, '--json']);
      expect(stale.code).toBe(1);
      expect((JSON.parse(stale.stdout) as { stale: string[] }).stale).toEqual(['connection.mmd']);
    },
    T,
  );
});

/**
 * The package as a user gets it: `npm pack` (which runs `prepare`, the build) into a temp folder,
 * then the tarball's contents and size, and a fresh consumer project that installs the `.tgz`,
 * typechecks a strict TypeScript consumer with `skipLibCheck: false`, runs a plain-JS example with
 * node (the inspector page included) and runs the installed `mcp-actors` command.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Upper bounds of the tarball (measured 2026-12: ~213 KB packed, ~768 KB unpacked, 160 files). */
const MAX_PACKED_BYTES = 400_000;
const MAX_UNPACKED_BYTES = 1_400_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function exec(file: string, args: string[], cwd: string, timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function manifest(): { dependencies: Record<string, string>; devDependencies: Record<string, string> } {
  return JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
}

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: Array<{ path: string; size: number }>;
}

let tmp: string;
let pack: PackResult;
let consumer: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'mcp-actors-pack-'));
  // `npm pack` runs `prepare`, so this also proves a fresh checkout builds dist/.
  const packed = await exec(NPM, ['pack', '--json', '--pack-destination', tmp], ROOT, 150_000);
  expect(packed.code, packed.stderr).toBe(0);
  const json = packed.stdout.slice(packed.stdout.indexOf('['));
  pack = (JSON.parse(json) as PackResult[])[0]!;
  consumer = join(tmp, 'consumer');
  mkdirSync(consumer);
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }),
  );
  // Every dependency is in the npm cache already (the checkout installed them). A TypeScript
  // consumer brings its own @types/node; any other type the package's declarations need must come
  // with the package.
  const typesNode = `@types/node@${manifest().devDependencies['@types/node']}`;
  const installed = await exec(
    NPM,
    ['install', '--prefer-offline', '--no-audit', '--no-fund', join(tmp, pack.filename), typesNode],
    consumer,
    150_000,
  );
  expect(installed.code, installed.stderr).toBe(0);
}, 300_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the package', () => {
  it('ships the compiled code, its types, the CLI and the docs a user needs, and nothing else', () => {
    const paths = pack.files.map((f) => f.path).sort();
    const top = new Set(paths.map((p) => (p.includes('/') ? `${p.split('/')[0]}/` : p)));
    expect([...top].sort()).toEqual(['LICENSE', 'README.md', 'SECURITY.md', 'bin/', 'dist/', 'package.json']);
    expect(paths).toEqual(
      expect.arrayContaining([
        'bin/mcp-actors.js',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/testing/index.d.ts',
        'dist/cli/main.js',
        'dist/demo/demo-server-main.js',
        'dist/runtime/inspector/assets/index.html',
        'dist/runtime/inspector/assets/app.js',
        'dist/runtime/inspector/assets/style.css',
      ]),
    );
    expect(paths.filter((p) => /\.(png|map|tsbuildinfo)$/.test(p) || /(^|\/)src\//.test(p))).toEqual([]);
    expect(paths.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts'))).toEqual([]);
    expect(pack.size).toBeLessThan(MAX_PACKED_BYTES);
    expect(pack.unpackedSize).toBeLessThan(MAX_UNPACKED_BYTES);
  });

  it('needs neither tsx nor esbuild at run time, and the bin runs plain node', () => {
    const { dependencies } = manifest();
    expect(Object.keys(dependencies)).not.toContain('tsx');
    expect(Object.keys(dependencies)).not.toContain('esbuild');
    const bin = readFileSync(join(ROOT, 'bin/mcp-actors.js'), 'utf8');
    expect(bin).toContain('../dist/cli/main.js');
    expect(bin).not.toContain('tsx');
  });
});

describe('a fresh consumer project with the .tgz installed', () => {
  it('typechecks a strict TypeScript consumer with skipLibCheck: false', { timeout: 120_000 }, async () => {
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2023',
          // The MCP SDK's declarations use fetch's types (HeadersInit), as the project's own config does.
          lib: ['ES2023', 'ESNext.Disposable', 'DOM'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: false,
          noEmit: true,
          types: ['node'],
        },
        files: ['consumer.ts'],
      }),
    );
    writeFileSync(
      join(consumer, 'consumer.ts'),
      `import { createRuntime, isMcpRuntimeError, type AnyMcpRuntimeError } from 'mcp-actors';
import { createMockServer } from 'mcp-actors/testing';

export async function main(): Promise<string> {
  await using rt = createRuntime({ servers: { demo: { url: 'ws://127.0.0.1:9/' } } });
  try {
    await rt.callTool('demo', 'echo', { text: 'hi' });
    return 'ok';
  } catch (error) {
    if (isMcpRuntimeError(error, 'VALIDATION')) return error.path;
    if (!isMcpRuntimeError(error)) throw error;
    const e: AnyMcpRuntimeError = error;
    switch (e.code) {
      case 'REMOTE':
        return \`\${e.rpcCode} \${e.retryAfterMs ?? 0}\`;
      case 'BREAKER_OPEN':
        return String(e.retryAfterMs);
      default:
        return e.code;
    }
  }
}
export const mock = createMockServer();
`,
    );
    const run = await exec(process.execPath, [TSC, '-p', '.'], consumer, 110_000);
    expect(run.stdout + run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  it('runs a plain-JS example with node and serves the inspector page from the package', {
    timeout: 60_000,
  }, async () => {
    writeFileSync(
      join(consumer, 'example.mjs'),
      `import { createRuntime } from 'mcp-actors';

const server = new URL('./node_modules/mcp-actors/dist/demo/demo-server-main.js', import.meta.url).pathname;
const rt = createRuntime({ servers: { demo: { command: process.execPath, args: [server, '--stdio'] } } });
let inspector;
try {
  const result = await rt.callTool('demo', 'echo', { text: 'hi from js' });
  console.log(\`echo: \${result.content[0].text}\`);
  inspector = await rt.inspect();
  for (const path of ['/', '/app.js', '/style.css']) {
    const response = await fetch(new URL(path, inspector.url));
    console.log(\`inspector \${path}: \${response.status} \${response.headers.get('content-type')}\`);
  }
} finally {
  await inspector?.close();
  await rt.close();
}
`,
    );
    const run = await exec(process.execPath, ['example.mjs'], consumer, 50_000);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('echo: hi from js');
    expect(run.stdout).toMatch(/^inspector \/: 200 text\/html/m);
    expect(run.stdout).toMatch(/^inspector \/app\.js: 200 \S*javascript/m);
    expect(run.stdout).toMatch(/^inspector \/style\.css: 200 text\/css/m);
  });

  it('runs the installed mcp-actors command: --help and a tools call', { timeout: 60_000 }, async () => {
    const bin = join(consumer, 'node_modules/.bin/mcp-actors');
    const help = await exec(bin, ['--help'], consumer, 20_000);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain('usage: mcp-actors <command>');
    const server = join(consumer, 'node_modules/mcp-actors/dist/demo/demo-server-main.js');
    const tools = await exec(
      bin,
      ['tools', '--json', '--', process.execPath, server, '--stdio'],
      consumer,
      30_000,
    );
    expect(tools.code, tools.stderr).toBe(0);
    const names = (JSON.parse(tools.stdout) as { tools: Array<{ name: string }> }).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['echo', 'add', 'slow']));
  });
});

/**
 * Every TypeScript code block of README.md and docs/*.md is typechecked, and every runnable one
 * runs (`node --import tsx`, exit 0), as the examples are (test/examples.test.ts). Blocks are
 * written to .cache/doc-blocks/, with `mcp-actors` mapped to src/. A block that needs a live
 * server opts out of running with `<!-- doc-test: no-run -->` on the line before its fence.
 * Snippets may use the names declared in GLOBALS (`rt`, `servers`...) and the usual imports
 * without writing them.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = join(ROOT, '.cache/doc-blocks');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const NO_RUN = '<!-- doc-test: no-run -->';

/** Imports a snippet gets for the names it uses without importing them. */
const AUTO_IMPORTS: Record<string, string[]> = {
  'mcp-actors': [
    'createRuntime',
    'isMcpRuntimeError',
    'mcpRuntimeLogic',
    'type McpRuntimeOutput',
    'type RuntimeConfig',
  ],
  'mcp-actors/testing': ['createMockServer', 'createFaultProxy', 'createVirtualClock'],
  xstate: ['assign', 'createActor', 'sendTo', 'setup'],
  vitest: ['expect'],
};

/** Names snippets use without defining them; a snippet's own declaration shadows these. */
const GLOBALS = `declare const rt: import('../../src/index.js').McpRuntime;
declare const servers: import('../../src/index.js').RuntimeConfig['servers'];
declare const ids: string[];
declare const ca: string;
declare const vault: { read(key: string): Promise<string> };
declare const provider: import('@modelcontextprotocol/sdk/client/auth.js').OAuthClientProvider;
type AgentInput = import('../../examples/embedded-agent-machine.js').AgentInput;
type AgentContext = import('../../examples/embedded-agent-machine.js').AgentContext;
`;

interface Block {
  /** Where the block starts, e.g. `docs/testing.md:12`. */
  at: string;
  code: string;
  run: boolean;
  file: string;
}

function blocksOf(path: string): Array<Omit<Block, 'file'>> {
  const lines = readFileSync(join(ROOT, path), 'utf8').split('\n');
  const blocks: Array<Omit<Block, 'file'>> = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i]!)) continue;
    const start = i;
    const end = lines.indexOf('```', i + 1);
    if (end < 0) throw new Error(`${path}:${start + 1}: unterminated code block`);
    const before = lines.slice(0, start).filter((l) => l.trim() !== '');
    blocks.push({
      at: `${path}:${start + 1}`,
      code: lines.slice(start + 1, end).join('\n'),
      run: before.at(-1)?.trim() !== NO_RUN,
    });
    i = end;
  }
  return blocks;
}

/** The snippet as a module: the imports it leaves out, its code, `export {}`. */
function moduleOf(block: Omit<Block, 'file'>): string {
  const imported = new Set(
    [...block.code.matchAll(/import\s*\{([^}]*)\}/g)].flatMap((m) =>
      m[1]!.split(',').map((n) => n.replace(/\btype\b/, '').trim()),
    ),
  );
  const header = Object.entries(AUTO_IMPORTS)
    .map(([from, names]) => {
      const missing = names.filter((n) => !imported.has(n.replace(/^type /, '')));
      return missing.length ? `import { ${missing.join(', ')} } from '${from}';` : '';
    })
    .filter(Boolean);
  return `// ${block.at}\n${header.join('\n')}\n${block.code}\nexport {};\n`;
}

function exec(args: string[], timeoutMs: number, env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number; output: string }>((resolve) => {
    execFile(
      process.execPath,
      args,
      { cwd: ROOT, timeout: timeoutMs, env: { ...process.env, ...env } },
      (error, stdout, stderr) =>
        resolve({
          code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
          output: stdout + stderr,
        }),
    );
  });
}

// README.md is assembled from docs/ pages (scripts/readme.py): a block is checked once, and named
// by the page to edit.
const sources = [
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
  'README.md',
];
const seen = new Set<string>();
const blocks: Block[] = sources
  .flatMap(blocksOf)
  .filter((b) => !seen.has(b.code) && seen.add(b.code))
  .map((b, i) => ({ ...b, file: `block-${String(i).padStart(2, '0')}.ts` }));

beforeAll(() => {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  writeFileSync(join(DIR, 'globals.d.ts'), GLOBALS);
  writeFileSync(
    join(DIR, 'tsconfig.json'),
    JSON.stringify({
      extends: '../../tsconfig.json',
      compilerOptions: {
        paths: { 'mcp-actors': ['../../src/index.ts'], 'mcp-actors/testing': ['../../src/testing/index.ts'] },
      },
      include: ['*.ts'],
    }),
  );
  for (const b of blocks) writeFileSync(join(DIR, b.file), moduleOf(b));
});

describe('code blocks of README.md and docs/', () => {
  it('finds the blocks, and both kinds', () => {
    expect(blocks.length).toBeGreaterThan(15);
    expect(blocks.some((b) => b.run)).toBe(true);
    expect(blocks.some((b) => !b.run)).toBe(true);
  });

  it('every TypeScript block typechecks', { timeout: 120_000 }, async () => {
    const { code, output } = await exec([TSC, '-p', join(DIR, 'tsconfig.json')], 110_000);
    // Name the markdown line, not the generated file.
    const named = output.replace(
      /(?:\.cache\/doc-blocks\/)?(block-\d+\.ts)\((\d+),(\d+)\)/g,
      (_, file, line) => {
        const block = blocks.find((b) => b.file === file)!;
        const [path, start] = block.at.split(':');
        const headerLines = moduleOf(block).split('\n').indexOf(block.code.split('\n')[0]!);
        return `${path}:${Number(start) + Number(line) - headerLines}`;
      },
    );
    expect(named).toBe('');
    expect(code).toBe(0);
  });

  describe.concurrent('runs', () => {
    for (const b of blocks.filter((x) => x.run)) {
      it(`${b.at} runs and exits 0`, { timeout: 60_000 }, async () => {
        const { code, output } = await exec(['--import', TSX, join(DIR, b.file)], 50_000, {
          TSX_TSCONFIG_PATH: join(DIR, 'tsconfig.json'),
        });
        expect(code, `${relative(ROOT, join(DIR, b.file))} (${b.at}):\n${output}`).toBe(0);
      });
    }
  });
});

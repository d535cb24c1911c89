/**
 * The CLI's config file, in process: validated as `createRuntime` validates (a missing `servers`
 * names a likely typo), the `mcpServers` format of Claude Desktop / Cursor / VS Code, and JSON
 * syntax errors reported by position without quoting the file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fromConfigFile, loadConfigFile } from '../../src/cli/config-file.js';
import { ConfigError, type ConfigIssue, resolveConfig } from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'mcp-actors-config-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function fileWith(text: string): string {
  const file = join(dir, `config-${n++}.json`);
  writeFileSync(file, text);
  return file;
}

function issuesOf(run: () => unknown): ConfigIssue[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}

describe('config file validation', () => {
  it('a file without "servers" is a CONFIG error naming it, with a hint on a typo', () => {
    const [typo] = issuesOf(() =>
      loadConfigFile(fileWith(JSON.stringify({ server: { mem: { command: 'x' } } }))),
    );
    expect(typo!.path).toBe('servers');
    expect(typo!.message).toContain('has no "servers"');
    expect(typo!.message).toContain('found "server": did you mean "servers"?');
    const [empty] = issuesOf(() => loadConfigFile(fileWith('{}')));
    expect(empty!.path).toBe('servers');
    expect(empty!.message).not.toContain('did you mean');
    const [far] = issuesOf(() => loadConfigFile(fileWith(JSON.stringify({ clients: {} }))));
    expect(far!.message).not.toContain('did you mean');
  });

  it('validates every field as the library does', () => {
    const issues = issuesOf(() =>
      loadConfigFile(
        fileWith(JSON.stringify({ servers: { a: { url: 'ws://127.0.0.1:1', retry: { maxAttempt: 3 } } } })),
      ),
    );
    expect(issues.some((i) => i.path.startsWith('servers.a.retry'))).toBe(true);
    const root = issuesOf(() => loadConfigFile(fileWith(JSON.stringify({ servers: {}, defualts: {} }))));
    expect(root.some((i) => i.message.includes('defualts'))).toBe(true);
  });

  it('reads a valid file as is', () => {
    const config = { servers: { a: { url: 'ws://127.0.0.1:1' } }, defaults: { timeoutMs: 5 } };
    expect(loadConfigFile(fileWith(JSON.stringify({ $schema: 'x', ...config })))).toEqual(config);
  });
});

describe('the mcpServers format (Claude Desktop, Cursor, VS Code)', () => {
  it('turns command/args/env, url/headers and type entries into runtime servers', () => {
    const file = fileWith(
      JSON.stringify({
        mcpServers: {
          memory: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-memory'], env: { A: '1' } },
          remote: { url: 'https://example.com/mcp', headers: { 'X-Team': 't' } },
          typedHttp: { type: 'http', url: 'http://127.0.0.1:3001/mcp' },
          typedSse: { type: 'sse', url: 'http://127.0.0.1:3001/sse' },
          typedStdio: { type: 'stdio', command: 'node', args: ['s.js'] },
        },
      }),
    );
    const config = loadConfigFile(file)!;
    expect(config.servers).toEqual({
      memory: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-memory'], env: { A: '1' } },
      remote: { url: 'https://example.com/mcp', headers: { 'X-Team': 't' } },
      typedHttp: { url: 'http://127.0.0.1:3001/mcp', transport: 'streamable-http' },
      typedSse: { url: 'http://127.0.0.1:3001/sse', transport: 'sse' },
      typedStdio: { command: 'node', args: ['s.js'] },
    });
    const resolved = resolveConfig(config);
    expect([...resolved.servers].map(([name, s]) => `${name}:${s.transport}`)).toEqual([
      'memory:stdio',
      'remote:streamable-http',
      'typedHttp:streamable-http',
      'typedSse:sse',
      'typedStdio:stdio',
    ]);
  });

  it('accepts typed entries under "servers" too (VS Code mcp.json)', () => {
    expect(fromConfigFile({ servers: { a: { type: 'sse', url: 'http://h/sse' } } }, 'f').servers).toEqual({
      a: { url: 'http://h/sse', transport: 'sse' },
    });
  });

  it('names what is wrong in an mcpServers file', () => {
    const [type] = issuesOf(() =>
      loadConfigFile(fileWith(JSON.stringify({ mcpServers: { a: { type: 'grpc', url: 'http://h' } } }))),
    );
    expect(type).toEqual({ path: 'servers.a.type', message: 'unknown type "grpc" (use stdio, http or sse)' });
    const unknownField = issuesOf(() =>
      loadConfigFile(fileWith(JSON.stringify({ mcpServers: { a: { command: 'x', envFile: '.env' } } }))),
    );
    expect(unknownField.some((i) => i.path.startsWith('servers.a') && i.message.includes('envFile'))).toBe(
      true,
    );
    const [both] = issuesOf(() => loadConfigFile(fileWith(JSON.stringify({ servers: {}, mcpServers: {} }))));
    expect(both!.path).toBe('mcpServers');
    const [notObject] = issuesOf(() => loadConfigFile(fileWith(JSON.stringify({ mcpServers: [] }))));
    expect(notObject!.message).toContain('"mcpServers" must be an object');
  });
});

describe('JSON syntax errors', () => {
  it.each([
    ['a bare word where a value goes', '{\n  "token": s3cret-value\n}', 'line 2, column 12'],
    ['a trailing comma', '{\n  "servers": {},\n}', 'line 3, column 1'],
    ['an unterminated string', '{"servers": {"a": {"url": "s3cret-value', 'line 1, column 40'],
    ['an early end', '{"servers": {', 'line 1, column 14'],
  ])('%s: the position, never the content', (_name, text, where) => {
    const [issue] = issuesOf(() => loadConfigFile(fileWith(text)));
    expect(issue!.path).toBe('config');
    expect(issue!.message).toContain('is not valid JSON');
    expect(issue!.message).toContain(where);
    expect(issue!.message).not.toContain('s3cret');
    expect(issue!.message).not.toContain('"');
  });
});

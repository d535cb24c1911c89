import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, createRuntime, DEFAULTS, resolveConfig } from '../../src/index.js';

function issuesOf(input: unknown): Array<{ path: string; message: string }> {
  try {
    resolveConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ code: 'CONFIG' });
    return [...(error as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('applies defaults, server overrides and the transport implied by the URL', () => {
    const c = resolveConfig({
      servers: {
        ws: { url: 'ws://127.0.0.1:1' },
        web: { url: 'https://example.com/mcp', timeoutMs: 5_000 },
        old: { url: 'http://127.0.0.1:2/sse', transport: 'sse' },
        files: { command: 'node', args: ['server.js'] },
      },
      defaults: { timeoutMs: 9_000, queue: { concurrency: 4 } },
    });
    expect(c.servers.get('ws')).toMatchObject({ transport: 'websocket', timeoutMs: 9_000 });
    expect(c.servers.get('web')).toMatchObject({ transport: 'streamable-http', timeoutMs: 5_000 });
    expect(c.servers.get('old')?.transport).toBe('sse');
    expect(c.servers.get('files')).toMatchObject({ transport: 'stdio', args: ['server.js'] });
    expect(c.servers.get('ws')?.queue).toEqual({ concurrency: 4, maxQueued: DEFAULTS.queue.maxQueued });
    expect(c.servers.get('ws')?.breaker.failureThreshold).toBe(DEFAULTS.breaker.failureThreshold);
  });

  it.each([
    ['not an object', 42, ''],
    ['servers missing', {}, 'servers'],
    ['unknown top-level field', { servers: {}, sevrers: {} }, ''],
    ['neither url nor command', { servers: { a: {} } }, 'servers.a'],
    ['url and command', { servers: { a: { url: 'ws://127.0.0.1:1', command: 'x' } } }, 'servers.a.command'],
    ['unsupported scheme', { servers: { a: { url: 'ftp://127.0.0.1/' } } }, 'servers.a.url'],
    ['not a URL', { servers: { a: { url: 'nope' } } }, 'servers.a.url'],
    ['sse over ws', { servers: { a: { url: 'ws://127.0.0.1:1', transport: 'sse' } } }, 'servers.a.transport'],
    [
      'stdio with url',
      { servers: { a: { url: 'http://127.0.0.1:1', transport: 'stdio' } } },
      'servers.a.transport',
    ],
    ['wrong type', { servers: { a: { url: 'ws://127.0.0.1:1', timeoutMs: '5s' } } }, 'servers.a.timeoutMs'],
    [
      'negative',
      { servers: { a: { url: 'ws://127.0.0.1:1' } }, defaults: { timeoutMs: -1 } },
      'defaults.timeoutMs',
    ],
    [
      'typo in a policy',
      { servers: { a: { url: 'ws://127.0.0.1:1', retry: { maxAttempt: 3 } } } },
      'servers.a.retry',
    ],
    ['bad server name', { servers: { 'a b': { url: 'ws://127.0.0.1:1' } } }, 'servers.a b'],
    [
      'getToken not a function',
      { servers: { a: { url: 'ws://127.0.0.1:1', auth: { getToken: 'x' } } } },
      'servers.a.auth.getToken',
    ],
    [
      'auth token from an unset environment variable',
      { servers: { a: { url: 'ws://127.0.0.1:1', auth: { token: undefined } } } },
      'servers.a.auth.token',
    ],
    [
      'pool min above max',
      { servers: { a: { url: 'ws://127.0.0.1:1', pool: { min: 3, max: 2 } } } },
      'servers.a.pool.min',
    ],
  ])('%s → ConfigError naming %s', (_name, input, path) => {
    const issues = issuesOf(input);
    expect(issues.length).toBeGreaterThan(0);
    expect(
      issues.some((i) => i.path === path || i.path.startsWith(`${path}.`) || (path === '' && i.path === '')),
    ).toBe(true);
    for (const i of issues) expect(i.message.length).toBeGreaterThan(0);
  });

  it('createRuntime refuses a bad config before any I/O (nothing to close)', () => {
    const before = process.getActiveResourcesInfo().length;
    expect(() => createRuntime({ servers: { a: { url: 'ftp://x' } } } as never)).toThrow(ConfigError);
    expect(process.getActiveResourcesInfo().length).toBe(before);
  });

  it('any junk either resolves or throws ConfigError, never something else', () => {
    const junk = fc.anything({ maxDepth: 4 });
    fc.assert(
      fc.property(
        fc.oneof(
          junk,
          fc.record({ servers: fc.dictionary(fc.string(), junk) }),
          fc.record({ servers: junk, defaults: junk }),
        ),
        (input) => {
          try {
            resolveConfig(input);
          } catch (error) {
            expect(error).toBeInstanceOf(ConfigError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

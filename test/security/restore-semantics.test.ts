/**
 * `restoreFrom` validates meaning, not only types (issue 15, item 14): a retry budget with absurd
 * counts or a bucket that starts in the future, a breaker open far past its reset timeout, or a
 * snapshot saved in the future is a CONFIG error naming the path, and nothing is applied.
 */
import { describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/index.js';
import { PERSIST_FORMAT, PERSIST_VERSION, parsePersisted } from '../../src/runtime/persist.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const YEAR_MS = 365 * 24 * 3_600_000;

function snapshot(server: Record<string, unknown> = {}, savedAt = NOW - 1_000) {
  return {
    format: PERSIST_FORMAT,
    version: PERSIST_VERSION,
    savedAt,
    servers: {
      s: {
        breakers: {},
        retryBudget: { calls: Array(10).fill(3), retries: Array(10).fill(0), bucketStartMs: NOW - 500 },
        session: null,
        ...server,
      },
    },
  };
}

function pathsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    expect(error).toMatchObject({ code: 'CONFIG' });
    return (error as { issues: Array<{ path: string }> }).issues.map((i) => i.path);
  }
  throw new Error('accepted');
}

describe('restoreFrom semantics', () => {
  it('a sane snapshot is accepted', () => {
    expect(parsePersisted(snapshot(), NOW).servers.s!.retryBudget!.calls).toHaveLength(10);
    const open = { circuit: 'open', openUntil: NOW + 30_000, resetTimeoutMs: 60_000, openedCount: 2 };
    expect(() => parsePersisted(snapshot({ breakers: { '*': open } }), NOW)).not.toThrow();
  });

  it("the issue's budget (1e9 retries, bucket a year ahead) is refused, naming each path", () => {
    const budget = { calls: Array(10).fill(0), retries: Array(10).fill(1e9), bucketStartMs: NOW + YEAR_MS };
    expect(pathsOf(() => parsePersisted(snapshot({ retryBudget: budget }), NOW))).toEqual(
      expect.arrayContaining(['restoreFrom.servers.s.retryBudget.retries.0']),
    );
    const future = { calls: Array(10).fill(0), retries: Array(10).fill(0), bucketStartMs: NOW + YEAR_MS };
    expect(pathsOf(() => parsePersisted(snapshot({ retryBudget: future }), NOW))).toEqual([
      'restoreFrom.servers.s.retryBudget.bucketStartMs',
    ]);
  });

  it('counts that are negative, fractional or of the wrong bucket count are refused', () => {
    for (const [calls, path] of [
      [Array(10).fill(-1), 'restoreFrom.servers.s.retryBudget.calls.0'],
      [Array(10).fill(0.5), 'restoreFrom.servers.s.retryBudget.calls.0'],
      [Array(3).fill(0), 'restoreFrom.servers.s.retryBudget.calls'],
    ] as const) {
      const budget = { calls, retries: Array(10).fill(0), bucketStartMs: NOW };
      expect(pathsOf(() => parsePersisted(snapshot({ retryBudget: budget }), NOW))).toContain(path);
    }
  });

  it('a breaker open a year ahead, or a snapshot saved in the future, is refused', () => {
    const open = { circuit: 'open', openUntil: NOW + YEAR_MS, resetTimeoutMs: 60_000, openedCount: 1 };
    expect(pathsOf(() => parsePersisted(snapshot({ breakers: { '*': open } }), NOW))).toEqual([
      'restoreFrom.servers.s.breakers.*.openUntil',
    ]);
    expect(pathsOf(() => parsePersisted(snapshot({}, NOW + YEAR_MS), NOW))).toEqual(['restoreFrom.savedAt']);
  });

  it('createRuntime refuses it before building anything', () => {
    const budget = {
      calls: Array(10).fill(0),
      retries: Array(10).fill(0),
      bucketStartMs: Date.now() + YEAR_MS,
    };
    const restoreFrom = { ...snapshot({ retryBudget: budget }), savedAt: Date.now() };
    expect(
      pathsOf(() =>
        createRuntime(
          { servers: { s: { url: 'http://127.0.0.1:9/mcp' } } },
          { restoreFrom: restoreFrom as never },
        ),
      ),
    ).toEqual(['restoreFrom.servers.s.retryBudget.bucketStartMs']);
  });
});

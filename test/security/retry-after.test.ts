/**
 * `Retry-After` on a 429/503 (issue 15, item 8): both forms parsed and capped, carried as
 * `RemoteError.retryAfterMs`; the retry waits at least that long; a wait past the call's deadline
 * fails the call at once, naming the wait.
 */
import { SdkErrorCode, SdkHttpError } from '@modelcontextprotocol/client';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { toRuntimeError } from '../../src/actors/map-error.js';
import { MAX_RETRY_AFTER_MS, parseRetryAfterMs } from '../../src/actors/retry-after.js';
import { type DemoServerHandle, startDemoServer } from '../../src/demo/demo-server.js';
import { createRuntime, type McpRuntime, RemoteError } from '../../src/index.js';
import { retryDelayMs } from '../../src/machines/retry-policy.js';
import { createFaultProxy, type FaultProxy } from '../../src/testing/index.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');

describe('parseRetryAfterMs', () => {
  it('reads delay-seconds and HTTP-dates (all three formats), caps and refuses junk', () => {
    expect(parseRetryAfterMs('2', NOW)).toBe(2_000);
    expect(parseRetryAfterMs(' 0 ', NOW)).toBe(0);
    expect(parseRetryAfterMs('Thu, 01 Jan 2026 00:00:05 GMT', NOW)).toBe(5_000);
    expect(parseRetryAfterMs('Thursday, 01-Jan-26 00:00:07 GMT', NOW)).toBe(7_000);
    expect(parseRetryAfterMs('Thu Jan  1 00:00:09 2026', NOW)).toBe(9_000);
    // A date in the past: no wait. Absurd values: capped.
    expect(parseRetryAfterMs('Wed, 31 Dec 2025 23:00:00 GMT', NOW)).toBe(0);
    expect(parseRetryAfterMs('999999999999', NOW)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfterMs('Fri, 01 Jan 2100 00:00:00 GMT', NOW)).toBe(MAX_RETRY_AFTER_MS);
    for (const junk of [null, undefined, '', '-5', '1.5', 'soon', '1e9', 'Mon, 99 Foo 2026 GMT'])
      expect(parseRetryAfterMs(junk, NOW)).toBeUndefined();
  });

  it('any header value gives undefined or a wait within [0, cap]', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.nat().map(String),
          fc.date().map((d) => d.toUTCString()),
        ),
        (v) => {
          const ms = parseRetryAfterMs(v, NOW);
          return ms === undefined || (ms >= 0 && ms <= MAX_RETRY_AFTER_MS);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('the SDK error carrying it maps to REMOTE with retryAfterMs, and the retry delay is never shorter', () => {
    const sdk = new SdkHttpError(SdkErrorCode.ClientHttpNotImplemented, 'Error POSTing to endpoint: busy', {
      status: 429,
      statusText: 'Too Many Requests',
      text: 'busy',
      retryAfterMs: 2_000,
    } as never);
    const e = toRuntimeError(sdk, { server: 's', operation: 'tools/call echo' });
    expect(e).toBeInstanceOf(RemoteError);
    expect(e).toMatchObject({ code: 'REMOTE', rpcCode: 429, retryAfterMs: 2_000 });
    expect(e.message).toContain('retry after 2000 ms');
    const policy = {
      maxAttempts: 3,
      backoffFactor: 2,
      initialDelayMs: 100,
      maxBackoffMs: 1_000,
      budgetRatio: 1,
      budgetWindowMs: 10_000,
      budgetMinRetries: 1,
    };
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        (retry, r) => {
          return retryDelayMs(retry, policy, r, (e as RemoteError).retryAfterMs) >= 2_000;
        },
      ),
    );
  });
});

describe('Retry-After over Streamable HTTP (fault proxy in front of the demo server)', () => {
  let demo: DemoServerHandle;
  let proxy: FaultProxy | undefined;
  let rt: McpRuntime | undefined;
  beforeAll(async () => {
    demo = await startDemoServer();
  });
  afterEach(async () => {
    await rt?.close();
    await proxy?.close();
    rt = undefined;
    proxy = undefined;
  });
  afterAll(() => demo?.close());

  const runtime = (url: string, timeoutMs: number) =>
    createRuntime({
      servers: { s: { url, protocol: '2025-11-25' } },
      defaults: {
        timeoutMs,
        heartbeat: { intervalMs: 0 },
        retry: { maxAttempts: 3, backoffFactor: 1.5, initialDelayMs: 20, maxBackoffMs: 50 },
      },
    });

  it('429 with Retry-After: 1, then 200: the retry goes out at least 1 s later', async () => {
    proxy = await createFaultProxy({ target: demo.httpUrl });
    rt = runtime(proxy.url, 10_000);
    await rt.start();
    proxy.respondWith(429, { retryAfterS: 1, count: 1, method: 'tools/call' });
    const started = performance.now();
    const result = await rt.callTool('s', 'echo', { text: 'after the wait' }, { retry: true });
    const elapsedMs = performance.now() - started;
    expect(result.content).toEqual([{ type: 'text', text: 'after the wait' }]);
    expect(proxy.stats.statusesInjected).toBe(1);
    // Without the header the backoff here is at most 50 ms.
    expect(elapsedMs).toBeGreaterThanOrEqual(1_000);
    expect(elapsedMs).toBeLessThan(5_000);
  }, 20_000);

  it('503 with a Retry-After past the deadline fails at once with REMOTE naming the wait', async () => {
    proxy = await createFaultProxy({ target: demo.httpUrl });
    rt = runtime(proxy.url, 3_000);
    await rt.start();
    proxy.respondWith(503, { retryAfterS: 30, count: 5, method: 'tools/call' });
    const started = performance.now();
    const error = await rt.callTool('s', 'echo', { text: 'x' }, { retry: true }).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(error).toMatchObject({ code: 'REMOTE', rpcCode: 503, retryAfterMs: 30_000 });
    expect((error as Error).message).toContain('retry after 30000 ms');
    expect(proxy.stats.statusesInjected).toBe(1);
  }, 20_000);
});

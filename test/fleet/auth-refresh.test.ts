/**
 * `auth.refresh` wired through the runtime: several runtimes of one fleet (one shared store) start
 * with the same expired token set and connect at once; the token endpoint (rotating refresh
 * tokens, on loopback) sees one refresh for all of them and no reused refresh token. Alone, a
 * runtime refreshes once too. The tokens never show in a snapshot; a fleet without `fleet.key`
 * is refused with a typed error naming the field.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, type McpRuntime } from '../../src/index.js';
import { MemoryFleetStore } from '../../src/runtime/fleet/memory-store.js';
import { createMockServer } from '../../src/testing/index.js';
import { refreshGrant, startTokenEndpoint, type TokenEndpoint } from '../helpers/token-endpoint.js';

let as: TokenEndpoint | undefined;
const runtimes: McpRuntime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.close()));
  await as?.close();
});

function runtime(
  endpoint: TokenEndpoint,
  tokens: ReturnType<TokenEndpoint['issue']>,
  fleet?: { store: MemoryFleetStore; key?: Buffer },
) {
  const mock = createMockServer().addTool('echo', ({ text }) => String(text));
  const rt = createRuntime({
    servers: {
      demo: {
        mock,
        heartbeat: { intervalMs: 0 },
        auth: { refresh: (t, signal) => refreshGrant(endpoint.url, t.refreshToken ?? '', signal), tokens },
      },
    },
    ...(fleet
      ? { fleet: { namespace: 'auth-test', store: fleet.store, ...(fleet.key ? { key: fleet.key } : {}) } }
      : {}),
  });
  rt.on('error', () => {});
  runtimes.push(rt);
  return rt;
}

describe('auth.refresh', () => {
  it('a fleet of four runtimes refreshes an expired set once, never reusing a refresh token', async () => {
    as = await startTokenEndpoint({ expiresInMs: 60_000, delayMs: 30 });
    const expired = as.issue(-1);
    const fleet = { store: new MemoryFleetStore(), key: randomBytes(32) };
    const rts = Array.from({ length: 4 }, () => runtime(as as TokenEndpoint, expired, fleet));
    const results = await Promise.all(rts.map((rt) => rt.callTool('demo', 'echo', { text: 'hi' })));
    expect(results.every((r) => r.content[0]?.type === 'text')).toBe(true);
    expect(as.refreshes).toBe(1);
    expect(as.reuses).toBe(0);
    const snapshots = JSON.stringify(rts.map((rt) => rt.snapshot()));
    for (const secret of as.issued) expect(snapshots).not.toContain(secret);
  });

  it('a single runtime refreshes once', async () => {
    as = await startTokenEndpoint({ expiresInMs: 60_000 });
    const rt = runtime(as, as.issue(-1));
    await Promise.all([
      rt.callTool('demo', 'echo', { text: 'a' }),
      rt.callTool('demo', 'echo', { text: 'b' }),
    ]);
    expect(as.refreshes).toBe(1);
  });

  it('a fleet without fleet.key is refused, naming the field', async () => {
    as = await startTokenEndpoint({ expiresInMs: 60_000 });
    const rt = runtime(as, as.issue(-1), { store: new MemoryFleetStore() });
    const error = await rt.callTool('demo', 'echo', { text: 'x' }, { timeoutMs: 2_000 }).then(
      () => undefined,
      (e: unknown) => e as { code?: string; message?: string },
    );
    expect(error?.code).toMatch(/^(AUTH|CONFIG)$/);
    expect(JSON.stringify(error?.message) + JSON.stringify(error)).toContain('fleet.key');
    expect(as.refreshes).toBe(0);
  });
});

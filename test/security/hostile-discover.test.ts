/**
 * A server that claims 2026-07-28 and then breaks it (issue 14, "Bad input"): a result without
 * `resultType`, a `server/discover` answer of the wrong shape, or one offering only versions this
 * client does not speak. Each is PROTOCOL naming what was wrong, at once: no reconnect loop, no hang,
 * the call sent once. A raw JSON-RPC peer on loopback (it also answers `initialize`, so `auto`
 * may fall back to 2025 where the spec lets it).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, type McpRuntime } from '../../src/index.js';
import { type HostileServer, serveHostile } from '../property/hostile-server.js';

let server: HostileServer | undefined;
let rt: McpRuntime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
  await server?.close();
  server = undefined;
});

const GOOD = {
  supportedVersions: ['2026-07-28'],
  capabilities: { tools: {} },
  serverInfo: { name: 'h', version: '0' },
};

async function peer(
  discover: unknown,
  call: unknown,
): Promise<{ calls: () => number; discovers: () => number }> {
  let calls = 0;
  let discovers = 0;
  server = await serveHostile({
    onRequest: (s) => {
      const { id, method } = s.request;
      if (method === 'server/discover') {
        discovers++;
        s.sendJson({ jsonrpc: '2.0', id, result: discover });
      } else if (method === 'tools/list') {
        s.sendJson({
          jsonrpc: '2.0',
          id,
          result: { resultType: 'complete', tools: [{ name: 't', inputSchema: { type: 'object' } }] },
        });
      } else if (method === 'tools/call') {
        calls++;
        s.sendJson({ jsonrpc: '2.0', id, result: call });
      } else s.sendJson({ jsonrpc: '2.0', id, result: {} });
    },
  });
  return { calls: () => calls, discovers: () => discovers };
}

function runtime(protocol: 'auto' | '2026-07-28'): McpRuntime {
  rt = createRuntime({
    servers: { s: { url: (server as HostileServer).url, protocol } },
    defaults: {
      heartbeat: { intervalMs: 0 },
      timeoutMs: 3_000,
      reconnect: { maxAttempts: 5, initialDelayMs: 10, jitter: false },
    },
  });
  return rt;
}

describe('a server that claims 2026-07-28 and breaks it', () => {
  it('a tools/call result without resultType: PROTOCOL naming resultType, sent once, the connection stays', async () => {
    const p = await peer(GOOD, { content: [{ type: 'text', text: 'x' }] });
    const error = await runtime('auto')
      .callTool('s', 't', {}, { retry: true })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PROTOCOL', server: 's' });
    expect((error as Error).message).toMatch(/missing required resultType/);
    expect(p.calls()).toBe(1);
    expect(rt?.snapshot().servers.s?.state).toBe('ready');
  });

  for (const [name, discover, said] of [
    ['a discover answer of the wrong shape', { supportedVersions: 'x', capabilities: 1 }, /did not offer/],
    [
      'a discover answer offering only unknown versions',
      { ...GOOD, supportedVersions: ['2099-01-01'] },
      /-32022|Unsupported protocol version/,
    ],
  ] as const) {
    it(`${name} (pinned 2026-07-28): PROTOCOL at once, one discover, no reconnect loop`, async () => {
      const p = await peer(discover, {});
      const states: string[] = [];
      const r = runtime('2026-07-28');
      r.on('state', (e) => states.push(e.to));
      const error = await r.start().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'PROTOCOL', server: 's' });
      expect((error as Error).message).toMatch(said);
      expect(p.discovers()).toBe(1);
      expect(states).not.toContain('reconnecting');
      expect(r.snapshot().servers.s?.state).toBe('failed');
    });
  }

  it('auto: a discover answer of the wrong shape is not a 2026 server; initialize decides (2025 here)', async () => {
    await peer({ supportedVersions: 'x', capabilities: 1 }, {});
    const r = runtime('auto');
    await r.start();
    expect(r.health('s').protocol).toEqual({ preference: 'auto', era: 'legacy', version: '2025-11-25' });
  });
});

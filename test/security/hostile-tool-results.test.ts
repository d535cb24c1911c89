/**
 * A server whose `tools/call` result is not a CallToolResult gets a typed error naming the method,
 * on both eras, whether the runtime knows the tool (it sends with `request()` and the era codec's
 * own result check, see src/runtime/tool-call-send.ts) or not (the SDK's `callTool`). A raw peer
 * on loopback, so what the server says is exactly what the test scripts.
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

type Era = '2025-11-25' | '2026-07-28';

/** A peer of `era` listing `listed` and answering every `tools/call` with `result`. */
async function peer(era: Era, listed: string[], result: unknown): Promise<McpRuntime> {
  server = await serveHostile({
    onRequest: (s) => {
      const { id, method } = s.request;
      const answer = (value: unknown) => s.sendJson({ jsonrpc: '2.0', id, result: value });
      if (method === 'server/discover') {
        answer({
          supportedVersions: ['2026-07-28'],
          capabilities: { tools: {} },
          serverInfo: { name: 'hostile', version: '0' },
        });
      } else if (method === 'tools/list') {
        const tools = listed.map((name) => ({ name, inputSchema: { type: 'object' } }));
        answer(
          era === '2026-07-28'
            ? { resultType: 'complete', tools, ttlMs: 0, cacheScope: 'private' }
            : { tools },
        );
      } else if (method === 'tools/call') answer(result);
      else answer(era === '2026-07-28' ? { resultType: 'complete' } : {});
    },
  });
  rt = createRuntime({
    servers: { s: { url: server.url, protocol: era } },
    defaults: { heartbeat: { intervalMs: 0 }, timeoutMs: 5_000, reconnect: { maxAttempts: 2 } },
  });
  // The premise of each case: the runtime's registry knows exactly the listed tools.
  expect((await rt.listTools('s')).map((t) => t.name)).toEqual(listed);
  return rt;
}

const WRONG_RESULTS: Array<[string, Record<string, unknown>]> = [
  ['content is a string', { content: 'nope' }],
  ['a content block of no known type', { content: [{ type: 'bogus', text: 'x' }] }],
  ['isError is not a boolean', { content: [], isError: 'yes' }],
];

describe.each(['2025-11-25', '2026-07-28'] as const)('hostile tools/call results (%s)', (era) => {
  const complete = (r: Record<string, unknown>) =>
    era === '2026-07-28' ? { resultType: 'complete', ...r } : r;

  for (const listed of [true, false]) {
    it.each(WRONG_RESULTS)(
      `${listed ? 'a listed' : 'an unlisted'} tool, %s: PROTOCOL naming tools/call`,
      async (_, result) => {
        const runtime = await peer(era, listed ? ['t'] : [], complete(result));
        const error = await runtime.callTool('s', 't', {}).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'PROTOCOL', server: 's' });
        expect((error as Error).message).toMatch(/tools\/call/);
      },
    );
  }

  it('a well-formed result passes the same check', async () => {
    const runtime = await peer(era, ['t'], complete({ content: [{ type: 'text', text: 'ok' }] }));
    await expect(runtime.callTool('s', 't', {})).resolves.toMatchObject({
      content: [{ type: 'text', text: 'ok' }],
    });
  });
});

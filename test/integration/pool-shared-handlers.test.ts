import { McpServer } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { serveWebSocket } from '../../src/actors/websocket-server-transport.js';
import { createRuntime } from '../../src/index.js';

/**
 * The Clients of a server's pool share one set of handlers (built once per server, features.ts):
 * every member must still have them registered, so a notification reaches the runtime whichever
 * connection it arrives on.
 */
describe('pool members share their handlers', () => {
  const servers: McpServer[] = [];
  let endpoint: Awaited<ReturnType<typeof serveWebSocket>>;
  beforeAll(async () => {
    endpoint = await serveWebSocket({
      createServer: () => {
        const s = new McpServer({ name: 'logs', version: '1.0.0' }, { capabilities: { logging: {} } });
        s.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }) => ({
          content: [{ type: 'text', text }],
        }));
        servers.push(s);
        return s;
      },
    });
  });
  afterAll(async () => {
    await endpoint.close();
  });

  it('a log sent on each of two pool connections reaches the log event twice', async () => {
    await using rt = createRuntime({
      servers: { s: { url: endpoint.url, pool: { min: 2, max: 2 }, heartbeat: { intervalMs: 0 } } },
    });
    const seen: unknown[] = [];
    rt.on('log', (e) => seen.push(e.data));
    await rt.start();
    for (let i = 0; i < 250 && (rt.snapshot().servers.s!.pool?.ready ?? 0) < 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(rt.snapshot().servers.s!.pool?.ready).toBe(2);
    expect(servers).toHaveLength(2);
    await Promise.all(
      servers.map((s, i) => s.server.sendLoggingMessage({ level: 'info', data: `from ${i}` })),
    );
    for (let i = 0; i < 250 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(seen.sort()).toEqual(['from 0', 'from 1']);
  });
});

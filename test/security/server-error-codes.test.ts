/**
 * A server's JSON-RPC error codes are the server's, not local conditions (issue 15, item 12): a
 * server's -32001 ("Request timed out") is not our TIMEOUT, a server's -32000 ("Connection closed")
 * is not our CONNECTION_LOST. Both are REMOTE with their `rpcCode`, are not retried as a lost
 * connection, leave the connection up, and `health().lastError.code` is the runtime code. A raw
 * JSON-RPC peer on loopback, so what the server says is exactly what the test scripts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, type McpRuntime } from '../../src/index.js';
import { type HostileServer, serveHostile } from '../property/hostile-server.js';

const fast = {
  reconnect: { initialDelayMs: 20, factor: 2, maxDelayMs: 100, maxAttempts: 3, jitter: false },
  heartbeat: { intervalMs: 0 },
  timeoutMs: 30_000,
  connectTimeoutMs: 3_000,
  initializeTimeoutMs: 3_000,
};

describe("a server's own error codes stay REMOTE (issue 15 #12)", () => {
  let server: HostileServer | undefined;
  let rt: McpRuntime | undefined;
  afterEach(async () => {
    await rt?.close();
    rt = undefined;
    await server?.close();
    server = undefined;
  });

  for (const [rpcCode, said] of [
    [-32001, 'Request timed out'],
    [-32000, 'Connection closed'],
  ] as const) {
    it(`${rpcCode} "${said}" is REMOTE with its code, not retried, and the connection stays`, async () => {
      let calls = 0;
      server = await serveHostile({
        onRequest: (s) => {
          if (s.request.method === 'tools/list') {
            s.sendJson({
              jsonrpc: '2.0',
              id: s.request.id,
              result: { tools: [{ name: 'work', inputSchema: { type: 'object' } }] },
            });
          } else if (s.request.method === 'tools/call') {
            calls++;
            s.sendJson({ jsonrpc: '2.0', id: s.request.id, error: { code: rpcCode, message: said } });
          } else s.sendJson({ jsonrpc: '2.0', id: s.request.id, result: {} });
        },
      });
      rt = createRuntime({ servers: { s: { url: server.url } }, defaults: fast });
      await rt.start();
      const states: string[] = [];
      rt.on('state', (e) => states.push(e.to));

      // `retry: true`: a failure taken for a lost connection would be sent again.
      const error = await rt.callTool('s', 'work', {}, { retry: true }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'REMOTE', rpcCode, server: 's' });
      expect((error as Error).message).toContain(said);
      // Not a local deadline: the call's own timeout is 30 s.
      expect((error as Error).message).not.toMatch(/after 30000 ms/);
      expect(calls).toBe(1);
      expect(states).not.toContain('reconnecting');
      expect(rt.snapshot().servers.s!.state).toBe('ready');
      expect(rt.health('s').lastError).toMatchObject({ code: 'REMOTE' });
    });
  }
});

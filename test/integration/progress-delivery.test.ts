/**
 * Progress sent just before the result reaches `onProgress` and `stream()` on every transport
 * (issue 16, item 3). The SDK dispatches notifications a microtask late and responses at once, so a
 * last progress that arrives in the same read as the result used to find its handler gone: lost,
 * and reported as a PROTOCOL error ("progress notification for an unknown token").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoServerHandle, startDemoServer } from '../../src/demo/demo-server.js';
import { createRuntime, type McpRuntime, type ServerConfig } from '../../src/index.js';
import { demoStdioCommand } from '../helpers/demo-server-process.js';
import { serveHostile } from '../property/hostile-server.js';

const STEPS = 5;
const ROUNDS = 4;

let demo: DemoServerHandle;

beforeAll(async () => {
  demo = await startDemoServer();
});

afterAll(async () => {
  await demo?.close();
});

const transports: Record<string, () => ServerConfig> = {
  stdio: () => ({ ...demoStdioCommand(), initializeTimeoutMs: 15_000, connectTimeoutMs: 15_000 }),
  http: () => ({ url: demo.httpUrl }),
  websocket: () => ({ url: demo.wsUrl }),
};

describe('progress arrives in full, before the result', () => {
  for (const [name, config] of Object.entries(transports)) {
    it(`over ${name}: every step reaches onProgress and stream(), and no error event`, {
      timeout: 60_000,
    }, async () => {
      const rt: McpRuntime = createRuntime({ servers: { s: { ...config(), heartbeat: { intervalMs: 0 } } } });
      const errors: string[] = [];
      rt.on('error', ({ error }) => errors.push(`${error.code}: ${error.message}`));
      try {
        await rt.start();
        for (let round = 0; round < ROUNDS; round++) {
          const seen: number[] = [];
          await rt.callTool(
            's',
            'slow',
            { durationMs: 0, steps: STEPS },
            { onProgress: (p) => seen.push(p.progress) },
          );
          expect(seen).toEqual([1, 2, 3, 4, 5]);
          const kinds: string[] = [];
          for await (const ev of rt.stream('s', { tool: 'slow', args: { durationMs: 0, steps: STEPS } })) {
            kinds.push(ev.type === 'progress' ? `p${ev.progress}` : ev.type);
          }
          // stream() coalesces progress a slow consumer has not read yet (keeps the newest, issue 15
          // item 14), so steps may merge; the last one always arrives, before the result.
          expect(kinds.slice(-2)).toEqual(['p5', 'result']);
          const steps = kinds.filter((k) => k.startsWith('p')).map((k) => Number(k.slice(1)));
          expect(steps).toEqual([...steps].sort((a, b) => a - b));
        }
        expect(errors).toEqual([]);
        expect(rt.snapshot().servers.s?.lateProgressDropped).toBe(0);
      } finally {
        await rt.close();
      }
    });
  }

  it('progress for a call already settled is dropped quietly and counted', { timeout: 30_000 }, async () => {
    // A peer that reports progress AFTER the result (and ignores that the call is over).
    const peer = await serveHostile({
      onRequest: (s) => {
        const { method, params } = s.request as {
          method: string;
          params?: { _meta?: { progressToken?: unknown } };
        };
        if (method === 'server/discover') {
          s.sendJson({
            jsonrpc: '2.0',
            id: s.request.id,
            error: { code: -32601, message: 'Method not found' },
          });
        } else if (method === 'tools/list') {
          s.sendJson({ jsonrpc: '2.0', id: s.request.id, result: { tools: [] } });
        } else {
          s.reply('done');
          const progressToken = params?._meta?.progressToken;
          for (const progress of progressToken === undefined ? [] : [1, 2]) {
            s.sendJson({
              jsonrpc: '2.0',
              method: 'notifications/progress',
              params: { progressToken, progress },
            });
          }
        }
      },
    });
    const rt = createRuntime({ servers: { s: { url: peer.url, heartbeat: { intervalMs: 0 } } } });
    const errors: string[] = [];
    rt.on('error', ({ error }) => errors.push(`${error.code}: ${error.message}`));
    try {
      const seen: number[] = [];
      await rt.callTool('s', 'late', {}, { onProgress: (p) => seen.push(p.progress) });
      // A second call's round trip lets the late notifications of the first arrive and be handled.
      await rt.callTool('s', 'late', {});
      expect(seen).toEqual([]);
      expect(errors).toEqual([]);
      expect(rt.snapshot().servers.s?.lateProgressDropped).toBe(2);
    } finally {
      await rt.close();
      await peer.close();
    }
  });
});

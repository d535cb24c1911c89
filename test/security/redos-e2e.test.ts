/**
 * Issue 15, item 1, end to end: a hostile server on loopback whose tool has `pattern: "^(a+)+$"`
 * in its inputSchema and outputSchema and returns `structuredContent` of a's and a '!', next to a
 * healthy server whose calls must keep completing. Both are raw JSON-RPC peers over WebSocket
 * (nothing of an SDK server, so the test survives the SDK v2 migration).
 *
 * The event loop's longest uninterrupted stretch is measured as the CPU time the process used
 * between two ticks of a 1 ms interval: time descheduled on a loaded machine is not counted, a
 * synchronous regex is. (On today's old engine 27 a's took 6.4 s, see the issue.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, isMcpRuntimeError, type McpRuntime } from '../../src/index.js';
import { type HostileServer, type HostileSocket, serveHostile } from '../property/hostile-server.js';

const BLOCK_LIMIT_MS = 50;
/** 27 a's blocked the old engine 6.4 s (each one more doubles it): bounded, yet a clear failure. */
const HOSTILE_VALUE = `${'a'.repeat(27)}!`;
const schema = {
  type: 'object',
  properties: { s: { type: 'string', pattern: '^(a+)+$' } },
  required: ['s'],
};

function answer(socket: HostileSocket, result: unknown): void {
  socket.sendJson({ jsonrpc: '2.0', id: socket.request.id, result });
}

/** The longest CPU time spent between two ticks of a 1 ms interval, while it runs. */
function watchLoop(): { stop(): number } {
  let worstMs = 0;
  let last = process.cpuUsage();
  const timer = setInterval(() => {
    const { user, system } = process.cpuUsage(last);
    last = process.cpuUsage();
    worstMs = Math.max(worstMs, (user + system) / 1000);
  }, 1);
  return {
    stop() {
      clearInterval(timer);
      return worstMs;
    },
  };
}

const fast = {
  reconnect: { initialDelayMs: 20, factor: 2, maxDelayMs: 100, maxAttempts: 3, jitter: false },
  heartbeat: { intervalMs: 0 },
  timeoutMs: 5_000,
  connectTimeoutMs: 3_000,
  initializeTimeoutMs: 3_000,
};

describe('ReDoS end to end (issue 15 #1)', () => {
  const servers: HostileServer[] = [];
  let rt: McpRuntime | undefined;
  afterEach(async () => {
    await rt?.close();
    rt = undefined;
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it("a hostile server's pattern neither blocks the loop nor another server's calls, and its call gets VALIDATION", async () => {
    const hostile = await serveHostile({
      onRequest: (s) => {
        if (s.request.method === 'tools/list') {
          answer(s, { tools: [{ name: 'greedy', inputSchema: schema, outputSchema: schema }] });
        } else if (s.request.method === 'tools/call') {
          answer(s, { content: [{ type: 'text', text: 'x' }], structuredContent: { s: HOSTILE_VALUE } });
        } else answer(s, {});
      },
    });
    const healthy = await serveHostile({
      onRequest: (s) => {
        if (s.request.method === 'tools/list')
          answer(s, { tools: [{ name: 'echo', inputSchema: { type: 'object' } }] });
        else if (s.request.method === 'tools/call') s.reply('ok');
        else answer(s, {});
      },
    });
    servers.push(hostile, healthy);
    rt = createRuntime({
      servers: { hostile: { url: hostile.url }, healthy: { url: healthy.url } },
      defaults: fast,
    });
    const runtime = rt;
    await runtime.listTools('hostile');
    await runtime.listTools('healthy');

    // One round first, unwatched: the process's first schema compiles (Ajv code generation, JIT) are
    // one-time costs of any schema, not the pattern's.
    await runtime.callTool('hostile', 'greedy', { s: 'aaa' }).catch(() => undefined);
    await runtime.callTool('healthy', 'echo', {});
    const watch = watchLoop();
    // Both servers' calls interleave: 5 rounds of the hostile pair against 30 healthy calls in a row.
    const healthyLoop = (async () => {
      let done = 0;
      for (let i = 0; i < 30; i++) {
        await runtime.callTool('healthy', 'echo', {});
        done++;
      }
      return done;
    })();
    for (let round = 0; round < 5; round++) {
      // Arguments are checked against inputSchema before sending.
      const badArgs = await runtime
        .callTool('hostile', 'greedy', { s: HOSTILE_VALUE })
        .catch((e: unknown) => e);
      expect(isMcpRuntimeError(badArgs, 'VALIDATION')).toBe(true);
      // Valid arguments; the server answers with hostile structuredContent, checked against outputSchema.
      const badResult = await runtime.callTool('hostile', 'greedy', { s: 'aaa' }).catch((e: unknown) => e);
      expect(isMcpRuntimeError(badResult, 'VALIDATION')).toBe(true);
      expect((badResult as { path?: string }).path).toBe('structuredContent.s');
    }
    const healthyDone = await healthyLoop;
    const worstBlockMs = watch.stop();
    console.info(
      `redos e2e: worst loop block ${worstBlockMs.toFixed(1)} ms CPU, ${healthyDone} healthy calls meanwhile`,
    );
    expect(healthyDone).toBe(30);
    expect(worstBlockMs).toBeLessThan(BLOCK_LIMIT_MS);
  });
});

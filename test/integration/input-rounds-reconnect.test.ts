/**
 * Input rounds (2026 MRTR) are the call's, not one connection's: the demo server's `ask` tool asks
 * one question per round (a signed `requestState` carries the answers so far). While the handler
 * waits for "the user", the connection is cut; the answer goes out on the new connection, and no
 * question is asked twice. A round being answered also ends cleanly on abort and on close.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoServerHandle, startDemoServer } from '../../src/demo/demo-server.js';
import { createRuntime, type ElicitationHandler, type McpRuntime } from '../../src/index.js';
import { createFaultProxy, type FaultProxy } from '../../src/testing/index.js';

let server: DemoServerHandle;
let proxy: FaultProxy;

beforeAll(async () => {
  server = await startDemoServer({ eras: '2026-07-28', extras: true });
  proxy = await createFaultProxy({ target: server.wsUrl });
});
afterAll(async () => {
  await proxy.close();
  await server.close();
});

function runtime(elicitation: ElicitationHandler): McpRuntime {
  return createRuntime({
    servers: { s: { url: proxy.wsUrl, protocol: '2026-07-28' } },
    defaults: {
      heartbeat: { intervalMs: 0 },
      reconnect: { initialDelayMs: 10, maxDelayMs: 50, jitter: false },
      timeoutMs: 5_000,
    },
    handlers: { elicitation },
  });
}

/** Resolves at the next status of server `s` whose connection state passes `test`. */
function nextStatus(rt: McpRuntime, test: (connection: string) => boolean): Promise<void> {
  return new Promise((resolve) => {
    const onStatus = (e: { server: string; connection: string }): void => {
      if (e.server !== 's' || !test(e.connection)) return;
      rt.off('serverStatus', onStatus);
      resolve();
    };
    rt.on('serverStatus', onStatus);
  });
}

function textOf(result: { content?: Array<{ type: string; text?: string }> }): string | undefined {
  return result.content?.find((c) => c.type === 'text')?.text;
}

describe('input rounds across a reconnect (2026-07-28)', () => {
  it('the connection is cut while the handler answers: the answer goes out on the new connection, nothing is asked twice', async () => {
    const asked: string[] = [];
    let rt!: McpRuntime;
    rt = runtime(async (params) => {
      asked.push(params.message);
      if (asked.length === 1) {
        // The user answers while the connection is down: the answer waits for the next one.
        const lost = nextStatus(rt, (connection) => connection !== 'ready');
        proxy.cut();
        await lost;
      }
      return { action: 'accept', content: { answer: `a${asked.length}` } };
    });
    try {
      await rt.start();
      const connectionsBefore = proxy.stats.wsConnections;
      const result = await rt.callTool('s', 'ask', { questions: 2 });
      expect(textOf(result)).toBe('answers: a1, a2');
      expect(asked).toEqual(['Question 1 of 2?', 'Question 2 of 2?']);
      // The second and third legs went over a connection made after the cut.
      expect(proxy.stats.wsConnections).toBe(connectionsBefore + 1);
    } finally {
      await rt.close();
    }
  });

  it("the caller's abort while the handler answers: CANCELLED at once, the handler's signal aborted", async () => {
    const abort = new AbortController();
    let handlerSignal: AbortSignal | undefined;
    await using rt = runtime((_params, ctx) => {
      handlerSignal = ctx.signal;
      abort.abort(new Error('user left'));
      return new Promise(() => {}); // never answers
    });
    const error = await rt
      .callTool('s', 'ask', { questions: 1 }, { signal: abort.signal })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CANCELLED', server: 's' });
    expect(handlerSignal?.aborted).toBe(true);
  });

  it('close() while the handler answers: the call is CLOSED and close() does not wait for the handler', async () => {
    let handlerSignal: AbortSignal | undefined;
    let rt!: McpRuntime;
    let closed: Promise<void> | undefined;
    rt = runtime((_params, ctx) => {
      handlerSignal = ctx.signal;
      closed = rt.close();
      return new Promise(() => {}); // never answers
    });
    const error = await rt.callTool('s', 'ask', { questions: 1 }).catch((e: unknown) => e);
    await closed;
    expect(error).toMatchObject({ code: 'CLOSED', server: 's' });
    expect(handlerSignal?.aborted).toBe(true);
  });

  it('stream() yields each round as an input event (what it asks, not what it says), then the result', async () => {
    await using rt = runtime(() => ({ action: 'accept', content: { answer: 'x' } }));
    const events: unknown[] = [];
    for await (const e of rt.stream('s', { tool: 'ask', args: { questions: 2 } })) {
      events.push(e.type === 'result' ? { type: 'result', text: textOf(e.value) } : e);
    }
    expect(events).toEqual([
      { type: 'input', round: 1, kinds: ['elicitation'], count: 1 },
      { type: 'input', round: 2, kinds: ['elicitation'], count: 1 },
      { type: 'result', text: 'answers: x, x' },
    ]);
  });
});

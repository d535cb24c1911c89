/**
 * A 2026 server that breaks the input-round contract (MRTR) gets PROTOCOL naming what it broke, and
 * nothing hangs or loops: an entry that is not an embedded request, a method this client did not
 * declare, endless rounds that carry only `requestState`. A raw JSON-RPC peer on loopback, so
 * what the server says is exactly what the test scripts.
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

/** A 2026 peer: discover, one tool, and `tools/call` answered by `answer` (its call count given). */
async function modernPeer(
  answer: (callNumber: number, params: unknown) => unknown,
): Promise<{ calls: () => number }> {
  let calls = 0;
  server = await serveHostile({
    onRequest: (s) => {
      const { id, method, params } = s.request;
      if (method === 'server/discover') {
        s.sendJson({
          jsonrpc: '2.0',
          id,
          result: {
            supportedVersions: ['2026-07-28'],
            capabilities: { tools: {} },
            serverInfo: { name: 'hostile', version: '0' },
          },
        });
      } else if (method === 'tools/list') {
        s.sendJson({
          jsonrpc: '2.0',
          id,
          result: { tools: [{ name: 'ask', inputSchema: { type: 'object' } }] },
        });
      } else if (method === 'tools/call') {
        s.sendJson({ jsonrpc: '2.0', id, result: answer(++calls, params) });
      } else s.sendJson({ jsonrpc: '2.0', id, result: {} });
    },
  });
  return { calls: () => calls };
}

function runtime(maxInputRounds = 3): McpRuntime {
  rt = createRuntime({
    servers: { s: { url: (server as HostileServer).url, protocol: '2026-07-28', maxInputRounds } },
    defaults: { heartbeat: { intervalMs: 0 }, timeoutMs: 5_000, reconnect: { maxAttempts: 2 } },
    handlers: { elicitation: () => ({ action: 'accept', content: { answer: 'x' } }) },
  });
  return rt;
}

describe('hostile input rounds (2026-07-28)', () => {
  it('an entry that is not an embedded request: PROTOCOL naming its key, sent once', async () => {
    const peer = await modernPeer(() => ({
      resultType: 'input_required',
      inputRequests: { q1: { method: 'tools/call', params: { name: 'rm' } } },
      requestState: 's',
    }));
    const error = await runtime()
      .callTool('s', 'ask', {}, { retry: true })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PROTOCOL', server: 's' });
    expect((error as Error).message).toMatch(/input request 'q1' is not an embedded/);
    expect(peer.calls()).toBe(1);
  });

  it('a method no handler answers (sampling was not declared): PROTOCOL naming it, sent once', async () => {
    const peer = await modernPeer(() => ({
      resultType: 'input_required',
      inputRequests: { m: { method: 'sampling/createMessage', params: { messages: [], maxTokens: 1 } } },
    }));
    const error = await runtime()
      .callTool('s', 'ask', {})
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PROTOCOL', server: 's' });
    expect((error as Error).message).toMatch(/'sampling\/createMessage' \(input request 'm'\)/);
    expect(peer.calls()).toBe(1);
  });

  it('rounds that only carry requestState, forever: PROTOCOL after maxInputRounds, each leg echoing the state', async () => {
    const states: unknown[] = [];
    const peer = await modernPeer((n, params) => {
      states.push((params as { requestState?: unknown }).requestState);
      return { resultType: 'input_required', inputRequests: {}, requestState: `round-${n}` };
    });
    const error = await runtime(2)
      .callTool('s', 'ask', {})
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PROTOCOL', server: 's' });
    expect((error as Error).message).toMatch(/still asks for input after 2 rounds/);
    expect(peer.calls()).toBe(3);
    expect(states).toEqual([undefined, 'round-1', 'round-2']);
  });

  it('an answer is sent back with the same requestState and the handler’s answer under the key', async () => {
    const seen: unknown[] = [];
    await modernPeer((n, params) => {
      seen.push(params);
      return n === 1
        ? {
            resultType: 'input_required',
            inputRequests: {
              q: {
                method: 'elicitation/create',
                params: {
                  mode: 'form',
                  message: 'ok?',
                  requestedSchema: { type: 'object', properties: { answer: { type: 'string' } } },
                },
              },
            },
            requestState: 'opaque',
          }
        : { resultType: 'complete', content: [{ type: 'text', text: 'done' }] };
    });
    const result = await runtime().callTool('s', 'ask', { a: 1 });
    expect(result.content).toEqual([{ type: 'text', text: 'done' }]);
    expect(seen[1]).toMatchObject({
      name: 'ask',
      arguments: { a: 1 },
      requestState: 'opaque',
      inputResponses: { q: { action: 'accept', content: { answer: 'x' } } },
    });
  });
});

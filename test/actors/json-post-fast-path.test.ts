import {
  type JSONRPCMessage,
  PROTOCOL_VERSION_META_KEY,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { createJsonPostFastPath } from '../../src/actors/json-post-fast-path.js';

/**
 * The fast path against the SDK's own transport: the same messages sent both ways, over a fetch
 * that records each request and answers from a script; the requests, what is delivered and what
 * is thrown must be the same.
 */

const URL_ = new URL('http://127.0.0.1:9/mcp');
const CONFIGURED = { 'X-Api-Key': 'k', Accept: 'application/json, Text/Plain' };
const V2026 = '2026-07-28';

type Answer = () => Response;
interface Sent {
  url: string;
  method: string | undefined;
  headers: Array<[string, string]>;
  body: unknown;
  signal: boolean;
}

function json(value: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/** One transport, the SDK's alone or with the fast path, over a scripted recording fetch. */
async function open(fast: boolean, answers: Answer[]) {
  const sent: Sent[] = [];
  const delivered: JSONRPCMessage[] = [];
  const errors: string[] = [];
  let streamsRefused = 0;
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    // The standalone GET stream (opened after initialized, at a time of its own): refused.
    if (init?.method === 'GET') {
      streamsRefused++;
      return new Response(null, { status: 405 });
    }
    sent.push({
      url: String(input),
      method: init?.method,
      // As sent: a plain object is not normalized by a `Headers` here (names sorted, as `Headers` has them).
      headers:
        init?.headers instanceof Headers
          ? [...init.headers]
          : Object.entries((init?.headers ?? {}) as Record<string, string>).sort(([a], [b]) =>
              a < b ? -1 : 1,
            ),
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : init?.body,
      signal: init?.signal instanceof AbortSignal,
    });
    const answer = answers.shift();
    if (!answer) throw new Error('no answer scripted');
    return answer();
  }) as typeof globalThis.fetch;
  const path = fast ? createJsonPostFastPath(URL_, CONFIGURED, fetch) : undefined;
  const transport = new StreamableHTTPClientTransport(URL_, {
    requestInit: { headers: CONFIGURED },
    fetch: path ? path.fetch : fetch,
  });
  path?.install(transport);
  transport.onmessage = (m) => delivered.push(m);
  transport.onerror = (e) => errors.push(e.message);
  await transport.start();
  const send = async (message: JSONRPCMessage, options?: Parameters<typeof transport.send>[1]) => {
    try {
      await transport.send(message, options);
      return 'ok';
    } catch (error) {
      return `threw ${(error as Error).message}`;
    }
  };
  return { transport, sent, delivered, errors, send, streamsRefused: () => streamsRefused };
}

const call = (id: number, name: string, extra: Record<string, unknown> = {}): JSONRPCMessage => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: { text: 'hi' }, _meta: { [PROTOCOL_VERSION_META_KEY]: V2026 }, ...extra },
});

/** Each case: the messages (with send options) and the answers, in order. */
const cases: Record<string, { steps: Array<[JSONRPCMessage, object?]>; answers: Answer[] }> = {
  '2026 tools/call, plain and encoded Mcp-Name, Mcp-Param headers (reserved ones dropped)': {
    steps: [
      [call(1, 'echo'), { headers: { 'Mcp-Param-Region': ' eu ', 'Mcp-Method': 'x', Authorization: 'no' } }],
      [call(2, 'héllo wörld')],
      [call(3, ' padded ')],
      [call(4, '')],
      [call(5, '=?base64?abc?=')],
      [
        {
          jsonrpc: '2.0',
          id: 6,
          method: 'resources/read',
          params: { uri: 'file:///a b', _meta: { [PROTOCOL_VERSION_META_KEY]: V2026 } },
        },
      ],
      [
        {
          jsonrpc: '2.0',
          id: 7,
          method: 'server/discover',
          params: { _meta: { [PROTOCOL_VERSION_META_KEY]: V2026 } },
        },
      ],
      [{ jsonrpc: '2.0', id: 8, method: 'tools/list' }, { headers: { accept: 'text/html' } }],
    ],
    answers: [1, 2, 3, 4, 5, 6, 7, 8].map((id) => () => json({ jsonrpc: '2.0', id, result: { ok: id } })),
  },
  '2025: initialize (session id taken), then requests carry the session and the version': {
    steps: [
      [
        {
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-11-25',
            capabilities: {},
            clientInfo: { name: 'c', version: '1' },
          },
        },
      ],
      [{ jsonrpc: '2.0', method: 'notifications/initialized' }],
      [{ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo' } }],
      [{ jsonrpc: '2.0', id: 3, method: 'ping' }],
    ],
    answers: [
      () =>
        json(
          {
            jsonrpc: '2.0',
            id: 1,
            result: {
              protocolVersion: '2025-11-25',
              capabilities: {},
              serverInfo: { name: 's', version: '1' },
            },
          },
          200,
          { 'mcp-session-id': 'sess-1' },
        ),
      () => new Response(null, { status: 202 }),
      () => json({ jsonrpc: '2.0', id: 2, result: { content: [] } }),
      () => json([{ jsonrpc: '2.0', id: 3, result: {} }]),
    ],
  },
  'answers the fast path hands to the SDK: SSE, 202, 4xx/5xx, an invalid message, a redirect': {
    steps: [
      [call(1, 'a')],
      [call(2, 'b')],
      [call(3, 'c')],
      [call(4, 'd')],
      [call(5, 'e')],
      [call(6, 'f')],
      [call(7, 'g')],
    ],
    answers: [
      () =>
        new Response('event: message\ndata: {"jsonrpc":"2.0","id":1,"result":{"sse":true}}\n\n', {
          headers: { 'content-type': 'text/event-stream' },
        }),
      () => new Response(null, { status: 202 }),
      () => json({ jsonrpc: '2.0', id: 3, error: { code: -32020, message: 'header mismatch' } }, 400),
      () => new Response('overloaded', { status: 503, headers: { 'retry-after': '1' } }),
      () => json({ jsonrpc: '2.0', id: 5, nonsense: true }),
      () => new Response('<html>', { headers: { 'content-type': 'text/html' } }),
      () => new Response(null, { status: 307, headers: { location: '/mcp2' } }),
      () => json({ jsonrpc: '2.0', id: 7, result: { moved: true } }),
    ],
  },
};

describe('the JSON POST fast path sends and delivers what the SDK transport does', () => {
  for (const [name, { steps, answers }] of Object.entries(cases)) {
    it(name, async () => {
      const runs = [];
      for (const fast of [false, true]) {
        const t = await open(fast, [...answers]);
        if (name.startsWith('2025')) t.transport.setProtocolVersion('2025-11-25');
        const outcomes = [];
        for (const [message, options] of steps) outcomes.push(await t.send(message, options));
        // The SSE answer (id 1) is read in the background: wait for it (bounded), compare in id order.
        const sseDone = () => !name.startsWith('answers') || t.delivered.some((m) => 'id' in m && m.id === 1);
        for (let i = 0; i < 1_000 && !sseDone(); i++) await new Promise((resolve) => setImmediate(resolve));
        t.delivered.sort((a, b) => Number('id' in a ? a.id : 0) - Number('id' in b ? b.id : 0));
        await t.transport.close();
        runs.push({
          outcomes,
          sent: t.sent,
          delivered: t.delivered,
          errors: t.errors,
          gets: t.streamsRefused(),
        });
      }
      const [sdk, fast] = runs;
      expect(fast).toEqual(sdk);
      expect(sdk!.sent.length).toBeGreaterThanOrEqual(steps.length);
    });
  }

  it('the transport signal aborts a fast POST on close', async () => {
    let seen: AbortSignal | undefined;
    const fetch = (async (_input: RequestInfo | URL, init?: RequestInit) => {
      seen = init?.signal ?? undefined;
      return json({ jsonrpc: '2.0', id: 1, result: {} });
    }) as typeof globalThis.fetch;
    const path = createJsonPostFastPath(URL_, {}, fetch);
    const transport = new StreamableHTTPClientTransport(URL_, { fetch: path.fetch });
    path.install(transport);
    await transport.start();
    await transport.send(call(1, 'echo'));
    expect(seen?.aborted).toBe(false);
    await transport.close();
    expect(seen?.aborted).toBe(true);
  });
});

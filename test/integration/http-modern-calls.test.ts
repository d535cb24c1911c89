/**
 * `tools/call` to a 2026 server over Streamable HTTP, against a raw loopback peer that checks what
 * a strict server checks: `Mcp-Param-*` headers mirrored from the tool's `x-mcp-header` arguments
 * (SEP-2243; a stale header is refused with -32020), and input rounds (MRTR) for a tool with an
 * `outputSchema` (the runtime drives the rounds; the result is checked once, at the end); and
 * `resources/read` with a caching hint, which only the runtime's own cache honours.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, type McpRuntime } from '../../src/index.js';

interface Peer {
  url: string;
  /** Methods received, in order. */
  methods: string[];
  /** The header name the `region` argument is mirrored to now. */
  header: string;
  close(): Promise<void>;
}

let peer: Peer | undefined;
let rt: McpRuntime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
  await peer?.close();
  peer = undefined;
});

function tools(header: string): unknown[] {
  return [
    {
      name: 'forecast',
      inputSchema: {
        type: 'object',
        properties: { region: { type: 'string', 'x-mcp-header': header } },
        required: ['region'],
      },
    },
    {
      name: 'confirm',
      inputSchema: { type: 'object' },
      outputSchema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] },
    },
  ];
}

async function body(
  req: IncomingMessage,
): Promise<{ id?: number; method?: string; params?: Record<string, unknown> }> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return JSON.parse(text);
}

async function startPeer(): Promise<Peer> {
  const state = { methods: [] as string[], header: 'Region', reads: 0 };
  const server: Server = createServer(async (req, res) => {
    const message = await body(req);
    const { id, method = '', params = {} } = message;
    if (id === undefined) {
      res.writeHead(202).end();
      return;
    }
    state.methods.push(method);
    const send = (status: number, payload: Record<string, unknown>): void => {
      res
        .writeHead(status, { 'content-type': 'application/json' })
        .end(JSON.stringify({ jsonrpc: '2.0', id, ...payload }));
    };
    if (method === 'server/discover') {
      send(200, {
        result: {
          resultType: 'complete',
          supportedVersions: ['2026-07-28'],
          capabilities: { tools: {}, resources: {} },
          serverInfo: { name: 'strict', version: '0' },
        },
      });
    } else if (method === 'tools/list') {
      send(200, {
        result: { resultType: 'complete', tools: tools(state.header), ttlMs: 0, cacheScope: 'private' },
      });
    } else if (method === 'tools/call' && params.name === 'forecast') {
      const region = (params.arguments as { region?: string }).region;
      const mirrored = req.headers[`mcp-param-${state.header.toLowerCase()}`];
      if (mirrored !== region) {
        send(400, { error: { code: -32020, message: `Mcp-Param-${state.header} does not match` } });
        return;
      }
      send(200, {
        result: { resultType: 'complete', content: [{ type: 'text', text: `sunny in ${region}` }] },
      });
    } else if (method === 'tools/call' && params.name === 'confirm') {
      const answer = (params.inputResponses as Record<string, { content?: { ok?: boolean } }> | undefined)?.q;
      if (answer === undefined) {
        send(200, {
          result: {
            resultType: 'input_required',
            inputRequests: {
              q: {
                method: 'elicitation/create',
                params: {
                  mode: 'form',
                  message: 'Sure?',
                  requestedSchema: { type: 'object', properties: { ok: { type: 'boolean' } } },
                },
              },
            },
            requestState: 'r1',
          },
        });
        return;
      }
      const ok = params.requestState === 'r1' && answer.content?.ok === true;
      send(200, {
        result: {
          resultType: 'complete',
          content: [{ type: 'text', text: String(ok) }],
          structuredContent: { ok },
        },
      });
    } else if (method === 'resources/read') {
      state.reads++;
      send(200, {
        result: {
          resultType: 'complete',
          contents: [{ uri: params.uri, text: `read ${state.reads}` }],
          ttlMs: 60_000,
          cacheScope: 'public',
        },
      });
    } else {
      send(200, { result: { resultType: 'complete' } });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    get methods() {
      return state.methods;
    },
    get header() {
      return state.header;
    },
    set header(value: string) {
      state.header = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function runtime(url: string): McpRuntime {
  rt = createRuntime({
    servers: { s: { url, protocol: '2026-07-28' } },
    defaults: { heartbeat: { intervalMs: 0 }, timeoutMs: 5_000 },
    handlers: { elicitation: () => ({ action: 'accept', content: { ok: true } }) },
  });
  return rt;
}

describe('resources/read from a 2026 server with a caching hint', () => {
  it('`cache: false` reaches the server every time: the SDK Client keeps no cache of its own', async () => {
    peer = await startPeer();
    const runtime_ = runtime(peer.url);
    const texts = [];
    for (let i = 0; i < 2; i++) {
      const read = await runtime_.readResource('s', 'demo://x', { cache: false });
      texts.push((read.contents[0] as { text?: string }).text);
    }
    expect(texts).toEqual(['read 1', 'read 2']);
    // The runtime's cache honours the hint: one more read, then hits.
    await runtime_.readResource('s', 'demo://x');
    await runtime_.readResource('s', 'demo://x');
    expect(peer.methods.filter((m) => m === 'resources/read')).toHaveLength(3);
  });
});

describe('tools/call to a 2026 server over Streamable HTTP', () => {
  it('mirrors x-mcp-header arguments; after the schema changed, a -32020 reads the list again and sends once more', async () => {
    peer = await startPeer();
    const runtime_ = runtime(peer.url);
    await runtime_.start();
    const first = await runtime_.callTool('s', 'forecast', { region: 'north' });
    expect(first.content).toEqual([{ type: 'text', text: 'sunny in north' }]);

    peer.header = 'Zone'; // the server's schema changed and nobody said so
    const calls = peer.methods.length;
    const second = await runtime_.callTool('s', 'forecast', { region: 'south' });
    expect(second.content).toEqual([{ type: 'text', text: 'sunny in south' }]);
    expect(peer.methods.slice(calls)).toEqual(['tools/call', 'tools/list', 'tools/call']);
  });

  it('input rounds of a tool with an outputSchema: answered, checked once, and shown in stream()', async () => {
    peer = await startPeer();
    const events: unknown[] = [];
    for await (const e of runtime(peer.url).stream('s', { tool: 'confirm' })) {
      events.push(e.type === 'result' ? { type: 'result', structured: e.value.structuredContent } : e);
    }
    expect(events).toEqual([
      { type: 'input', round: 1, kinds: ['elicitation'], count: 1 },
      { type: 'result', structured: { ok: true } },
    ]);
  });
});

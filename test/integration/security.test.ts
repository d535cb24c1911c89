/**
 * Authentication (static bearer, token provider refreshed once after a 401), clear-text refusal, and
 * secret hygiene: a known token must not appear in any output channel (errors, events, console, snapshot),
 * even when hostile servers echo it back. Also: a stdio child writing non-protocol text is reported, not fatal.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { serveWebSocket, type WebSocketServeHandle } from '../../src/actors/websocket-server-transport.js';
import { createDemoMcpServer } from '../../src/demo/demo-server.js';
import { createRuntime, type McpRuntime, type RuntimeConfig } from '../../src/index.js';
import { type HostileServer, serveHostile } from '../property/hostile-server.js';

const fast = {
  reconnect: { initialDelayMs: 20, factor: 2, maxDelayMs: 100, maxAttempts: 3, jitter: false },
  heartbeat: { intervalMs: 0 },
  timeoutMs: 3_000,
  connectTimeoutMs: 2_000,
  initializeTimeoutMs: 2_000,
};

function textOf(result: { content?: Array<{ type: string; text?: string }> }): string | undefined {
  return result.content?.find((c) => c.type === 'text')?.text;
}

/** Streamable HTTP (stateless) behind a bearer check; a refused request gets 401 echoing what it presented. */
async function serveHttpWithAuth(accept: (authorization: string) => boolean): Promise<{
  url: string;
  seen: string[];
  server: Server;
  close(): Promise<void>;
}> {
  const seen: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const authorization = req.headers.authorization ?? '';
    seen.push(authorization);
    if (!accept(authorization)) {
      // A careless server echoes the credential it refused: the runtime must not pass it on.
      res.writeHead(401, { 'content-type': 'text/plain' }).end(`invalid credential "${authorization}"`);
      return;
    }
    void (async () => {
      const mcp = createDemoMcpServer();
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => {
        void transport.close();
        void mcp.close();
      });
      await mcp.connect(transport);
      await transport.handleRequest(req, res);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    seen,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function serveWsWithAuth(accept: (authorization: string) => boolean) {
  const seen: string[] = [];
  const ws: WebSocketServeHandle = await serveWebSocket({
    createServer: () => createDemoMcpServer(),
    authenticate: (req) => {
      const authorization = req.headers.authorization ?? '';
      seen.push(authorization);
      return accept(authorization);
    },
  });
  return { url: ws.url, seen, close: () => ws.close() };
}

const kinds = ['websocket', 'streamable-http'] as const;
const serveWithAuth = (kind: (typeof kinds)[number], accept: (authorization: string) => boolean) =>
  kind === 'websocket' ? serveWsWithAuth(accept) : serveHttpWithAuth(accept);

describe('authentication', () => {
  let rt: McpRuntime | undefined;
  afterEach(async () => {
    await rt?.close();
    rt = undefined;
  });

  for (const kind of kinds) {
    it(`${kind}: a static bearer token reaches the server`, async () => {
      const srv = await serveWithAuth(kind, (a) => a === 'Bearer static-token-123');
      try {
        rt = createRuntime({
          servers: { s: { url: srv.url, auth: { token: 'static-token-123' } } },
          defaults: fast,
        });
        expect(textOf(await rt.callTool('s', 'echo', { text: 'authorised' }))).toBe('authorised');
        expect(srv.seen.length).toBeGreaterThan(0);
        expect(new Set(srv.seen)).toEqual(new Set(['Bearer static-token-123']));
      } finally {
        await srv.close();
      }
    });

    it(`${kind}: a wrong static token fails with AUTH at once, without retries`, async () => {
      const srv = await serveWithAuth(kind, (a) => a === 'Bearer right-token');
      try {
        rt = createRuntime({
          servers: { s: { url: srv.url, auth: { token: 'wrong-token' } } },
          defaults: fast,
        });
        const states: string[] = [];
        rt.on('state', (e) => states.push(e.to));
        await expect(rt.start()).rejects.toMatchObject({ code: 'AUTH', server: 's' });
        expect(srv.seen).toEqual(['Bearer wrong-token']);
        expect(states).not.toContain('reconnecting');
        await expect(rt.callTool('s', 'echo', { text: 'x' })).rejects.toMatchObject({ code: 'AUTH' });
      } finally {
        await srv.close();
      }
    });

    it(`${kind}: the token provider is asked again once after a 401, and the fresh token is used`, async () => {
      const srv = await serveWithAuth(kind, (a) => a === 'Bearer fresh-token-2');
      try {
        const tokens = ['stale-token-1', 'fresh-token-2'];
        const getToken = vi.fn(async () => tokens.shift() ?? 'exhausted');
        rt = createRuntime({ servers: { s: { url: srv.url, auth: { getToken } } }, defaults: fast });
        expect(textOf(await rt.callTool('s', 'echo', { text: 'refreshed' }))).toBe('refreshed');
        expect(textOf(await rt.callTool('s', 'echo', { text: 'still' }))).toBe('still');
        expect(getToken).toHaveBeenCalledTimes(2);
        expect(srv.seen[0]).toBe('Bearer stale-token-1');
        expect(srv.seen.slice(1).every((a) => a === 'Bearer fresh-token-2')).toBe(true);
      } finally {
        await srv.close();
      }
    });

    it(`${kind}: a provider whose fresh token is refused too fails with AUTH after exactly one refresh`, async () => {
      const srv = await serveWithAuth(kind, () => false);
      try {
        let n = 0;
        const getToken = vi.fn(async () => `never-good-${++n}`);
        rt = createRuntime({ servers: { s: { url: srv.url, auth: { getToken } } }, defaults: fast });
        await expect(rt.start()).rejects.toMatchObject({ code: 'AUTH', server: 's' });
        expect(getToken).toHaveBeenCalledTimes(2);
        expect(srv.seen).toEqual(['Bearer never-good-1', 'Bearer never-good-2']);
        expect(rt.snapshot().servers.s!.state).toBe('failed');
      } finally {
        await srv.close();
      }
    });
  }

  it('oauth: the OAuthClientProvider token is sent by the SDK and masked in errors', async () => {
    const ACCESS = 'oauth-access-5f5e5d5c5b5a';
    const srv = await serveHttpWithAuth((a) => a === `Bearer ${ACCESS}`);
    try {
      const saved: unknown[] = [];
      const provider = {
        get redirectUrl() {
          return 'http://127.0.0.1/callback';
        },
        get clientMetadata() {
          return { redirect_uris: ['http://127.0.0.1/callback'], client_name: 'mcp-actors-test' };
        },
        clientInformation: () => ({ client_id: 'test-client' }),
        tokens: async () => ({ access_token: ACCESS, token_type: 'Bearer' }),
        saveTokens: (t: unknown) => {
          saved.push(t);
        },
        redirectToAuthorization: () => {
          throw new Error('no interactive authorization in tests');
        },
        saveCodeVerifier: () => {},
        codeVerifier: () => 'verifier',
      };
      rt = createRuntime({ servers: { s: { url: srv.url, auth: { oauth: provider } } }, defaults: fast });
      expect(textOf(await rt.callTool('s', 'echo', { text: 'oauth' }))).toBe('oauth');
      expect(srv.seen.every((a) => a === `Bearer ${ACCESS}`)).toBe(true);
      // A server echoing the access token in an error: the runtime masks it (it learnt the token from tokens()).
      const error = await rt.callTool('s', 'fail', { message: `bad ${ACCESS}` }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'TOOL' });
      expect(inspect(error, { depth: 10 })).not.toContain(ACCESS);
      expect((error as Error).message).toContain('bad ***');
    } finally {
      await srv.close();
    }
  });

  it('a provider that throws fails with AUTH keeping the cause', async () => {
    const srv = await serveWsWithAuth(() => true);
    try {
      const boom = new Error('vault unreachable');
      rt = createRuntime({
        servers: {
          s: {
            url: srv.url,
            auth: {
              getToken: () => {
                throw boom;
              },
            },
          },
        },
        defaults: fast,
      });
      const error = (await rt.start().catch((e: unknown) => e)) as Error;
      expect(error).toMatchObject({ code: 'AUTH', server: 's' });
      expect(error.message).toMatch(/getToken failed/);
      expect(srv.seen).toEqual([]);
    } finally {
      await srv.close();
    }
  });

  it('token, getToken and oauth are exclusive (CONFIG names auth)', () => {
    expect(() =>
      createRuntime({
        servers: { s: { url: 'ws://127.0.0.1:1', auth: { token: 'abcd', getToken: () => 'x' } } },
      }),
    ).toThrow(
      expect.objectContaining({ code: 'CONFIG', message: expect.stringMatching(/servers\.s\.auth/) }),
    );
  });
});

describe('clear text', () => {
  it('credentials over ws:// or http:// to a non-loopback host are refused (CONFIG)', () => {
    const cases: Array<RuntimeConfig['servers'][string]> = [
      { url: 'ws://mcp.example.com/x', auth: { token: 'abcd1234' } },
      { url: 'http://mcp.example.com/mcp', auth: { getToken: () => 't' } },
      { url: 'http://mcp.example.com/mcp', headers: { Authorization: 'Bearer abcd1234' } },
      { url: 'http://user:pass@mcp.example.com/mcp' },
    ];
    for (const s of cases) {
      expect(() => createRuntime({ servers: { s } })).toThrow(
        expect.objectContaining({ code: 'CONFIG', message: expect.stringMatching(/allowInsecure/) }),
      );
    }
    // Loopback, TLS, or no credentials at all: fine.
    for (const url of [
      'ws://127.0.0.1:1',
      'ws://localhost:1',
      'wss://mcp.example.com',
      'https://mcp.example.com',
    ]) {
      expect(() => createRuntime({ servers: { s: { url, auth: { token: 'abcd1234' } } } })).not.toThrow();
    }
    expect(() => createRuntime({ servers: { s: { url: 'http://mcp.example.com/mcp' } } })).not.toThrow();
  });

  it('allowInsecure: true lets it through with a loud warning, once', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const rt = createRuntime({
      servers: { s: { url: 'ws://192.0.2.1:9', auth: { token: 'abcd1234' }, allowInsecure: true } },
      defaults: {
        ...fast,
        connectTimeoutMs: 100,
        reconnect: { maxAttempts: 2, initialDelayMs: 10, jitter: false },
      },
    });
    const warnings: Array<{ code: string; message: string }> = [];
    rt.on('warning', (w) => warnings.push(w));
    try {
      await rt.start().catch(() => {});
      expect(warnings.map((w) => w.code)).toEqual(['INSECURE_TRANSPORT']);
      expect(warnings[0]!.message).toMatch(/CLEAR TEXT/);
      expect(warn.mock.calls.filter((c) => String(c[0]).includes('INSECURE_TRANSPORT'))).toHaveLength(1);
    } finally {
      warn.mockRestore();
      await rt.close();
    }
  });
});

/** A stdio MCP server that prints its token on stderr and non-protocol text on stdout. */
function writeNoisyChild(dir: string): string {
  const require = createRequire(import.meta.url);
  const mcp = require.resolve('@modelcontextprotocol/sdk/server/mcp.js');
  const stdio = require.resolve('@modelcontextprotocol/sdk/server/stdio.js');
  const file = join(dir, 'noisy-child.cjs');
  writeFileSync(
    file,
    `const { McpServer } = require(${JSON.stringify(mcp)});
const { StdioServerTransport } = require(${JSON.stringify(stdio)});
process.stderr.write('booting with API_TOKEN=' + process.env.API_TOKEN + '\\n');
process.stdout.write('Welcome! this banner is not JSON-RPC\\n');
const server = new McpServer({ name: 'noisy', version: '0.0.0' }, { capabilities: { tools: {} } });
server.registerTool('noisy', { description: 'answers after writing garbage' }, async () => {
  process.stdout.write('{ garbage, not json\\n');
  process.stdout.write(JSON.stringify({ hello: 'a JSON value that is not JSON-RPC' }) + '\\n');
  return { content: [{ type: 'text', text: 'still fine' }] };
});
server.connect(new StdioServerTransport());
`,
  );
  return file;
}

describe('stdio: non-protocol text on stdout', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-actors-noisy-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is reported as PROTOCOL error events, and the server keeps working', async () => {
    const child = writeNoisyChild(dir);
    const rt = createRuntime({
      servers: {
        s: {
          command: process.execPath,
          args: [child],
          connectTimeoutMs: 10_000,
          initializeTimeoutMs: 10_000,
        },
      },
      defaults: { ...fast, timeoutMs: 10_000 },
    });
    const errors: Array<{ code: string; message: string }> = [];
    rt.on('error', (e) => errors.push({ code: e.error.code, message: e.error.message }));
    try {
      await rt.start();
      expect(textOf(await rt.callTool('s', 'noisy'))).toBe('still fine');
      expect(textOf(await rt.callTool('s', 'noisy'))).toBe('still fine');
      // SDK v2's stdio reader skips lines that are not JSON (banners, logs) by design; a JSON value
      // that is not JSON-RPC is reported: one per call, all PROTOCOL.
      expect(errors.length).toBeGreaterThanOrEqual(2);
      expect(new Set(errors.map((e) => e.code))).toEqual(new Set(['PROTOCOL']));
      const snap = rt.snapshot().servers.s!;
      expect(snap.state).toBe('ready');
      expect(snap.readyCount).toBe(1);
    } finally {
      await rt.close();
    }
  });
});

describe('redaction: a known token never leaves the runtime', () => {
  const TOKEN = 'sk-live-4f9a8b7c6d5e4f3a';
  const PROVIDED = 'prov-token-77e1c0ffee99';
  const QUERY = 'q-secret-31415926535';
  const ENV = 'env-secret-27182818284';
  const SECRETS = [TOKEN, PROVIDED, QUERY, ENV];
  let hostile: HostileServer;
  let http: Awaited<ReturnType<typeof serveHttpWithAuth>>;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-actors-redact-'));
    hostile = await serveHostile({
      authenticate: (req) => req.headers.authorization === `Bearer ${TOKEN}`,
      onRequest: (s) => {
        const args = (s.request.params as { arguments?: { mode?: string } } | undefined)?.arguments;
        if (args?.mode === 'tool-error') {
          // An isError result echoing the credential (becomes a TOOL error).
          s.sendJson({
            jsonrpc: '2.0',
            id: s.request.id,
            result: { isError: true, content: [{ type: 'text', text: `denied for Bearer ${TOKEN}` }] },
          });
          return;
        }
        // A response to an id never sent, echoing the token (becomes an `error` event)...
        s.sendJson({ jsonrpc: '2.0', id: 999_999, result: { leaked: TOKEN } });
        // ...then a JSON-RPC error echoing it in message and data (becomes a REMOTE rejection).
        s.sendJson({
          jsonrpc: '2.0',
          id: s.request.id,
          error: { code: -32050, message: `token ${TOKEN} is not allowed here`, data: { token: TOKEN } },
        });
      },
    });
    http = await serveHttpWithAuth((a) => a === `Bearer ${PROVIDED}`);
  });
  afterAll(async () => {
    await hostile.close();
    await http.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('errors, events, console output and snapshots are searched for every secret', async () => {
    const logged: string[] = [];
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) =>
      vi.spyOn(console, m).mockImplementation((...args: unknown[]) => {
        logged.push(args.map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 10 }))).join(' '));
      }),
    );
    const child = writeNoisyChild(dir);
    const rt = createRuntime({
      servers: {
        hostile: { url: hostile.url, auth: { token: TOKEN } },
        // The query secret is in the URL; the provider's token is refused once (echoed in a 401 body).
        web: {
          url: `${http.url}?api_key=${QUERY}`,
          auth: {
            getToken: (() => {
              let first = true;
              return async () => {
                if (first) {
                  first = false;
                  return `stale-${PROVIDED}`;
                }
                return PROVIDED;
              };
            })(),
          },
        },
        child: {
          command: process.execPath,
          args: [child],
          env: { API_TOKEN: ENV },
          connectTimeoutMs: 10_000,
          initializeTimeoutMs: 10_000,
        },
        // A server that never accepts: its failure messages carry the 401 body with the token in it.
        refused: { url: `${http.url}?token=${QUERY}`, auth: { token: TOKEN } },
      },
      defaults: fast,
    });
    const events: string[] = [];
    const names = ['connect', 'disconnect', 'state', 'error', 'warning', 'stderr', 'log', 'breaker'] as const;
    for (const name of names) {
      rt.on(name as 'state', (payload: unknown) => {
        events.push(`${name} ${inspect(payload, { depth: 10 })} ${JSON.stringify(payload)}`);
      });
    }
    const errors: string[] = [];
    const capture = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (error) {
        errors.push(
          `${String(error)} ${(error as Error).stack} ${JSON.stringify(error)} ${inspect(error, { depth: 10 })}`,
        );
        return error;
      }
      return undefined;
    };
    try {
      expect(await capture(rt.callTool('hostile', 'leak'))).toMatchObject({ code: 'REMOTE' });
      expect(await capture(rt.callTool('hostile', 'leak', { mode: 'tool-error' }))).toMatchObject({
        code: 'TOOL',
      });
      expect(textOf(await rt.callTool('web', 'echo', { text: 'ok' }))).toBe('ok');
      await rt.start(['child']);
      expect(textOf(await rt.callTool('child', 'noisy', {}, { timeoutMs: 10_000 }))).toBe('still fine');
      expect(await capture(rt.start(['refused']))).toMatchObject({ code: 'AUTH' });
      expect(await capture(rt.callTool('refused', 'echo', { text: 'x' }))).toMatchObject({ code: 'AUTH' });
      const snapshot = JSON.stringify(rt.snapshot());

      // The channels did carry the hostile echoes, masked: the test would see a leak.
      const all = [...errors, ...events, ...logged, snapshot].join('\n');
      expect(all).toContain('***');
      expect(errors.some((e) => e.includes('token *** is not allowed'))).toBe(true);
      expect(events.some((e) => e.includes('unknown message ID'))).toBe(true);
      expect(events.some((e) => e.startsWith('stderr') && e.includes('API_TOKEN=***'))).toBe(true);
      expect(snapshot).toContain('api_key=***');
      for (const secret of SECRETS) {
        for (const [channel, texts] of [
          ['errors', errors],
          ['events', events],
          ['console', logged],
          ['snapshot', [snapshot]],
        ] as const) {
          const leak = texts.find((t) => t.includes(secret));
          expect(leak, `${secret} leaked through ${channel}`).toBeUndefined();
        }
      }
    } finally {
      await rt.close();
      for (const s of spies) s.mockRestore();
    }
  });
});

/**
 * Issue 15 item 2: OAuth discovery must not carry the configured headers to an origin the server
 * names, and the clear-text rule holds for every origin the runtime contacts.
 *
 * Two loopback HTTP servers on different ports (so different origins): the MCP server, which is also
 * its own authorization server, answers 401 naming a `resource_metadata` on the other origin; the
 * other origin serves that document and records every request it gets.
 */
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpFetch } from '../../src/actors/http-fetch.js';
import { createDemoMcpServer } from '../../src/demo/demo-server.js';
import { createRuntime, type McpRuntime } from '../../src/index.js';
import { json, type Seen, type Site, serve } from '../helpers/recording-site.js';

const API_KEY = 'api-key-7f3e9a1c44';
const COOKIE_VALUE = 'cookie-sid-2b8d6e0f91';
const REFRESH = 'refresh-token-c0ffee1234';
const CLIENT_SECRET = 'client-secret-deadbeef77';
const OLD_ACCESS = 'old-access-0a0b0c0d';
const NEW_ACCESS = 'new-access-1a1b1c1d';

const fast = {
  reconnect: { initialDelayMs: 20, factor: 2, maxDelayMs: 100, maxAttempts: 2, jitter: false },
  heartbeat: { intervalMs: 0 },
  timeoutMs: 3_000,
  connectTimeoutMs: 2_000,
  initializeTimeoutMs: 2_000,
};

/**
 * The MCP server and its authorization server on one origin. Only `Bearer NEW_ACCESS` is accepted;
 * anything else gets 401 naming `resourceMetadata()` (an absolute URL, on any origin).
 */
async function serveMcpWithOAuth(resourceMetadata: () => string): Promise<Site> {
  let origin = '';
  const site = await serve((req, res, raw) => {
    if (req.url === '/.well-known/oauth-authorization-server') {
      json(res, 200, {
        issuer: origin,
        authorization_endpoint: `${origin}/authorize`,
        token_endpoint: `${origin}/token`,
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code', 'refresh_token'],
        token_endpoint_auth_methods_supported: ['client_secret_post'],
        code_challenge_methods_supported: ['S256'],
      });
      return;
    }
    if (req.url === '/token') {
      json(res, 200, { access_token: NEW_ACCESS, token_type: 'Bearer', refresh_token: `${REFRESH}-2` });
      return;
    }
    if (req.url?.startsWith('/mcp')) {
      if (req.headers.authorization !== `Bearer ${NEW_ACCESS}`) {
        res
          .writeHead(401, { 'www-authenticate': `Bearer resource_metadata="${resourceMetadata()}"` })
          .end('unauthorized');
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
        await transport.handleRequest(raw, res, req.body ? JSON.parse(req.body) : undefined);
      })().catch(() => res.destroy());
      return;
    }
    res.writeHead(404).end();
  });
  origin = site.origin;
  return site;
}

/** An OAuth client as an application configures it: a stale access token, a refresh token, a confidential client. */
function oauthProvider() {
  let tokens: Record<string, unknown> = {
    access_token: OLD_ACCESS,
    token_type: 'Bearer',
    refresh_token: REFRESH,
  };
  return {
    get redirectUrl() {
      return 'http://127.0.0.1/callback';
    },
    get clientMetadata() {
      return { redirect_uris: ['http://127.0.0.1/callback'], client_name: 'oauth-origin-test' };
    },
    clientInformation: () => ({ client_id: 'test-client', client_secret: CLIENT_SECRET }),
    tokens: async () => tokens,
    saveTokens: (t: Record<string, unknown>) => {
      tokens = t;
    },
    redirectToAuthorization: () => {
      throw new Error('no interactive authorization in tests');
    },
    saveCodeVerifier: () => {},
    codeVerifier: () => 'verifier',
  };
}

/** Every secret the other origin must never see, in any header or body. */
function leaksIn(requests: Seen[]): string[] {
  const found: string[] = [];
  for (const r of requests) {
    const text = `${JSON.stringify(r.headers)}\n${r.body}`;
    for (const name of ['x-api-key', 'cookie', 'authorization'])
      if (r.headers[name] !== undefined) found.push(`${r.method} ${r.url}: header ${name}`);
    for (const secret of [API_KEY, COOKIE_VALUE, REFRESH, CLIENT_SECRET, OLD_ACCESS, NEW_ACCESS])
      if (text.includes(secret)) found.push(`${r.method} ${r.url}: ${secret}`);
    for (const field of ['client_secret', 'refresh_token'])
      if (r.body.includes(field)) found.push(`${r.method} ${r.url}: field ${field}`);
  }
  return found;
}

describe('OAuth discovery on another origin (issue 15 item 2)', () => {
  let rt: McpRuntime | undefined;
  const sites: Site[] = [];
  afterEach(async () => {
    await rt?.close();
    rt = undefined;
    await Promise.all(sites.splice(0).map((s) => s.close()));
  });

  it('the configured headers, the tokens and the client secret never reach the origin the server named', async () => {
    let mcpOrigin = '';
    // The other origin: serves the protected-resource metadata (naming the MCP origin as its
    // authorization server) and records everything.
    const other = await serve((req, res) => {
      if (req.url?.startsWith('/.well-known/oauth-protected-resource')) {
        json(res, 200, { resource: `${mcpOrigin}/mcp`, authorization_servers: [mcpOrigin] });
      } else res.writeHead(404).end();
    });
    const mcp = await serveMcpWithOAuth(() => `${other.origin}/.well-known/oauth-protected-resource`);
    sites.push(other, mcp);
    mcpOrigin = mcp.origin;

    rt = createRuntime({
      servers: {
        s: {
          url: `${mcp.origin}/mcp`,
          transport: 'streamable-http',
          headers: { 'X-Api-Key': API_KEY, Cookie: `sid=${COOKIE_VALUE}` },
          auth: { oauth: oauthProvider() },
        },
      },
      defaults: fast,
    });
    const result = await rt.callTool('s', 'echo', { text: 'through oauth' });
    expect(result.content?.[0]).toMatchObject({ text: 'through oauth' });

    // The flow did go through the other origin, and refreshed on the MCP origin.
    expect(other.seen.map((r) => r.url)).toContain('/.well-known/oauth-protected-resource');
    const token = mcp.seen.find((r) => r.url === '/token');
    expect(token?.body).toContain(`refresh_token=${REFRESH}`);
    expect(token?.body).toContain(`client_secret=${CLIENT_SECRET}`);
    // The configured headers still reach the configured origin.
    const mcpCall = mcp.seen.find(
      (r) => r.url === '/mcp' && r.headers.authorization === `Bearer ${NEW_ACCESS}`,
    );
    expect(mcpCall?.headers['x-api-key']).toBe(API_KEY);
    expect(mcpCall?.headers.cookie).toBe(`sid=${COOKIE_VALUE}`);
    // And nothing secret reached the other origin.
    expect(leaksIn(other.seen)).toEqual([]);
  });

  it('a resource_metadata on a non-loopback http:// origin is refused with AUTH, before any connection', async () => {
    const mcp = await serveMcpWithOAuth(() => 'http://example.invalid/.well-known/oauth-protected-resource');
    sites.push(mcp);
    rt = createRuntime({
      servers: {
        s: {
          url: `${mcp.origin}/mcp`,
          transport: 'streamable-http',
          headers: { 'X-Api-Key': API_KEY },
          auth: { oauth: oauthProvider() },
        },
      },
      defaults: fast,
    });
    const error = (await rt.start().catch((e: unknown) => e)) as Error & { code?: string };
    expect(error).toMatchObject({ code: 'AUTH', server: 's' });
    expect(error.message).toContain('http://example.invalid');
    expect(error.message).toMatch(/non-loopback host.*allowInsecure/);
    expect(error.message).not.toMatch(/ENOTFOUND|getaddrinfo|fetch failed/);
    // The refusal is sticky for the attempt: no token request went out after it.
    expect(mcp.seen.some((r) => r.url === '/token')).toBe(false);
  });
});

describe('the origin guard of the HTTP fetch', () => {
  /** A createHttpFetch over a recording fetch that never touches the network. */
  function guarded(options: {
    credentialed: boolean;
    allowInsecure?: boolean;
    authorization?: string;
    url?: string;
  }) {
    const calls: Array<{ url: string; headers: Headers; redirect: RequestRedirect | undefined }> = [];
    let answer: (url: string) => Response = () => new Response('{}', { status: 200 });
    const http = createHttpFetch({
      server: 's',
      maxMessageBytes: 1 << 20,
      authorization: options.authorization,
      fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
        calls.push({ url: String(input), headers: new Headers(init?.headers), redirect: init?.redirect });
        return answer(String(input));
      }) as typeof fetch,
      origin: {
        url: options.url ?? 'https://mcp.example.com/mcp',
        configuredHeaders: ['X-Api-Key', 'X-Tenant'],
        credentialed: options.credentialed,
        allowInsecure: options.allowInsecure ?? false,
      },
    });
    return {
      fetch: http.fetch,
      calls,
      answerWith(f: (url: string) => Response) {
        answer = f;
      },
    };
  }

  it('refuses a non-loopback http:// origin before calling fetch at all (no DNS, no socket)', async () => {
    const g = guarded({ credentialed: true });
    await expect(
      g.fetch('http://example.invalid/.well-known/oauth-protected-resource'),
    ).rejects.toMatchObject({
      code: 'AUTH',
      message: expect.stringMatching(/http:\/\/example\.invalid.*non-loopback host.*allowInsecure/),
    });
    expect(g.calls).toEqual([]);
    // Sticky: the same transport sends nothing more, even to the configured origin.
    await expect(g.fetch('https://mcp.example.com/mcp')).rejects.toMatchObject({ code: 'AUTH' });
    expect(g.calls).toEqual([]);
  });

  it('without credentials configured, still refuses a request that carries one in clear text', async () => {
    const g = guarded({ credentialed: false });
    const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: REFRESH });
    await expect(
      g.fetch('http://auth.example.invalid/token', { method: 'POST', body }),
    ).rejects.toMatchObject({
      code: 'AUTH',
    });
    expect(g.calls).toEqual([]);
    // A fresh transport (the refusal above is sticky): a secret query key is refused too.
    const h = guarded({ credentialed: false });
    await expect(h.fetch('http://auth.example.invalid/x?access_token=abcd1234')).rejects.toMatchObject({
      code: 'AUTH',
    });
    expect(h.calls).toEqual([]);
    // A secret header bound for another origin is removed rather than refused: nothing secret is left.
    const k = guarded({ credentialed: false });
    await k.fetch('http://auth.example.invalid/x', { headers: { 'X-Auth-Token': 'abcd1234' } });
    expect([...k.calls[0]!.headers.keys()]).toEqual([]);
  });

  it('allowInsecure lets clear text through (the configuration asked for it)', async () => {
    const g = guarded({ credentialed: true, allowInsecure: true });
    await g.fetch('http://example.invalid/.well-known/oauth-protected-resource');
    expect(g.calls.map((c) => c.url)).toEqual([
      'http://example.invalid/.well-known/oauth-protected-resource',
    ]);
  });

  it('strips configured and secret headers on another origin, keeps them on the configured one', async () => {
    const g = guarded({ credentialed: true, authorization: 'Bearer runtime-token' });
    const headers = {
      'X-Api-Key': API_KEY,
      'X-Tenant': 'acme',
      Cookie: `sid=${COOKIE_VALUE}`,
      'Proxy-Authorization': 'Basic cHJveHk=',
      'MCP-Protocol-Version': '2025-11-25',
    };
    await g.fetch('https://mcp.example.com/mcp', { method: 'POST', headers });
    await g.fetch('https://auth.example.com/.well-known/oauth-authorization-server', { headers });
    const [home, away] = g.calls;
    expect(home!.headers.get('x-api-key')).toBe(API_KEY);
    expect(home!.headers.get('authorization')).toBe('Bearer runtime-token');
    expect([...away!.headers.keys()]).toEqual(['mcp-protocol-version']);
  });

  it("the SDK transport's own requests (a Headers): the configured origin gets them whole, with the token", async () => {
    const g = guarded({ credentialed: true, authorization: 'Bearer runtime-token' });
    const headers = new Headers({
      'X-Api-Key': API_KEY,
      Authorization: 'Bearer sdk',
      'Mcp-Method': 'tools/call',
    });
    await g.fetch('https://mcp.example.com/mcp', { method: 'POST', headers, body: '{}' });
    await g.fetch(new URL('https://mcp.example.com/mcp'), { method: 'POST', headers, body: '{}' });
    // The fast path's lower-case plain object (json-post-fast-path.ts) likewise.
    const plain = Object.fromEntries(headers);
    await g.fetch('https://mcp.example.com/mcp', { method: 'POST', headers: plain, body: '{}' });
    expect(plain.authorization).toBe('Bearer sdk');
    for (const call of g.calls)
      expect([...call.headers]).toEqual([
        ['authorization', 'Bearer runtime-token'],
        ['mcp-method', 'tools/call'],
        ['x-api-key', API_KEY],
      ]);
    // The caller's headers are not changed.
    expect(headers.get('authorization')).toBe('Bearer sdk');
  });

  it('a configured origin in clear text to a non-loopback host is refused for those requests too', async () => {
    const g = guarded({ credentialed: true, url: 'http://mcp.example.invalid/mcp' });
    const headers = new Headers({ 'Mcp-Method': 'tools/call' });
    await expect(
      g.fetch('http://mcp.example.invalid/mcp', { method: 'POST', headers, body: '{}' }),
    ).rejects.toMatchObject({ code: 'AUTH', message: expect.stringMatching(/non-loopback host/) });
    expect(g.calls).toEqual([]);
  });

  it("keeps the SDK's Basic client authentication for another origin's token endpoint, drops a Bearer", async () => {
    const g = guarded({ credentialed: true });
    await g.fetch('https://auth.example.com/token', {
      headers: { Authorization: 'Basic Y2xpZW50OnNlY3JldA==' },
    });
    await g.fetch('https://auth.example.com/userinfo', {
      headers: { Authorization: `Bearer ${NEW_ACCESS}` },
    });
    expect(g.calls[0]!.headers.get('authorization')).toBe('Basic Y2xpZW50OnNlY3JldA==');
    expect(g.calls[1]!.headers.get('authorization')).toBeNull();
  });

  it('follows a redirect within the origin, but not one to another origin', async () => {
    const g = guarded({ credentialed: true });
    g.answerWith((url) =>
      url.endsWith('/a')
        ? new Response(null, { status: 302, headers: { location: '/b' } })
        : url.endsWith('/b')
          ? new Response(null, { status: 307, headers: { location: 'https://evil.example.com/c' } })
          : new Response('{}', { status: 200 }),
    );
    const response = await g.fetch('https://mcp.example.com/a', { headers: { 'X-Api-Key': API_KEY } });
    expect(response.status).toBe(307);
    expect(g.calls.map((c) => c.url)).toEqual(['https://mcp.example.com/a', 'https://mcp.example.com/b']);
    expect(g.calls.every((c) => c.redirect === 'manual')).toBe(true);
  });
});

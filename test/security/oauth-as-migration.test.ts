/**
 * SEP-2352, authorization-server migration: the protected resource's metadata switches to another
 * authorization server and the token the client holds gets 401. The runtime must discover again,
 * register anew at the new server (never presenting the old server's client id there) and carry
 * on; the configured headers still never leave the configured origin.
 *
 * Three loopback origins: the MCP server (its protected-resource metadata names `as1` or `as2`),
 * and two authorization servers with dynamic registration and the client-credentials grant (a
 * non-interactive client, so the whole flow runs without a user agent).
 */
import type { ServerResponse } from 'node:http';
import type {
  OAuthClientInformationFull,
  OAuthClientMetadata,
  OAuthClientProvider,
  OAuthDiscoveryState,
  OAuthTokens,
} from '@modelcontextprotocol/client';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpFetch } from '../../src/actors/http-fetch.js';
import { createDemoMcpServer } from '../../src/demo/demo-server.js';
import { createRuntime, type McpRuntime } from '../../src/index.js';
import { json, type Site, serve } from '../helpers/recording-site.js';

const API_KEY = 'api-key-5e1d0c7b22';

const fast = {
  reconnect: { initialDelayMs: 20, factor: 2, maxDelayMs: 100, maxAttempts: 2, jitter: false },
  heartbeat: { intervalMs: 0 },
  timeoutMs: 3_000,
  connectTimeoutMs: 2_000,
  initializeTimeoutMs: 2_000,
};

/** An authorization server whose client ids and tokens carry its `name` (so a reuse is visible). */
async function authorizationServer(name: string): Promise<Site & { clientIdsAtToken: string[] }> {
  let origin = '';
  let registered = 0;
  const clientIdsAtToken: string[] = [];
  const site = await serve((req, res) => {
    if (req.url === '/.well-known/oauth-authorization-server') {
      json(res, 200, {
        issuer: origin,
        authorization_endpoint: `${origin}/authorize`,
        token_endpoint: `${origin}/token`,
        registration_endpoint: `${origin}/register`,
        response_types_supported: ['code'],
        grant_types_supported: ['client_credentials'],
        token_endpoint_auth_methods_supported: ['none'],
        code_challenge_methods_supported: ['S256'],
      });
    } else if (req.url === '/register') {
      registered++;
      json(res, 201, { ...JSON.parse(req.body), client_id: `${name}-client-${registered}` });
    } else if (req.url === '/token') {
      clientIdsAtToken.push(new URLSearchParams(req.body).get('client_id') ?? '');
      json(res, 200, { access_token: `${name}-token-${clientIdsAtToken.length}`, token_type: 'Bearer' });
    } else res.writeHead(404).end();
  });
  origin = site.origin;
  return Object.assign(site, { clientIdsAtToken });
}

/** The MCP server: accepts only tokens of the authorization server `current()` names. */
async function resourceServer(current: () => { name: string; origin: string }): Promise<Site> {
  let origin = '';
  const prm = () => `${origin}/.well-known/oauth-protected-resource/mcp`;
  const site = await serve((req, res, raw) => {
    if (req.url?.startsWith('/.well-known/oauth-protected-resource')) {
      json(res, 200, { resource: `${origin}/mcp`, authorization_servers: [current().origin] });
      return;
    }
    if (!req.url?.startsWith('/mcp')) return void res.writeHead(404).end();
    if (!req.headers.authorization?.startsWith(`Bearer ${current().name}-token-`)) {
      unauthorized(res, prm());
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
  });
  origin = site.origin;
  return site;
}

function unauthorized(res: ServerResponse, prm: string): void {
  res
    .writeHead(401, {
      'content-type': 'application/json',
      'www-authenticate': `Bearer error="invalid_token", resource_metadata="${prm}"`,
    })
    .end(JSON.stringify({ error: 'invalid_token' }));
}

/** A non-interactive client with dynamic registration, storing what the SDK hands it. */
class MachineClient implements OAuthClientProvider {
  info: OAuthClientInformationFull | undefined;
  saved: OAuthTokens | undefined;
  discovery: OAuthDiscoveryState | undefined;
  get redirectUrl(): undefined {
    return undefined;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'as-migration-test',
      redirect_uris: [],
      grant_types: ['client_credentials'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info: OAuthClientInformationFull) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  discoveryState() {
    return this.discovery;
  }
  saveDiscoveryState(state: OAuthDiscoveryState) {
    this.discovery = state;
  }
  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery') {
    if (scope === 'all' || scope === 'client') this.info = undefined;
    if (scope === 'all' || scope === 'tokens') this.saved = undefined;
    if (scope === 'all' || scope === 'discovery') this.discovery = undefined;
  }
  redirectToAuthorization(): void {
    throw new Error('non-interactive client');
  }
  saveCodeVerifier(): void {}
  codeVerifier(): string {
    throw new Error('no code verifier in the client-credentials flow');
  }
  prepareTokenRequest(scope?: string): URLSearchParams {
    return new URLSearchParams({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) });
  }
}

describe('authorization-server migration (SEP-2352)', () => {
  let rt: McpRuntime | undefined;
  const sites: Site[] = [];
  afterEach(async () => {
    await rt?.close();
    rt = undefined;
    await Promise.all(sites.splice(0).map((s) => s.close()));
  });

  async function setUp() {
    const as1 = await authorizationServer('as1');
    const as2 = await authorizationServer('as2');
    let migrated = false;
    const mcp = await resourceServer(() =>
      migrated ? { name: 'as2', origin: as2.origin } : { name: 'as1', origin: as1.origin },
    );
    sites.push(as1, as2, mcp);
    const provider = new MachineClient();
    rt = createRuntime({
      servers: {
        s: {
          url: `${mcp.origin}/mcp`,
          transport: 'streamable-http',
          headers: { 'X-Api-Key': API_KEY },
          auth: { oauth: provider },
        },
      },
      defaults: fast,
    });
    return { as1, as2, mcp, provider, rt, migrate: () => (migrated = true) };
  }

  it('a 401 after the switch re-discovers, registers at the new server and the call succeeds', async () => {
    const { as1, as2, mcp, rt, migrate } = await setUp();
    expect((await rt.callTool('s', 'echo', { text: 'before' })).content?.[0]).toMatchObject({
      text: 'before',
    });
    expect(as1.clientIdsAtToken).toEqual(['as1-client-1']);

    migrate();
    const after = await rt.callTool('s', 'echo', { text: 'after' });
    expect(after.content?.[0]).toMatchObject({ text: 'after' });
    // Registered anew at as2 and used only that registration there; as1 was not asked again.
    expect(as2.seen.filter((r) => r.url === '/register')).toHaveLength(1);
    expect(as2.clientIdsAtToken).toEqual(['as2-client-1']);
    expect(as2.seen.some((r) => r.body.includes('as1-') || JSON.stringify(r.headers).includes('as1-'))).toBe(
      false,
    );
    expect(as1.clientIdsAtToken).toHaveLength(1);
    // The origin guard still holds: the configured header stayed on the MCP origin.
    for (const site of [as1, as2])
      expect(site.seen.some((r) => r.headers['x-api-key'] !== undefined)).toBe(false);
    expect(mcp.seen.filter((r) => r.url === '/mcp').every((r) => r.headers['x-api-key'] === API_KEY)).toBe(
      true,
    );
  });

  it('a new server whose tokens are refused too ends in AUTH, with a bounded number of attempts', async () => {
    const { as2, provider, rt, migrate } = await setUp();
    await rt.callTool('s', 'echo', { text: 'before' });
    migrate();
    // as2's tokens do not carry as2's prefix: the resource server refuses every one of them.
    const saveTokens = provider.saveTokens.bind(provider);
    provider.saveTokens = (tokens) =>
      saveTokens({ ...tokens, access_token: `refused-${tokens.access_token}` });
    await expect(rt.callTool('s', 'echo', { text: 'after' })).rejects.toMatchObject({
      code: 'AUTH',
      server: 's',
    });
    expect(as2.clientIdsAtToken.length).toBeGreaterThanOrEqual(1);
    expect(as2.clientIdsAtToken.length).toBeLessThanOrEqual(3);
  });
});

describe('which 401 makes the HTTP fetch report a rejected token', () => {
  it('a 401 of the configured origin to a request with a token, except a DPoP nonce challenge', async () => {
    const rejected: number[] = [];
    let challenge = 'Bearer error="invalid_token"';
    const http = createHttpFetch({
      server: 's',
      maxMessageBytes: 1 << 20,
      fetch: (async () =>
        new Response('{}', { status: 401, headers: { 'www-authenticate': challenge } })) as typeof fetch,
      onTokenRejected: async (response) => void rejected.push(response.status),
      origin: {
        url: 'https://mcp.example.com/mcp',
        configuredHeaders: [],
        credentialed: true,
        allowInsecure: false,
      },
    });
    const bearer = { headers: { Authorization: 'Bearer t1' } };
    await http.fetch('https://mcp.example.com/mcp', { method: 'POST', ...bearer });
    expect(rejected).toEqual([401]);
    await http.fetch('https://mcp.example.com/mcp', {
      method: 'POST',
      headers: { Authorization: 'DPoP t1' },
    });
    expect(rejected).toHaveLength(2);
    // No token sent: the first 401 of a flow, nothing held to forget.
    await http.fetch('https://mcp.example.com/mcp', { method: 'POST' });
    // Another origin's 401 (an authorization server) says nothing about the resource's token.
    await http.fetch('https://auth.example.com/userinfo', bearer);
    challenge = 'DPoP error="use_dpop_nonce"';
    await http.fetch('https://mcp.example.com/mcp', {
      method: 'POST',
      headers: { Authorization: 'DPoP t1' },
    });
    expect(rejected).toHaveLength(2);
    await http.close();
  });
});

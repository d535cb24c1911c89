/**
 * `auth.oauth` (the SDK's OAuth provider) in a fleet on a real redis-server: four runtimes, each
 * with its own provider holding the same expired access token and refresh token, connect at once
 * to one loopback MCP server that is its own authorization server (rotating refresh tokens: a
 * refresh token works once; a second use is counted as a reuse and refused with invalid_grant).
 * The authorization server sees one refresh for the fleet and no reuse; every runtime is served
 * with the new token; no token is in clear text in Redis.
 */
import { randomBytes } from 'node:crypto';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDemoMcpServer } from '../../src/demo/demo-server.js';
import { createRuntime, type McpRuntime } from '../../src/index.js';
import { json, type Site, serve } from '../helpers/recording-site.js';
import {
  type RedisServerProcess,
  redisAvailable,
  redisMissingReason,
  startRedisServer,
} from '../helpers/redis-server.js';

if (!redisAvailable) console.warn(`[fleet] ${redisMissingReason}`);

const fast = {
  reconnect: { initialDelayMs: 20, factor: 2, maxDelayMs: 100, maxAttempts: 3, jitter: false },
  heartbeat: { intervalMs: 0 },
  timeoutMs: 5_000,
  connectTimeoutMs: 5_000,
  initializeTimeoutMs: 5_000,
};

interface OAuthSite extends Site {
  counts: { refreshes: number; reuses: number; issued: string[] };
}

/** MCP server + authorization server on one origin; only the latest access token is accepted. */
async function oauthSite(): Promise<OAuthSite> {
  let origin = '';
  let access = ''; // the providers' access-0-expired is refused
  const live = new Set(['refresh-0']);
  const counts = { refreshes: 0, reuses: 0, issued: ['access-0-expired', 'refresh-0'] };
  const site = await serve((req, res, raw) => {
    if (req.url?.startsWith('/.well-known/oauth-protected-resource')) {
      json(res, 200, { resource: `${origin}/mcp`, authorization_servers: [origin] });
      return;
    }
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
      const spent = new URLSearchParams(req.body).get('refresh_token') ?? '';
      if (!live.delete(spent)) {
        counts.reuses++;
        json(res, 400, { error: 'invalid_grant' });
        return;
      }
      counts.refreshes++;
      access = `access-${counts.refreshes}`;
      const refresh = `refresh-${counts.refreshes}`;
      live.add(refresh);
      counts.issued.push(access, refresh);
      // Slow enough that every runtime's 401 arrives while the refresh is in flight.
      setTimeout(
        () =>
          json(res, 200, {
            access_token: access,
            token_type: 'Bearer',
            refresh_token: refresh,
            expires_in: 3600,
          }),
        100,
      );
      return;
    }
    if (req.url?.startsWith('/mcp')) {
      if (req.headers.authorization !== `Bearer ${access}`) {
        res
          .writeHead(401, {
            'www-authenticate': `Bearer resource_metadata="${origin}/.well-known/oauth-protected-resource"`,
          })
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
  return Object.assign(site, { counts });
}

/** An application's OAuth provider: an expired access token and a refresh token, a confidential client. */
function provider() {
  let tokens: Record<string, unknown> = {
    access_token: 'access-0-expired',
    token_type: 'Bearer',
    refresh_token: 'refresh-0',
  };
  return {
    get redirectUrl() {
      return 'http://127.0.0.1/callback';
    },
    get clientMetadata() {
      return { redirect_uris: ['http://127.0.0.1/callback'], client_name: 'fleet-oauth-test' };
    },
    clientInformation: () => ({ client_id: 'fleet-client', client_secret: 'fleet-secret' }),
    tokens: async () => tokens,
    saveTokens: (t: Record<string, unknown>) => {
      tokens = t;
    },
    redirectToAuthorization: () => {
      throw new Error('no interactive authorization in tests');
    },
    saveCodeVerifier: () => {},
    codeVerifier: () => 'verifier',
    saved: () => tokens,
  };
}

describe.skipIf(!redisAvailable)('auth.oauth in a fleet on Redis', () => {
  let redis: RedisServerProcess;
  let site: OAuthSite | undefined;
  const runtimes: McpRuntime[] = [];
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((rt) => rt.close()));
    await site?.close();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('four runtimes with expired tokens: one refresh for the fleet, no refresh token reused, all served', async () => {
    site = await oauthSite();
    const key = randomBytes(32);
    const providers = Array.from({ length: 4 }, () => provider());
    for (const p of providers) {
      const rt = createRuntime({
        servers: { s: { url: `${site.origin}/mcp`, transport: 'streamable-http', auth: { oauth: p } } },
        defaults: fast,
        fleet: { redis: { url: redis.url }, namespace: 'oauth', key, timeoutMs: 1_000 },
      });
      rt.on('error', () => {});
      runtimes.push(rt);
    }
    const results = await Promise.all(runtimes.map((rt) => rt.callTool('s', 'echo', { text: 'hi' })));
    console.log(
      `FLEET oauth: ${site.counts.refreshes} refresh(es) at the authorization server for ${runtimes.length} runtimes, ${site.counts.reuses} reused refresh token(s)`,
    );
    expect(results.every((r) => r.content?.[0]?.type === 'text')).toBe(true);
    expect(site.counts.refreshes).toBe(1);
    expect(site.counts.reuses).toBe(0);
    // Every application's provider holds the fleet's new set (the SDK saved it as usual).
    expect(providers.map((p) => p.saved().access_token)).toEqual(Array(4).fill('access-1'));
    expect(providers.map((p) => p.saved().refresh_token)).toEqual(Array(4).fill('refresh-1'));
    // At rest in Redis the set is sealed: no token in clear text.
    const { Redis } = await import('ioredis');
    const r = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await r.connect();
      const keys = await r.keys('mcp-actors:oauth:tok:*');
      expect(keys.length).toBeGreaterThan(0);
      const values = await Promise.all(
        keys.map((k) => r.type(k).then((t) => (t === 'string' ? r.get(k) : ''))),
      );
      for (const secret of site.counts.issued) expect(values.join('\n')).not.toContain(secret);
    } finally {
      r.disconnect();
    }
    const snapshots = JSON.stringify(runtimes.map((rt) => rt.snapshot()));
    for (const secret of site.counts.issued) expect(snapshots).not.toContain(secret);
  });
});

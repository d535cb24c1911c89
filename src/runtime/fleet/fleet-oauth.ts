/**
 * `auth.oauth` (the SDK's OAuth provider) in a fleet: one refresh per expiry for the whole fleet,
 * on the same {@link FleetTokens} as `auth.refresh` (lease lock + fencing, in-flight mark so a
 * rotating refresh token is never sent twice, the set sealed with `fleet.key`, bounded waiters).
 *
 * The SDK refreshes inside its own `auth()` (after a 401), with no hook a provider could use to
 * stand in for the refresh. Two seams make it the fleet's:
 * - the provider, seen through a proxy: `tokens()` answers the fleet's current set (the user's
 *   until the fleet has one, which seeds it); `saveTokens()` of a new authorization seeds the fleet;
 * - the transport's fetch: a refresh-token grant the SDK sends is not sent as is. The fleet's
 *   refresh runs instead (one process of the fleet sends it, with the fleet's refresh token and
 *   the SDK's own request otherwise: URL, client authentication, DPoP); every other caller gets
 *   the new set as the token endpoint's answer, read from the store. A refusal by the token
 *   endpoint reaches the SDK as it was (it re-authorizes on `invalid_grant`); a refresh token the
 *   fleet knows is spent answers `invalid_grant`; a wait that timed out `temporarily_unavailable`.
 *
 * Everything else the SDK does (discovery, registration, authorization code, step-up, DPoP) is
 * unchanged: it talks to the user's provider.
 */
import type { OAuthClientProvider, OAuthTokens } from '@modelcontextprotocol/client';
import type { Fleet } from './fleet.js';
import { type FleetTokenSet, type FleetTokens, needsReauthorization } from './fleet-tokens.js';

/** The provider the transport gets and the wrapper of its fetch. */
export interface FleetOAuth {
  provider: OAuthClientProvider;
  wrapFetch: (next: typeof fetch) => typeof fetch;
  /** The fleet's token source (tests read `refreshes`). */
  tokens: FleetTokens;
}

interface PendingRefresh {
  input: Parameters<typeof fetch>[0];
  init: RequestInit & { body: URLSearchParams };
  next: typeof fetch;
}

/** The token endpoint's refusal, kept to hand to the SDK as it was. */
interface Refusal {
  status: number;
  text: string;
  contentType: string;
}

/**
 * Makes `user`'s OAuth tokens the fleet's for `server` (needs `fleet.key`: a ConfigError otherwise).
 *
 * @example
 * const f = await createFleetOAuth('demo', provider, fleet);
 * new StreamableHTTPClientTransport(url, { authProvider: f.provider, fetch: f.wrapFetch(fetch) });
 */
export async function createFleetOAuth(
  server: string,
  user: OAuthClientProvider,
  fleet: Fleet,
): Promise<FleetOAuth> {
  // The SDK's refresh request in flight in this process (single-flight: any of them will do).
  let pending: PendingRefresh | undefined;
  let refusal: Refusal | undefined;
  const tokens = await fleet.tokens(`oauth:${server}`, {
    refresh: async (current, signal) => {
      const request = pending;
      if (!request) throw new Error('no token request to send');
      const body = new URLSearchParams(request.init.body);
      body.set('refresh_token', current.refreshToken ?? '');
      const response = await request.next(request.input, { ...request.init, body, signal });
      const text = await response.text();
      if (!response.ok) {
        refusal = {
          status: response.status,
          text,
          contentType: response.headers.get('content-type') ?? 'application/json',
        };
        throw new Error(`token endpoint answered ${response.status}`);
      }
      return fromOAuth(JSON.parse(text) as OAuthTokens, current.refreshToken);
    },
    // The SDK refreshes after a 401 only: no early refresh on the clock.
    skewMs: 0,
  });
  // Refresh token → access token of each set handed to the SDK: a refresh names the rejected set.
  const handed = new Map<string, string>();
  // The SDK stamps the sets it saves with their issuer (SEP-2352): kept, so the fleet's set read
  // back carries it too (a refreshed set comes from the token endpoint without it).
  let issuer: string | undefined;
  const withIssuer = (t: OAuthTokens): OAuthTokens =>
    issuer !== undefined && (t as { issuer?: unknown }).issuer === undefined
      ? ({ ...t, issuer } as OAuthTokens)
      : t;
  const hand = (t: OAuthTokens | undefined): void => {
    if (t?.refresh_token === undefined) return;
    if (handed.size > 16) handed.clear(); // only the last few sets matter
    handed.set(t.refresh_token, t.access_token);
  };

  const provider = new Proxy(user, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (property === 'tokens') {
        return async (...args: unknown[]) => {
          const set = await tokens.peek();
          if (set) {
            const t = withIssuer(toOAuth(set));
            hand(t);
            return t;
          }
          const t = (await (value as (...a: unknown[]) => unknown).apply(target, args)) as
            | OAuthTokens
            | undefined;
          if (t?.access_token) await tokens.seedIfAbsent(fromOAuth(t, undefined));
          hand(t);
          return t;
        };
      }
      if (property === 'saveTokens') {
        return async (t: OAuthTokens, ...rest: unknown[]) => {
          await (value as (...a: unknown[]) => unknown).apply(target, [t, ...rest]);
          const stamp = (t as { issuer?: unknown } | undefined)?.issuer;
          if (typeof stamp === 'string') issuer = stamp;
          // A new authorization (not the fleet's own set coming back through the SDK): the fleet's now.
          const known = await tokens.peek();
          if (t?.access_token && t.access_token !== known?.accessToken)
            await tokens.seed(fromOAuth(t, undefined));
        };
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });

  const wrapFetch =
    (next: typeof fetch): typeof fetch =>
    async (input, init) => {
      const body = init?.body;
      if (!(body instanceof URLSearchParams) || body.get('grant_type') !== 'refresh_token')
        return next(input, init);
      const rejected = handed.get(body.get('refresh_token') ?? '') ?? '';
      pending = { input, init: { ...init, body }, next };
      refusal = undefined;
      try {
        return tokenResponse(200, toOAuth(await tokens.rejectedSet(rejected)));
      } catch (error) {
        const answer = refusal as Refusal | undefined; // set by the refresh above, when it was refused
        if (answer)
          return new Response(answer.text, {
            status: answer.status,
            headers: { 'content-type': answer.contentType },
          });
        const code = needsReauthorization(error) ? 'invalid_grant' : 'temporarily_unavailable';
        return tokenResponse(400, {
          error: code,
          error_description: `${server}: the fleet's refresh failed`,
        });
      } finally {
        pending = undefined;
      }
    };
  return { provider, wrapFetch, tokens };
}

function tokenResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

/** A token response as the fleet stores it (expiry made absolute; a refresh may keep the old refresh token). */
function fromOAuth(t: OAuthTokens, previousRefresh: string | undefined): FleetTokenSet {
  const { access_token, refresh_token, expires_in, ...extra } = t;
  const refreshToken = refresh_token ?? previousRefresh;
  return {
    accessToken: access_token,
    ...(refreshToken !== undefined ? { refreshToken } : {}),
    ...(typeof expires_in === 'number' ? { expiresAtMs: Date.now() + expires_in * 1_000 } : {}),
    extra,
  };
}

/** The stored set as the SDK reads tokens (expiry made relative again). */
function toOAuth(set: FleetTokenSet): OAuthTokens {
  return {
    token_type: 'Bearer',
    ...set.extra,
    access_token: set.accessToken,
    ...(set.refreshToken !== undefined ? { refresh_token: set.refreshToken } : {}),
    ...(set.expiresAtMs !== undefined
      ? { expires_in: Math.max(0, Math.floor((set.expiresAtMs - Date.now()) / 1_000)) }
      : {}),
  } as OAuthTokens;
}

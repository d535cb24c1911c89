/**
 * The token source of a server configured with `auth.refresh` (a refreshable token set): one
 * refresh per expiry, single-flight. In a fleet with `fleet.key` the set is the fleet's
 * (fleet/fleet-tokens.ts): one refresh per expiry for the whole fleet, a rotating refresh token
 * never sent twice, the set sealed at rest with the user's key. Alone, the same logic runs on a
 * process-local store with a random key, so both cases share one implementation.
 *
 * Loaded only when a server uses `auth.refresh` (auth.ts imports it lazily).
 */
import { randomBytes } from 'node:crypto';
import type { RefreshTokens } from './config.js';
import type { Fleet } from './fleet/fleet.js';
import { FleetContext } from './fleet/fleet-context.js';
import { type FleetTokenSet, FleetTokens } from './fleet/fleet-tokens.js';
import { MemoryFleetStore } from './fleet/memory-store.js';
import { TokenCipher } from './fleet/token-cipher.js';

/** What the transport asks of a refreshable token set. */
export interface RefreshingTokenSource {
  /** The access token: cached while fresh (no round trip), else refreshed once. */
  getToken(): Promise<string>;
  /** The server rejected `accessToken` (401): a refreshed one, unless someone already refreshed. */
  rejected(accessToken: string): Promise<string>;
}

/**
 * Builds the source for `server`: the fleet's when one is joined (it needs `fleet.key`), else a
 * local one. `record` sees every token obtained (for redaction).
 *
 * @example
 * const source = await createRefreshingTokenSource('demo', { refresh, tokens }, fleet, (t) => secrets.add(t));
 * const bearer = await source.getToken();
 */
export async function createRefreshingTokenSource(
  server: string,
  auth: { refresh: RefreshTokens; tokens?: FleetTokenSet | undefined },
  fleet: Fleet | undefined,
  record: (token: string | undefined) => void,
): Promise<RefreshingTokenSource> {
  const refresh: RefreshTokens = async (current, signal) => {
    const next = await auth.refresh(current, signal);
    record(next?.accessToken);
    record(next?.refreshToken);
    return next;
  };
  record(auth.tokens?.accessToken);
  record(auth.tokens?.refreshToken);
  let tokens: FleetTokens;
  if (fleet) {
    tokens = await fleet.tokens(server, { refresh });
  } else {
    const ctx = new FleetContext(new MemoryFleetStore(), 'local');
    tokens = new FleetTokens(ctx, { id: server, cipher: new TokenCipher(randomBytes(32)), refresh });
    await tokens.start();
  }
  if (auth.tokens) await tokens.seedIfAbsent(auth.tokens);
  return {
    getToken: async () => {
      const t = await tokens.getToken();
      record(t);
      return t;
    },
    rejected: async (accessToken) => {
      const t = await tokens.rejected(accessToken);
      record(t);
      return t;
    },
  };
}

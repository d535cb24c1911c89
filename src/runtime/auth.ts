/**
 * Turns a server's `auth`/`headers`/`tls` configuration into transport specs, and refuses to send
 * a token in clear text to a non-loopback host unless `allowInsecure` says so.
 */
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type { TransportSpec } from '../actors/transport-factory.js';
import { AuthError, ConfigError } from '../errors/index.js';
import type { ResolvedServerConfig } from './config.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', '[::1]', 'localhost']);

/** True when the URL is plain text (ws:, http:) to a host other than loopback. */
export function isInsecureRemote(url: string | undefined): boolean {
  if (!url) return false;
  const u = new URL(url);
  return (u.protocol === 'ws:' || u.protocol === 'http:') && !LOOPBACK.has(u.hostname);
}

/** Throws ConfigError when a token would travel in clear text to a remote host without `allowInsecure`. */
export function checkTransportSecurity(server: ResolvedServerConfig): void {
  const carriesSecret = Boolean(server.auth?.token || server.auth?.getToken || server.auth?.oauth);
  if (carriesSecret && isInsecureRemote(server.url) && !server.allowInsecure) {
    throw new ConfigError([
      {
        path: `servers.${server.name}.url`,
        message:
          'refusing to send credentials over plain ws:// or http:// to a non-loopback host (set allowInsecure: true to override)',
      },
    ]);
  }
}

async function tokenOf(server: ResolvedServerConfig): Promise<string | undefined> {
  const auth = server.auth;
  if (!auth) return undefined;
  if (auth.token) return auth.token;
  if (auth.getToken) {
    try {
      const token = await auth.getToken();
      if (typeof token !== 'string' || token.length === 0) {
        throw new AuthError(`${server.name}: getToken returned no token`, { server: server.name });
      }
      return token;
    } catch (error) {
      if (error instanceof AuthError) throw error;
      throw new AuthError(`${server.name}: getToken failed`, { server: server.name, cause: error });
    }
  }
  return undefined;
}

/** Builds the spec for one connection attempt (calls the token provider each time). */
export async function buildTransportSpec(
  server: ResolvedServerConfig,
  hooks: { onStderr?: (text: string) => void; fetch?: typeof fetch },
): Promise<TransportSpec> {
  const token = await tokenOf(server);
  const headers = { ...server.headers, ...(token ? { Authorization: `Bearer ${token}` } : {}) };
  return {
    server: server.name,
    kind: server.transport,
    url: server.url,
    command: server.command,
    args: server.args,
    env: server.env,
    cwd: server.cwd,
    headers,
    tls: server.tls,
    maxMessageBytes: server.maxMessageBytes,
    handshakeTimeoutMs: server.connectTimeoutMs,
    oauth: server.auth?.oauth as OAuthClientProvider | undefined,
    fetch: hooks.fetch,
    onStderr: hooks.onStderr,
  };
}

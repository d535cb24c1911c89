/**
 * Turns a server's `auth`/`headers`/`tls` configuration into transport specs, refuses to send a
 * token in clear text to a non-loopback host unless `allowInsecure` says so, raises the security
 * warnings (once per server), and keeps the set of secrets to redact for each server.
 */
import type { OAuthClientProvider } from '@modelcontextprotocol/client';
import { isClearTextRemote } from '../actors/origin-guard.js';
import { isSecretName } from '../actors/secret-names.js';
import type { TransportSpec } from '../actors/transport-factory.js';
import {
  AuthError,
  ConfigError,
  type ConfigIssue,
  McpRuntimeError,
  ServerFailedError,
} from '../errors/index.js';
import type { RefreshingTokenSource } from './auth-refresh.js';
import type { ResolvedServerConfig } from './config.js';
import type { Fleet } from './fleet/fleet.js';
import type { FleetOAuth } from './fleet/fleet-oauth.js';
import { SecretSet } from './redact.js';

/** A configuration that works but weakens security; reported once per server (event `warning` and console). */
export interface SecurityWarning {
  /** `TLS_VERIFY_DISABLED`: `tls.rejectUnauthorized: false`; `INSECURE_TRANSPORT`: credentials in clear text. */
  code: 'TLS_VERIFY_DISABLED' | 'INSECURE_TRANSPORT';
  message: string;
}

/** Hooks of {@link buildTransportSpec}. */
export interface TransportSpecHooks {
  onStderr?: (text: string) => void;
  fetch?: typeof fetch;
  /** The fleet the runtime joined: `auth.refresh` token sets are then the fleet's. */
  fleet?: Promise<Fleet | undefined> | undefined;
}

/** True when the URL is plain text (ws:, http:) to a host other than loopback. */
export function isInsecureRemote(url: string | undefined): boolean {
  return url !== undefined && isClearTextRemote(new URL(url));
}

/**
 * The configuration fields that carry a credential, as config issues: `auth`, each secret-named
 * header (secret-names.ts, the same list the redactor uses), URL credentials, secret-named query keys.
 */
function secretFields(server: ResolvedServerConfig): ConfigIssue[] {
  const at = `servers.${server.name}`;
  const issues: ConfigIssue[] = [];
  const add = (path: string, what: string) => issues.push({ path, message: what });
  if (server.auth?.token || server.auth?.getToken || server.auth?.oauth || server.auth?.refresh)
    add(`${at}.auth`, 'a credential');
  for (const name of Object.keys(server.headers))
    if (isSecretName(name)) add(`${at}.headers.${name}`, `header ${name}`);
  if (server.url) {
    const u = new URL(server.url);
    if (u.password !== '' || u.username !== '') add(`${at}.url`, 'URL credentials');
    for (const key of u.searchParams.keys()) if (isSecretName(key)) add(`${at}.url`, `query key ?${key}=`);
  }
  return issues;
}

function carriesSecret(server: ResolvedServerConfig): boolean {
  return secretFields(server).length > 0;
}

/** Throws ConfigError, naming each field, when a credential would travel in clear text to a remote host without `allowInsecure`. */
export function checkTransportSecurity(server: ResolvedServerConfig): void {
  if (server.allowInsecure || !isInsecureRemote(server.url)) return;
  const issues = secretFields(server);
  if (issues.length === 0) return;
  throw new ConfigError(
    issues.map(({ path, message }) => ({
      path,
      message: `${message} would be sent over plain ws:// or http:// to a non-loopback host: refused (set allowInsecure: true to override)`,
    })),
  );
}

/** The security warnings a server's configuration deserves (empty for a sound one). */
export function securityWarnings(server: ResolvedServerConfig): SecurityWarning[] {
  const warnings: SecurityWarning[] = [];
  if (server.tls?.rejectUnauthorized === false) {
    warnings.push({
      code: 'TLS_VERIFY_DISABLED',
      message: `${server.name}: TLS CERTIFICATE VERIFICATION IS DISABLED (tls.rejectUnauthorized: false). Anyone on the network path can impersonate this server and read its credentials. Use tls.ca instead.`,
    });
  }
  if (carriesSecret(server) && isInsecureRemote(server.url) && server.allowInsecure) {
    warnings.push({
      code: 'INSECURE_TRANSPORT',
      message: `${server.name}: CREDENTIALS ARE SENT IN CLEAR TEXT to a non-loopback host (allowInsecure: true). Use wss:// or https://.`,
    });
  }
  return warnings;
}

const secretSets = new WeakMap<ResolvedServerConfig, SecretSet>();
const warned = new WeakSet<ResolvedServerConfig>();

/**
 * The secrets known for a server: its token, secret-named headers, URL credentials and query values,
 * secret-named env values, TLS passphrase, and every token obtained since (provider, OAuth).
 */
export function secretsFor(server: ResolvedServerConfig): SecretSet {
  let set = secretSets.get(server);
  if (set) return set;
  set = new SecretSet();
  set.add(server.auth?.token);
  set.addHeaders(server.headers);
  set.addUrl(server.url);
  set.addEnv(server.env);
  set.add(server.tls?.passphrase);
  secretSets.set(server, set);
  return set;
}

/** The secrets of all the given servers together (for output that spans servers, like `snapshot()`). */
export function secretsForAll(servers: Iterable<ResolvedServerConfig>): SecretSet {
  return SecretSet.union([...servers].map(secretsFor));
}

/**
 * Raises the server's security warnings (console and `onWarning`) the first time it is called for this
 * server configuration; later calls do nothing.
 */
export function warnSecurityOnce(
  server: ResolvedServerConfig,
  onWarning: ((w: SecurityWarning) => void) | undefined,
): void {
  if (warned.has(server)) return;
  warned.add(server);
  for (const warning of securityWarnings(server)) {
    console.warn(`[mcp-actors] WARNING ${warning.code}: ${warning.message}`);
    onWarning?.(warning);
  }
}

const refreshSources = new WeakMap<ResolvedServerConfig, Promise<RefreshingTokenSource>>();

/** The `auth.refresh` source of a server, built once (the fleet's when the runtime joined one). */
function refreshSourceOf(
  server: ResolvedServerConfig,
  hooks: TransportSpecHooks,
): Promise<RefreshingTokenSource> {
  let source = refreshSources.get(server);
  if (!source) {
    const secrets = secretsFor(server);
    const auth = server.auth as NonNullable<ResolvedServerConfig['auth']>;
    // Imported here: only a server with `auth.refresh` loads the token-set logic.
    source = Promise.all([import('./auth-refresh.js'), hooks.fleet]).then(([m, fleet]) =>
      m.createRefreshingTokenSource(
        server.name,
        { refresh: auth.refresh as NonNullable<typeof auth.refresh>, tokens: auth.tokens },
        fleet,
        (t) => secrets.add(t),
      ),
    );
    // A source that failed to build (no fleet.key) is rebuilt on the next attempt.
    source.catch(() => refreshSources.delete(server));
    refreshSources.set(server, source);
  }
  return source;
}

/** The last token sent for a server with `auth.refresh` (a 401 names it to the source). */
const sentTokens = new WeakMap<ResolvedServerConfig, string>();

async function refreshedTokenOf(
  server: ResolvedServerConfig,
  hooks: TransportSpecHooks,
  rejected: boolean,
): Promise<string> {
  try {
    const source = await refreshSourceOf(server, hooks);
    const last = sentTokens.get(server);
    const token = rejected && last !== undefined ? await source.rejected(last) : await source.getToken();
    sentTokens.set(server, token);
    return token;
  } catch (error) {
    if (error instanceof McpRuntimeError) throw secretsFor(server).redactError(error);
    throw new AuthError(`${server.name}: token refresh failed`, {
      server: server.name,
      cause: secretsFor(server).redactError(error),
    });
  }
}

async function tokenOf(server: ResolvedServerConfig, hooks: TransportSpecHooks): Promise<string | undefined> {
  const auth = server.auth;
  if (!auth) return undefined;
  if (auth.token) return auth.token;
  if (auth.refresh) return refreshedTokenOf(server, hooks, false);
  if (auth.getToken) {
    let token: unknown;
    try {
      token = await auth.getToken();
    } catch (error) {
      throw new AuthError(`${server.name}: getToken failed`, {
        server: server.name,
        cause: secretsFor(server).redactError(error),
      });
    }
    if (typeof token !== 'string' || token.length === 0) {
      throw new AuthError(`${server.name}: getToken returned no token`, { server: server.name });
    }
    secretsFor(server).add(token);
    return token;
  }
  return undefined;
}

const recordingProviders = new WeakMap<object, OAuthClientProvider>();

/** The provider, seen through a proxy that records every token it hands out or saves (for redaction). */
function recordingProvider(provider: OAuthClientProvider, secrets: SecretSet): OAuthClientProvider {
  const known = recordingProviders.get(provider);
  if (known) return known;
  const record = (tokens: unknown): void => {
    if (tokens && typeof tokens === 'object') {
      const t = tokens as { access_token?: unknown; refresh_token?: unknown; id_token?: unknown };
      for (const v of [t.access_token, t.refresh_token, t.id_token])
        if (typeof v === 'string') secrets.add(v);
    }
  };
  const proxy = new Proxy(provider, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== 'function') return value;
      if (property === 'tokens') {
        return async (...args: unknown[]) => {
          const tokens = await (value as (...a: unknown[]) => unknown).apply(target, args);
          record(tokens);
          return tokens;
        };
      }
      if (property === 'saveTokens') {
        return (tokens: unknown, ...rest: unknown[]) => {
          record(tokens);
          return (value as (...a: unknown[]) => unknown).apply(target, [tokens, ...rest]);
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
  recordingProviders.set(provider, proxy);
  return proxy;
}

const fleetOAuths = new WeakMap<ResolvedServerConfig, Promise<FleetOAuth | undefined>>();

/**
 * `auth.oauth` in a fleet (fleet/fleet-oauth.ts): the provider and fetch wrapper that make its
 * refreshes the fleet's, built once per server; undefined without a fleet.
 */
function fleetOAuthOf(
  server: ResolvedServerConfig,
  hooks: TransportSpecHooks,
): Promise<FleetOAuth | undefined> {
  let built = fleetOAuths.get(server);
  if (!built) {
    const provider = server.auth?.oauth as OAuthClientProvider;
    // Imported here: only an OAuth server in a fleet loads it.
    built = Promise.all([import('./fleet/fleet-oauth.js'), hooks.fleet]).then(([m, fleet]) =>
      fleet ? m.createFleetOAuth(server.name, provider, fleet) : undefined,
    );
    // A fleet OAuth that failed to build (no fleet.key) is rebuilt on the next attempt.
    built.catch(() => fleetOAuths.delete(server));
    fleetOAuths.set(server, built);
  }
  return built;
}

/** Builds the spec for one connection attempt (calls the token provider each time). */
export async function buildTransportSpec(
  server: ResolvedServerConfig,
  hooks: TransportSpecHooks,
): Promise<TransportSpec> {
  const secrets = secretsFor(server);
  const token = await tokenOf(server, hooks);
  const fleetOAuth = server.auth?.oauth && hooks.fleet ? await fleetOAuthOf(server, hooks) : undefined;
  const headers = { ...server.headers, ...(token ? { Authorization: `Bearer ${token}` } : {}) };
  const getToken = server.auth?.getToken;
  const refreshes = server.auth?.refresh !== undefined;
  const onStderr = hooks.onStderr;
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
    oauth: server.auth?.oauth
      ? recordingProvider(fleetOAuth?.provider ?? (server.auth.oauth as OAuthClientProvider), secrets)
      : undefined,
    fetch: hooks.fetch,
    wrapFetch: fleetOAuth?.wrapFetch,
    // A child may print its environment: stderr is redacted like every other channel.
    onStderr: onStderr ? (text) => onStderr(secrets.redact(text)) : undefined,
    refreshHeaders: refreshes
      ? async () => ({ Authorization: `Bearer ${await refreshedTokenOf(server, hooks, true)}` })
      : getToken
        ? async () => ({ Authorization: `Bearer ${(await tokenOf(server, hooks)) ?? ''}` })
        : undefined,
    allowInsecure: server.allowInsecure,
  };
}

/**
 * The error a caller should see: a server the runtime gave up on because authentication failed
 * surfaces as {@link AuthError} (code AUTH) rather than SERVER_FAILED; anything else is unchanged.
 * Its text is redacted either way.
 */
export function surfaceError(server: ResolvedServerConfig, error: unknown): unknown {
  const secrets = secretsFor(server);
  if (error instanceof ServerFailedError) {
    const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
    if (cause?.code === 'AUTH') {
      return secrets.redactError(
        new AuthError(`${server.name}: authentication failed: ${String(cause.message ?? '')}`, {
          server: server.name,
          cause: error,
        }),
      );
    }
  }
  return error instanceof McpRuntimeError ? secrets.redactError(error) : error;
}

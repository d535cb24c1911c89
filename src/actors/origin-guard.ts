/**
 * Keeps a server's credentials on the origins they belong to, whatever the SDK does with them.
 *
 * Every request of an HTTP transport goes through the fetch of http-fetch.ts, including the SDK's
 * own OAuth discovery, registration and token requests (SDK v1 and v2 both hand the transport's
 * fetch, merged with `requestInit`, to their auth code as `fetchFn`; so the configured headers ride
 * along on every one of them). This guard, applied there to each request and each redirect hop:
 *
 * - sends the configured headers, the runtime's own `Authorization`, cookies and every other
 *   secret-named header (secret-names.ts) only to the configured URL's origin. On another origin
 *   (a `resource_metadata` or authorization server the server named) they are removed; the only
 *   credential header kept there is a `Basic` client authentication the SDK adds for a token endpoint;
 * - applies the clear-text rule to every origin, not just the configured one: when the server has
 *   credentials (OAuth, a token, secret headers), or the request itself carries one (a secret
 *   header, a `client_secret` or `refresh_token` field, a secret query key), nothing goes over plain
 *   http:// to a non-loopback host unless `allowInsecure`. The refusal is an AUTH error naming the
 *   origin and the rule, raised before any connection; it is sticky for the transport, because the
 *   SDK swallows some discovery failures and would otherwise fall back to another path;
 * - follows redirects itself (bounded), so that a same-origin URL redirecting elsewhere is checked
 *   again hop by hop; a redirect to another origin is not followed (the 3xx is returned).
 */
import { AuthError } from '../errors/index.js';
import { CREDENTIAL_FIELDS, isSecretName } from './secret-names.js';

/** What the guard needs to know about one server. */
export interface OriginGuardOptions {
  /** Server name, for the error. */
  server?: string | undefined;
  /** The configured URL: its origin is the only one that gets the configured headers. */
  url: string;
  /** Names of the headers the configuration adds to every request. */
  configuredHeaders: readonly string[];
  /** True when the server authenticates (OAuth provider, token, or a secret header). */
  credentialed: boolean;
  /** `allowInsecure` of the server's configuration. */
  allowInsecure: boolean;
}

/** True for `localhost`, `127.0.0.0/8` and `::1`. */
export function isLoopbackHost(hostname: string): boolean {
  return (
    hostname === 'localhost' ||
    hostname === '::1' ||
    hostname === '[::1]' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
  );
}

/** True when the URL is plain text (ws:, http:) to a host other than loopback. */
export function isClearTextRemote(url: URL): boolean {
  return (url.protocol === 'ws:' || url.protocol === 'http:') && !isLoopbackHost(url.hostname);
}

/** Redirect hops followed per request (the SDK follows 5 within an origin). */
const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const BASIC = /^basic\s/i;
const CREDENTIAL_FIELD_SET = new Set(CREDENTIAL_FIELDS);

type FetchInput = Parameters<typeof fetch>[0];

/**
 * Wraps `base` so that every request (and redirect hop) is checked as described in the file header.
 * `authorization` gives the runtime's own `Authorization` value for the configured origin, if any.
 *
 * @example
 * const guarded = guardOrigins(fetch, { url: 'https://mcp.example.com/mcp', configuredHeaders: ['X-Api-Key'],
 *   credentialed: true, allowInsecure: false });
 * await guarded('https://auth.example.com/.well-known/oauth-authorization-server', { headers: { 'X-Api-Key': k } });
 * // sent without X-Api-Key
 */
export function guardOrigins(
  base: (input: FetchInput, init?: RequestInit) => Promise<Response>,
  options: OriginGuardOptions,
  onRefused?: (error: AuthError) => void,
): (input: FetchInput, init?: RequestInit, authorization?: string) => Promise<Response> {
  const home = new URL(options.url).origin;
  const configured = new Set(options.configuredHeaders.map((h) => h.toLowerCase()));
  let refused: AuthError | undefined;

  const prepare = (target: URL, init: RequestInit, authorization: string | undefined): RequestInit => {
    if (refused) throw refused;
    // The hot path (every JSON-RPC POST, its headers a `Headers` or lower-case names only): the
    // configured origin over TLS or loopback. Nothing is removed there and no clear-text rule
    // applies; only Authorization is set.
    if (isNormalized(init.headers) && isSafeHome(target))
      return { ...init, headers: withAuthorization(init.headers, authorization) };
    const headers = new Headers(init.headers);
    if (target.origin === home) {
      if (authorization !== undefined) headers.set('authorization', authorization);
    } else {
      for (const [name, value] of [...headers]) {
        const keep = name === 'authorization' && BASIC.test(value) && !configured.has(name);
        if (!keep && (configured.has(name) || isSecretName(name))) headers.delete(name);
      }
    }
    if (
      isClearTextRemote(target) &&
      !options.allowInsecure &&
      (options.credentialed || carriesCredentials(target, headers, init.body))
    ) {
      const who = options.server ? `${options.server}: ` : '';
      refused = new AuthError(
        `${who}refused to contact ${target.origin}: credentials and OAuth requests are not sent over plain http:// or ws:// to a non-loopback host (set allowInsecure: true to override)`,
        options.server ? { server: options.server } : {},
      );
      onRefused?.(refused);
      throw refused;
    }
    return { ...init, headers };
  };

  // The URL last parsed: the SDK posts every message to the one URL, parsed once here, and
  // whether it is the configured origin over TLS or loopback, decided once for it too.
  let lastHref = '';
  let lastTarget: URL | undefined;
  let lastSafeHome = false;
  const parse = (href: string): URL => {
    if (href !== lastHref || lastTarget === undefined) {
      lastTarget = new URL(href);
      lastHref = href;
      lastSafeHome = isHomeOverTlsOrLoopback(lastTarget);
    }
    return lastTarget;
  };
  function isSafeHome(target: URL): boolean {
    return target === lastTarget ? lastSafeHome : isHomeOverTlsOrLoopback(target);
  }
  function isHomeOverTlsOrLoopback(target: URL): boolean {
    return target.origin === home && !isClearTextRemote(target);
  }

  return async (input, init, authorization) => {
    let target = parse(input instanceof Request ? input.url : String(input));
    let request: RequestInit = init ?? {};
    if (input instanceof Request) {
      const headers = new Headers(input.headers);
      for (const [k, v] of new Headers(init?.headers)) headers.set(k, v);
      request = { method: input.method, body: input.body, signal: input.signal, ...init, headers };
      if (input.body) Object.assign(request, { duplex: 'half' });
    }
    const follow = request.redirect === undefined || request.redirect === 'follow';
    for (let hop = 0; ; hop++) {
      const prepared = prepare(target, request, authorization);
      const response = await base(target.href, follow ? { ...prepared, redirect: 'manual' } : prepared);
      if (!follow || !REDIRECT_STATUSES.has(response.status) || hop >= MAX_REDIRECTS) return response;
      const location = response.headers.get('location');
      const next = location === null ? undefined : safeUrl(location, target);
      // Another origin is not followed: the caller gets the 3xx, as the SDK does for its own requests.
      if (next === undefined || next.origin !== target.origin) return response;
      await response.body?.cancel().catch(() => {});
      const method = (request.method ?? 'GET').toUpperCase();
      if (response.status === 303 ? method !== 'HEAD' : response.status <= 302 && method === 'POST') {
        const headers = new Headers(request.headers);
        headers.delete('content-type');
        headers.delete('content-length');
        request = { ...request, method: 'GET', body: null, headers };
      }
      target = next;
    }
  };
}

/** Headers whose names cannot differ only by case: a `Headers`, or an object of lower-case names. */
function isNormalized(
  headers: HeadersInit | undefined,
): headers is Headers | Record<string, string> | undefined {
  if (headers === undefined || headers instanceof Headers) return true;
  if (Array.isArray(headers)) return false;
  for (const name in headers) if (name !== name.toLowerCase()) return false;
  return true;
}

/**
 * `headers` with `authorization` set (when given), as the plain object the request path takes: the
 * SDK's `Headers` is copied once, not twice.
 */
function withAuthorization(
  headers: Headers | Record<string, string> | undefined,
  authorization: string | undefined,
): Headers | Record<string, string> | undefined {
  if (authorization === undefined) return headers;
  const plain: Record<string, string> =
    headers === undefined ? {} : headers instanceof Headers ? Object.fromEntries(headers) : { ...headers };
  plain.authorization = authorization;
  return plain;
}

function safeUrl(location: string, base: URL): URL | undefined {
  try {
    return new URL(location, base);
  } catch {
    return undefined;
  }
}

/** True when a request carries a credential in a header, its query or a form/JSON body field. */
function carriesCredentials(target: URL, headers: Headers, body: RequestInit['body']): boolean {
  for (const [name] of headers) if (isSecretName(name)) return true;
  if (target.username || target.password) return true;
  for (const key of target.searchParams.keys()) if (isSecretName(key)) return true;
  return bodyFields(body).some((field) => CREDENTIAL_FIELD_SET.has(field) || isSecretName(field));
}

/** Field names of a form or JSON body (what OAuth token and registration requests send). */
function bodyFields(body: RequestInit['body']): string[] {
  if (body instanceof URLSearchParams) return [...body.keys()];
  if (typeof body !== 'string') return [];
  const text = body.trimStart();
  if (text.startsWith('{')) {
    try {
      const value = JSON.parse(text) as unknown;
      return value && typeof value === 'object' ? Object.keys(value) : [];
    } catch {
      return [];
    }
  }
  return [...new URLSearchParams(text).keys()];
}

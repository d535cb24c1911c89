/**
 * Secret hygiene: what leaves the runtime (errors, events, snapshots, logs) goes through here.
 *
 * Two layers: values the runtime KNOWS are secret (configured tokens, tokens a provider returned,
 * secret-named header values, URL credentials, secret-named query values, TLS passphrases) are
 * replaced wherever they appear; and text patterns that look like secrets (`Bearer …`, `user:pass@`
 * in URLs, `?api_key=…`) are masked even when the value is not known, because a peer may echo them.
 */

import { isSecretName, SECRET_HEADERS } from '../actors/secret-names.js';

/** What every redacted value becomes. */
export const REDACTED = '***';

/** True when a header, query or field name looks like it carries a secret (the list in actors/secret-names.ts). */
export { isSecretName };

/** The URL with credentials removed and secret-looking query values replaced by `***`. */
export function redactUrl(url: string | undefined): string | undefined {
  if (!url) return url;
  try {
    const u = new URL(url);
    if (u.username) u.username = REDACTED;
    if (u.password) u.password = REDACTED;
    for (const key of [...u.searchParams.keys()]) {
      if (isSecretName(key)) u.searchParams.set(key, REDACTED);
    }
    return u.toString();
  } catch {
    return REDACTED;
  }
}

/** A copy of `headers` with secret-looking values replaced by `***`. */
export function redactHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, isSecretName(k) ? REDACTED : v]));
}

/** Shortest value treated as a secret; shorter ones would mangle ordinary text. */
const MIN_SECRET_LENGTH = 4;

/** Replaces every occurrence of the given secrets in `text` with `***`. */
export function scrubText(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const s of secrets)
    if (s.length >= MIN_SECRET_LENGTH && out.includes(s)) out = out.split(s).join(REDACTED);
  return out;
}

const BEARER = /\b(Bearer|Basic|Token)\s+[A-Za-z0-9\-._~+/]+=*/g;
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^/\s:@]*(?::[^/\s@]*)?@/gi;
const QUERY_PARAM = /([?&;]([A-Za-z0-9_.-]+)=)([^&\s#"'<>]+)/g;
const SECRET_FIELD = new RegExp(
  `(["']?(?:${[...SECRET_HEADERS, 'access_token', 'refresh_token', 'id_token', 'client_secret', 'client_assertion', 'api[-_]?key', 'password'].join('|')})["']?\\s*[:=]\\s*["']?)([^"'\\s,;}&]+)`,
  'gi',
);

/**
 * Masks known secrets and secret-looking patterns in free text (an error message, a stderr line).
 *
 * @example
 * redactText('GET https://h/x?api_key=abc failed', []); // 'GET https://h/x?api_key=*** failed'
 */
export function redactText(text: string, secrets: Iterable<string> = []): string {
  let out = scrubText(text, secrets);
  out = out.replace(BEARER, (_m, scheme: string) => `${scheme} ${REDACTED}`);
  out = out.replace(URL_CREDENTIALS, (_m, scheme: string) => `${scheme}${REDACTED}@`);
  out = out.replace(QUERY_PARAM, (m, prefix: string, name: string) =>
    isSecretName(name) ? `${prefix}${REDACTED}` : m,
  );
  out = out.replace(SECRET_FIELD, (_m, prefix: string) => `${prefix}${REDACTED}`);
  return out;
}

const MAX_CAUSE_DEPTH = 6;

/**
 * The secrets known for one server: configured ones plus every token obtained at run time. Used at
 * every exit (errors, events, snapshots, stderr) so that a peer echoing a token back cannot leak it.
 */
export class SecretSet {
  readonly #values = new Set<string>();
  readonly #redacted = new WeakSet<object>();

  /** A set holding the secrets of all `sets` (a snapshot of them: later additions are not seen). */
  static union(sets: Iterable<SecretSet>): SecretSet {
    const out = new SecretSet();
    for (const set of sets) for (const value of set.#values) out.#values.add(value);
    return out;
  }

  /** Number of secret values known. */
  get size(): number {
    return this.#values.size;
  }

  /** Remembers a secret value (and, for `Bearer x`, the bare `x`). Short values are ignored. */
  add(value: string | undefined | null): void {
    if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH) return;
    this.#values.add(value);
    const bare = /^(?:Bearer|Basic|Token)\s+(.+)$/i.exec(value)?.[1];
    if (bare && bare.length >= MIN_SECRET_LENGTH) this.#values.add(bare);
  }

  /**
   * Remembers the values of secret-named headers. A cookie header also gives each of its values
   * (`a=v1; b=v2` gives `v1` and `v2`), since a peer may echo one of them alone (`session v1 expired`).
   */
  addHeaders(headers: Record<string, string> | undefined): void {
    for (const [name, value] of Object.entries(headers ?? {})) {
      if (!isSecretName(name)) continue;
      this.add(value);
      if (/cookie/i.test(name)) {
        for (const pair of value.split(';')) {
          const eq = pair.indexOf('=');
          if (eq !== -1) this.add(pair.slice(eq + 1).trim());
        }
      }
    }
  }

  /** Remembers a URL's credentials and secret-named query values. */
  addUrl(url: string | undefined): void {
    if (!url) return;
    try {
      const u = new URL(url);
      this.add(decodeURIComponent(u.username));
      this.add(decodeURIComponent(u.password));
      for (const [key, value] of u.searchParams) {
        if (isSecretName(key)) {
          this.add(value);
          this.add(encodeURIComponent(value));
        }
      }
    } catch {
      // An unparsable URL was rejected by config validation already.
    }
  }

  /** Remembers the values of secret-named environment variables. */
  addEnv(env: Record<string, string> | undefined): void {
    for (const [name, value] of Object.entries(env ?? {})) if (isSecretName(name)) this.add(value);
  }

  /** `text` with known secrets and secret-looking patterns masked. */
  redact(text: string): string {
    return redactText(text, this.#values);
  }

  /**
   * Masks secrets in an error's message and stack, and down its `cause` chain, IN PLACE (the error
   * keeps its class, code and cause). Returns the same error.
   */
  redactError<E>(error: E): E {
    let e: unknown = error;
    for (let depth = 0; depth < MAX_CAUSE_DEPTH && e !== null && typeof e === 'object'; depth++) {
      if (this.#redacted.has(e)) break;
      this.#redacted.add(e);
      const record = e as { message?: unknown; stack?: unknown; cause?: unknown };
      try {
        if (typeof record.message === 'string') record.message = this.redact(record.message);
        if (typeof record.stack === 'string') record.stack = this.redact(record.stack);
        // Payload fields a peer filled (RemoteError.data, ToolError.result, McpError.data...).
        const fields = record as Record<string, unknown>;
        for (const key of Object.keys(fields)) {
          if (key === 'cause' || key === 'message' || key === 'stack') continue;
          const value = fields[key];
          if (
            typeof value === 'string' ||
            (value !== null && typeof value === 'object' && !(value instanceof Error))
          ) {
            fields[key] = this.redactValue(value);
          }
        }
      } catch {
        // A frozen or exotic error: leave it; its text is redacted again where it is printed.
      }
      e = record.cause;
    }
    return error;
  }

  /** A deep copy of a JSON-like value with every string masked (for snapshots and event payloads). */
  redactValue<T>(value: T): T {
    return this.#copy(value, 0) as T;
  }

  #copy(value: unknown, depth: number): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (value === null || typeof value !== 'object' || depth > 32) return value;
    if (value instanceof Error) return this.redactError(value);
    if (Array.isArray(value)) return value.map((v) => this.#copy(v, depth + 1));
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = this.#copy(v, depth + 1);
    return out;
  }
}

/**
 * Secret hygiene: what leaves the runtime (errors, events, snapshots, logs) goes through here.
 */

const SECRET_KEY =
  /(token|secret|password|passwd|pwd|api[-_]?key|apikey|auth|credential|session|signature|sig|key)$/i;

/** True when a header, query or field name looks like it carries a secret. */
export function isSecretName(name: string): boolean {
  return /^(authorization|cookie|set-cookie|proxy-authorization)$/i.test(name) || SECRET_KEY.test(name);
}

/** The URL with credentials removed and secret-looking query values replaced by `***`. */
export function redactUrl(url: string | undefined): string | undefined {
  if (!url) return url;
  try {
    const u = new URL(url);
    if (u.username) u.username = '***';
    if (u.password) u.password = '***';
    for (const key of [...u.searchParams.keys()]) {
      if (isSecretName(key)) u.searchParams.set(key, '***');
    }
    return u.toString();
  } catch {
    return '***';
  }
}

/** A copy of `headers` with secret-looking values replaced by `***`. */
export function redactHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, isSecretName(k) ? '***' : v]));
}

/** Replaces every occurrence of the given secrets in `text` with `***`. */
export function scrubText(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('***');
  return out;
}

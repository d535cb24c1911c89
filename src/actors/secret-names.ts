/**
 * The one list of what is secret. The redactor (runtime/redact.ts), the clear-text rule (config
 * validation in runtime/auth.ts) and the origin guard (origin-guard.ts) all ask here, so a name the
 * redactor masks is also a name that may not travel in clear text or to another origin.
 */

/** Header names that always carry a credential. */
export const SECRET_HEADERS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'x-auth-token',
];

/** Query keys that carry a credential (`?api_key=`, `?access_token=`...). */
export const SECRET_QUERY_KEYS: readonly string[] = [
  'api_key',
  'apikey',
  'api-key',
  'access_token',
  'refresh_token',
  'id_token',
  'token',
  'key',
  'secret',
  'client_secret',
  'password',
  'sig',
  'signature',
];

/** Form or JSON fields of OAuth requests that carry a credential (token and registration requests). */
export const CREDENTIAL_FIELDS: readonly string[] = [
  'client_secret',
  'client_assertion',
  'refresh_token',
  'code',
  'code_verifier',
  'password',
  'assertion',
  'subject_token',
  'actor_token',
];

/** Any name containing one of these is treated as secret (headers, query keys, env, fields). */
const SECRET_WORD =
  /token|secret|key|auth|cookie|session|passw|pwd|credential|signature|bearer|jwt|assertion/i;

const EXACT = new Set([...SECRET_HEADERS, ...SECRET_QUERY_KEYS]);

/**
 * True when a header name, query key, env name or field name carries a secret.
 *
 * @example
 * isSecretName('X-Api-Key'); // true
 * isSecretName('Accept'); // false
 */
export function isSecretName(name: string): boolean {
  const lower = name.toLowerCase();
  return EXACT.has(lower) || SECRET_WORD.test(lower);
}

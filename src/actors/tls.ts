/**
 * TLS for `wss://` and `https://`: the options passed to Node's `tls.connect`, and the recognition of a
 * failed certificate check, which is reported as {@link AuthError} (code AUTH) — the server could not
 * prove who it is, or refused our client certificate — so the connection fails at once instead of
 * retrying a handshake that cannot succeed. A client key that cannot be decrypted (wrong
 * `tls.passphrase`) is AUTH too.
 */
import { AuthError } from '../errors/index.js';

/** TLS options of a server (`tls` in the configuration). Verification is on unless `rejectUnauthorized: false`. */
export interface TlsOptions {
  /** Trusted CA certificate(s), PEM. Replaces the system roots for this server. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Client certificate (mutual TLS), PEM. */
  cert?: string | Buffer;
  /** Client private key (mutual TLS), PEM. */
  key?: string | Buffer;
  /** Passphrase of `key`. */
  passphrase?: string;
  /** Server name for SNI and certificate checks, when it differs from the URL's host. */
  servername?: string;
  /** `false` turns certificate verification off (a loud warning is logged once). Default `true`. */
  rejectUnauthorized?: boolean;
}

/** Only the defined fields, ready for `tls.connect` (undefined fields would override Node's defaults). */
export function tlsConnectOptions(tls: TlsOptions): TlsOptions {
  const out: TlsOptions = {};
  if (tls.ca !== undefined) out.ca = tls.ca;
  if (tls.cert !== undefined) out.cert = tls.cert;
  if (tls.key !== undefined) out.key = tls.key;
  if (tls.passphrase !== undefined) out.passphrase = tls.passphrase;
  if (tls.servername !== undefined) out.servername = tls.servername;
  if (tls.rejectUnauthorized !== undefined) out.rejectUnauthorized = tls.rejectUnauthorized;
  return out;
}

/** OpenSSL/Node codes of a server certificate that failed verification. */
const CERT_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** OpenSSL codes of a client key that cannot be read (wrong or missing `tls.passphrase`, not a key). */
const KEY_CODES = new Set(['ERR_OSSL_BAD_DECRYPT', 'ERR_OSSL_EVP_BAD_DECRYPT', 'ERR_OSSL_PEM_BAD_DECRYPT']);

function codeAndMessage(error: unknown): { code: string; message: string } | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && e !== null && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    const message = (e as { message?: unknown }).message;
    if (
      typeof code === 'string' &&
      (CERT_CODES.has(code) || KEY_CODES.has(code) || /^ERR_SSL_.*ALERT/.test(code))
    ) {
      return { code, message: typeof message === 'string' ? message : code };
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * When `error` (or its cause chain) is a TLS verification failure, the {@link AuthError} to report
 * instead; otherwise `undefined`.
 *
 * @example
 * const tlsError = tlsFailureOf(error, 'demo');
 * if (tlsError) throw tlsError;
 */
export function tlsFailureOf(error: unknown, server?: string): AuthError | undefined {
  const found = codeAndMessage(error);
  if (!found) return undefined;
  const peerRefused = found.code.startsWith('ERR_SSL_');
  // Our own key cannot be used: the same every attempt, so AUTH (not a lost connection to retry).
  const message = KEY_CODES.has(found.code)
    ? `TLS client key (tls.key) could not be decrypted (${found.code}); check tls.passphrase`
    : peerRefused
      ? `TLS handshake refused by the server (${found.code}: ${found.message}); check tls.cert and tls.key`
      : `TLS certificate of the server was rejected (${found.code}: ${found.message}); trust its CA with tls.ca`;
  return new AuthError(message, { ...(server ? { server } : {}), cause: error });
}

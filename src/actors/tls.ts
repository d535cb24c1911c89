/**
 * TLS for `wss://` and `https://`: the options passed to Node's `tls.connect`, and the recognition of a
 * failed certificate check, which is reported as {@link AuthError} (code AUTH) — the server could not
 * prove who it is, or refused our client certificate — so the connection fails at once instead of
 * retrying a handshake that cannot succeed. A client key that cannot be decrypted (wrong
 * `tls.passphrase`) is AUTH too.
 *
 * With TLS 1.3 the client's side of the handshake is over before the server has checked the client
 * certificate, so a refusal arrives later, on the first read: {@link watchClientCertificate} makes the
 * socket fail with it instead of with the end of stream that HTTP clients report as "other side closed".
 */
import type { TLSSocket } from 'node:tls';
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

/**
 * `code` of the error a socket fails with when the server asked for a client certificate, then hung up
 * before sending any application data (see {@link watchClientCertificate}).
 */
export const CLIENT_CERT_REFUSED = 'MCP_TLS_CLIENT_CERT_REFUSED';

/** A TLS alert the peer sent (`ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED`, `ERR_SSL_TLSV1_ALERT_UNKNOWN_CA`...). */
const ALERT_CODE = /^ERR_SSL_.*ALERT/;

/**
 * Watches a client TLS socket whose handshake has just completed, so that a server refusing our client
 * certificate after the handshake (TLS 1.3) fails the socket with that cause, which
 * {@link tlsFailureOf} reports as AUTH:
 * - a TLS alert read after the handshake (certificate_required, unknown_ca, bad_certificate...): the
 *   socket is destroyed with it at once, so the end of stream that follows cannot replace it;
 * - a server that asked for a client certificate (its CertificateRequest is the only source of the
 *   peer's signature algorithms on a client) and hung up before sending any application data: Node's
 *   own TLS servers drop an untrusted client certificate this way, without an alert. The socket fails
 *   with an error of code {@link CLIENT_CERT_REFUSED}. A server that has answered on this socket once
 *   (a keep-alive socket closed when idle) is not a refusal.
 * Its listeners go first, before the HTTP client's; one `data` listener, removed at the first chunk.
 *
 * @example
 * socket.once('secureConnect', () => watchClientCertificate(socket));
 */
export function watchClientCertificate(socket: TLSSocket): void {
  let answered = false;
  socket.once('data', () => {
    answered = true;
  });
  socket.prependListener('error', (error: Error & { code?: unknown }) => {
    if (typeof error.code === 'string' && ALERT_CODE.test(error.code) && !socket.destroyed) {
      socket.destroy(error);
    }
  });
  socket.prependOnceListener('end', () => {
    if (answered || socket.destroyed || socket.getSharedSigalgs().length === 0) return;
    const refusal = Object.assign(
      new Error(
        'the server asked for a client certificate, then closed the connection right after the handshake without answering',
      ),
      { code: CLIENT_CERT_REFUSED },
    );
    // Emitted now, ahead of the HTTP client's own end-of-stream error ("other side closed", "socket
    // hang up"), which then sees a failed socket and stays silent.
    socket.emit('error', refusal);
    socket.destroy();
  });
}

/** OpenSSL codes of a client key that cannot be read (wrong or missing `tls.passphrase`, not a key). */
const KEY_CODES = new Set(['ERR_OSSL_BAD_DECRYPT', 'ERR_OSSL_EVP_BAD_DECRYPT', 'ERR_OSSL_PEM_BAD_DECRYPT']);

/**
 * The reason of an OpenSSL error line (`80BC…:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert
 * certificate required:../deps/…:1601:SSL alert number 116`), or the message itself, trimmed.
 */
function reasonOf(message: string): string {
  return /:error:[0-9A-F]+:[^:]*:[^:]*:([^:]+):/.exec(message)?.[1] ?? message.trim();
}

function codeAndMessage(error: unknown): { code: string; message: string } | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && e !== null && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    const message = (e as { message?: unknown }).message;
    if (
      typeof code === 'string' &&
      (CERT_CODES.has(code) || KEY_CODES.has(code) || code === CLIENT_CERT_REFUSED || ALERT_CODE.test(code))
    ) {
      return { code, message: typeof message === 'string' ? reasonOf(message) : code };
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
    : found.code === CLIENT_CERT_REFUSED
      ? `TLS client certificate refused by the server (${found.code}: ${found.message}); check tls.cert and tls.key`
      : peerRefused
        ? `TLS handshake refused by the server (${found.code}: ${found.message}); check tls.cert and tls.key`
        : `TLS certificate of the server was rejected (${found.code}: ${found.message}); trust its CA with tls.ca`;
  return new AuthError(message, { ...(server ? { server } : {}), cause: error });
}

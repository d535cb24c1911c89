/**
 * The HTTP `Retry-After` header of a 429 or 503 (RFC 9110 §10.2.3): delay-seconds or an HTTP-date,
 * as a wait in milliseconds. A server chooses the value, so it is capped: a wait of a year would
 * otherwise park a call (and its retry timer) for as long.
 */

/** The longest wait a server's Retry-After can impose (10 minutes). */
export const MAX_RETRY_AFTER_MS = 600_000;

/** IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850 and asctime all start with a day name. */
const HTTP_DATE = /^[A-Za-z]{3,9},? /;

/**
 * The wait a `Retry-After` value asks for, in ms (0 for a date in the past, at most
 * {@link MAX_RETRY_AFTER_MS}); undefined when absent or not a valid value.
 *
 * @example
 * parseRetryAfterMs('2', Date.now());                               // 2000
 * parseRetryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('2015-10-21T07:27:00Z')); // 60000
 * parseRetryAfterMs('999999999', Date.now());                       // 600000 (capped)
 */
export function parseRetryAfterMs(value: string | null | undefined, nowMs: number): number | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.trim();
  if (/^\d{1,15}$/.test(v)) return Math.min(MAX_RETRY_AFTER_MS, Number(v) * 1_000);
  if (!HTTP_DATE.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, at - nowMs));
}

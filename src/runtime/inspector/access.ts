/**
 * Who may read the inspector. It serves the runtime's live state on a local port, so a web page
 * the user visits must not be able to reach it: a request whose `Host` or `Origin` is not a
 * loopback name with the inspector's port (DNS rebinding: a hostile name resolved to 127.0.0.1) is
 * refused with 403. With a token (`rt.inspect({ token })`, needed to serve beyond loopback) every
 * request must present it: `Authorization: Bearer <token>`, `?token=<token>`, or the cookie set
 * when `?token=` was accepted (HttpOnly, SameSite=Strict, so another site's page cannot use it).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The verdict on one request. */
export type AccessVerdict =
  | { ok: true; setCookie?: string }
  | { ok: false; status: 401 | 403; reason: string };

const COOKIE = 'mcp_actors_inspector';

/** True for the names and addresses of the loopback interface. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function cookieOf(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === COOKIE) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/**
 * The access check of an inspector on `port`, with an optional `token`.
 *
 * @example
 * const access = inspectorAccess({ port: 4777, token: process.env.INSPECTOR_TOKEN });
 * const verdict = access(req); // { ok: false, status: 403, ... } for `Host: evil.example:4777`
 */
export function inspectorAccess(options: {
  port: number;
  token?: string | undefined;
}): (req: IncomingMessage) => AccessVerdict {
  const { port, token } = options;
  const expected = token === undefined ? undefined : digest(token);
  const matches = (presented: string | undefined | null): boolean =>
    expected !== undefined && typeof presented === 'string' && timingSafeEqual(digest(presented), expected);
  const loopbackHost = (value: string | undefined): boolean => {
    if (!value) return false;
    const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(value.trim());
    return m !== null && Number(m[2]) === port && isLoopbackHost(m[1]!);
  };

  return (req) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const query = url.searchParams.get('token');
    if (expected !== undefined && (matches(bearer) || matches(query) || matches(cookieOf(req)))) {
      return matches(query)
        ? {
            ok: true,
            setCookie: `${COOKIE}=${encodeURIComponent(token!)}; HttpOnly; SameSite=Strict; Path=/`,
          }
        : { ok: true };
    }
    if (!loopbackHost(req.headers.host)) return { ok: false, status: 403, reason: 'host not allowed' };
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let allowed = false;
      try {
        const o = new URL(origin);
        allowed = o.protocol === 'http:' && loopbackHost(o.host);
      } catch {
        // Not a URL (`null` from a sandboxed page): refused.
      }
      if (!allowed) return { ok: false, status: 403, reason: 'origin not allowed' };
    }
    if (expected !== undefined) return { ok: false, status: 401, reason: 'token required' };
    return { ok: true };
  };
}

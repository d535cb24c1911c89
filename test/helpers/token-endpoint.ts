/**
 * A loopback OAuth-like token endpoint with rotating refresh tokens, for the fleet token tests: each
 * refresh token works once; a reused one is rejected (invalid_grant) and counted, as a real
 * authorization server that revokes the token family would.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';

/** A running token endpoint. */
export interface TokenEndpoint {
  readonly url: string;
  /** Successful refreshes. */
  readonly refreshes: number;
  /** Refresh tokens presented a second time. */
  readonly reuses: number;
  /** Issues a first set (as an authorization would). */
  issue(expiresInMs: number): { accessToken: string; refreshToken: string; expiresAtMs: number };
  /** Access tokens it ever issued (to check no secret leaked anywhere). */
  readonly issued: readonly string[];
  close(): Promise<void>;
}

/**
 * Starts the endpoint on a free loopback port. `POST /token` with `refresh_token=...` answers
 * `{ access_token, refresh_token, expires_in }` (seconds, from `expiresInMs`).
 *
 * @example
 * const as = await startTokenEndpoint({ expiresInMs: 60_000 });
 */
export async function startTokenEndpoint(options: {
  expiresInMs: number;
  delayMs?: number;
}): Promise<TokenEndpoint> {
  const live = new Set<string>();
  const spent = new Set<string>();
  const issued: string[] = [];
  let refreshes = 0;
  let reuses = 0;
  const mint = (expiresInMs: number) => {
    const accessToken = `at-${randomBytes(12).toString('hex')}`;
    const refreshToken = `rt-${randomBytes(12).toString('hex')}`;
    live.add(refreshToken);
    issued.push(accessToken, refreshToken);
    return { accessToken, refreshToken, expiresAtMs: Date.now() + expiresInMs };
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => {
      const answer = (): void => {
        const token = new URLSearchParams(body).get('refresh_token') ?? '';
        if (!live.has(token)) {
          if (spent.has(token)) reuses++;
          res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_grant"}');
          return;
        }
        live.delete(token);
        spent.add(token);
        refreshes++;
        const next = mint(options.expiresInMs);
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            access_token: next.accessToken,
            refresh_token: next.refreshToken,
            expires_in: options.expiresInMs / 1000,
          }),
        );
      };
      if (options.delayMs) setTimeout(answer, options.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/token`,
    get refreshes() {
      return refreshes;
    },
    get reuses() {
      return reuses;
    },
    issued,
    issue: mint,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The refresh_token grant against `url`, as a user would write it (fetch, honours `signal`). */
export async function refreshGrant(
  url: string,
  refreshToken: string,
  signal: AbortSignal,
): Promise<{ accessToken: string; refreshToken: string; expiresAtMs: number }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
    signal,
  });
  if (!res.ok) throw new Error(`token endpoint answered ${res.status}`);
  const j = (await res.json()) as { access_token: string; refresh_token: string; expires_in: number };
  return {
    accessToken: j.access_token,
    refreshToken: j.refresh_token,
    expiresAtMs: Date.now() + j.expires_in * 1000,
  };
}

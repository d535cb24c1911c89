/**
 * Issue 15 item 13: one list of what is secret, used by both the redactor and the clear-text rule.
 * Whatever name the redactor masks may not travel over plain http:// to a non-loopback host without
 * `allowInsecure`, and the refusal names the field.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/index.js';
import { REDACTED, redactHeaders, redactUrl } from '../../src/runtime/redact.js';

const REMOTE = 'http://mcp.example.com/mcp';

/** The CONFIG error createRuntime raises for this server, or undefined when it accepts it. */
function refusal(server: {
  url: string;
  headers?: Record<string, string>;
}): { code?: string; issues?: Array<{ path: string; message: string }> } | undefined {
  try {
    const rt = createRuntime({ servers: { s: server } });
    void rt.close();
    return undefined;
  } catch (error) {
    return error as { code?: string; issues?: Array<{ path: string; message: string }> };
  }
}

describe('the clear-text rule covers what the redactor treats as secret', () => {
  it.each([
    ['X-Api-Key', 'servers.s.headers.X-Api-Key'],
    ['X-Auth-Token', 'servers.s.headers.X-Auth-Token'],
    ['Cookie', 'servers.s.headers.Cookie'],
    ['Proxy-Authorization', 'servers.s.headers.Proxy-Authorization'],
    ['X-Session-Id', 'servers.s.headers.X-Session-Id'],
  ])('header %s to http:// on a non-loopback host is CONFIG naming %s', (name, path) => {
    const error = refusal({ url: REMOTE, headers: { [name]: 'value-1234' } });
    expect(error?.code).toBe('CONFIG');
    expect(error?.issues).toEqual([
      { path, message: expect.stringMatching(new RegExp(`header ${name}.*allowInsecure`)) },
    ]);
  });

  it.each(['api_key', 'access_token', 'token', 'key', 'secret'])(
    'query key ?%s= to http:// on a non-loopback host is CONFIG naming the url and the key',
    (key) => {
      const error = refusal({ url: `${REMOTE}?${key}=value-1234` });
      expect(error?.code).toBe('CONFIG');
      expect(error?.issues).toEqual([
        { path: 'servers.s.url', message: expect.stringMatching(new RegExp(`\\?${key}=.*allowInsecure`)) },
      ]);
    },
  );

  it('loopback, https, or a harmless header: accepted', () => {
    expect(refusal({ url: 'http://127.0.0.1:1/mcp', headers: { 'X-Api-Key': 'v' } })).toBeUndefined();
    expect(
      refusal({ url: 'https://mcp.example.com/mcp?api_key=v', headers: { 'X-Api-Key': 'v' } }),
    ).toBeUndefined();
    expect(
      refusal({ url: REMOTE, headers: { 'X-Tenant': 'acme', Accept: 'application/json' } }),
    ).toBeUndefined();
    expect(refusal({ url: `${REMOTE}?page=2` })).toBeUndefined();
  });

  /** A header or query name: the known secret ones in any case, secret-ish words, and plain ones. */
  const names = fc.oneof(
    fc.constantFrom(
      'Authorization',
      'Cookie',
      'X-Api-Key',
      'X-Auth-Token',
      'Proxy-Authorization',
      'api_key',
      'access_token',
      'Accept',
      'X-Tenant',
      'X-Request-Id',
      'page',
    ),
    fc
      .tuple(
        fc.stringMatching(/^[A-Za-z]{0,6}$/),
        fc.constantFrom('', 'token', 'Secret', 'KEY', 'auth', 'cookie', 'session', 'id', 'name'),
        fc.stringMatching(/^[A-Za-z]{0,6}$/),
      )
      .map(([a, b, c]) => `X-${a}${b}${c}`),
  );

  it('property: a header is refused in clear text exactly when the redactor masks it', () => {
    fc.assert(
      fc.property(names, (name) => {
        const masked = redactHeaders({ [name]: 'value-1234' })[name] === REDACTED;
        const refused = refusal({ url: REMOTE, headers: { [name]: 'value-1234' } })?.code === 'CONFIG';
        expect(refused).toBe(masked);
      }),
      { numRuns: 300 },
    );
  });

  it('property: a query key is refused in clear text exactly when the redactor masks it', () => {
    fc.assert(
      fc.property(
        names.filter((n) => /^[A-Za-z0-9_-]+$/.test(n)),
        (key) => {
          const url = `${REMOTE}?${key}=value-1234`;
          const masked = !(redactUrl(url) ?? '').includes('value-1234');
          const refused = refusal({ url })?.code === 'CONFIG';
          expect(refused).toBe(masked);
        },
      ),
      { numRuns: 300 },
    );
  });
});

/**
 * The pieces the conformance run stands on, tested without the suite (which runs from .ci/run:
 * `npm run conformance`): the summary parser, and the SEP-990 provider against a loopback IdP.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseSummary, table } from '../../scripts/conformance.js';
import {
  CrossAppAccessProvider,
  GRANT_JWT_BEARER,
  GRANT_TOKEN_EXCHANGE,
  TOKEN_TYPE_ID_JAG,
  TOKEN_TYPE_ID_TOKEN,
} from '../../src/runtime/auth-cross-app.js';

let idp: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (idp ? idp.close(() => resolve()) : resolve()));
  idp = undefined;
});

/** A loopback IdP token endpoint that records each form it receives and answers with `reply`. */
async function startIdp(
  reply: (form: URLSearchParams) => [number, unknown],
): Promise<{ url: string; forms: URLSearchParams[] }> {
  const forms: URLSearchParams[] = [];
  idp = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      const form = new URLSearchParams(body);
      forms.push(form);
      const [status, json] = reply(form);
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(json));
    });
  });
  await new Promise<void>((resolve) => idp?.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(idp.address() as AddressInfo).port}/token`, forms };
}

function provider(idpTokenEndpoint: string): CrossAppAccessProvider {
  const p = new CrossAppAccessProvider({
    clientId: 'agent',
    clientSecret: 'agent-secret',
    idpClientId: 'agent-at-idp',
    idpTokenEndpoint,
    idToken: () => 'the-id-token',
  });
  p.saveDiscoveryState({
    authorizationServerUrl: 'http://127.0.0.1:9/',
    authorizationServerMetadata: {
      issuer: 'http://127.0.0.1:9',
      authorization_endpoint: 'http://127.0.0.1:9/authorize',
      token_endpoint: 'http://127.0.0.1:9/token',
      response_types_supported: ['code'],
    },
    resourceMetadata: { resource: 'http://127.0.0.1:8/mcp', authorization_servers: ['http://127.0.0.1:9'] },
  });
  return p;
}

describe('CrossAppAccessProvider (SEP-990)', () => {
  it('exchanges the ID token at the IdP (RFC 8693), then asks for a jwt-bearer grant', async () => {
    const { url, forms } = await startIdp(() => [
      200,
      { access_token: 'id-jag', issued_token_type: TOKEN_TYPE_ID_JAG },
    ]);
    const p = provider(url);
    expect(p.redirectUrl).toBeUndefined();
    expect(p.clientInformation()).toEqual({ client_id: 'agent', client_secret: 'agent-secret' });
    const grant = await p.prepareTokenRequest();
    expect(Object.fromEntries(grant)).toEqual({ grant_type: GRANT_JWT_BEARER, assertion: 'id-jag' });
    expect(Object.fromEntries(forms[0] ?? [])).toEqual({
      grant_type: GRANT_TOKEN_EXCHANGE,
      requested_token_type: TOKEN_TYPE_ID_JAG,
      audience: 'http://127.0.0.1:9',
      resource: 'http://127.0.0.1:8/mcp',
      subject_token: 'the-id-token',
      subject_token_type: TOKEN_TYPE_ID_TOKEN,
      client_id: 'agent-at-idp',
    });
  });

  it('fails with AUTH when the IdP refuses, issues something else, or discovery is missing', async () => {
    const { url } = await startIdp((form) =>
      form.get('subject_token') === 'the-id-token' ? [400, { error: 'invalid_grant' }] : [200, {}],
    );
    await expect(provider(url).prepareTokenRequest()).rejects.toMatchObject({ code: 'AUTH', status: 400 });
    const bare = new CrossAppAccessProvider({
      clientId: 'a',
      clientSecret: 's',
      idpClientId: 'i',
      idpTokenEndpoint: url,
      idToken: 't',
    });
    await expect(bare.prepareTokenRequest()).rejects.toMatchObject({ code: 'AUTH' });
    expect(
      () =>
        new CrossAppAccessProvider({
          clientId: '',
          clientSecret: 's',
          idpClientId: 'i',
          idpTokenEndpoint: url,
          idToken: 't',
        }),
    ).toThrow(expect.objectContaining({ code: 'AUTH' }));
  });

  it('refuses a token of the wrong type', async () => {
    const { url } = await startIdp(() => [
      200,
      { access_token: 'x', issued_token_type: 'urn:ietf:params:oauth:token-type:access_token' },
    ]);
    await expect(provider(url).prepareTokenRequest()).rejects.toMatchObject({ code: 'AUTH' });
  });
});

describe('conformance summary', () => {
  const output = [
    'noise',
    '=== SUITE SUMMARY ===',
    '✓ initialize: 1 passed, 0 failed',
    '✗ sse-retry: 2 passed, 0 failed, 1 warnings',
    '✗ auth/x: 0 passed, 2 failed',
    'Total: 3 passed, 2 failed, 1 warnings',
  ].join('\n');

  it('reads each scenario verdict, warnings counting as failures', () => {
    expect(parseSummary(output)).toEqual([
      { scenario: 'initialize', ok: true, passed: 1, failed: 0, warnings: 0 },
      { scenario: 'sse-retry', ok: false, passed: 2, failed: 0, warnings: 1 },
      { scenario: 'auth/x', ok: false, passed: 0, failed: 2, warnings: 0 },
    ]);
    expect(parseSummary('no summary')).toEqual([]);
  });

  it('prints ours beside the SDK with totals', () => {
    const text = table(
      new Map([
        ['ours', parseSummary(output)],
        ['sdk', parseSummary(output).slice(0, 1)],
      ]),
    );
    expect(text).toContain('| initialize | pass (1/1) | pass (1/1) |');
    expect(text).toContain('| sse-retry | FAIL (2/3) | — |');
    expect(text).toContain('| **scenarios passed** | **1 / 3** | **1 / 1** |');
  });
});

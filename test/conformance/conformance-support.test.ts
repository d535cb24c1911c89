/**
 * The pieces the conformance run stands on, tested without the suite (which runs from .ci/run:
 * `npm run conformance`): the parsers of the runner's output, fed captured output of suite
 * 0.2.0-alpha.12 (fixtures/), the table and verdict, and the SEP-990 provider against a loopback IdP.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BEGIN,
  END,
  judge,
  parseList,
  parseRequirements,
  parseSingle,
  parseSummary,
  type Row,
  replaceBlock,
  type ScenarioResult,
  table,
  totalsLine,
} from '../../scripts/conformance-report.js';
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

const fixture = (name: string): string =>
  readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), 'utf8');

describe('conformance runner output (suite 0.2.0-alpha.12, captured)', () => {
  it('lists the 48 client scenarios', () => {
    const names = parseList(fixture('list-client.txt'));
    expect(names).toHaveLength(48);
    expect(names.slice(0, 2)).toEqual(['initialize', 'tools_call']);
    expect(names).toContain('sep-2640-client-verify-frontmatter');
  });

  it('reads a requirement set: the scored client scenarios and why the others are not scored', () => {
    const { scored, notScored } = parseRequirements(fixture('list-requirements-2026-07-28.txt'));
    expect(scored).toHaveLength(32);
    expect(scored).toContain('sep-2322-client-request-state');
    expect(scored).not.toContain('server-stateless'); // a server scenario
    expect([...notScored]).toEqual([
      ['auth/client-credentials-jwt', 'extension'],
      ['auth/client-credentials-basic', 'extension'],
      ['auth/enterprise-managed-authorization', 'extension'],
      ['auth/dpop', 'extension'],
      ['auth/dpop-nonce', 'extension'],
      ['auth/wif-jwt-bearer', 'extension'],
      ['json-schema-2020-12-preservation', 'added-after-release'],
    ]);
  });

  it('reads each verdict of a --requirements run, warnings counting as failures', () => {
    const results = parseSummary(fixture('suite-2026-07-28-v1.txt'));
    expect(results).toHaveLength(39);
    expect(results.find((r) => r.scenario === 'auth/iss-wrong-issuer')).toMatchObject({ ok: false });
    expect(results.find((r) => r.scenario === 'auth/resource-mismatch')).toEqual({
      scenario: 'auth/resource-mismatch',
      ok: true,
      passed: 3,
      failed: 0,
      warnings: 0,
    });
    expect(parseSummary('✓ initialize: 1 passed, 0 failed (no summary heading)')).toEqual([]);
    expect(parseSummary('=== SUITE SUMMARY ===\n✓ s: 0 passed, 0 failed')).toMatchObject([{ ok: false }]);
    expect(
      parseSummary('=== SUITE SUMMARY ===\n✗ sse-retry: 2 passed, 0 failed, 1 warnings\n- x: skipped'),
    ).toEqual([
      { scenario: 'sse-retry', ok: false, passed: 2, failed: 0, warnings: 1 },
      { scenario: 'x', ok: false, passed: 0, failed: 0, warnings: 0, skipped: true },
    ]);
  });

  it('reads a single-scenario run by its checks', () => {
    expect(parseSingle(fixture('single-sse-retry.txt'), 'sse-retry')).toMatchObject({
      scenario: 'sse-retry',
      ok: true,
      failed: 0,
      warnings: 0,
    });
    expect(parseSingle('Passed: 2/3, 1 failed, 0 warnings', 's')).toMatchObject({ ok: false, passed: 2 });
    expect(parseSingle('Passed: 3/3, 0 failed, 1 warnings', 's')).toMatchObject({ ok: false });
    expect(parseSingle("SKIPPED: scenario 's' is not applicable", 's')).toMatchObject({ skipped: true });
    expect(parseSingle('crashed', 's')).toBeUndefined();
    // Every check SKIPPED (the client never exercised the scenario): not a pass.
    expect(parseSingle('Passed: 0/0, 0 failed, 0 warnings', 's')).toMatchObject({ ok: false, passed: 0 });
  });
});

describe('conformance table and verdict', () => {
  const r = (scenario: string, ok: boolean): ScenarioResult => ({
    scenario,
    ok,
    passed: ok ? 2 : 1,
    failed: ok ? 0 : 1,
    warnings: 0,
  });
  const legs = [
    { id: '2026-07-28', title: '2026' },
    { id: 'other', title: 'others' },
  ];
  const rows: Row[] = [
    {
      leg: '2026-07-28',
      scenario: 'tools_call',
      results: { ours: r('tools_call', false), v2: r('tools_call', true) },
    },
    {
      leg: '2026-07-28',
      scenario: 'auth/dpop',
      notScored: 'extension',
      results: { ours: r('auth/dpop', true) },
    },
    { leg: 'other', scenario: 'sep-2640-x', notScored: 'other', results: { ours: r('sep-2640-x', true) } },
  ];

  it('prints each leg with scored and not-scored totals per client', () => {
    const text = table(legs, rows, ['ours', 'v2']);
    expect(text).toContain('| scenario | mcp-actors | bare SDK v2 |');
    expect(text).toContain('| tools_call | **FAIL** (1/2) | pass (2/2) |');
    expect(text).toContain('| auth/dpop *(extension)* | pass (2/2) | — |');
    expect(text).toContain('| **scored** | **0 / 1** | **1 / 1** |');
    expect(text).toContain('| **not scored** | **1 / 1** | **0 / 0** |');
    expect(text).toContain('| **passed** | **1 / 1** | **0 / 0** |');
    expect(totalsLine(legs, rows, ['ours'])).toBe(
      'mcp-actors: 2026-07-28 0 / 1 scored, 1 / 1 not scored; other 1 / 1',
    );
  });

  it('fails an unexplained failure, a stale reason and a reason for a scenario that did not run', () => {
    expect(judge(rows, {})).toEqual({ unexpected: ['2026-07-28 tools_call'], stale: [], unknown: [] });
    expect(judge(rows, { '2026-07-28': { tools_call: 'runner defect: …' } }).unexpected).toEqual([]);
    expect(
      judge(rows, { '2026-07-28': { tools_call: 'x', 'auth/dpop': 'y' }, other: { gone: 'z' } }),
    ).toEqual({
      unexpected: [],
      stale: ['2026-07-28 auth/dpop'],
      unknown: ['other gone'],
    });
  });

  it('replaces only the generated block of the docs page', () => {
    const doc = `intro\n${BEGIN}\nold table\n${END}\noutro\n`;
    expect(replaceBlock(doc, 'new table')).toBe(`intro\n${BEGIN}\n\nnew table\n\n${END}\noutro\n`);
    expect(() => replaceBlock('no markers', 'x')).toThrow(/markers/);
  });
});

/**
 * TLS for wss:// and https:// against real servers on 127.0.0.1, with certificates made by openssl at
 * test time: verified with the right CA, refused without it (AUTH, no retry loop), accepted with
 * `rejectUnauthorized: false` plus one loud warning, and mutual TLS with a client certificate.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CLIENT_CERT_REFUSED, tlsFailureOf, watchClientCertificate } from '../../src/actors/tls.js';
import { serveWebSocket, type WebSocketServeHandle } from '../../src/actors/websocket-server-transport.js';
import { createDemoMcpServer } from '../../src/demo/demo-server.js';
import { createRuntime, type McpRuntime, type RuntimeConfig } from '../../src/index.js';

interface Pki {
  ca: string;
  serverKey: string;
  serverCert: string;
  clientKey: string;
  clientCert: string;
  /** A second CA that signed nothing we serve. */
  otherCa: string;
  /** A client certificate signed by the other CA (the server does not trust it). */
  foreignClientKey: string;
  foreignClientCert: string;
  /** The client key, encrypted with the passphrase `right-passphrase`. */
  clientKeyEncrypted: string;
}

function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-actors-tls-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    run(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '2',
      '-subj',
      '/CN=mcp-actors test CA',
    );
    run(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'other.key',
      '-out',
      'other.crt',
      '-days',
      '2',
      '-subj',
      '/CN=other CA',
    );
    const leaf = (name: string, ext: string, ca = 'ca') => {
      run('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      writeFileSync(join(dir, `${name}.ext`), ext);
      run(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${ca}.crt`,
        '-CAkey',
        `${ca}.key`,
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
      );
    };
    leaf('server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
    leaf('client', 'extendedKeyUsage=clientAuth\n');
    leaf('foreign', 'extendedKeyUsage=clientAuth\n', 'other');
    run(
      'pkey',
      '-in',
      'client.key',
      '-aes256',
      '-passout',
      'pass:right-passphrase',
      '-out',
      'client-enc.key',
    );
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    return {
      ca: read('ca.crt'),
      serverKey: read('server.key'),
      serverCert: read('server.crt'),
      clientKey: read('client.key'),
      clientCert: read('client.crt'),
      otherCa: read('other.crt'),
      foreignClientKey: read('foreign.key'),
      foreignClientCert: read('foreign.crt'),
      clientKeyEncrypted: read('client-enc.key'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface TlsEndpoint {
  wssUrl: string;
  httpsUrl: string;
  /** Client certificate subjects seen on accepted TLS connections. */
  clientSubjects: string[];
  close(): Promise<void>;
}

/** One https server: Streamable HTTP (stateless) at /mcp and WebSocket at /ws. */
async function serveTls(pki: Pki, mutual: boolean): Promise<TlsEndpoint> {
  const clientSubjects: string[] = [];
  const server: Server = createServer(
    {
      key: pki.serverKey,
      cert: pki.serverCert,
      ...(mutual ? { requestCert: true, rejectUnauthorized: true, ca: pki.ca } : {}),
    },
    (req, res) => {
      void (async () => {
        const mcp = createDemoMcpServer();
        const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
        res.on('close', () => {
          void transport.close();
          void mcp.close();
        });
        await mcp.connect(transport);
        await transport.handleRequest(req, res);
      })().catch(() => res.destroy());
    },
  );
  server.on('secureConnection', (socket) => {
    const subject = socket.getPeerCertificate()?.subject?.CN;
    if (subject) clientSubjects.push(String(subject));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const ws: WebSocketServeHandle = await serveWebSocket({
    server,
    path: '/ws',
    createServer: () => createDemoMcpServer(),
  });
  const port = (server.address() as AddressInfo).port;
  return {
    wssUrl: `wss://127.0.0.1:${port}/ws`,
    httpsUrl: `https://127.0.0.1:${port}/mcp`,
    clientSubjects,
    async close() {
      await ws.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

const fast = {
  reconnect: { initialDelayMs: 20, factor: 2, maxDelayMs: 200, maxAttempts: 5, jitter: false },
  heartbeat: { intervalMs: 0 },
  timeoutMs: 5_000,
  connectTimeoutMs: 3_000,
  initializeTimeoutMs: 3_000,
};

function textOf(result: { content?: Array<{ type: string; text?: string }> }): string | undefined {
  return result.content?.find((c) => c.type === 'text')?.text;
}

const kinds = ['wss', 'https'] as const;

describe('TLS (server authentication)', () => {
  let pki: Pki;
  let endpoint: TlsEndpoint;
  let rt: McpRuntime | undefined;
  const urlOf = (kind: (typeof kinds)[number]) => (kind === 'wss' ? endpoint.wssUrl : endpoint.httpsUrl);

  beforeAll(async () => {
    pki = makePki();
    endpoint = await serveTls(pki, false);
  });
  afterAll(async () => {
    await endpoint.close();
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await rt?.close();
    rt = undefined;
  });

  for (const kind of kinds) {
    it(`${kind}: the server's certificate is verified against tls.ca`, async () => {
      rt = createRuntime({ servers: { s: { url: urlOf(kind), tls: { ca: pki.ca } } }, defaults: fast });
      expect(textOf(await rt.callTool('s', 'echo', { text: `over ${kind}` }))).toBe(`over ${kind}`);
    });

    it(`${kind}: without the right CA the connection is refused with AUTH naming TLS, and not retried`, async () => {
      for (const tls of [undefined, { ca: pki.otherCa }]) {
        const server: RuntimeConfig['servers'][string] = { url: urlOf(kind), ...(tls ? { tls } : {}) };
        rt = createRuntime({ servers: { s: server }, defaults: fast });
        const states: string[] = [];
        rt.on('state', (e) => states.push(e.to));
        const error = await rt.start().catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'AUTH', server: 's' });
        expect((error as Error).message).toMatch(/TLS certificate of the server was rejected/);
        expect((error as Error).message).toMatch(
          /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT/,
        );
        // A certificate that failed verification does not get better by retrying: one attempt, then failed.
        expect(states).not.toContain('reconnecting');
        expect(rt.snapshot().servers.s!.state).toBe('failed');
        await expect(rt.callTool('s', 'echo', { text: 'x' })).rejects.toMatchObject({ code: 'AUTH' });
        await rt.close();
      }
    });

    it(`${kind}: rejectUnauthorized: false connects and warns loudly, once`, async () => {
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
      rt = createRuntime({
        servers: { s: { url: urlOf(kind), tls: { rejectUnauthorized: false } } },
        defaults: fast,
      });
      const warnings: Array<{ code: string; message: string; server: string }> = [];
      rt.on('warning', (w) => warnings.push(w));
      await rt.start();
      expect(textOf(await rt.callTool('s', 'echo', { text: 'unverified' }))).toBe('unverified');
      expect(textOf(await rt.callTool('s', 'echo', { text: 'again' }))).toBe('again');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ code: 'TLS_VERIFY_DISABLED', server: 's' });
      expect(warnings[0]!.message).toMatch(/VERIFICATION IS DISABLED/);
      const tlsWarnings = warn.mock.calls.filter((c) => String(c[0]).includes('TLS_VERIFY_DISABLED'));
      expect(tlsWarnings).toHaveLength(1);
    });
  }

  it('a verified server needs no warning', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    rt = createRuntime({ servers: { s: { url: endpoint.wssUrl, tls: { ca: pki.ca } } }, defaults: fast });
    const warnings: unknown[] = [];
    rt.on('warning', (w) => warnings.push(w));
    await rt.start();
    expect(warnings).toEqual([]);
    expect(warn).not.toHaveBeenCalled();
  });

  it('a bad tls field is a CONFIG error naming it', () => {
    expect(() =>
      createRuntime({
        servers: { s: { url: endpoint.wssUrl, tls: { ca: pki.ca, verify: false } as never } },
      }),
    ).toThrow(expect.objectContaining({ code: 'CONFIG', message: expect.stringMatching(/servers\.s\.tls/) }));
  });
});

describe('mutual TLS (client certificate)', () => {
  let pki: Pki;
  let endpoint: TlsEndpoint;
  let rt: McpRuntime | undefined;

  beforeAll(async () => {
    pki = makePki();
    endpoint = await serveTls(pki, true);
  });
  afterAll(async () => {
    await endpoint.close();
  });
  afterEach(async () => {
    await rt?.close();
    rt = undefined;
  });

  for (const kind of kinds) {
    const urlOf = () => (kind === 'wss' ? endpoint.wssUrl : endpoint.httpsUrl);

    it(`${kind}: the client certificate is presented and accepted`, async () => {
      const before = endpoint.clientSubjects.length;
      rt = createRuntime({
        servers: { s: { url: urlOf(), tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } } },
        defaults: fast,
      });
      expect(textOf(await rt.callTool('s', 'echo', { text: 'mutual' }))).toBe('mutual');
      expect(endpoint.clientSubjects.slice(before)).toContain('client');
    });

    const refusals = () => ({
      'no client certificate': { ca: pki.ca },
      'a client certificate from a CA the server does not trust': {
        ca: pki.ca,
        cert: pki.foreignClientCert,
        key: pki.foreignClientKey,
      },
      'a wrong passphrase for the client key': {
        ca: pki.ca,
        cert: pki.clientCert,
        key: pki.clientKeyEncrypted,
        passphrase: 'wrong-passphrase',
      },
    });
    const names = [
      'no client certificate',
      'a client certificate from a CA the server does not trust',
      'a wrong passphrase for the client key',
    ] as const;
    // The TLS cause, named: TLS 1.3 servers alert a missing certificate after the handshake; Node's
    // servers drop an untrusted one without an alert (tls.ts watches for that hang-up).
    const causes: Record<(typeof names)[number], RegExp> = {
      'no client certificate': /TLS handshake refused.*ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED/,
      'a client certificate from a CA the server does not trust':
        /TLS client certificate refused by the server \(MCP_TLS_CLIENT_CERT_REFUSED/,
      'a wrong passphrase for the client key':
        /TLS client key \(tls.key\) could not be decrypted.*passphrase/,
    };
    for (const name of names) {
      it(`${kind}: ${name} is AUTH at once, not TIMEOUT, and not retried`, async () => {
        rt = createRuntime({ servers: { s: { url: urlOf(), tls: refusals()[name] } }, defaults: fast });
        const states: string[] = [];
        rt.on('state', (e) => states.push(e.to));
        const started = performance.now();
        const error = await rt.start().catch((e: unknown) => e);
        expect({
          code: (error as { code?: string }).code,
          message: (error as Error).message,
        }).toMatchObject({ code: 'AUTH', message: expect.stringMatching(causes[name]) });
        expect(performance.now() - started).toBeLessThan(fast.connectTimeoutMs);
        // The platform's TLS error stays reachable through `cause`.
        const codes: unknown[] = [];
        for (let e: unknown = error, i = 0; e && i < 6; e = (e as { cause?: unknown }).cause, i++)
          codes.push((e as { code?: unknown }).code);
        expect(
          codes.some((c) => /^(ERR_SSL|ERR_OSSL|MCP_TLS)/.test(String(c))),
          String(codes),
        ).toBe(true);
        expect(states).not.toContain('reconnecting');
        await expect(rt.callTool('s', 'echo', { text: 'x' })).rejects.toMatchObject({ code: 'AUTH' });
        expect(rt.snapshot().servers.s!.state).not.toBe('ready');
        // The passphrase is a secret: never in the error.
        expect(JSON.stringify({ m: (error as Error).message, s: rt.snapshot() })).not.toContain(
          'wrong-passphrase',
        );
      });
    }
  }
});

describe('a server hanging up right after the TLS handshake (watchClientCertificate)', () => {
  let pki: Pki;
  beforeAll(() => {
    pki = makePki();
  });

  /** Connects a watched client to a raw TLS server that treats each connection with `serve`. */
  async function hangUp(
    requestCert: boolean,
    serve: (socket: TLSSocket) => void,
  ): Promise<{ errors: Array<Error & { code?: string }>; data: string }> {
    const server = createTlsServer(
      { key: pki.serverKey, cert: pki.serverCert, requestCert, rejectUnauthorized: false, ca: pki.ca },
      serve,
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const socket = tlsConnect({
        host: '127.0.0.1',
        port: (server.address() as AddressInfo).port,
        ca: pki.ca,
        cert: pki.clientCert,
        key: pki.clientKey,
      });
      socket.once('secureConnect', () => watchClientCertificate(socket));
      const errors: Array<Error & { code?: string }> = [];
      let data = '';
      socket.on('error', (e) => errors.push(e));
      socket.on('data', (chunk: Buffer) => {
        data += chunk.toString();
      });
      await new Promise((resolve) => socket.once('close', resolve));
      return { errors, data };
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }

  it('asked for a client certificate, then hung up without a byte: the socket fails with the refusal (AUTH)', async () => {
    const { errors } = await hangUp(true, (socket) => socket.end());
    expect(errors.map((e) => e.code)).toEqual([CLIENT_CERT_REFUSED]);
    const auth = tlsFailureOf(new TypeError('fetch failed', { cause: errors[0] }), 's');
    expect(auth).toMatchObject({ code: 'AUTH', server: 's' });
    expect(auth!.message).toMatch(/TLS client certificate refused by the server/);
    // The original error stays reachable as the cause.
    expect((auth!.cause as Error).cause).toBe(errors[0]);
  });

  it('a server that answered once and then hangs up (an idle keep-alive socket) is no refusal', async () => {
    const { errors, data } = await hangUp(true, (socket) => socket.end('HTTP/1.1 200 OK\r\n\r\n'));
    expect(data).toMatch(/^HTTP\/1.1 200/);
    expect(errors).toEqual([]);
  });

  it('a server that never asked for a client certificate and hangs up is no refusal (an outage may heal)', async () => {
    const { errors } = await hangUp(false, (socket) => socket.end());
    expect(errors).toEqual([]);
  });
});

/**
 * The inspector (issue 15, item 11): a foreign `Host` or `Origin` (DNS rebinding) is refused with
 * 403; with a token every request must present it (Bearer, `?token=`, then the cookie); beyond
 * loopback a token is required; a page that stops reading `/events` is dropped once its backlog
 * passes the bound, while a page that reads keeps streaming.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, type McpRuntime } from '../../src/index.js';
import type { InspectorHandle } from '../../src/runtime/inspector/server.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One GET with raw headers (node:http lets the test set `Host` freely). */
function get(url: string, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        // /events never ends: the first frame is enough.
        if (path.startsWith('/events')) res.destroy();
      });
      res.on('close', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('inspector access', () => {
  let rt: McpRuntime | undefined;
  let inspector: InspectorHandle | undefined;
  afterEach(async () => {
    await inspector?.close();
    await rt?.close();
    inspector = undefined;
    rt = undefined;
  });

  const runtime = (servers = 1) =>
    createRuntime({
      servers: Object.fromEntries(
        Array.from({ length: servers }, (_, i) => [`s${i}`, { url: `http://127.0.0.1:9/mcp-${i}` }]),
      ),
    });

  it('without a token: loopback Host and Origin only; a foreign one gets 403', async () => {
    rt = runtime();
    inspector = await rt.inspect();
    const port = new URL(inspector.url).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
      expect((await get(inspector.url, '/snapshot.json', { host })).status).toBe(200);
    }
    expect(
      (await get(inspector.url, '/', { host: `localhost:${port}`, origin: `http://localhost:${port}` }))
        .status,
    ).toBe(200);
    for (const headers of <Array<Record<string, string>>>[
      { host: `evil.example:${port}` },
      { host: 'evil.example' },
      { host: `127.0.0.1:${Number(port) + 1}` },
      { host: `127.0.0.1.evil.example:${port}` },
      { host: `127.0.0.1:${port}`, origin: 'http://evil.example' },
      { host: `127.0.0.1:${port}`, origin: 'null' },
    ]) {
      for (const path of ['/', '/snapshot.json', '/events', '/app.js']) {
        const reply = await get(inspector.url, path, headers);
        expect({ path, headers, status: reply.status }).toEqual({ path, headers, status: 403 });
        expect(reply.body).not.toContain('"servers"');
      }
    }
  });

  it('with a token: Bearer, ?token= (then its cookie) pass; nothing else does, whatever the Host', async () => {
    rt = runtime();
    const token = 'inspector-token-0123456789';
    inspector = await rt.inspect({ token });
    const port = new URL(inspector.url).port;
    const host = `127.0.0.1:${port}`;
    const none = await get(inspector.url, '/snapshot.json', { host });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect((await get(inspector.url, '/snapshot.json', { host, authorization: 'Bearer wrong' })).status).toBe(
      401,
    );
    expect(
      (await get(inspector.url, '/snapshot.json', { host, authorization: `Bearer ${token}` })).status,
    ).toBe(200);
    const page = await get(inspector.url, `/?token=${token}`, { host });
    expect(page.status).toBe(200);
    const cookie = String(page.headers['set-cookie']).split(';')[0]!;
    expect(String(page.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/);
    expect((await get(inspector.url, '/events', { host, cookie })).status).toBe(200);
    // A proxy or a tunnel in front: another Host, with the token, is served; without, refused.
    expect(
      (
        await get(inspector.url, '/snapshot.json', {
          host: 'inspector.example',
          authorization: `Bearer ${token}`,
        })
      ).status,
    ).toBe(200);
    expect((await get(inspector.url, '/snapshot.json', { host: 'inspector.example' })).status).toBe(403);
  });

  it('a non-loopback address without a token is a CONFIG error naming inspect.token', async () => {
    rt = runtime();
    await expect(rt.inspect({ host: '0.0.0.0' })).rejects.toMatchObject({
      code: 'CONFIG',
      issues: [{ path: 'inspect.token' }],
    });
  });

  it('a page that stops reading /events is dropped; a page that reads keeps streaming', async () => {
    // Many servers make each figures frame large, pushed every 2 ms; a small bound makes the stuck
    // page's backlog pass it soon after the socket buffers between them are full.
    rt = runtime(100);
    inspector = await rt.inspect({ figuresIntervalMs: 2, maxClientBufferBytes: 256 << 10 });
    const { port } = new URL(inspector.url);
    const open = (onData: (bytes: number) => void) =>
      new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/events' }, (res) => {
          res.on('data', (chunk: Buffer) => onData(chunk.length));
          resolve(res);
        });
        req.on('error', reject);
        req.end();
      });
    let stuckBytes = 0;
    const stuck = await open((n) => {
      stuckBytes += n;
    });
    stuck.pause();
    const stuckEnded = new Promise<void>((resolve) => stuck.once('close', () => resolve()));
    let readBytes = 0;
    const healthy = await open((n) => {
      readBytes += n;
    });
    // Condition, not throughput: wait (bounded by the test's timeout) until the inspector has
    // dropped one page, checking each time the reading page gets data.
    await new Promise<void>((resolve) => {
      const check = () => {
        if (inspector?.pages === 1) {
          healthy.off('data', check);
          resolve();
        }
      };
      healthy.on('data', check);
    });
    // The reading page is the one kept: it still streams after the drop.
    const readAtDrop = readBytes;
    // The drop came once the stuck page's backlog passed the bound (256 KiB) beyond what the
    // loopback socket buffers hold (a few MiB): the reading page had read about as much by then.
    expect(readAtDrop).toBeLessThan(64 << 20);
    await new Promise<void>((resolve) => healthy.once('data', () => resolve()));
    expect(readBytes).toBeGreaterThan(readAtDrop);
    expect(healthy.destroyed).toBe(false);
    // The stuck page was cut off: once it reads again it gets its backlog, then the end.
    stuck.resume();
    await stuckEnded;
    expect(stuckBytes).toBeLessThan(readBytes);
    healthy.destroy();
  }, 60_000);
});

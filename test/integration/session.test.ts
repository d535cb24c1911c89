import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, type McpRuntime } from '../../src/index.js';
import { type SessionHttpServer, startSessionHttpServer } from '../helpers/session-http-server.js';

const fast = {
  reconnect: { initialDelayMs: 20, factor: 2, maxDelayMs: 200, maxAttempts: 50, jitter: false },
  heartbeat: { intervalMs: 0 },
  timeoutMs: 8_000,
  retry: { maxAttempts: 1 },
  // Every call in flight at once (the default window is 16).
  queue: { concurrency: 64 },
};

function textOf(result: { content?: Array<{ type: string; text?: string }> }): string | undefined {
  return result.content?.find((c) => c.type === 'text')?.text;
}

async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('session: HTTP 404 on a known session id', () => {
  let http: SessionHttpServer | undefined;
  let rt: McpRuntime | undefined;
  afterEach(async () => {
    await rt?.close();
    await http?.close();
    rt = undefined;
    http = undefined;
  });

  it('20 waiting calls → exactly one re-initialize, subscriptions restored, every safe call succeeds', async () => {
    http = await startSessionHttpServer();
    rt = createRuntime({ servers: { s: { url: http.url } }, defaults: fast });
    const sessions: Array<{ generation: number; reason: string; subscriptions: string[] }> = [];
    rt.on('session', (e) => sessions.push(e));
    await rt.start();
    await rt.listTools('s'); // annotations: echo is read-only, counter is not
    await rt.subscribe('s', 'demo://note');
    await rt.readResource('s', 'demo://greeting');
    expect(rt.cache.has('s', 'resource:demo://greeting')).toBe(true);
    expect(http.initializeCount).toBe(1);
    expect(http.subscribes).toEqual(['demo://note']);

    http.hold();
    const safe = Array.from({ length: 20 }, (_, i) => rt!.callTool('s', 'echo', { text: `call ${i}` }));
    const unsafe = rt.callTool('s', 'counter').then(
      () => 'ran',
      (e: { code: string }) => e.code,
    );
    await until(() => http!.held >= 21, '21 parked requests');
    await http.forgetSessions();
    http.release();

    const results = await Promise.all(safe);
    expect(results.map(textOf)).toEqual(Array.from({ length: 20 }, (_, i) => `call ${i}`));
    // The non-idempotent call is not replayed: the application decides.
    expect(await unsafe).toBe('CONNECTION_LOST');
    expect(http.notFoundCount).toBeGreaterThanOrEqual(1);
    expect(http.initializeCount).toBe(2);
    await until(() => sessions.length === 1, 'the restored session');
    expect(sessions[0]).toMatchObject({ generation: 2, reason: 'expired', subscriptions: ['demo://note'] });
    expect(http.subscribes).toEqual(['demo://note', 'demo://note']);
    // The new session's cache starts empty.
    expect(rt.cache.has('s', 'resource:demo://greeting')).toBe(false);
    const snap = rt.snapshot().sessions.s!;
    expect(snap).toMatchObject({
      state: 'active',
      generation: 2,
      reinitCount: 1,
      subscriptions: ['demo://note'],
    });
    // And the restored subscription works: a change arrives as resourceUpdated.
    const updated = new Promise<string | undefined>((resolve) =>
      rt!.once('resourceUpdated', (e) => resolve((e.contents?.contents[0] as { text?: string })?.text)),
    );
    await rt.callTool('s', 'set-note', { text: 'after 404' });
    expect(await updated).toBe('after 404');
    expect(http.initializeCount).toBe(2);
  });

  it('a 404 on a session that was already replaced does not re-initialise again', async () => {
    http = await startSessionHttpServer();
    rt = createRuntime({ servers: { s: { url: http.url } }, defaults: fast });
    await rt.start();
    await rt.listTools('s');
    for (let round = 1; round <= 3; round++) {
      http.hold();
      const calls = Array.from({ length: 5 }, () => rt!.callTool('s', 'echo', { text: String(round) }));
      await until(() => http!.held >= 5, 'parked requests');
      await http.forgetSessions();
      http.release();
      expect((await Promise.all(calls)).map(textOf)).toEqual(Array(5).fill(String(round)));
      expect(http.initializeCount).toBe(1 + round);
    }
  });

  it('a plain reconnect (transport lost) re-subscribes and clears the cache too', async () => {
    http = await startSessionHttpServer();
    rt = createRuntime({ servers: { s: { url: http.url } }, defaults: fast });
    await rt.start();
    await rt.subscribe('s', 'demo://note');
    await rt.readResource('s', 'demo://note');
    const restored = new Promise<{ reason: string }>((resolve) => rt!.once('session', resolve));
    // Drop the transport under the runtime, as a network failure would.
    const conn = (
      rt as unknown as { servers: Map<string, { existingConnection: { actor: { send(e: unknown): void } } }> }
    ).servers.get('s')!.existingConnection;
    conn.actor.send({ type: 'TRANSPORT_CLOSED', error: { code: 'CONNECTION_LOST', message: 'test' } });
    expect((await restored).reason).toBe('reconnect');
    expect(http.subscribes).toEqual(['demo://note', 'demo://note']);
    expect(rt.cache.stats('s').size).toBe(0);
  });
});

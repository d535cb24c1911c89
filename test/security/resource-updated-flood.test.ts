/**
 * Unsolicited `notifications/resources/updated` (issue 15, item 6). A hostile server floods 2,000
 * update notifications for random URIs, plus 200 for a URI the application subscribed to and 200 for
 * one it holds in its cache, and never answers the re-reads. Only the subscribed and the cached URI
 * are re-read, once each; the application's own calls still succeed, nothing is QUEUE_FULL and the
 * breaker stays closed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, type McpRuntime } from '../../src/index.js';
import { type HostileServer, serveHostile } from '../property/hostile-server.js';

const FLOOD = 2_000;

describe('resources/updated from a hostile server', () => {
  let srv: HostileServer | undefined;
  let rt: McpRuntime | undefined;
  afterEach(async () => {
    await rt?.close();
    await srv?.close();
    rt = undefined;
    srv = undefined;
  });

  it('only subscribed or cached URIs are re-read: deduplicated, beside the queue and the breaker', async () => {
    const reads: string[] = [];
    srv = await serveHostile({
      capabilities: { tools: {}, resources: { subscribe: true } },
      onRequest: (s) => {
        const { method, params } = s.request as { method: string; params: { uri?: string } };
        if (method === 'resources/subscribe')
          return s.sendJson({ jsonrpc: '2.0', id: s.request.id, result: {} });
        if (method === 'resources/read') {
          reads.push(params.uri!);
          // The first read of the cached URI is answered; every re-read is left hanging.
          if (params.uri === 'res://cached' && reads.length === 1) {
            s.sendJson({
              jsonrpc: '2.0',
              id: s.request.id,
              result: { contents: [{ uri: params.uri, text: 'v1' }] },
            });
          }
          return;
        }
        if (method === 'tools/call' && (params as { name?: string }).name === 'flood') {
          const note = (uri: string) =>
            s.sendJson({ jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri } });
          for (let i = 0; i < FLOOD; i++) {
            note(`res://random/${i}-${Math.random().toString(36).slice(2)}`);
            if (i % 10 === 0) note('res://watched');
            if (i % 10 === 5) note('res://cached');
          }
        }
        s.reply('ok');
      },
    });
    rt = createRuntime({
      servers: { s: { url: srv.url, protocol: '2025-11-25' } },
      defaults: {
        timeoutMs: 2_000,
        heartbeat: { intervalMs: 0 },
        queue: { concurrency: 4, maxQueued: 50 },
        breaker: { failureThreshold: 3, resetTimeoutMs: 60_000, halfOpenProbes: 1 },
      },
    });
    const errors: string[] = [];
    const breakerMoves: string[] = [];
    rt.on('error', (e) => errors.push(e.error.code));
    rt.on('breaker', (e) => breakerMoves.push(e.to));

    expect(await rt.readResource('s', 'res://cached')).toMatchObject({ contents: [{ text: 'v1' }] });
    await rt.subscribe('s', 'res://watched');
    await rt.callTool('s', 'flood');
    // The application's own calls, right behind the flood (notifications are handled in order).
    const own = await Promise.allSettled(Array.from({ length: 40 }, () => rt!.callTool('s', 'echo')));
    expect(own.filter((r) => r.status === 'rejected')).toEqual([]);

    // One re-read per wanted URI, none for the rest.
    expect(reads.filter((u) => u.startsWith('res://random/'))).toEqual([]);
    expect(reads.filter((u) => u === 'res://watched')).toHaveLength(1);
    expect(reads.filter((u) => u === 'res://cached')).toHaveLength(2);
    const snap = rt.snapshot().servers.s as {
      queue: { queued: number; inFlight: number };
      breakers: Record<string, { state: string }>;
    };
    expect(snap.queue.queued).toBe(0);
    expect(Object.values(snap.breakers).map((b) => b.state)).not.toContain('open');
    expect(breakerMoves).toEqual([]);
    expect(errors).not.toContain('QUEUE_FULL');
  }, 20_000);
});

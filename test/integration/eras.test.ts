/**
 * Both protocol eras through the runtime, against the demo server (SDK v2) serving both eras, only
 * 2026-07-28, or only 2025-11-25, over WebSocket and Streamable HTTP: negotiation, the cached
 * verdict, permanent refusals, input rounds (MRTR) through the configured handlers, subscriptions
 * (`subscriptions/listen` on 2026, `resources/subscribe` on 2025), persist/restore of the verdict.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { DEMO_NOTE_URI } from '../../src/demo/demo-extras.js';
import { type DemoServerHandle, startDemoServer } from '../../src/demo/demo-server.js';
import { createRuntime, type McpRuntime, type RuntimeConfig } from '../../src/index.js';

const fast = {
  reconnect: { initialDelayMs: 20, factor: 2, maxDelayMs: 200, maxAttempts: 20, jitter: false },
  heartbeat: { intervalMs: 0 },
  timeoutMs: 8_000,
};

function textOf(result: { content?: Array<{ type: string; text?: string }> }): string | undefined {
  return result.content?.find((c) => c.type === 'text')?.text;
}

type Eras = 'both' | '2026-07-28' | '2025-11-25';
const servers = new Map<Eras, DemoServerHandle>();

beforeAll(async () => {
  for (const eras of ['both', '2026-07-28', '2025-11-25'] as const) {
    servers.set(eras, await startDemoServer({ eras, extras: true }));
  }
});

afterAll(async () => {
  await Promise.all([...servers.values()].map((s) => s.close()));
});

function urlOf(eras: Eras, transport: 'websocket' | 'streamable-http'): string {
  const s = servers.get(eras)!;
  return transport === 'websocket' ? s.wsUrl : s.httpUrl;
}

async function withRuntime<T>(config: RuntimeConfig, run: (rt: McpRuntime) => Promise<T>): Promise<T> {
  const rt = createRuntime(config);
  try {
    return await run(rt);
  } finally {
    await rt.close();
  }
}

describe.each(['websocket', 'streamable-http'] as const)('protocol eras over %s', (transport) => {
  it('auto speaks 2026-07-28 to a server of both eras, and says so in snapshot and health', async () => {
    await withRuntime({ servers: { s: { url: urlOf('both', transport) } }, defaults: fast }, async (rt) => {
      await rt.start();
      expect(textOf(await rt.callTool('s', 'echo', { text: 'hi' }))).toBe('hi');
      const snap = rt.snapshot().servers.s as { protocol: unknown; session: { era: string } };
      expect(snap.protocol).toEqual({ preference: 'auto', era: 'modern', version: '2026-07-28' });
      expect(snap.session.era).toBe('modern');
      expect(rt.health('s').protocol).toEqual({ preference: 'auto', era: 'modern', version: '2026-07-28' });
      // No session to keep on a stateless server.
      expect(
        (rt.snapshot().servers.s as { session: { sessionId?: string } }).session.sessionId,
      ).toBeUndefined();
    });
  });

  it('auto falls back to initialize for a 2025-only server', async () => {
    await withRuntime(
      { servers: { s: { url: urlOf('2025-11-25', transport) } }, defaults: fast },
      async (rt) => {
        await rt.start();
        expect(textOf(await rt.callTool('s', 'echo', { text: 'old' }))).toBe('old');
        expect(rt.health('s').protocol).toMatchObject({ era: 'legacy', version: '2025-11-25' });
      },
    );
  });

  it('a pinned era the server refuses fails at once with PROTOCOL, without a reconnect loop', async () => {
    for (const [eras, protocol] of [
      ['2026-07-28', '2025-11-25'],
      ['2025-11-25', '2026-07-28'],
    ] as const) {
      await withRuntime(
        { servers: { s: { url: urlOf(eras, transport), protocol } }, defaults: fast },
        async (rt) => {
          const states: string[] = [];
          rt.on('state', (e) => states.push(e.to));
          const started = performance.now();
          const error = await rt.start().catch((e: unknown) => e);
          expect(error, `${protocol} against a ${eras} server`).toMatchObject({
            code: 'PROTOCOL',
            server: 's',
          });
          expect(performance.now() - started).toBeLessThan(2_000);
          expect(states.filter((s) => s === 'reconnecting')).toEqual([]);
          await expect(rt.callTool('s', 'echo', { text: 'x' })).rejects.toMatchObject({ code: 'PROTOCOL' });
        },
      );
    }
  });

  it('input rounds (2026) and elicitation requests (2025) are answered by the same handler', async () => {
    for (const eras of ['2026-07-28', '2025-11-25'] as const) {
      const asked: string[] = [];
      await withRuntime(
        {
          servers: { s: { url: urlOf(eras, transport) } },
          defaults: fast,
          handlers: {
            elicitation: (params) => {
              asked.push(params.message);
              return { action: 'accept', content: { answer: `a${asked.length}` } };
            },
          },
        },
        async (rt) => {
          const rounds: number[] = [];
          rt.on('input', (e) => rounds.push(e.round));
          const result = await rt.callTool('s', 'ask', { questions: 3 });
          expect(textOf(result), eras).toBe('answers: a1, a2, a3');
          expect(asked).toEqual(['Question 1 of 3?', 'Question 2 of 3?', 'Question 3 of 3?']);
          expect(rounds).toEqual([1, 2, 3]);
        },
      );
    }
  });

  it('a server that asks for more rounds than maxInputRounds gets PROTOCOL (2026)', async () => {
    await withRuntime(
      {
        servers: { s: { url: urlOf('2026-07-28', transport), maxInputRounds: 2 } },
        defaults: fast,
        handlers: { elicitation: () => ({ action: 'accept', content: { answer: 'x' } }) },
      },
      async (rt) => {
        const error = await rt.callTool('s', 'ask', { questions: 5 }).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'PROTOCOL', server: 's' });
        expect((error as Error).message).toMatch(/round/i);
      },
    );
  });

  it('watch() gets updates on both eras (subscriptions/listen on 2026, resources/subscribe on 2025)', async () => {
    for (const eras of ['2026-07-28', '2025-11-25'] as const) {
      await withRuntime({ servers: { s: { url: urlOf(eras, transport) } }, defaults: fast }, async (rt) => {
        const abort = new AbortController();
        const seen: unknown[] = [];
        const watching = (async () => {
          for await (const r of rt.watch('s', DEMO_NOTE_URI, { signal: abort.signal })) {
            seen.push((r.contents[0] as { text?: string }).text);
            if (seen.includes(`${eras}-${transport}`)) break;
          }
        })();
        // The subscription is in place once the first read came (watch yields the current value).
        for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
        await rt.callTool('s', 'set-note', { text: `${eras}-${transport}` });
        await Promise.race([
          watching,
          new Promise((_, reject) => setTimeout(() => reject(new Error(`no update on ${eras}`)), 5_000)),
        ]);
        abort.abort();
        expect(seen).toContain(`${eras}-${transport}`);
      });
    }
  });
});

describe('the era verdict', () => {
  it('is kept by persist() and adopted on restore without a probe', async () => {
    const config: RuntimeConfig = { servers: { s: { url: urlOf('both', 'websocket') } }, defaults: fast };
    const saved = await withRuntime(config, async (rt) => {
      await rt.start();
      return rt.persist();
    });
    expect(saved.servers.s?.era).toMatchObject({ era: 'modern', protocolVersion: '2026-07-28' });
    const rt = createRuntime(config, { restoreFrom: JSON.stringify(saved) });
    const states: string[] = [];
    rt.on('state', (e) => states.push(`${e.actor}:${e.to}`));
    try {
      await rt.start();
      expect(textOf(await rt.callTool('s', 'echo', { text: 'again' }))).toBe('again');
      expect(rt.health('s').protocol.era).toBe('modern');
      const chart = rt.snapshot().servers.s as { session: { era: string } };
      expect(chart.session.era).toBe('modern');
      // The restored verdict is adopted (no server/discover round trip): the inspector shows it.
      expect(states.some((s) => /negotiating\.adopting/.test(s) || s.endsWith(':ready'))).toBe(true);
    } finally {
      await rt.close();
    }
  });

  it('subscribe() to a server without resources.subscribe fails at once with PROTOCOL', async () => {
    // A minimal 2025 server: resources, but no subscribe capability; discover is unknown to it.
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: () => 'mcp' });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    const asked: string[] = [];
    wss.on('connection', (socket) =>
      socket.on('message', (data) => {
        const m = JSON.parse(String(data)) as {
          id?: number;
          method?: string;
          params?: { protocolVersion?: string };
        };
        if (m.method) asked.push(m.method);
        if (m.id === undefined) return;
        const reply =
          m.method === 'initialize'
            ? {
                result: {
                  protocolVersion: m.params?.protocolVersion,
                  capabilities: { resources: {} },
                  serverInfo: { name: 'no-subscribe', version: '0.0.0' },
                },
              }
            : { error: { code: -32601, message: 'Method not found' } };
        socket.send(JSON.stringify({ jsonrpc: '2.0', id: m.id, ...reply }));
      }),
    );
    try {
      const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
      await withRuntime({ servers: { s: { url } }, defaults: fast }, async (rt) => {
        await rt.start();
        const started = performance.now();
        const error = await rt.subscribe('s', 'demo://x').catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'PROTOCOL', server: 's' });
        expect((error as Error).message).toMatch(/resources\.subscribe/);
        expect(performance.now() - started).toBeLessThan(1_000);
        expect(asked).not.toContain('resources/subscribe');
      });
    } finally {
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
    }
  });
});

/**
 * A connection actor learns its state changes from its actor system's inspection (one observer per
 * system, see server-connection.ts). Under a supervisor that is the supervisor's system
 * (test/integration/connection-actor-system.test.ts); without one, the actor is a root with a
 * system of its own, and reports the same way.
 */
import { Client } from '@modelcontextprotocol/client';
import { describe, expect, it, vi } from 'vitest';
import { ServerConnection } from '../../src/actors/server-connection.js';
import { buildTransportSpec } from '../../src/runtime/auth.js';
import { resolveConfig } from '../../src/runtime/config.js';
import { createMockServer } from '../../src/testing/index.js';

describe('a connection without a supervisor', () => {
  it('reports its states, becomes ready, serves a call and closes', async () => {
    const mock = createMockServer();
    mock.addTool('echo', ({ text }) => String(text));
    const c = resolveConfig({ servers: { m: { mock, heartbeat: { intervalMs: 0 } } } }).servers.get('m')!;
    const states: string[] = [];
    const conn = new ServerConnection({
      server: 'm',
      spec: async () => ({ ...(await buildTransportSpec(c, {})), inProcess: c.mock }),
      backoff: c.reconnect,
      heartbeat: c.heartbeat,
      connectTimeoutMs: c.connectTimeoutMs,
      initializeTimeoutMs: c.initializeTimeoutMs,
      clientInfo: { name: 'test', version: '1.0.0' },
      onStateChange: (change) => states.push(`${change.from}>${change.to}`),
    });
    try {
      await conn.whenReady(10_000);
      expect(conn.isReady).toBe(true);
      expect(states.at(-1)).toBe('negotiating>ready');
      expect(await conn.client.callTool({ name: 'echo', arguments: { text: 'hi' } })).toMatchObject({
        content: [{ type: 'text', text: 'hi' }],
      });
    } finally {
      await conn.close();
    }
    expect(states.slice(-2)).toEqual(['ready>closing', 'closing>closed']);
    expect(states[0]).toBe('idle>connecting');
    expect(conn.actor.getSnapshot().status).toBe('done');
  });
});

describe('a transport that closes while a known verdict is adopted', () => {
  it('does not make the connection ready: it reconnects', async () => {
    const mock = createMockServer();
    const c = resolveConfig({ servers: { m: { mock, heartbeat: { intervalMs: 0 } } } }).servers.get('m')!;
    const connect = Client.prototype.connect;
    // The peer goes away as the (local) adoption completes: nothing in the handshake can notice.
    const spy = vi.spyOn(Client.prototype, 'connect').mockImplementationOnce(async function (
      this: Client,
      transport,
      options,
    ) {
      await connect.call(this, transport, options);
      await transport.close();
    });
    const states: string[] = [];
    const conn = new ServerConnection({
      server: 'm',
      spec: async () => ({ ...(await buildTransportSpec(c, {})), inProcess: c.mock }),
      backoff: { ...c.reconnect, initialDelayMs: 0, jitter: false },
      heartbeat: c.heartbeat,
      connectTimeoutMs: c.connectTimeoutMs,
      initializeTimeoutMs: c.initializeTimeoutMs,
      clientInfo: { name: 'test', version: '1.0.0' },
      verdict: {
        era: 'modern',
        protocolVersion: '2026-07-28',
        discover: {
          supportedVersions: ['2026-07-28'],
          capabilities: { tools: {} },
          serverInfo: { name: 'mock', version: '1' },
        } as never,
      },
      onStateChange: (change) => states.push(`${change.from}>${change.to}`),
    });
    try {
      await conn.whenReady(10_000);
      expect(spy).toHaveBeenCalledTimes(2);
      // The first attempt failed in adopting (where the adoption's failure is reported), not ready.
      expect(states.slice(0, 4)).toEqual([
        'idle>connecting',
        'connecting>negotiating',
        'negotiating>connecting',
        'connecting>ready',
      ]);
      expect(conn.actor.getSnapshot().context.readyCount).toBe(1);
    } finally {
      spy.mockRestore();
      await conn.close();
    }
  });
});

/**
 * A connection actor learns its state changes from its actor system's inspection (one observer per
 * system, see server-connection.ts). Under a supervisor that is the supervisor's system
 * (test/integration/connection-actor-system.test.ts); without one, the actor is a root with a
 * system of its own, and reports the same way.
 */
import { describe, expect, it } from 'vitest';
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

/**
 * The session follows its connection's changes in the order they happened, also when a 2026
 * `ready` is fed on the next turn (after the calls that waited for it, see ServerSession).
 */
import { describe, expect, it } from 'vitest';
import type { ConnectionStateChange, ServerConnection } from '../../src/actors/server-connection.js';
import type { SessionInfo } from '../../src/machines/connection.js';
import { ServerSession } from '../../src/runtime/session.js';

const modern: SessionInfo = {
  protocolVersion: '2026-07-28',
  era: 'modern',
  liveness: 'ws-ping',
  serverName: 'demo',
  serverVersion: '1.0.0',
  instructions: undefined,
  sessionId: undefined,
};
const legacy: SessionInfo = { ...modern, protocolVersion: '2025-11-25', era: 'legacy', liveness: 'mcp-ping' };

/** A connection as the session reads it: its session info, capabilities and the listen stream. */
function connection(info: SessionInfo): ServerConnection {
  return {
    session: info,
    client: { getServerCapabilities: () => ({}) },
    listen: () => Promise.resolve(),
  } as unknown as ServerConnection;
}

function change(from: string, to: string, info: SessionInfo): ConnectionStateChange {
  return {
    server: 's',
    from,
    to,
    at: 0,
    attempt: 0,
    retryDelayMs: 0,
    lastError: null,
    readyCount: 1,
    session: info,
  } as ConnectionStateChange;
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('ServerSession: the order of connection changes', () => {
  it('a 2026 ready is fed on the next turn, and a loss right after it still comes after it', async () => {
    const session = new ServerSession('s', () => connection(modern));
    session.onConnectionState(change('negotiating', 'ready', modern));
    expect(session.stateName).toBe('idle');
    session.onConnectionState(change('ready', 'reconnecting', modern));
    await nextTurn();
    // CONNECTED then DISCONNECTED: active, then suspended (reversed, the loss would be ignored in idle).
    expect(session.stateName).toBe('suspended');
    session.stop();
  });

  it('a 2025 ready is fed at once (a call reads the generation it starts with)', () => {
    const session = new ServerSession('s', () => connection(legacy));
    session.onConnectionState(change('negotiating', 'ready', legacy));
    expect(session.stateName).toBe('active');
    expect(session.generation).toBe(1);
    session.stop();
  });

  it('a session stopped before the deferred ready is fed stays stopped', async () => {
    const session = new ServerSession('s', () => connection(modern));
    session.onConnectionState(change('negotiating', 'ready', modern));
    session.stop();
    await nextTurn();
    expect(session.stateName).toBe('idle');
  });
});

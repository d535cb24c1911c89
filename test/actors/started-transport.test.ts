/**
 * StartedTransport.adopt: once a start-only wrapper (ReauthTransport) has opened its transport, the
 * connection keeps that transport and drops the wrapper. Messages, errors, the one close, sends and
 * closes must then all go to and come from the adopted transport.
 */
import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { StartedTransport } from '../../src/actors/started-transport.js';

/** A transport that records what it is asked to do; its callbacks are the wrapper's. */
function fakeTransport(): Transport & { sent: JSONRPCMessage[]; closed: number } {
  return {
    sent: [],
    closed: 0,
    async start() {},
    async send(message) {
      this.sent.push(message);
    },
    async close() {
      this.closed++;
      this.onclose?.();
    },
  };
}

describe('StartedTransport.adopt', () => {
  it('moves every callback and every call to the adopted transport', async () => {
    const wrapperOfStart = fakeTransport();
    const started = fakeTransport();
    const seen = { closes: 0, errors: [] as string[], messages: [] as unknown[] };
    const wrapper = new StartedTransport(
      wrapperOfStart,
      {
        onclose: () => {
          seen.closes++;
        },
        onerror: (_owner, _t, error) => seen.errors.push(error.message),
      },
      'owner',
    );
    wrapper.onmessage = (message) => seen.messages.push(message);
    wrapper.adopt(started);
    expect(wrapper.inner).toBe(started);

    const ping = { jsonrpc: '2.0', id: 1, result: {} } as JSONRPCMessage;
    started.onmessage?.(ping);
    started.onerror?.(new Error('frame'));
    expect(seen.messages).toEqual([ping]);
    expect(seen.errors).toEqual(['frame']);

    await wrapper.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    expect(started.sent).toHaveLength(1);
    expect(wrapperOfStart.sent).toHaveLength(0);

    await wrapper.close();
    expect(started.closed).toBe(1);
    expect(wrapperOfStart.closed).toBe(0);
    // The adopted transport's own close after the wrapper's: still one close.
    started.onclose?.();
    expect(seen.closes).toBe(1);
    expect(wrapper.isClosed).toBe(true);
  });
});

describe('StartedTransport progress order', () => {
  it('before any progress nothing waits; a response behind queued progress waits one microtask', async () => {
    const inner = fakeTransport();
    const seen: string[] = [];
    const wrapper = new StartedTransport(inner, { onclose: () => {}, onerror: () => {} }, 'owner');
    wrapper.onmessage = (message) => {
      seen.push('method' in message ? message.method : `response ${String((message as { id: number }).id)}`);
    };
    inner.onmessage?.({ jsonrpc: '2.0', id: 1, result: {} });
    expect(seen).toEqual(['response 1']);
    inner.onmessage?.({
      jsonrpc: '2.0',
      method: 'notifications/progress',
      params: { progressToken: 2, progress: 1 },
    });
    inner.onmessage?.({ jsonrpc: '2.0', id: 2, result: {} });
    // The SDK handles the progress one microtask late: its response must not overtake it.
    expect(seen).toEqual(['response 1', 'notifications/progress']);
    await Promise.resolve();
    expect(seen).toEqual(['response 1', 'notifications/progress', 'response 2']);
    await wrapper.close();
  });
});

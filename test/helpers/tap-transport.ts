/**
 * Records the JSON-RPC messages a client transport sends and receives, without changing them: for
 * tests that assert what went over the wire (which handshake, which input rounds).
 */

/** The messages seen so far, in order. */
export interface Tapped {
  sent: Array<{ method?: string; id?: unknown; params?: Record<string, unknown> }>;
  received: Array<{
    id?: unknown;
    method?: string;
    result?: Record<string, unknown>;
    error?: { code: number };
  }>;
}

interface TransportLike {
  send(message: never, options?: never): Promise<void>;
  onmessage?: ((message: never, extra?: never) => void) | undefined;
}

/**
 * Wraps `inner` so every message it sends or delivers is also pushed to the returned log.
 *
 * @example
 * const { transport, tapped } = tapTransport(new StreamableHTTPClientTransport(url));
 * await client.connect(transport);
 * expect(tapped.sent.map((m) => m.method)).toContain('server/discover');
 */
export function tapTransport<T extends TransportLike>(inner: T): { transport: T; tapped: Tapped } {
  const tapped: Tapped = { sent: [], received: [] };
  const transport = new Proxy(inner, {
    get(target, property) {
      if (property === 'send') {
        return (message: never, options?: never) => {
          tapped.sent.push(structuredClone(message));
          return target.send(message, options);
        };
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
    set(target, property, value) {
      if (property === 'onmessage' && typeof value === 'function') {
        const deliver = value as (message: never, extra?: never) => void;
        target.onmessage = (message, extra) => {
          tapped.received.push(structuredClone(message));
          deliver(message, extra);
        };
        return true;
      }
      return Reflect.set(target, property, value, target);
    },
  });
  return { transport, tapped };
}

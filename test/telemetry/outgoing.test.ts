/**
 * The wire side of the seam: `run` marks the attempt being sent across the SDK's awaits, and
 * `outgoing` puts the call's trace context into each message's `_meta` and gives the attempt its
 * JSON-RPC id, without touching the caller's objects.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { context, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOOP_CALL_SPAN } from '../../src/runtime/telemetry/call-span.js';
import {
  createCallTelemetry,
  NOOP_TELEMETRY,
  type OutgoingMessage,
} from '../../src/runtime/telemetry/call-telemetry.js';
import { ATTR, METRIC } from '../../src/runtime/telemetry/names.js';
import { describeServer } from '../../src/runtime/telemetry/server-info.js';
import { installGlobalContext, memoryMetrics, memoryTracing, pointsOf } from './otel-harness.js';

const server = describeServer({ name: 'demo', transport: 'stdio' });

/** What an SDK does inside a request: awaits something, then sends. */
async function sdkRequest(
  t: typeof NOOP_TELEMETRY,
  message: OutgoingMessage,
): Promise<{ sent: OutgoingMessage; original: OutgoingMessage }> {
  await nextTurn();
  await Promise.resolve();
  return { sent: t.outgoing(message, '2025-11-25', 'session-1'), original: message };
}

let uninstall: () => void;
beforeAll(() => {
  uninstall = installGlobalContext();
});
afterAll(() => uninstall());

describe('outgoing messages', () => {
  it("an attempt's request carries the call span in _meta and gives the span its id; the caller's objects stay as they were", async () => {
    const { provider, spans } = memoryTracing();
    const t = createCallTelemetry({ tracerProvider: provider });
    const span = t.startCall(server, 'tools/call', 'echo', undefined);
    const callerMeta = { 'app/context': { tenant: 'acme' } };
    const params = { name: 'echo', arguments: {}, _meta: callerMeta };
    const { sent, original } = await t.run(span, sdkRequest, t, {
      jsonrpc: '2.0',
      id: 5,
      method: 'tools/call',
      params,
    } as OutgoingMessage);
    span.end(undefined, undefined, 5);

    const [out] = await spans();
    const traceparent = `00-${out!.spanContext().traceId}-${out!.spanContext().spanId}-01`;
    expect(sent).not.toBe(original);
    expect(sent.params?._meta).toEqual({ 'app/context': { tenant: 'acme' }, traceparent });
    expect(sent.params?.name).toBe('echo');
    expect(original.params).toBe(params);
    expect(callerMeta).toEqual({ 'app/context': { tenant: 'acme' } });
    expect(out!.attributes[ATTR.jsonrpcRequestId]).toBe('5');
    expect(out!.attributes[ATTR.mcpProtocolVersion]).toBe('2025-11-25');
    expect(out!.attributes[ATTR.mcpSessionId]).toMatch(/^[0-9a-f]{32}$/);
  });

  it('only the first request of the call method is the attempt; notifications and retries are handled', async () => {
    const { provider, spans } = memoryTracing();
    const t = createCallTelemetry({ tracerProvider: provider });
    const span = t.startCall(server, 'resources/read', undefined, 'file:///a');
    const first = await t.run(
      span,
      async (tt: typeof t, _x: null): Promise<OutgoingMessage[]> => {
        await nextTurn();
        const init = tt.outgoing({ id: 1, method: 'initialize', params: {} }, undefined, undefined);
        const read = tt.outgoing(
          { id: 2, method: 'resources/read', params: { uri: 'file:///a' } },
          '2025-11-25',
          undefined,
        );
        const again = tt.outgoing(
          { id: 3, method: 'resources/read', params: { uri: 'file:///a' } },
          '2025-11-25',
          undefined,
        );
        const cancelled = tt.outgoing(
          { method: 'notifications/cancelled', params: { requestId: 2 } },
          undefined,
          undefined,
        );
        return [init, read, again, cancelled];
      },
      t,
      null,
    );
    for (const m of first) expect(m.params?._meta?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    span.end(undefined, undefined, 5);
    expect((await spans())[0]!.attributes[ATTR.jsonrpcRequestId]).toBe('2');

    // A retry is another run of the same span: its request id replaces the first attempt's.
    const retried = t.startCall(server, 'tools/list', undefined, undefined);
    await t.run(retried, sdkRequest, t, { id: 4, method: 'tools/list' });
    await t.run(retried, sdkRequest, t, { id: 9, method: 'tools/list' });
    retried.end(undefined, undefined, 5);
    expect((await spans())[1]!.attributes[ATTR.jsonrpcRequestId]).toBe('9');
  });

  it('outside a call the active context is injected; with none the message is returned as it is', async () => {
    const { provider } = memoryTracing();
    const t = createCallTelemetry({ tracerProvider: provider });
    const ping: OutgoingMessage = { id: 1, method: 'ping' };
    expect(t.outgoing(ping, undefined, undefined)).toBe(ping);
    const response = { id: 4, result: {} } as OutgoingMessage;
    expect(t.outgoing(response, undefined, undefined)).toBe(response);
    const app = provider.getTracer('app').startSpan('startup');
    const init = context.with(trace.setSpan(context.active(), app), () =>
      t.outgoing<OutgoingMessage>({ id: 1, method: 'initialize' }, undefined, undefined),
    );
    expect(init.params?._meta?.traceparent).toBe(
      `00-${app.spanContext().traceId}-${app.spanContext().spanId}-01`,
    );
  });

  it('a message sent from the async context of a call that has ended is not that call', async () => {
    const { provider } = memoryTracing();
    const t = createCallTelemetry({ tracerProvider: provider });
    const span = t.startCall(server, 'tools/call', 'echo', undefined);
    const later = await t.run(
      span,
      async (tt: typeof t, s: typeof span) => {
        s.end(undefined, undefined, 5);
        await nextTurn(); // e.g. a heartbeat timer created during the call
        return tt.outgoing<OutgoingMessage>({ id: 8, method: 'ping' }, undefined, undefined);
      },
      t,
      span,
    );
    expect(later.params?._meta?.traceparent).toBeUndefined();
  });

  it('with only a meter, the attempt still reports its protocol version to the duration metric', async () => {
    const m = memoryMetrics();
    const t = createCallTelemetry({ meterProvider: m.provider });
    const span = t.startCall(server, 'tools/list', undefined, undefined);
    await t.run(span, sdkRequest, t, { id: 1, method: 'tools/list' });
    span.end(undefined, undefined, 5);
    const { points } = pointsOf(await m.collect(), METRIC.clientOperationDuration);
    expect(points[0]!.attributes[ATTR.mcpProtocolVersion]).toBe('2025-11-25');
  });

  it('the no-op runs the request as it is and returns every message untouched', async () => {
    const message = { id: 1, method: 'tools/list' };
    const result = NOOP_TELEMETRY.run(NOOP_CALL_SPAN, (a: number, b: number) => a + b, 2, 3);
    expect(result).toBe(5);
    expect(NOOP_TELEMETRY.outgoing(message, '2025-11-25', 's')).toBe(message);
  });
});

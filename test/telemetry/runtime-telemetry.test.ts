/**
 * The runtime with telemetry, end to end on loopback: a real MCP server behind the fault proxy
 * reads `traceparent` from `_meta` and records its own spans under it; the in-memory SDK
 * collects both sides.
 */
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoServer } from '../../src/demo/demo-server.js';
import { createRuntime } from '../../src/index.js';
import { ATTR, EVENT, METRIC, RUNTIME_ATTR } from '../../src/runtime/telemetry/names.js';
import { createFaultProxy, type FaultProxy } from '../../src/testing/index.js';
import {
  installGlobalContext,
  memoryMetrics,
  memoryTracing,
  pointsOf,
  unknownNames,
} from './otel-harness.js';
import { startTracedServer, type TracedServer } from './traced-server.js';

let uninstall: () => void;
const tracing = memoryTracing();
let server: TracedServer;
let proxy: FaultProxy;

beforeAll(async () => {
  uninstall = installGlobalContext();
  server = await startTracedServer(tracing.provider.getTracer('server'), () => proxy.cut());
  proxy = await createFaultProxy({ target: server.endpoint.url });
});
afterAll(async () => {
  await proxy.close();
  await server.close();
  uninstall();
});

describe('a runtime with telemetry', () => {
  it('a call that queues, loses its connection, retries and succeeds is one span with its events, parent of both server attempts', async () => {
    const metrics = memoryMetrics();
    await using rt = createRuntime({
      servers: {
        t: {
          url: proxy.wsUrl,
          queue: { concurrency: 1 },
          heartbeat: { intervalMs: 0 },
          // The retry comes before the reconnect, so the attempt waits for it (a span event).
          retry: { initialDelayMs: 1, maxAttempts: 3 },
          reconnect: { initialDelayMs: 50, jitter: false },
        },
      },
      telemetry: { tracerProvider: tracing.provider, meterProvider: metrics.provider },
    });
    await rt.start();
    await rt.listTools('t'); // the annotations say flaky is read-only: retry-safe

    const app = tracing.provider.getTracer('app').startSpan('handle request');
    const [held, flaky] = context.with(trace.setSpan(context.active(), app), () => [
      rt.callTool('t', 'hold'),
      rt.callTool('t', 'flaky'), // queued behind hold (window of 1)
    ]);
    await server.holding;
    server.release();
    await expect(held).resolves.toMatchObject({ content: [{ text: 'released' }] });
    await expect(flaky).resolves.toMatchObject({ content: [{ text: 'ok' }] });
    app.end();

    const spans = await tracing.spans();
    const traceId = app.spanContext().traceId;
    const client = spans.find((s) => s.name === 'tools/call flaky' && s.kind === SpanKind.CLIENT)!;
    expect(client.spanContext().traceId).toBe(traceId);
    expect(client.parentSpanContext?.spanId).toBe(app.spanContext().spanId);
    expect(client.status.code).toBe(SpanStatusCode.UNSET);
    expect(client.attributes).toMatchObject({
      [ATTR.mcpMethodName]: 'tools/call',
      [ATTR.genAiToolName]: 'flaky',
      [ATTR.serverAddress]: '127.0.0.1',
      [ATTR.networkProtocolName]: 'websocket',
      [RUNTIME_ATTR.server]: 't',
    });
    expect(client.attributes[ATTR.jsonrpcRequestId]).toBeDefined();
    // The negotiated version as the session knows it (a transport that cannot tell says `unknown`: not recorded).
    const negotiated = rt.snapshot().servers.t!.session?.protocolVersion;
    expect(client.attributes[ATTR.mcpProtocolVersion]).toBe(
      negotiated === 'unknown' ? undefined : negotiated,
    );
    expect(unknownNames(Object.keys(client.attributes))).toEqual([]);
    expect(client.events.map((e) => e.name)).toEqual([
      EVENT.queued,
      EVENT.dequeued,
      EVENT.retry,
      EVENT.connectionWaited,
    ]);
    expect(client.events[2]!.attributes).toMatchObject({
      [RUNTIME_ATTR.retryAttempt]: 2,
      [RUNTIME_ATTR.retryReason]: 'CONNECTION_LOST',
    });

    // The span tree: both attempts reached the server, each a SERVER span under the client's.
    const attempts = spans.filter((s) => s.name === 'tools/call flaky' && s.kind === SpanKind.SERVER);
    expect(attempts).toHaveLength(2);
    for (const a of attempts) {
      expect(a.spanContext().traceId).toBe(traceId);
      expect(a.parentSpanContext?.spanId).toBe(client.spanContext().spanId);
    }
    const holdClient = spans.find((s) => s.name === 'tools/call hold' && s.kind === SpanKind.CLIENT)!;
    const holdServer = spans.find((s) => s.name === 'tools/call hold' && s.kind === SpanKind.SERVER)!;
    expect(holdServer.parentSpanContext?.spanId).toBe(holdClient.spanContext().spanId);

    // Metrics from the same run: the retry and the reconnect as the snapshot counts them.
    const collected = await metrics.collect();
    const pointValue = (name: string) =>
      pointsOf(collected, name).points.find((p) => p.attributes[RUNTIME_ATTR.server] === 't')?.value;
    expect(pointValue(METRIC.retries)).toBe(rt.snapshot().servers.t!.stats.retries);
    expect(pointValue(METRIC.retries)).toBe(1);
    expect(pointValue(METRIC.reconnects)).toBe(1);
    const durations = pointsOf(collected, METRIC.clientOperationDuration).points;
    expect(durations.some((p) => p.attributes[ATTR.genAiToolName] === 'flaky')).toBe(true);
    const sessions = pointsOf(collected, METRIC.clientSessionDuration).points;
    expect(sessions.map((p) => p.attributes[ATTR.errorType])).toEqual(['CONNECTION_LOST']);
  });

  it('a call the open breaker refuses has the rejection event, with how long the breaker stays open', async () => {
    const demo = await startDemoServer();
    try {
      await using rt = createRuntime({
        servers: {
          d: {
            url: demo.wsUrl,
            heartbeat: { intervalMs: 0 },
            breaker: { failureThreshold: 1, resetTimeoutMs: 60_000 },
          },
        },
        telemetry: { tracerProvider: tracing.provider },
      });
      await rt.start();
      // A timeout counts against the breaker: the slow tool stands in for a struggling server.
      await expect(
        rt.callTool('d', 'slow', { durationMs: 2_000, steps: 1 }, { timeoutMs: 50 }),
      ).rejects.toMatchObject({ code: 'TIMEOUT' });
      const app = tracing.provider.getTracer('app').startSpan('handle request');
      const refused = context.with(trace.setSpan(context.active(), app), () =>
        rt.callTool('d', 'echo', { text: 'x' }),
      );
      await expect(refused).rejects.toMatchObject({ code: 'BREAKER_OPEN' });
      app.end();
      const spans = await tracing.spans();
      const client = spans.find((s) => s.parentSpanContext?.spanId === app.spanContext().spanId)!;
      expect(client.name).toBe('tools/call echo');
      expect(client.attributes[ATTR.errorType]).toBe('BREAKER_OPEN');
      expect(client.events.map((e) => e.name)).toEqual([EVENT.breakerRejected]);
      const retryAfterMs = client.events[0]!.attributes?.[RUNTIME_ATTR.breakerRetryAfterMs] as number;
      expect(retryAfterMs).toBeGreaterThan(0);
      expect(retryAfterMs).toBeLessThanOrEqual(60_000);
    } finally {
      await demo.close();
    }
  });

  it("the server reads the caller's trace from _meta", async () => {
    await using rt = createRuntime({
      servers: { t: { url: server.endpoint.url, heartbeat: { intervalMs: 0 } } },
      telemetry: { tracerProvider: tracing.provider },
    });
    await rt.start();
    const app = tracing.provider.getTracer('app').startSpan('ask');
    const result = await context.with(trace.setSpan(context.active(), app), () => rt.callTool('t', 'whoami'));
    app.end();
    const spans = await tracing.spans();
    const client = spans.find(
      (s) => s.name === 'tools/call whoami' && s.parentSpanContext?.spanId === app.spanContext().spanId,
    )!;
    const text = (result.content as Array<{ text: string }>)[0]!.text;
    expect(text).toBe(`00-${app.spanContext().traceId}-${client.spanContext().spanId}-01`);
  });

  it('telemetry: false leaves _meta without trace context', async () => {
    await using rt = createRuntime({
      servers: { t: { url: server.endpoint.url, heartbeat: { intervalMs: 0 } } },
      telemetry: false,
    });
    const app = tracing.provider.getTracer('app').startSpan('ask');
    const result = await context.with(trace.setSpan(context.active(), app), () => rt.callTool('t', 'whoami'));
    app.end();
    expect((result.content as Array<{ text: string }>)[0]!.text).toBe('');
  });
});

/**
 * OpenTelemetry: register an SDK, create the runtime, and every call is a CLIENT span named by the
 * MCP semantic conventions (`tools/call lookup`) with its retries as events; metrics follow the
 * conventions too (`mcp.client.operation.duration`) plus the runtime's own (`mcp_actors.*`).
 * The trace context travels to the server in `params._meta`. See docs/observability.md.
 * A mock server fails the first attempts on purpose. Run: npx tsx examples/opentelemetry.ts
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  StackContextManager,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { createRuntime } from '../src/index.js';
import { createMockServer } from '../src/testing/index.js';

// 1. The application's OpenTelemetry set-up (usually @opentelemetry/sdk-node with OTLP exporters),
//    registered BEFORE the runtime is created. Spans land in memory here so the example can print them.
const spans = new InMemorySpanExporter();
const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });
class PullReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}
const reader = new PullReader();
const meterProvider = new MeterProvider({ readers: [reader] });
trace.setGlobalTracerProvider(tracerProvider);
context.setGlobalContextManager(new StackContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());

// 2. The runtime: the global tracer provider by default; a meter provider passed explicitly.
const mock = createMockServer().addTool('lookup', ({ key }) => `value of ${String(key)}`, {
  annotations: { readOnlyHint: true },
});
await using rt = createRuntime({
  servers: { shop: { mock, retry: { initialDelayMs: 10, budgetRatio: 1 } } },
  telemetry: { meterProvider },
});
await rt.listTools('shop'); // learn the annotations: lookup is read-only, so retry-safe

// 3. A call inside the application's own span; two transient failures, then success.
mock.failNext(2, { code: -32603, message: 'temporarily unavailable' }, { tool: 'lookup' });
const request = trace.getTracer('app').startSpan('handle request');
const result = await context.with(trace.setSpan(context.active(), request), () =>
  rt.callTool('shop', 'lookup', { key: 'a' }),
);
request.end();
console.log(`lookup: ${(result.content[0] as { text: string }).text}`);
// Every attempt carried the call's trace context in _meta (the mock records what it received).
const seen = mock
  .callsTo('lookup')
  .map((c) => (c.params._meta as { traceparent?: string } | undefined)?.traceparent);
console.log(
  `attempts carrying the request's trace: ${seen.filter((t) => t?.includes(request.spanContext().traceId)).length} of ${seen.length}`,
);

await tracerProvider.forceFlush();
const call = spans.getFinishedSpans().find((s) => s.name === 'tools/call lookup');
if (call) {
  console.log(
    `span ${call.name} (trace ${call.spanContext().traceId === request.spanContext().traceId ? 'of the request' : 'other'})`,
  );
  for (const [key, value] of Object.entries(call.attributes)) console.log(`  ${key} = ${String(value)}`);
  for (const e of call.events) console.log(`  event ${e.name} ${JSON.stringify(e.attributes)}`);
  console.log(
    `span ${call.name}: ${call.events.filter((e) => e.name === 'mcp_actors.retry').length} retries`,
  );
}

const { resourceMetrics } = await reader.collect();
for (const m of resourceMetrics.scopeMetrics.flatMap((s) => s.metrics)) {
  const first = m.dataPoints[0];
  if (!first) continue;
  const value =
    typeof first.value === 'number' ? first.value : `${(first.value as { count: number }).count} recorded`;
  console.log(`metric ${m.descriptor.name} (${m.descriptor.unit}): ${value}`);
}
await mock.close();
await tracerProvider.shutdown();
await meterProvider.shutdown();

/**
 * OpenTelemetry SDK pieces for the telemetry tests: an in-memory span exporter behind a tracer
 * provider, a pull-only metric reader, the semantic-conventions name list, and global context
 * and propagation set up the way an application's SDK would.
 */
import { context, propagation } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  StackContextManager,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import * as semconv from '@opentelemetry/semantic-conventions';
import * as incubating from '@opentelemetry/semantic-conventions/incubating';

/** A tracer provider whose spans land in memory; `spans()` flushes the (async) export first. */
export function memoryTracing(): {
  provider: TracerProvider;
  exporter: InMemorySpanExporter;
  spans: () => Promise<ReadableSpan[]>;
} {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  return {
    provider,
    exporter,
    spans: async () => {
      await provider.forceFlush();
      return exporter.getFinishedSpans();
    },
  };
}

/** A reader that only collects when asked (the SDK's pull path, without an exporter). */
class PullReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** A meter provider read on demand. */
export function memoryMetrics(): { provider: MeterProvider; collect: () => Promise<ResourceMetrics> } {
  const reader = new PullReader();
  const provider = new MeterProvider({ readers: [reader] });
  return {
    provider,
    collect: async () => {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw errors[0];
      return resourceMetrics;
    },
  };
}

/** Data points of one metric by name (empty when it was not collected). */
export function pointsOf(metrics: ResourceMetrics, name: string) {
  for (const scope of metrics.scopeMetrics)
    for (const m of scope.metrics)
      if (m.descriptor.name === name) return { descriptor: m.descriptor, points: m.dataPoints };
  return { descriptor: undefined, points: [] };
}

/** Every attribute and metric name the semantic conventions package defines (stable + incubating). */
export const SEMCONV_NAMES: ReadonlySet<string> = new Set(
  [...Object.entries(semconv), ...Object.entries(incubating)]
    .filter(
      ([key, value]) => (key.startsWith('ATTR_') || key.startsWith('METRIC_')) && typeof value === 'string',
    )
    .map(([, value]) => value as string),
);

/**
 * Names in `keys` that are neither defined by the conventions nor the runtime's own (`mcp_actors.`):
 * an `mcp.*` or `gen_ai.*` typo, or a name the conventions do not have.
 */
export function unknownNames(keys: Iterable<string>): string[] {
  return [...keys].filter((k) => !k.startsWith('mcp_actors.') && !SEMCONV_NAMES.has(k));
}

/** Installs a W3C trace-context + baggage propagator and a synchronous context manager globally. */
export function installGlobalContext(): () => void {
  const manager = new StackContextManager().enable();
  context.setGlobalContextManager(manager);
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  return () => {
    context.disable();
    propagation.disable();
  };
}

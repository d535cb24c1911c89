/**
 * docs/observability.md documents every name the telemetry emits: each attribute, event and metric
 * name of names.ts, and each metric with the kind and unit the code registers.
 */
import { readFileSync } from 'node:fs';
import { DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { createCallTelemetry } from '../../src/runtime/telemetry/call-telemetry.js';
import { ATTR, EVENT, METRIC, RUNTIME_ATTR } from '../../src/runtime/telemetry/names.js';
import { describeServer } from '../../src/runtime/telemetry/server-info.js';
import { memoryMetrics } from './otel-harness.js';

const doc = readFileSync(new URL('../../docs/observability.md', import.meta.url), 'utf8');

/** The doc's kind of an exported metric (the histograms are synchronous, the rest observable). */
function kindOf(metric: MetricData): string {
  if (metric.dataPointType === DataPointType.HISTOGRAM) return 'Histogram';
  if (metric.dataPointType === DataPointType.GAUGE) return 'Gauge (observable)';
  if (metric.dataPointType === DataPointType.SUM)
    return metric.isMonotonic ? 'Counter (observable)' : 'UpDownCounter (observable)';
  return 'unexpected';
}

describe('docs/observability.md', () => {
  it('names every attribute, event and metric', () => {
    const names = [
      ...Object.values(ATTR),
      ...Object.values(RUNTIME_ATTR),
      ...Object.values(EVENT),
      ...Object.values(METRIC),
    ];
    expect(names.filter((n) => !doc.includes(`\`${n}\``))).toEqual([]);
  });

  it('gives every metric the kind and unit the code registers', async () => {
    const m = memoryMetrics();
    const server = describeServer({ name: 'd', transport: 'memory' });
    const t = createCallTelemetry({
      meterProvider: m.provider,
      stats: () => [
        {
          server,
          breakerState: 'closed',
          breakerTransitions: 0,
          breakerRejections: 0,
          queueDepth: 0,
          queueRejections: 0,
          poolSize: 1,
          inFlight: 0,
          retries: 0,
          retryBudgetDenials: 0,
          reconnects: 0,
          protocolVersion: '2026-07-28',
        },
      ],
    });
    t.startCall(server, 'tools/list', undefined, undefined).end(undefined, undefined, 1);
    t.sessionEnded(server, 1, '2026-07-28', undefined);
    const metrics = (await m.collect()).scopeMetrics.flatMap((s) => s.metrics);
    expect(metrics.map((x) => x.descriptor.name).sort()).toEqual(Object.values(METRIC).sort());
    for (const metric of metrics) {
      const { name, unit } = metric.descriptor;
      // The metrics table's row (five columns: an event attribute may share the name).
      const row = doc
        .split('\n')
        .find((line) => line.startsWith(`| \`${name}\` |`) && line.split('|').length === 7);
      expect(row, name).toBeDefined();
      const [, , kind, documentedUnit] = row!.split('|').map((cell) => cell.trim());
      expect([name, kind, documentedUnit]).toEqual([name, kindOf(metric), `\`${unit}\``]);
    }
    t.shutdown();
  });
});

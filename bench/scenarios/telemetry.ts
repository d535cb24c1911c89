/**
 * Issue 18's cost of telemetry: the runtime over WebSocket at 64 in flight with telemetry off
 * (`telemetry: false`, the API never loaded), with the API installed and no provider registered
 * (the no-op path: target at most 2% slower), and with a real SDK (tracer provider with a
 * BatchSpanProcessor whose exporter discards, and a meter provider with a reader) to give its cost.
 */
import type { ExportResult } from '@opentelemetry/core';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { createRuntime, type RuntimeConfig } from '../../src/index.js';
import { ECHO_TEXT, type Target } from '../clients.js';
import { interleave, type Measurement, median, throughput } from '../harness.js';
import { type Row, row } from '../report.js';
import type { BenchServers } from '../server-process.js';
import type { RunShape } from './throughput.js';

/** Counts spans and drops them: the export pipeline runs, the network is not measured. */
class DiscardingExporter implements SpanExporter {
  spans = 0;
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.spans += spans.length;
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
}

class PullReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const ECHO_ARGS = { text: ECHO_TEXT };

async function runtimeWith(
  url: string,
  inFlight: number,
  telemetry: RuntimeConfig['telemetry'],
): Promise<Target> {
  const rt = createRuntime({ servers: { demo: { url, queue: { concurrency: inFlight } } }, telemetry });
  await rt.start();
  return { call: () => rt.callTool('demo', 'echo', ECHO_ARGS), close: () => rt.close() };
}

/** The rows of the telemetry scenario. */
export async function telemetryScenario(servers: BenchServers, shape: RunShape): Promise<Row[]> {
  const inFlight = 64;
  const exporter = new DiscardingExporter();
  const tracerProvider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter })] });
  const meterProvider = new MeterProvider({ readers: [new PullReader()] });
  const targets: Record<'off' | 'noop' | 'sdk', Target> = {
    off: await runtimeWith(servers.mcpWsUrl, inFlight, false),
    noop: await runtimeWith(servers.mcpWsUrl, inFlight, {}),
    sdk: await runtimeWith(servers.mcpWsUrl, inFlight, { tracerProvider, meterProvider }),
  };
  let results: Record<'off' | 'noop' | 'sdk', Measurement[]>;
  try {
    const run = (t: Target, ms: number) => () => throughput(t.call, inFlight, ms);
    results = await interleave(
      shape.rounds,
      {
        off: run(targets.off, shape.durationMs),
        noop: run(targets.noop, shape.durationMs),
        sdk: run(targets.sdk, shape.durationMs),
      },
      {
        off: run(targets.off, Math.min(200, shape.durationMs)),
        noop: run(targets.noop, Math.min(200, shape.durationMs)),
        sdk: run(targets.sdk, Math.min(200, shape.durationMs)),
      },
      shape.warmForMs,
    );
  } finally {
    for (const t of Object.values(targets)) await t.close().catch(() => {});
    await tracerProvider.shutdown();
    await meterProvider.shutdown();
  }
  const cps = (ms: Measurement[]) => ms.map((m) => m.callsPerSec);
  const baseline = {
    name: `telemetry off @${inFlight}`,
    value: median(cps(results.off)),
    rounds: cps(results.off),
  };
  const cpu = (ms: Measurement[]) => ms.map((m) => m.cpuUsPerCall);
  return [
    row(
      'telemetry',
      `API installed, no provider (no-op) @${inFlight}`,
      'calls/s',
      cps(results.noop),
      median(cps(results.noop)),
      {
        baseline,
        target: { on: 'ratio', op: '>=', limit: 0.98 },
      },
    ),
    row(
      'telemetry',
      `SDK: BatchSpanProcessor + metrics @${inFlight}`,
      'calls/s',
      cps(results.sdk),
      median(cps(results.sdk)),
      {
        baseline,
      },
    ),
    row(
      'telemetry',
      `no-op CPU per call @${inFlight}`,
      'µs/call',
      cpu(results.noop),
      median(cpu(results.noop)),
      {
        baseline: { name: 'telemetry off', value: median(cpu(results.off)), rounds: cpu(results.off) },
      },
    ),
    row('telemetry', `SDK CPU per call @${inFlight}`, 'µs/call', cpu(results.sdk), median(cpu(results.sdk)), {
      baseline: { name: 'telemetry off', value: median(cpu(results.off)), rounds: cpu(results.off) },
    }),
    row('telemetry', 'spans exported (SDK rows)', 'spans', [exporter.spans], exporter.spans),
  ];
}

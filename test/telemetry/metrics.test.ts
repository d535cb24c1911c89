import { describe, expect, it } from 'vitest';
import { RemoteError } from '../../src/errors/index.js';
import { SecretSet } from '../../src/runtime/redact.js';
import { NOOP_CALL_SPAN } from '../../src/runtime/telemetry/call-span.js';
import { createCallTelemetry } from '../../src/runtime/telemetry/call-telemetry.js';
import { ATTR, DURATION_BUCKETS_S, METRIC, RUNTIME_ATTR } from '../../src/runtime/telemetry/names.js';
import { protocolEraOf, type ServerStatsView } from '../../src/runtime/telemetry/runtime-metrics.js';
import { describeServer } from '../../src/runtime/telemetry/server-info.js';
import { statsFromSnapshot } from '../../src/runtime/telemetry/stats-view.js';
import { memoryMetrics, pointsOf, unknownNames } from './otel-harness.js';

const TOKEN = 'tok-9f8e7d6c5b4a3921';

function server(name = 'demo') {
  const secrets = new SecretSet();
  secrets.add(TOKEN);
  return describeServer({
    name,
    transport: 'streamable-http',
    url: `https://mcp.example.com/mcp?api_key=${TOKEN}`,
    redact: (t) => secrets.redact(t),
  });
}

function stats(over: Partial<ServerStatsView> = {}): ServerStatsView {
  return {
    server: server(),
    breakerState: 'open',
    breakerTransitions: 4,
    breakerRejections: 2,
    queueDepth: 5,
    queueRejections: 1,
    poolSize: 3,
    inFlight: 16,
    retries: 7,
    retryBudgetDenials: 2,
    reconnects: 1,
    protocolVersion: '2026-07-28',
    ...over,
  };
}

describe('metrics', () => {
  it('mcp.client.operation.duration: one point per call, in seconds, with the conventions attributes only', async () => {
    const m = memoryMetrics();
    const t = createCallTelemetry({ meterProvider: m.provider });
    const s = server();
    const ok = t.startCall(s, 'tools/call', 'echo', undefined);
    ok.sent(1, '2025-11-25', 'sess-1');
    ok.end(undefined, { content: [] }, 5);
    const failed = t.startCall(s, 'resources/read', undefined, 'file:///x');
    failed.sent(2, '2025-11-25', 'sess-1');
    failed.end(new RemoteError('not found', -32002, undefined), undefined, 5);
    // Only a meter: calls record durations but make no span.
    expect(ok).not.toBe(NOOP_CALL_SPAN);

    const { descriptor, points } = pointsOf(await m.collect(), METRIC.clientOperationDuration);
    expect(descriptor?.unit).toBe('s');
    expect(points).toHaveLength(2);
    const attrs = points.map((p) => p.attributes);
    expect(attrs).toContainEqual({
      [RUNTIME_ATTR.server]: 'demo',
      [ATTR.serverAddress]: 'mcp.example.com',
      [ATTR.serverPort]: 443,
      [ATTR.networkTransport]: 'tcp',
      [ATTR.networkProtocolName]: 'http',
      [ATTR.mcpMethodName]: 'tools/call',
      [ATTR.genAiToolName]: 'echo',
      [ATTR.genAiOperationName]: 'execute_tool',
      [ATTR.mcpProtocolVersion]: '2025-11-25',
    });
    const read = attrs.find((a) => a[ATTR.mcpMethodName] === 'resources/read')!;
    expect(read[ATTR.errorType]).toBe('-32002');
    expect(read[ATTR.rpcResponseStatusCode]).toBe('-32002');
    // High-cardinality ids stay off metrics.
    for (const a of attrs) {
      expect(a[ATTR.mcpSessionId]).toBeUndefined();
      expect(a[ATTR.jsonrpcRequestId]).toBeUndefined();
      expect(a[ATTR.mcpResourceUri]).toBeUndefined();
      expect(unknownNames(Object.keys(a))).toEqual([]);
    }
    const value = points[0]!.value as { count: number; sum: number; buckets: { boundaries: number[] } };
    expect(value.count).toBe(1);
    expect(value.sum).toBeLessThan(5); // seconds, not milliseconds
    expect(value.buckets.boundaries).toEqual(DURATION_BUCKETS_S);
  });

  it('mcp.client.session.duration records a session with its version and error.type', async () => {
    const m = memoryMetrics();
    const t = createCallTelemetry({ meterProvider: m.provider });
    t.sessionEnded(server(), 2_500, '2025-11-25', { code: 'CONNECTION_LOST' });
    const { descriptor, points } = pointsOf(await m.collect(), METRIC.clientSessionDuration);
    expect(descriptor?.unit).toBe('s');
    expect(points).toHaveLength(1);
    expect(points[0]!.attributes).toMatchObject({
      [ATTR.mcpProtocolVersion]: '2025-11-25',
      [ATTR.errorType]: 'CONNECTION_LOST',
    });
    expect((points[0]!.value as { sum: number }).sum).toBe(2.5);
  });

  it('the runtime instruments read the stats callback once per collection, per server', async () => {
    const m = memoryMetrics();
    let reads = 0;
    const views = [
      stats(),
      stats({ server: server('files'), breakerState: undefined, protocolVersion: undefined }),
    ];
    const t = createCallTelemetry({
      meterProvider: m.provider,
      stats: () => {
        reads++;
        return views;
      },
    });
    const metrics = await m.collect();
    expect(reads).toBe(1);
    const value = (name: string, server = 'demo') =>
      pointsOf(metrics, name).points.find((p) => p.attributes[RUNTIME_ATTR.server] === server)?.value;
    expect(value(METRIC.breakerState)).toBe(2);
    expect(value(METRIC.breakerState, 'files')).toBeUndefined();
    expect(value(METRIC.breakerTransitions)).toBe(4);
    expect(value(METRIC.breakerRejections)).toBe(2);
    expect(value(METRIC.queueDepth)).toBe(5);
    expect(value(METRIC.queueRejections)).toBe(1);
    expect(value(METRIC.poolSize)).toBe(3);
    expect(value(METRIC.poolInFlight)).toBe(16);
    expect(value(METRIC.retries)).toBe(7);
    expect(value(METRIC.retryBudgetDenials)).toBe(2);
    expect(value(METRIC.reconnects)).toBe(1);
    expect(value(METRIC.protocolEra)).toBe(2026);
    expect(value(METRIC.protocolEra, 'files')).toBeUndefined();
    expect(value(METRIC.queueDepth, 'files')).toBe(5);
    const era = pointsOf(metrics, METRIC.protocolEra).points[0]!;
    expect(era.attributes[ATTR.mcpProtocolVersion]).toBe('2026-07-28');

    // Cumulative figures are counters: a later read carries the new total.
    views[0] = stats({ retries: 9 });
    expect(value(METRIC.retries)).toBe(7);
    expect(
      pointsOf(await m.collect(), METRIC.retries).points.find(
        (p) => p.attributes[RUNTIME_ATTR.server] === 'demo',
      )?.value,
    ).toBe(9);

    t.shutdown();
    const after = reads;
    await m.collect();
    expect(reads).toBe(after);
  });

  it('no metric point carries a secret', async () => {
    const m = memoryMetrics();
    const t = createCallTelemetry({ meterProvider: m.provider, stats: () => [stats()] });
    const s = server();
    t.startCall(s, 'tools/call', `x-${TOKEN}`, undefined).end(
      new RemoteError(`bad ${TOKEN}`, -32000, undefined),
      undefined,
      5,
    );
    t.sessionEnded(s, 10, TOKEN, undefined);
    const text = JSON.stringify(await m.collect(), (_k, v) => (v instanceof Map ? [...v] : v));
    expect(text).toContain('mcp.example.com');
    expect(text).not.toContain(TOKEN);
  });

  it("reads the instruments' figures from a server snapshot", () => {
    const s = server();
    const view = statsFromSnapshot(s, {
      readyCount: 3,
      session: { protocolVersion: '2025-11-25' },
      queue: { queued: 4 },
      breakers: { '*': { state: 'halfOpen' }, echo: { state: 'open' } },
      stats: {
        retries: 5,
        retriesDeniedByBudget: 1,
        breakerRejections: 2,
        queueRejections: 6,
        breakerTransitions: 7,
      },
      pool: { size: 2, inFlight: 9 },
    });
    expect(view).toEqual({
      server: s,
      breakerState: 'halfOpen',
      breakerTransitions: 7,
      breakerRejections: 2,
      queueDepth: 4,
      queueRejections: 6,
      poolSize: 2,
      inFlight: 9,
      retries: 5,
      retryBudgetDenials: 1,
      reconnects: 2,
      protocolVersion: '2025-11-25',
    });
    const idle = statsFromSnapshot(s, {
      readyCount: 0,
      session: null,
      queue: { queued: 0 },
      breakers: {},
      stats: {
        retries: 0,
        retriesDeniedByBudget: 0,
        breakerRejections: 0,
        queueRejections: 0,
        breakerTransitions: 0,
      },
      pool: null,
    });
    expect([idle.breakerState, idle.reconnects, idle.poolSize, idle.protocolVersion]).toEqual([
      undefined,
      0,
      0,
      undefined,
    ]);
  });

  it('the era of a version', () => {
    expect(protocolEraOf('2024-11-05')).toBe(2025);
    expect(protocolEraOf('2025-11-25')).toBe(2025);
    expect(protocolEraOf('2026-07-28')).toBe(2026);
  });
});

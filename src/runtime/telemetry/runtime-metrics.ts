/**
 * The runtime's own state as OpenTelemetry instruments. Nothing is counted twice: every instrument
 * is OBSERVABLE and reads, at collection time, the figures the runtime already keeps for
 * `snapshot()` and the inspector (one batch callback, one read of the stats per collection).
 */
import type { BatchObservableResult, Meter, Observable } from '@opentelemetry/api';
import { knownVersion } from './call-span.js';
import { ATTR, BREAKER_STATE_VALUE, METRIC, RUNTIME_ATTR } from './names.js';
import type { TelemetryServer } from './server-info.js';

/** One server's figures at collection time. Counters are cumulative since the runtime started. */
export interface ServerStatsView {
  server: TelemetryServer;
  /** The server's breaker (not per-tool ones); undefined before its first call. */
  breakerState: 'closed' | 'halfOpen' | 'open' | undefined;
  breakerTransitions: number;
  breakerRejections: number;
  /** Calls waiting in the queue. */
  queueDepth: number;
  queueRejections: number;
  /** Connections in the pool. */
  poolSize: number;
  /** Requests sent and not yet answered. */
  inFlight: number;
  retries: number;
  retryBudgetDenials: number;
  /** Times a connection became ready again after it was lost. */
  reconnects: number;
  /** The negotiated MCP version; undefined before the first handshake. */
  protocolVersion: string | undefined;
}

/** The figures of every server, read at each collection. */
export type StatsSource = () => Iterable<ServerStatsView>;

/** The protocol era of a version: 2026 from the 2026-07-28 revision on (no initialize, no sessions). */
export function protocolEraOf(version: string): 2025 | 2026 {
  return version >= '2026-07-28' ? 2026 : 2025;
}

/**
 * Registers the runtime instruments on `meter`, fed by `stats`. Returns the function that
 * unregisters them (the runtime calls it on close).
 *
 * @example
 * const stop = registerRuntimeMetrics(meter, () => handles.map(statsOf));
 * // ... on close:
 * stop();
 */
export function registerRuntimeMetrics(meter: Meter, stats: StatsSource): () => void {
  const breakerState = meter.createObservableGauge(METRIC.breakerState, {
    description: "State of the server's circuit breaker: 0 closed, 1 half-open, 2 open.",
    unit: '1',
  });
  const breakerTransitions = meter.createObservableCounter(METRIC.breakerTransitions, {
    description: "State changes of the server's circuit breaker.",
    unit: '{transition}',
  });
  const breakerRejections = meter.createObservableCounter(METRIC.breakerRejections, {
    description: 'Calls refused by an open circuit breaker (BREAKER_OPEN).',
    unit: '{call}',
  });
  const queueDepth = meter.createObservableUpDownCounter(METRIC.queueDepth, {
    description: 'Calls waiting in the queue for a slot in the concurrency window.',
    unit: '{call}',
  });
  const queueRejections = meter.createObservableCounter(METRIC.queueRejections, {
    description: 'Calls refused because the queue was full (QUEUE_FULL).',
    unit: '{call}',
  });
  const poolSize = meter.createObservableUpDownCounter(METRIC.poolSize, {
    description: 'Connections in the server pool.',
    unit: '{connection}',
  });
  const inFlight = meter.createObservableUpDownCounter(METRIC.poolInFlight, {
    description: 'Requests sent and not yet answered.',
    unit: '{request}',
  });
  const retries = meter.createObservableCounter(METRIC.retries, {
    description: 'Attempts sent again after a transient failure.',
    unit: '{retry}',
  });
  const denials = meter.createObservableCounter(METRIC.retryBudgetDenials, {
    description: 'Retries refused because the retry budget was spent.',
    unit: '{retry}',
  });
  const reconnects = meter.createObservableCounter(METRIC.reconnects, {
    description: 'Connections that became ready again after being lost.',
    unit: '{reconnect}',
  });
  const era = meter.createObservableGauge(METRIC.protocolEra, {
    description:
      'Protocol era negotiated with the server: 2025 (initialize, sessions) or 2026 (server/discover).',
    unit: '1',
  });
  const observables: Observable[] = [
    breakerState,
    breakerTransitions,
    breakerRejections,
    queueDepth,
    queueRejections,
    poolSize,
    inFlight,
    retries,
    denials,
    reconnects,
    era,
  ];
  const callback = (result: BatchObservableResult): void => {
    for (const s of stats()) {
      const name = s.server.attributes[RUNTIME_ATTR.server] ?? s.server.name;
      const attributes = { [RUNTIME_ATTR.server]: name };
      if (s.breakerState !== undefined)
        result.observe(breakerState, BREAKER_STATE_VALUE[s.breakerState], attributes);
      result.observe(breakerTransitions, s.breakerTransitions, attributes);
      result.observe(breakerRejections, s.breakerRejections, attributes);
      result.observe(queueDepth, s.queueDepth, attributes);
      result.observe(queueRejections, s.queueRejections, attributes);
      result.observe(poolSize, s.poolSize, attributes);
      result.observe(inFlight, s.inFlight, attributes);
      result.observe(retries, s.retries, attributes);
      result.observe(denials, s.retryBudgetDenials, attributes);
      result.observe(reconnects, s.reconnects, attributes);
      const known = knownVersion(s.protocolVersion);
      if (known !== undefined) {
        const version = s.server.redact(known);
        result.observe(era, protocolEraOf(version), { ...attributes, [ATTR.mcpProtocolVersion]: version });
      }
    }
  };
  meter.addBatchObservableCallback(callback, observables);
  return () => meter.removeBatchObservableCallback(callback, observables);
}

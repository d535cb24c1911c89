/**
 * The runtime instruments' figures, read from the same per-server snapshot that `rt.snapshot()`
 * and the inspector show: one bookkeeping. Typed structurally, so this file depends on the
 * snapshot's shape, not on the classes that build it.
 */
import type { ServerStatsView } from './runtime-metrics.js';
import type { TelemetryServer } from './server-info.js';

/** The parts of a server's `snapshot()` the instruments read. */
export interface ServerSnapshotFigures {
  readyCount: number;
  session: { protocolVersion?: string | undefined } | null;
  queue: { queued: number };
  breakers: Record<string, { state: string }>;
  stats: {
    retries: number;
    retriesDeniedByBudget: number;
    breakerRejections: number;
    queueRejections: number;
    breakerTransitions: number;
  };
  pool: { size: number; inFlight: number } | null;
}

const BREAKER_STATES = new Set(['closed', 'halfOpen', 'open']);

/**
 * One server's instrument figures from its snapshot.
 *
 * @example
 * registerRuntimeMetrics(meter, () => handles.map((h) => statsFromSnapshot(h.telemetryServer, h.snapshot())));
 */
export function statsFromSnapshot(server: TelemetryServer, snap: ServerSnapshotFigures): ServerStatsView {
  const breaker = snap.breakers['*']?.state;
  return {
    server,
    breakerState:
      breaker !== undefined && BREAKER_STATES.has(breaker)
        ? (breaker as ServerStatsView['breakerState'])
        : undefined,
    breakerTransitions: snap.stats.breakerTransitions,
    breakerRejections: snap.stats.breakerRejections,
    queueDepth: snap.queue.queued,
    queueRejections: snap.stats.queueRejections,
    poolSize: snap.pool?.size ?? 0,
    inFlight: snap.pool?.inFlight ?? 0,
    retries: snap.stats.retries,
    retryBudgetDenials: snap.stats.retriesDeniedByBudget,
    // The primary connection became ready `readyCount` times: every time after the first is a reconnect.
    reconnects: Math.max(0, snap.readyCount - 1),
    protocolVersion: snap.session?.protocolVersion,
  };
}

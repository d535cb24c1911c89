/**
 * The inspector's overview: one row a server, built from the measurements the rest of the runtime
 * reads (its `snapshot()` and `health()`), so the page shows no second bookkeeping. Latency and
 * calls per second come from `health()`, which records the call path's one measurement of each
 * settled call, the value `mcp.client.operation.duration` records too: p50/p99 are percentiles of
 * those durations, calls per second the change of their count (`requests`) over a window.
 */
import type { HealthSnapshot } from '../health.js';

/** The parts of a server's `snapshot()` the overview reads. */
export interface OverviewSnapshot {
  state: string;
  protocol: { era: 'modern' | 'legacy' | null; version: string | null };
  queue: { queued: number; inFlight?: number };
  breakers: Record<string, { state: string }>;
  lastError: { code?: unknown; message?: unknown; at?: unknown } | null;
}

/** One server's row of the overview table. */
export interface OverviewRow {
  server: string;
  /** `modern` (2026-07-28) or `legacy`; null until the first handshake. */
  era: 'modern' | 'legacy' | null;
  protocolVersion: string | null;
  state: string;
  /** State of the server-wide breaker; null before the first call. */
  breaker: string | null;
  queued: number;
  inFlight: number;
  /** Calls settled per second over the last window; null until a window has passed. */
  callsPerSecond: number | null;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  /** Failed share of the recent requests, 0..1. */
  errorRate: number;
  /** The later of the last failed request and the connection's last error (both redacted). */
  lastError: { code: string; message: string; at: number | null } | null;
}

/** Calls per second of each server, from successive readings of its settled calls (`health().requests`). */
export class CallRate {
  private readonly last = new Map<string, { calls: number; atMs: number; perSecond: number | null }>();

  constructor(private readonly windowMs: number) {}

  /** Takes a reading; the rate changes once a window has passed since the previous one. */
  read(server: string, calls: number, nowMs: number): number | null {
    const prev = this.last.get(server);
    if (!prev) {
      this.last.set(server, { calls, atMs: nowMs, perSecond: null });
      return null;
    }
    const elapsedMs = nowMs - prev.atMs;
    if (elapsedMs >= this.windowMs) {
      const perSecond = Math.round(((calls - prev.calls) * 1000 * 10) / elapsedMs) / 10;
      this.last.set(server, { calls, atMs: nowMs, perSecond });
    }
    return this.last.get(server)!.perSecond;
  }
}

function errorOf(
  e: { code?: unknown; message?: unknown; at?: unknown } | null | undefined,
): OverviewRow['lastError'] {
  if (!e) return null;
  return {
    code: e.code === undefined ? 'UNKNOWN' : String(e.code),
    message: typeof e.message === 'string' ? e.message : '',
    at: typeof e.at === 'number' ? e.at : null,
  };
}

/**
 * One server's overview row.
 *
 * @example
 * const health = rt.health('fs');
 * overviewRow('fs', rt.snapshot().servers.fs, health, rate.read('fs', health.requests, Date.now()));
 */
export function overviewRow(
  server: string,
  snap: OverviewSnapshot,
  health: HealthSnapshot,
  callsPerSecond: number | null,
): OverviewRow {
  const request = errorOf(health.lastError);
  const connection = errorOf(snap.lastError);
  // The newer one; a connection error carries no time, so a request's error wins when both exist.
  const lastError =
    request && connection && connection.at !== null && request.at !== null
      ? connection.at > request.at
        ? connection
        : request
      : (request ?? connection);
  return {
    server,
    era: snap.protocol.era,
    protocolVersion: snap.protocol.version,
    state: snap.state,
    breaker: snap.breakers['*']?.state ?? null,
    queued: snap.queue.queued,
    inFlight: snap.queue.inFlight ?? 0,
    callsPerSecond,
    latencyP50Ms: health.latencyP50Ms,
    latencyP99Ms: health.latencyP99Ms,
    errorRate: health.errorRate,
    lastError,
  };
}

/**
 * The overview rows of every server of a `snapshot().servers`, each with its `health()`; calls per
 * second from `rate`, read with the settled calls the health counted.
 *
 * @example
 * const rows = overviewRows(rt.snapshot().servers, (s) => rt.health(s), rate, Date.now());
 */
export function overviewRows(
  servers: Record<string, OverviewSnapshot>,
  healthOf: (server: string) => HealthSnapshot,
  rate: CallRate,
  atMs: number,
): OverviewRow[] {
  return Object.entries(servers).map(([name, snap]) => {
    const health = healthOf(name);
    return overviewRow(name, snap, health, rate.read(name, health.requests, atMs));
  });
}

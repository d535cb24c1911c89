/**
 * The inspector's overview: one row a server, built from the measurements the rest of the runtime
 * reads (its `snapshot()` and `health()`, which the OpenTelemetry instruments read too), so the
 * page shows no second bookkeeping. Calls per second is the change of `stats.calls` over a window.
 */
import type { HealthSnapshot } from '../health.js';

/** The parts of a server's `snapshot()` the overview reads. */
export interface OverviewSnapshot {
  state: string;
  protocol: { era: 'modern' | 'legacy' | null; version: string | null };
  queue: { queued: number; inFlight?: number };
  breakers: Record<string, { state: string }>;
  stats: { calls: number };
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
  /** Calls per second over the last window; null until a window has passed. */
  callsPerSecond: number | null;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  /** Failed share of the recent requests, 0..1. */
  errorRate: number;
  /** The later of the last failed request and the connection's last error (both redacted). */
  lastError: { code: string; message: string; at: number | null } | null;
}

/** Calls per second of each server, from successive readings of its `stats.calls`. */
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
 * overviewRow('fs', rt.snapshot().servers.fs, rt.health('fs'), rate.read('fs', calls, Date.now()));
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

/**
 * The public `telemetry` option, in structural types only: the package's public declarations must
 * not need `@opentelemetry/api` (an optional peer dependency) to typecheck.
 */

/** A tracer provider, structurally (so the public types do not need `@opentelemetry/api`). */
export interface TracerProviderLike {
  getTracer(name: string, version?: string): unknown;
}

/** A meter provider, structurally. */
export interface MeterProviderLike {
  getMeter(name: string, version?: string): unknown;
}

/** The `telemetry` option of the runtime. */
export interface TelemetryOptions {
  /** Where spans go. Default: the global tracer provider (`trace.setGlobalTracerProvider`). */
  tracerProvider?: TracerProviderLike;
  /** Where metrics go. Default: the global meter provider. */
  meterProvider?: MeterProviderLike;
  /**
   * Name `resources/read` spans `resources/read {uri}`. Off by default: the conventions keep
   * URIs (high cardinality) out of span names; the URI is always in `mcp.resource.uri`.
   */
  resourceUriInSpanName?: boolean;
}

/**
 * The telemetry seam of the call path. Created once per runtime; decides ONCE whether anything
 * records. When neither a tracer provider nor a meter provider is registered (or the API is not
 * installed, or telemetry is off) it is {@link NOOP_TELEMETRY}: `startCall` returns the shared
 * {@link NOOP_CALL_SPAN}, so the healthy path pays one call and no allocation.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Histogram, Meter, Tracer } from '@opentelemetry/api';
import { inputKindsOf } from '../input-rounds.js';
import {
  type CallRequests,
  type CallSpan,
  errorTypeOf,
  knownVersion,
  NOOP_CALL_SPAN,
  RecordingCallSpan,
  type RecordingDeps,
  type TelemetryError,
} from './call-span.js';
import { ATTR, DURATION_BUCKETS_S, INSTRUMENTATION_SCOPE, METRIC } from './names.js';
import type { MeterProviderLike, TelemetryOptions, TracerProviderLike } from './options.js';
import { loadOtelApi, type OtelApi, type OtelApiLoader } from './otel-api.js';
import { registerRuntimeMetrics, type StatsSource } from './runtime-metrics.js';
import type { TelemetryServer } from './server-info.js';

export type { CallRequests } from './call-span.js';
export type { MeterProviderLike, TelemetryOptions, TracerProviderLike } from './options.js';

/** What the runtime hands {@link createCallTelemetry}. */
export interface CallTelemetryInit extends TelemetryOptions {
  /** Per-server figures for the runtime instruments (breaker, queue, pool, retries...). */
  stats?: StatsSource;
  /** The runtime's version, recorded as the instrumentation scope version. */
  version?: string;
  /** Loads `@opentelemetry/api` (tests simulate its absence with a throwing loader). */
  loader?: OtelApiLoader;
}

/** The call path's view of telemetry. */
export interface CallTelemetry {
  /** False on the no-op implementation. */
  readonly enabled: boolean;
  /**
   * Starts the span of one logical call: `method` is the JSON-RPC method, `name` the tool or
   * prompt, `uri` the resource. The parent is the active context.
   */
  startCall(
    server: TelemetryServer,
    method: string,
    name: string | undefined,
    uri: string | undefined,
  ): CallSpan;
  /**
   * {@link startCall} from the runtime's operation label (`tools/call echo`, `resources/read URI`,
   * `prompts/get NAME`, `tools/list`): the label is only parsed when something records.
   */
  startOperation(server: TelemetryServer, operation: string): CallSpan;
  /**
   * Runs one attempt of a call: `fn(a, b)` (the SDK request) with `span` as the call whose
   * messages are being sent, through every await inside the SDK (an AsyncLocalStorage, only when
   * something records; the no-op just calls `fn`).
   */
  run<A, B, R>(span: CallSpan, fn: (a: A, b: B) => R, a: A, b: B): R;
  /**
   * A JSON-RPC message about to leave on a transport. Returns it with the trace context
   * in `params._meta` (a new message and params: the caller's objects are never touched), and
   * gives the attempt being sent its request id, protocol version and session id. Messages that
   * carry nothing new are returned as they are. With `requests` (the connection's), a call's
   * request is tracked there until its response arrives (see {@link incoming}).
   */
  outgoing<M extends OutgoingMessage>(
    message: M,
    protocolVersion: string | undefined,
    sessionId: string | undefined,
    requests?: CallRequests,
  ): M;
  /**
   * A JSON-RPC message arrived on the connection of `requests`; `deliver(message, extra)` hands it
   * to the Client. A response that asks a call for input (`input_required`, MRTR) adds an input
   * round event to the call's span and is delivered in the call's context, so the SDK's answer
   * (the next leg of the call) is the call's: traced, and tracked for the next round.
   */
  incoming<M extends IncomingMessage, X>(
    message: M,
    extra: X,
    deliver: (message: M, extra: X) => void,
    requests: CallRequests,
  ): void;
  /** Writes the active trace context into a `_meta` object. */
  injectActive(meta: Record<string, unknown>): void;
  /** A session (a connection's life from ready to lost or closed) ended: `mcp.client.session.duration`. */
  sessionEnded(
    server: TelemetryServer,
    durationMs: number,
    protocolVersion: string | undefined,
    error: TelemetryError | undefined,
  ): void;
  /** Unregisters the runtime instruments. Idempotent. */
  shutdown(): void;
}

/** A JSON-RPC message as {@link CallTelemetry.outgoing} reads it (requests and notifications have a method). */
export interface OutgoingMessage {
  method?: string;
  id?: string | number;
  params?: { _meta?: Record<string, unknown>; [key: string]: unknown };
}

/** A JSON-RPC message as {@link CallTelemetry.incoming} reads it (a response has an id and no method). */
export interface IncomingMessage {
  method?: unknown;
  id?: unknown;
  result?: unknown;
}

/** Telemetry that records nothing. */
export const NOOP_TELEMETRY: CallTelemetry = Object.freeze({
  enabled: false,
  startCall: () => NOOP_CALL_SPAN,
  startOperation: () => NOOP_CALL_SPAN,
  run: <A, B, R>(_span: CallSpan, fn: (a: A, b: B) => R, a: A, b: B): R => fn(a, b),
  outgoing: <M>(message: M): M => message,
  incoming: <M, X>(message: M, extra: X, deliver: (message: M, extra: X) => void): void =>
    deliver(message, extra),
  injectActive: () => {},
  sessionEnded: () => {},
  shutdown: () => {},
});

/**
 * The telemetry of one runtime, or {@link NOOP_TELEMETRY} when nothing would record. The global
 * providers are read once, here: register the OpenTelemetry SDK before creating the runtime.
 *
 * @example
 * const telemetry = createCallTelemetry({ stats: () => servers.map(statsOf) });
 * const span = telemetry.startCall(server, 'tools/call', 'echo', undefined);
 * span.end(undefined, result, durationMs);
 */
export function createCallTelemetry(init: CallTelemetryInit | false = {}): CallTelemetry {
  if (init === false) return NOOP_TELEMETRY;
  const api = loadOtelApi(init.loader);
  if (!api) return NOOP_TELEMETRY;
  const tracer = recordingTracer(api, init.tracerProvider, init.version);
  const meter = recordingMeter(api, init.meterProvider, init.version);
  if (!tracer && !meter) return NOOP_TELEMETRY;
  return new ActiveTelemetry(api, tracer, meter, init);
}

/** The tracer, or undefined when the provider is the API's no-op one. */
function recordingTracer(
  api: OtelApi,
  given: TracerProviderLike | undefined,
  version?: string,
): Tracer | undefined {
  const provider = (given ?? api.trace.getTracerProvider()) as TracerProviderLike & {
    getDelegateTracer?: (name: string, version?: string) => Tracer | undefined;
  };
  // The global provider is a proxy; without a registered delegate every tracer it gives is no-op.
  // (Duck-typed: the proxy may come from another copy of the API, e.g. the application's ESM one.)
  if (typeof provider.getDelegateTracer === 'function')
    return provider.getDelegateTracer(INSTRUMENTATION_SCOPE, version);
  return provider.getTracer(INSTRUMENTATION_SCOPE, version) as Tracer;
}

/** The meter, or undefined when the provider is the API's no-op one. */
function recordingMeter(
  api: OtelApi,
  given: MeterProviderLike | undefined,
  version?: string,
): Meter | undefined {
  const provider = given ?? api.metrics.getMeterProvider();
  const meter = provider.getMeter(INSTRUMENTATION_SCOPE, version) as Meter;
  return meter === api.createNoopMeter() ? undefined : meter;
}

/** Methods whose operation label ends with a resource URI (else it ends with a tool or prompt name). */
const URI_METHODS = new Set(['resources/read', 'resources/subscribe', 'resources/unsubscribe']);

class ActiveTelemetry implements CallTelemetry {
  readonly enabled = true;
  private readonly deps: RecordingDeps;
  private readonly sessionDuration: Histogram | undefined;
  /** The call whose attempt is running, across the SDK's awaits down to the transport. */
  private readonly sending = new AsyncLocalStorage<RecordingCallSpan>();
  private unregister: (() => void) | undefined;

  constructor(
    private readonly api: OtelApi,
    tracer: Tracer | undefined,
    meter: Meter | undefined,
    init: CallTelemetryInit,
  ) {
    const advice = { explicitBucketBoundaries: DURATION_BUCKETS_S };
    const duration = meter?.createHistogram(METRIC.clientOperationDuration, {
      description:
        'Duration of an MCP request as the client observed it, per logical call (queueing and retries included).',
      unit: 's',
      advice,
    });
    this.sessionDuration = meter?.createHistogram(METRIC.clientSessionDuration, {
      description:
        'Duration of an MCP session (a connection from ready until lost or closed) as the client observed it.',
      unit: 's',
      advice,
    });
    this.deps = { api, tracer, duration, resourceUriInSpanName: init.resourceUriInSpanName ?? false };
    if (meter && init.stats) this.unregister = registerRuntimeMetrics(meter, init.stats);
  }

  startCall(
    server: TelemetryServer,
    method: string,
    name: string | undefined,
    uri: string | undefined,
  ): CallSpan {
    return new RecordingCallSpan(this.deps, server, method, name, uri);
  }

  startOperation(server: TelemetryServer, operation: string): CallSpan {
    const space = operation.indexOf(' ');
    if (space === -1) return this.startCall(server, operation, undefined, undefined);
    const method = operation.slice(0, space);
    const target = operation.slice(space + 1);
    return URI_METHODS.has(method)
      ? this.startCall(server, method, undefined, target)
      : this.startCall(server, method, target, undefined);
  }

  run<A, B, R>(span: CallSpan, fn: (a: A, b: B) => R, a: A, b: B): R {
    if (!(span instanceof RecordingCallSpan)) return fn(a, b);
    span.awaitingSend = true;
    return this.sending.run(span, fn, a, b);
  }

  outgoing<M extends OutgoingMessage>(
    message: M,
    protocolVersion: string | undefined,
    sessionId: string | undefined,
    requests?: CallRequests,
  ): M {
    if (typeof message.method !== 'string') return message; // a response: no params to carry context
    const store = this.sending.getStore();
    // A context that outlived its call (a socket or timer created during it) is not the call's.
    const call = store && !store.isEnded ? store : undefined;
    if (call && message.id !== undefined && message.method === call.method) {
      if (call.awaitingSend) {
        call.awaitingSend = false;
        call.sent(message.id, protocolVersion, sessionId);
      }
      if (requests) call.track(requests, message.id);
    }
    const carrier: Record<string, unknown> = {};
    if (call) call.inject(carrier);
    else this.injectActive(carrier);
    if (carrier.traceparent === undefined && carrier.baggage === undefined) return message;
    const params = message.params;
    return { ...message, params: { ...params, _meta: { ...params?._meta, ...carrier } } };
  }

  incoming<M extends IncomingMessage, X>(
    message: M,
    extra: X,
    deliver: (message: M, extra: X) => void,
    requests: CallRequests,
  ): void {
    const id = message.id;
    const call =
      message.method === undefined && (typeof id === 'string' || typeof id === 'number')
        ? requests.get(id)
        : undefined;
    if (!call) {
      deliver(message, extra);
      return;
    }
    call.untrack();
    const result = message.result as { resultType?: unknown; inputRequests?: unknown } | undefined;
    if (call.isEnded || result?.resultType !== 'input_required') {
      deliver(message, extra);
      return;
    }
    const { kinds, count } = inputKindsOf(result.inputRequests);
    call.inputRound(kinds, count);
    this.sending.run(call, deliver, message, extra);
  }

  injectActive(meta: Record<string, unknown>): void {
    this.api.propagation.inject(this.api.context.active(), meta);
  }

  sessionEnded(
    server: TelemetryServer,
    durationMs: number,
    protocolVersion: string | undefined,
    error: TelemetryError | undefined,
  ): void {
    if (!this.sessionDuration) return;
    const attributes: Record<string, string | number> = { ...server.attributes };
    const version = knownVersion(protocolVersion);
    if (version !== undefined) attributes[ATTR.mcpProtocolVersion] = server.redact(version);
    if (error) attributes[ATTR.errorType] = errorTypeOf(error);
    this.sessionDuration.record(durationMs / 1000, attributes);
  }

  shutdown(): void {
    this.unregister?.();
    this.unregister = undefined;
  }
}

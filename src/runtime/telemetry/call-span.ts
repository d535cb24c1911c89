/**
 * The span of one logical call (retries included) and its `mcp.client.operation.duration`
 * measurement. Two implementations: the shared {@link NOOP_CALL_SPAN} (no provider: no allocation,
 * no clock read) and {@link RecordingCallSpan}, made only when a tracer or a meter records.
 */
import { createHash } from 'node:crypto';
import type { Attributes, Context, Histogram, Span, Tracer } from '@opentelemetry/api';
import type { InputKind } from '../input-rounds.js';
import { ATTR, EVENT, EXECUTE_TOOL, OTHER_ERROR, RUNTIME_ATTR, TOOL_ERROR } from './names.js';
import type { OtelApi } from './otel-api.js';
import type { TelemetryServer } from './server-info.js';

/** What the seam reads of a failure (an `McpRuntimeError` fits). */
export interface TelemetryError {
  code?: unknown;
  /** The JSON-RPC error code, on REMOTE errors. */
  rpcCode?: unknown;
  message?: unknown;
}

/** What a server may ask for in an input round (MRTR). */
export type { InputKind };

/**
 * The requests of calls on one connection awaiting their response, by JSON-RPC id: how a response
 * that asks for input finds its call (ids are per connection, so one map a connection).
 */
export type CallRequests = Map<string | number, RecordingCallSpan>;

/**
 * The call path's handle on one logical call. Every method is cheap and never throws; on the
 * no-op implementation every method is empty.
 */
export interface CallSpan {
  /** The call waited in the queue behind `depth` others. */
  queued(depth: number): void;
  /** The call left the queue after `waitMs`. */
  dequeued(waitMs: number): void;
  /** The breaker refused the call; it may pass again after `retryAfterMs`. */
  breakerRejected(retryAfterMs: number): void;
  /** The call waited `waitMs` for a connection to become ready (a (re)connect). */
  connectionWaited(waitMs: number): void;
  /** Attempt `attempt` failed with `reason` (a runtime error code); the next one starts after `delayMs`. */
  retry(attempt: number, delayMs: number, reason: string): void;
  /**
   * The server answered with `input_required` (MRTR): one more round, asking `requests` input
   * requests of `kinds` (the call counts the rounds).
   */
  inputRound(kinds: readonly InputKind[], requests: number): void;
  /** An attempt was sent: its JSON-RPC id, the negotiated version and the 2025 session id, when known. */
  sent(
    requestId: string | number | undefined,
    protocolVersion: string | undefined,
    sessionId: string | undefined,
  ): void;
  /** Writes this call's trace context (`traceparent`, `tracestate`, `baggage`) into a request's `_meta`. */
  inject(meta: Record<string, unknown>): void;
  /**
   * Ends the span and records `durationMs` (the call path's one measurement of the call, which
   * health and the inspector read too): `error` when the call failed, else its `result`.
   */
  end(error: TelemetryError | undefined, result: unknown, durationMs: number): void;
}

function noop(): void {}

/** The span of every call when nothing records: one shared, frozen object. */
export const NOOP_CALL_SPAN: CallSpan = Object.freeze({
  queued: noop,
  dequeued: noop,
  breakerRejected: noop,
  connectionWaited: noop,
  retry: noop,
  inputRound: noop,
  sent: noop,
  inject: noop,
  end: noop,
});

/** What a recording span shares with its factory. */
export interface RecordingDeps {
  api: OtelApi;
  /** Undefined when only metrics record. */
  tracer: Tracer | undefined;
  /** Undefined when only traces record. */
  duration: Histogram | undefined;
  resourceUriInSpanName: boolean;
}

/** A negotiated protocol version worth recording (the runtime says `unknown` when a transport cannot tell). */
export function knownVersion(version: string | undefined): string | undefined {
  return version === undefined || version === '' || version === 'unknown' ? undefined : version;
}

/** `error.type` of a failure, per the conventions: the JSON-RPC code for REMOTE, else the runtime's code. */
export function errorTypeOf(error: TelemetryError): string {
  if (error.code === 'REMOTE' && typeof error.rpcCode === 'number') return String(error.rpcCode);
  if (error.code === 'TOOL') return TOOL_ERROR;
  return typeof error.code === 'string' && error.code !== '' ? error.code : OTHER_ERROR;
}

/**
 * A digest of a 2025 session id: the raw id authenticates requests on some servers, so it is a
 * secret; the digest still correlates the spans of one session.
 */
export function sessionDigest(server: TelemetryServer, sessionId: string): string {
  const last = server.lastSession;
  if (last && last.raw === sessionId) return last.digest;
  const digest = createHash('sha256').update(sessionId).digest('hex').slice(0, 32);
  server.lastSession = { raw: sessionId, digest };
  return digest;
}

/** A call that records a span, a duration, or both. */
export class RecordingCallSpan implements CallSpan {
  private readonly span: Span | undefined;
  private readonly parent: Context;
  /** The tool or prompt name, redacted. */
  private readonly target: string | undefined;
  private withSpan: Context | undefined;
  private protocolVersion: string | undefined;
  private ended = false;
  private inputRounds = 0;
  /** Where this call's request awaiting its response is tracked (see {@link track}). */
  private trackedIn: CallRequests | undefined;
  private trackedId: string | number = 0;
  /** Set while an attempt runs: its first request of {@link method} is the attempt's (see `outgoing`). */
  awaitingSend = false;

  constructor(
    private readonly deps: RecordingDeps,
    private readonly server: TelemetryServer,
    readonly method: string,
    name: string | undefined,
    uri: string | undefined,
  ) {
    const { api, tracer } = deps;
    this.parent = api.context.active();
    this.target = name === undefined ? undefined : server.redact(name);
    if (!tracer) return;
    const attributes = this.baseAttributes();
    let spanTarget = this.target;
    if (uri !== undefined) {
      const safeUri = server.redact(uri);
      attributes[ATTR.mcpResourceUri] = safeUri;
      // The conventions keep URIs out of span names by default (cardinality); opt-in only.
      if (deps.resourceUriInSpanName && spanTarget === undefined) spanTarget = safeUri;
    }
    this.span = tracer.startSpan(
      spanTarget === undefined ? method : `${method} ${spanTarget}`,
      { kind: api.SpanKind.CLIENT, attributes },
      this.parent,
    );
  }

  /** The server's attributes, the method, and the tool or prompt. */
  private baseAttributes(): Attributes {
    const attributes: Attributes = { ...this.server.attributes, [ATTR.mcpMethodName]: this.method };
    if (this.target !== undefined) {
      if (this.method === 'tools/call') {
        attributes[ATTR.genAiToolName] = this.target;
        attributes[ATTR.genAiOperationName] = EXECUTE_TOOL;
      } else if (this.method === 'prompts/get') attributes[ATTR.genAiPromptName] = this.target;
    }
    return attributes;
  }

  /** True once {@link end} ran: a later message sent in this call's async context is not its. */
  get isEnded(): boolean {
    return this.ended;
  }

  queued(depth: number): void {
    this.span?.addEvent(EVENT.queued, { [RUNTIME_ATTR.queueDepth]: depth });
  }

  dequeued(waitMs: number): void {
    this.span?.addEvent(EVENT.dequeued, { [RUNTIME_ATTR.queueWaitMs]: waitMs });
  }

  breakerRejected(retryAfterMs: number): void {
    this.span?.addEvent(EVENT.breakerRejected, { [RUNTIME_ATTR.breakerRetryAfterMs]: retryAfterMs });
  }

  connectionWaited(waitMs: number): void {
    this.span?.addEvent(EVENT.connectionWaited, { [RUNTIME_ATTR.connectionWaitMs]: waitMs });
  }

  retry(attempt: number, delayMs: number, reason: string): void {
    this.span?.addEvent(EVENT.retry, {
      [RUNTIME_ATTR.retryAttempt]: attempt,
      [RUNTIME_ATTR.retryDelayMs]: delayMs,
      [RUNTIME_ATTR.retryReason]: this.server.redact(reason),
    });
  }

  inputRound(kinds: readonly InputKind[], requests: number): void {
    this.inputRounds++;
    this.span?.addEvent(EVENT.inputRequired, {
      [RUNTIME_ATTR.inputRound]: this.inputRounds,
      [RUNTIME_ATTR.inputKinds]: kinds as InputKind[],
      [RUNTIME_ATTR.inputRequests]: requests,
    });
  }

  /** The request `id` of this call was sent on the connection of `requests`; its response is awaited. */
  track(requests: CallRequests, id: string | number): void {
    this.untrack();
    requests.set(id, this);
    this.trackedIn = requests;
    this.trackedId = id;
  }

  /** The awaited response arrived, or the call ended: forget its request (unless another took the id). */
  untrack(): void {
    const requests = this.trackedIn;
    if (!requests) return;
    if (requests.get(this.trackedId) === this) requests.delete(this.trackedId);
    this.trackedIn = undefined;
  }

  sent(
    requestId: string | number | undefined,
    protocolVersion: string | undefined,
    sessionId: string | undefined,
  ): void {
    const version = knownVersion(protocolVersion);
    if (version !== undefined) this.protocolVersion = this.server.redact(version);
    const span = this.span;
    if (!span) return;
    if (requestId !== undefined)
      span.setAttribute(ATTR.jsonrpcRequestId, this.server.redact(String(requestId)));
    if (this.protocolVersion !== undefined) span.setAttribute(ATTR.mcpProtocolVersion, this.protocolVersion);
    if (sessionId) span.setAttribute(ATTR.mcpSessionId, sessionDigest(this.server, sessionId));
  }

  inject(meta: Record<string, unknown>): void {
    const { api } = this.deps;
    if (this.span) this.withSpan ??= api.trace.setSpan(this.parent, this.span);
    api.propagation.inject(this.withSpan ?? this.parent, meta);
  }

  end(error: TelemetryError | undefined, result: unknown, durationMs: number): void {
    if (this.ended) return;
    this.ended = true;
    this.untrack();
    let errorType: string | undefined;
    let rpcCode: string | undefined;
    let message: string | undefined;
    if (error) {
      errorType = errorTypeOf(error);
      if (error.code === 'REMOTE' && typeof error.rpcCode === 'number') rpcCode = String(error.rpcCode);
      if (typeof error.message === 'string') message = this.server.redact(error.message);
    } else if (
      this.method === 'tools/call' &&
      result !== null &&
      typeof result === 'object' &&
      (result as { isError?: unknown }).isError === true
    ) {
      errorType = TOOL_ERROR;
    }
    const span = this.span;
    if (span) {
      if (errorType !== undefined) {
        span.setAttribute(ATTR.errorType, errorType);
        if (rpcCode !== undefined) span.setAttribute(ATTR.rpcResponseStatusCode, rpcCode);
        span.setStatus(
          message === undefined
            ? { code: this.deps.api.SpanStatusCode.ERROR }
            : { code: this.deps.api.SpanStatusCode.ERROR, message },
        );
      }
      span.end();
    }
    const duration = this.deps.duration;
    if (duration) {
      duration.record(durationMs / 1000, this.metricAttributes(errorType, rpcCode));
    }
  }

  /** The conventions' attributes of `mcp.client.operation.duration` (no ids, no URI: cardinality). */
  private metricAttributes(errorType: string | undefined, rpcCode: string | undefined): Attributes {
    const attributes = this.baseAttributes();
    if (this.protocolVersion !== undefined) attributes[ATTR.mcpProtocolVersion] = this.protocolVersion;
    if (errorType !== undefined) attributes[ATTR.errorType] = errorType;
    if (rpcCode !== undefined) attributes[ATTR.rpcResponseStatusCode] = rpcCode;
    return attributes;
  }
}

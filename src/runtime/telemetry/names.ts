/**
 * Every name the runtime's telemetry emits, in one place: docs/observability.md documents each, and
 * the tests check the `mcp.*` and `gen_ai.*` ones against the OpenTelemetry semantic conventions
 * for MCP (open-telemetry/semantic-conventions-genai, docs/gen-ai/mcp.md, status Development).
 * Names outside the conventions live under `mcp_actors.`.
 */

/** Instrumentation scope of the tracer and the meter. */
export const INSTRUMENTATION_SCOPE = 'mcp-actors';

/** Span and metric attributes defined by the semantic conventions. */
export const ATTR = {
  mcpMethodName: 'mcp.method.name',
  mcpProtocolVersion: 'mcp.protocol.version',
  mcpSessionId: 'mcp.session.id',
  mcpResourceUri: 'mcp.resource.uri',
  genAiToolName: 'gen_ai.tool.name',
  genAiPromptName: 'gen_ai.prompt.name',
  genAiOperationName: 'gen_ai.operation.name',
  jsonrpcRequestId: 'jsonrpc.request.id',
  rpcResponseStatusCode: 'rpc.response.status_code',
  errorType: 'error.type',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  networkTransport: 'network.transport',
  networkProtocolName: 'network.protocol.name',
} as const;

/** The runtime's own attributes (not covered by the conventions). */
export const RUNTIME_ATTR = {
  /** The server's name in the runtime's config. */
  server: 'mcp_actors.server',
  queueDepth: 'mcp_actors.queue.depth',
  queueWaitMs: 'mcp_actors.queue.wait_ms',
  retryAttempt: 'mcp_actors.retry.attempt',
  retryDelayMs: 'mcp_actors.retry.delay_ms',
  retryReason: 'mcp_actors.retry.reason',
  breakerRetryAfterMs: 'mcp_actors.breaker.retry_after_ms',
  connectionWaitMs: 'mcp_actors.connection.wait_ms',
  inputRound: 'mcp_actors.input.round',
  /** What a round asks for: some of `elicitation`, `sampling`, `roots` (never the requests themselves). */
  inputKinds: 'mcp_actors.input.kinds',
  /** How many input requests a round carries. */
  inputRequests: 'mcp_actors.input.requests',
} as const;

/** Span events recorded on a call's span. */
export const EVENT = {
  /** The call waited in the queue (the window was full). */
  queued: 'mcp_actors.queued',
  /** The call left the queue and was dispatched. */
  dequeued: 'mcp_actors.dequeued',
  /** An attempt failed and the call will be sent again after a delay. */
  retry: 'mcp_actors.retry',
  /** The circuit breaker refused the call. */
  breakerRejected: 'mcp_actors.breaker.rejected',
  /** The call waited for a connection to (re)connect before it was sent. */
  connectionWaited: 'mcp_actors.connection.waited',
  /** A 2026 server answered with `input_required` (MRTR): one event a round, before it is answered. */
  inputRequired: 'mcp_actors.input_required',
} as const;

/** Metric names: the conventions' histograms and the runtime's own instruments. */
export const METRIC = {
  clientOperationDuration: 'mcp.client.operation.duration',
  clientSessionDuration: 'mcp.client.session.duration',
  breakerState: 'mcp_actors.breaker.state',
  breakerTransitions: 'mcp_actors.breaker.transitions',
  breakerRejections: 'mcp_actors.breaker.rejections',
  queueDepth: 'mcp_actors.queue.depth',
  queueRejections: 'mcp_actors.queue.rejections',
  poolSize: 'mcp_actors.pool.size',
  poolInFlight: 'mcp_actors.pool.in_flight',
  retries: 'mcp_actors.retries',
  retryBudgetDenials: 'mcp_actors.retry_budget.denials',
  reconnects: 'mcp_actors.reconnects',
  protocolEra: 'mcp_actors.protocol.era',
} as const;

/** `gen_ai.operation.name` of a `tools/call` span. */
export const EXECUTE_TOOL = 'execute_tool';

/** `error.type` of a tool result with `isError: true`. */
export const TOOL_ERROR = 'tool_error';

/** Fallback `error.type` when the failure has no code (the conventions' well-known value). */
export const OTHER_ERROR = '_OTHER';

/** Bucket boundaries (s) the conventions advise for both MCP duration histograms. */
export const DURATION_BUCKETS_S = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];

/** Values of `mcp_actors.breaker.state`. */
export const BREAKER_STATE_VALUE = { closed: 0, halfOpen: 1, open: 2 } as const;

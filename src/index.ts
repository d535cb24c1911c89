/**
 * mcp-actors: a supervised XState v5 actor runtime for Model Context Protocol clients.
 *
 * @example
 * import { createRuntime } from 'mcp-actors';
 * await using rt = createRuntime({ servers: { demo: { url: 'ws://127.0.0.1:8080' } } });
 * await rt.callTool('demo', 'echo', { text: 'hi' });
 */
export { type ConnectionStateChange, ServerConnection } from './actors/server-connection.js';
export { WebSocketClientTransport } from './actors/websocket-client-transport.js';
export { serveWebSocket, WebSocketServerTransport } from './actors/websocket-server-transport.js';
export * from './errors/index.js';
export {
  type BackoffPolicy,
  type ConnectionContext,
  type ConnectionEvent,
  type ConnectionStateName,
  connectionMachine,
  type HeartbeatPolicy,
  type SessionInfo,
} from './machines/connection.js';
export {
  type SessionContext,
  type SessionEvent,
  type SessionStateName,
  sessionMachine,
} from './machines/session.js';
export type { CallOptions, CallPathStats } from './runtime/call-path.js';
export {
  DEFAULTS,
  type ResolvedConfig,
  type ResolvedServerConfig,
  type RuntimeConfig,
  resolveConfig,
  runtimeConfigSchema,
  type ServerConfig,
} from './runtime/config.js';
export type { EventBase, RuntimeEvents } from './runtime/events.js';
export { CONTEXT_META_KEY, LOG_LEVELS } from './runtime/features.js';
export type { HealthSnapshot } from './runtime/health.js';
export type { InputKind, InputRound } from './runtime/input-rounds.js';
export { machineDefinition } from './runtime/inspector/chart-definition.js';
export { toDot } from './runtime/inspector/chart-dot.js';
export { toMermaid } from './runtime/inspector/chart-mermaid.js';
export {
  type ChartModel,
  type ChartState,
  type ChartTransition,
  chartModel,
} from './runtime/inspector/chart-model.js';
export type { InspectorHandle, InspectorOptions } from './runtime/inspector/server.js';
export { redactHeaders, redactUrl } from './runtime/redact.js';
export { type CacheStats, canonicalJson, ResourceCache } from './runtime/resource-cache.js';
export {
  type CallToolOptions,
  createRuntime,
  McpRuntime,
  type ReadOptions,
  type ResumeTaskOptions,
  type RuntimeOptions,
} from './runtime/runtime.js';
export {
  createRuntimeLogic,
  type McpRuntimeLogicInput,
  type McpRuntimeOutput,
  type McpRuntimeRequest,
  mcpRuntimeLogic,
} from './runtime/runtime-logic.js';
export type {
  ElicitationHandler,
  RootsHandler,
  SamplingHandler,
  ServerRequestContext,
  ServerRequestHandlers,
} from './runtime/server-requests.js';
export type { Skill, SkillFile } from './runtime/skills.js';
export type { StreamEvent, StreamTarget } from './runtime/streams.js';
export type { TaskHandle } from './runtime/task-ledger.js';
export type { TaskCallOptions, TaskStatusUpdate } from './runtime/tasks.js';
export type {
  MeterProviderLike,
  TelemetryOptions,
  TracerProviderLike,
} from './runtime/telemetry/options.js';
export { type CompletionRef, expandTemplate, type TemplateVariables } from './runtime/templates.js';
export type { RegisteredPrompt, RegisteredTool } from './runtime/tool-registry.js';

/**
 * A tiny MCP server (the SDK's `McpServer` over our WebSocket server transport) that behaves like
 * an instrumented one: every tool call extracts the trace context from `params._meta` and records
 * a SERVER span under it, so a test can check the client → server span tree. Tools:
 * - `whoami`: returns the `traceparent` it received;
 * - `hold`: waits until the test calls `release()`;
 * - `flaky` (readOnlyHint): the first call runs `onFirstFlaky` (a test cuts the connection there)
 *   and answers into the void; later calls answer `ok`.
 */

import { McpServer } from '@modelcontextprotocol/server';
import { context, propagation, SpanKind, type Tracer } from '@opentelemetry/api';
import { serveWebSocket, type WebSocketServeHandle } from '../../src/actors/websocket-server-transport.js';

/** The running server. */
export interface TracedServer {
  readonly endpoint: WebSocketServeHandle;
  /** `traceparent` values received, in order. */
  readonly received: string[];
  /** Resolves when the first `hold` call has arrived. */
  readonly holding: Promise<void>;
  /** Lets every waiting `hold` call answer. */
  release(): void;
  close(): Promise<void>;
}

/** Starts the server on a free loopback port. */
export async function startTracedServer(tracer: Tracer, onFirstFlaky: () => void): Promise<TracedServer> {
  const received: string[] = [];
  let releaseHold: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    releaseHold = resolve;
  });
  let flakyCalls = 0;
  let holdArrived: () => void = () => {};
  const holding = new Promise<void>((resolve) => {
    holdArrived = resolve;
  });

  /** Runs `fn` in a SERVER span whose parent is the context the client put in `_meta`. */
  const traced = async <T>(name: string, meta: Record<string, unknown> | undefined, fn: () => Promise<T>) => {
    const carrier = meta ?? {};
    if (typeof carrier.traceparent === 'string') received.push(carrier.traceparent);
    const parent = propagation.extract(context.active(), carrier);
    const span = tracer.startSpan(name, { kind: SpanKind.SERVER }, parent);
    try {
      return await fn();
    } finally {
      span.end();
    }
  };

  const createServer = (): McpServer => {
    const server = new McpServer({ name: 'traced', version: '1.0.0' }, { capabilities: { tools: {} } });
    server.registerTool('whoami', { annotations: { readOnlyHint: true } }, async (extra) =>
      traced('tools/call whoami', extra.mcpReq._meta, async () => ({
        content: [{ type: 'text' as const, text: String(extra.mcpReq._meta?.traceparent ?? '') }],
      })),
    );
    server.registerTool('hold', { annotations: { readOnlyHint: true } }, async (extra) =>
      traced('tools/call hold', extra.mcpReq._meta, async () => {
        holdArrived();
        await held;
        return { content: [{ type: 'text' as const, text: 'released' }] };
      }),
    );
    server.registerTool('flaky', { annotations: { readOnlyHint: true } }, async (extra) =>
      traced('tools/call flaky', extra.mcpReq._meta, async () => {
        // The first call cuts its own connection: its answer has nowhere to go.
        if (++flakyCalls === 1) onFirstFlaky();
        return { content: [{ type: 'text' as const, text: flakyCalls === 1 ? 'lost' : 'ok' }] };
      }),
    );
    return server;
  };

  const endpoint = await serveWebSocket({ createServer });
  return { endpoint, received, holding, release: () => releaseHold(), close: () => endpoint.close() };
}

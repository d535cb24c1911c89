import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteError, TimeoutError, ToolError } from '../../src/errors/index.js';
import { SecretSet } from '../../src/runtime/redact.js';
import { NOOP_CALL_SPAN } from '../../src/runtime/telemetry/call-span.js';
import { createCallTelemetry, NOOP_TELEMETRY } from '../../src/runtime/telemetry/call-telemetry.js';
import { ATTR, EVENT, METRIC, RUNTIME_ATTR } from '../../src/runtime/telemetry/names.js';
import { describeServer } from '../../src/runtime/telemetry/server-info.js';
import {
  installGlobalContext,
  memoryMetrics,
  memoryTracing,
  SEMCONV_NAMES,
  unknownNames,
} from './otel-harness.js';

const TOKEN = 'sk-live-0123456789abcdef';

function server(url = 'ws://127.0.0.1:8080/mcp') {
  const secrets = new SecretSet();
  secrets.add(TOKEN);
  return describeServer({ name: 'demo', transport: 'websocket', url, redact: (t) => secrets.redact(t) });
}

let uninstall: () => void;
beforeAll(() => {
  uninstall = installGlobalContext();
});
afterAll(() => uninstall());

describe('the names', () => {
  it('every semconv name the seam emits exists in @opentelemetry/semantic-conventions', async () => {
    const emitted = [...Object.values(ATTR), METRIC.clientOperationDuration, METRIC.clientSessionDuration];
    expect(emitted.filter((n) => !SEMCONV_NAMES.has(n))).toEqual([]);
    // And the runtime's own names stay out of the conventions' namespaces.
    for (const n of [...Object.values(RUNTIME_ATTR), ...Object.values(EVENT), ...Object.values(METRIC)])
      if (!n.startsWith('mcp.client.')) expect(n).toMatch(/^mcp_actors\./);
  });
});

describe('spans', () => {
  it('a tools/call is one CLIENT span named by the tool, with the conventions attributes and the call events', async () => {
    const { provider, spans } = memoryTracing();
    const t = createCallTelemetry({ tracerProvider: provider });
    const s = server();
    const span = t.startCall(s, 'tools/call', 'echo', undefined);
    span.queued(3);
    span.dequeued(12);
    span.connectionWaited(40);
    span.sent(7, '2025-11-25', 'session-abc');
    span.retry(2, 150, 'CONNECTION_LOST');
    span.sent(9, '2025-11-25', 'session-abc');
    span.inputRound(['elicitation', 'roots'], 2);
    span.end(undefined, { content: [] }, 5);

    const [out] = (await spans()).filter((x) => x.name === 'tools/call echo');
    expect(out).toBeDefined();
    expect(out!.kind).toBe(SpanKind.CLIENT);
    expect(out!.attributes).toMatchObject({
      [ATTR.mcpMethodName]: 'tools/call',
      [ATTR.genAiToolName]: 'echo',
      [ATTR.genAiOperationName]: 'execute_tool',
      [ATTR.jsonrpcRequestId]: '9',
      [ATTR.mcpProtocolVersion]: '2025-11-25',
      [ATTR.serverAddress]: '127.0.0.1',
      [ATTR.serverPort]: 8080,
      [ATTR.networkTransport]: 'tcp',
      [ATTR.networkProtocolName]: 'websocket',
      [RUNTIME_ATTR.server]: 'demo',
    });
    // The session id is a credential on some servers: a digest correlates without leaking it.
    expect(out!.attributes[ATTR.mcpSessionId]).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.stringify(out!.attributes)).not.toContain('session-abc');
    expect(out!.attributes[ATTR.errorType]).toBeUndefined();
    expect(out!.status.code).toBe(SpanStatusCode.UNSET);
    expect(unknownNames(Object.keys(out!.attributes))).toEqual([]);
    expect(out!.events.map((e) => [e.name, e.attributes])).toEqual([
      [EVENT.queued, { [RUNTIME_ATTR.queueDepth]: 3 }],
      [EVENT.dequeued, { [RUNTIME_ATTR.queueWaitMs]: 12 }],
      [EVENT.connectionWaited, { [RUNTIME_ATTR.connectionWaitMs]: 40 }],
      [
        EVENT.retry,
        {
          [RUNTIME_ATTR.retryAttempt]: 2,
          [RUNTIME_ATTR.retryDelayMs]: 150,
          [RUNTIME_ATTR.retryReason]: 'CONNECTION_LOST',
        },
      ],
      [
        EVENT.inputRequired,
        {
          [RUNTIME_ATTR.inputRound]: 1,
          [RUNTIME_ATTR.inputKinds]: ['elicitation', 'roots'],
          [RUNTIME_ATTR.inputRequests]: 2,
        },
      ],
    ]);
    for (const e of out!.events) expect(unknownNames(Object.keys(e.attributes ?? {}))).toEqual([]);
  });

  it('a REMOTE error sets error.type and rpc.response.status_code to the JSON-RPC code, status ERROR', async () => {
    const { provider, spans } = memoryTracing();
    const t = createCallTelemetry({ tracerProvider: provider });
    const span = t.startCall(server(), 'tools/call', 'add', undefined);
    span.breakerRejected(0);
    span.end(
      new RemoteError('Invalid params: a is required', -32602, undefined, { server: 'demo' }),
      undefined,
      5,
    );
    const [out] = (await spans()).filter((x) => x.name === 'tools/call add');
    expect(out!.attributes[ATTR.errorType]).toBe('-32602');
    expect(out!.attributes[ATTR.rpcResponseStatusCode]).toBe('-32602');
    expect(out!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'Invalid params: a is required' });
    expect(out!.events.map((e) => e.name)).toEqual([EVENT.breakerRejected]);
  });

  it('a local failure carries the runtime code; a TOOL error and an isError result carry tool_error', async () => {
    const { provider, spans } = memoryTracing();
    const t = createCallTelemetry({ tracerProvider: provider });
    const s = server();
    t.startCall(s, 'tools/list', undefined, undefined).end(
      new TimeoutError('tools/list timed out', 10),
      undefined,
      5,
    );
    t.startCall(s, 'tools/call', 'a', undefined).end(
      new ToolError('a failed', 'a', { isError: true }),
      undefined,
      5,
    );
    t.startCall(s, 'tools/call', 'b', undefined).end(undefined, { isError: true, content: [] }, 5);
    t.startCall(s, 'tools/call', 'c', undefined).end({}, undefined, 5);
    const byName = Object.fromEntries((await spans()).map((x) => [x.name, x]));
    expect(byName['tools/list']!.attributes[ATTR.errorType]).toBe('TIMEOUT');
    expect(byName['tools/list']!.attributes[ATTR.rpcResponseStatusCode]).toBeUndefined();
    expect(byName['tools/call a']!.attributes[ATTR.errorType]).toBe('tool_error');
    expect(byName['tools/call b']!.attributes[ATTR.errorType]).toBe('tool_error');
    expect(byName['tools/call b']!.status.code).toBe(SpanStatusCode.ERROR);
    expect(byName['tools/call c']!.attributes[ATTR.errorType]).toBe('_OTHER');
  });

  it('resources keep the URI in mcp.resource.uri, out of the span name unless opted in; prompts name the prompt', async () => {
    const { provider, spans } = memoryTracing();
    const s = server();
    createCallTelemetry({ tracerProvider: provider })
      .startCall(s, 'resources/read', undefined, 'file:///a.txt')
      .end(undefined, undefined, 5);
    createCallTelemetry({ tracerProvider: provider, resourceUriInSpanName: true })
      .startCall(s, 'resources/read', undefined, 'file:///b.txt')
      .end(undefined, undefined, 5);
    createCallTelemetry({ tracerProvider: provider })
      .startCall(s, 'prompts/get', 'summarize', undefined)
      .end(undefined, undefined, 5);
    const names = (await spans()).map((x) => x.name);
    expect(names).toEqual(['resources/read', 'resources/read file:///b.txt', 'prompts/get summarize']);
    const [read, , prompt] = await spans();
    expect(read!.attributes[ATTR.mcpResourceUri]).toBe('file:///a.txt');
    expect(prompt!.attributes[ATTR.genAiPromptName]).toBe('summarize');
    expect(prompt!.attributes[ATTR.genAiOperationName]).toBeUndefined();
  });

  it('startOperation reads the runtime operation label', async () => {
    const { provider, spans } = memoryTracing();
    const t = createCallTelemetry({ tracerProvider: provider });
    const s = server();
    for (const op of ['tools/call get sum', 'resources/subscribe demo://x y', 'prompts/get p', 'tools/list'])
      t.startOperation(s, op).end(undefined, undefined, 5);
    const out = await spans();
    expect(out.map((x) => x.name)).toEqual([
      'tools/call get sum',
      'resources/subscribe',
      'prompts/get p',
      'tools/list',
    ]);
    expect(out[0]!.attributes[ATTR.genAiToolName]).toBe('get sum');
    expect(out[1]!.attributes[ATTR.mcpResourceUri]).toBe('demo://x y');
    expect(out[2]!.attributes[ATTR.genAiPromptName]).toBe('p');
    expect(NOOP_TELEMETRY.startOperation(s, 'tools/call x')).toBe(NOOP_CALL_SPAN);
  });

  it('no span attribute, event or status carries a secret', async () => {
    const { provider, spans } = memoryTracing();
    const t = createCallTelemetry({ tracerProvider: provider });
    const s = server(`https://user:${TOKEN}@mcp.example.com/mcp?api_key=${TOKEN}`);
    const span = t.startCall(
      s,
      'resources/read',
      undefined,
      `https://files.example.com/x?access_token=${TOKEN}`,
    );
    span.sent(`req-${TOKEN}`, '2025-11-25', TOKEN);
    span.retry(2, 10, `Bearer ${TOKEN}`);
    span.end(new RemoteError(`denied for Authorization: Bearer ${TOKEN}`, -32001, undefined), undefined, 5);
    t.startCall(s, 'tools/call', `tool-${TOKEN}`, undefined).end(undefined, undefined, 5);
    const exported = JSON.stringify(
      (await spans()).map((x) => ({ n: x.name, a: x.attributes, e: x.events, s: x.status })),
    );
    expect(exported).toContain('mcp.example.com');
    expect(exported).not.toContain(TOKEN);
  });
});

describe('trace context in _meta', () => {
  it("a call's _meta carries the caller's trace and the call span as parent, with baggage", async () => {
    const { provider, spans } = memoryTracing();
    const t = createCallTelemetry({ tracerProvider: provider });
    const parent = provider.getTracer('app').startSpan('handle request');
    const ctx = propagation.setBaggage(
      trace.setSpan(context.active(), parent),
      propagation.createBaggage({ tenant: { value: 'acme' } }),
    );
    const meta: Record<string, unknown> = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' };
    const span = context.with(ctx, () => t.startCall(server(), 'tools/call', 'echo', undefined));
    span.inject(meta);
    span.end(undefined, undefined, 5);
    parent.end();

    const callSpan = (await spans()).filter((x) => x.name === 'tools/call echo')[0]!;
    const traceId = parent.spanContext().traceId;
    expect(callSpan.spanContext().traceId).toBe(traceId);
    expect(callSpan.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(meta.traceparent).toBe(`00-${traceId}-${callSpan.spanContext().spanId}-01`);
    expect(meta.baggage).toBe('tenant=acme');
    expect(meta['io.modelcontextprotocol/protocolVersion']).toBe('2026-07-28');
  });

  it('injectActive writes the active context (handshakes outside a call)', async () => {
    const { provider } = memoryTracing();
    const t = createCallTelemetry({ tracerProvider: provider });
    const parent = provider.getTracer('app').startSpan('startup');
    const meta: Record<string, unknown> = {};
    context.with(trace.setSpan(context.active(), parent), () => t.injectActive(meta));
    expect(meta.traceparent).toBe(`00-${parent.spanContext().traceId}-${parent.spanContext().spanId}-01`);
  });
});

describe('the no-op path', () => {
  it('without any provider, telemetry is the shared no-op and every call gets the same frozen span', async () => {
    const t = createCallTelemetry({});
    expect(t).toBe(NOOP_TELEMETRY);
    const a = t.startCall(server(), 'tools/call', 'echo', undefined);
    const b = t.startCall(server(), 'tools/list', undefined, undefined);
    expect(a).toBe(NOOP_CALL_SPAN);
    expect(b).toBe(NOOP_CALL_SPAN);
    expect(Object.isFrozen(a)).toBe(true);
    const meta = {};
    a.inject(meta);
    t.injectActive(meta);
    expect(meta).toEqual({});
  });

  it('works when @opentelemetry/api cannot be loaded, even with providers given', async () => {
    const { provider } = memoryTracing();
    const metrics = memoryMetrics();
    const t = createCallTelemetry({
      tracerProvider: provider,
      meterProvider: metrics.provider,
      loader: () => {
        throw Object.assign(new Error("Cannot find module '@opentelemetry/api'"), {
          code: 'MODULE_NOT_FOUND',
        });
      },
    });
    expect(t).toBe(NOOP_TELEMETRY);
    expect(t.startCall(server(), 'ping', undefined, undefined)).toBe(NOOP_CALL_SPAN);
  });

  it('telemetry: false is the no-op without loading the API', async () => {
    expect(createCallTelemetry(false)).toBe(NOOP_TELEMETRY);
  });

  it('sees a provider the application registered through its own (ESM) copy of the API', async () => {
    const { provider, spans } = memoryTracing();
    expect(trace.setGlobalTracerProvider(provider)).toBe(true);
    try {
      const t = createCallTelemetry({}); // loads the API's CommonJS build
      expect(t.enabled).toBe(true);
      t.startCall(server(), 'tools/list', undefined, undefined).end(undefined, undefined, 5);
      expect((await spans()).map((s) => s.name)).toEqual(['tools/list']);
    } finally {
      trace.disable();
    }
  });
});

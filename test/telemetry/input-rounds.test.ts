/**
 * Input rounds (MRTR) on the call's span, against real 2026-07-28 servers on loopback: the demo
 * server's `ask` tool (one elicitation a round) over WebSocket and Streamable HTTP, and a server
 * whose one round asks for all three kinds and records the trace context of the call's next leg.
 */
import { inputRequired, McpServer } from '@modelcontextprotocol/server';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveWebSocket, type WebSocketServeHandle } from '../../src/actors/websocket-server-transport.js';
import { type DemoServerHandle, startDemoServer } from '../../src/demo/demo-server.js';
import { createRuntime } from '../../src/index.js';
import { EVENT, RUNTIME_ATTR } from '../../src/runtime/telemetry/names.js';
import { installGlobalContext, memoryTracing, unknownNames } from './otel-harness.js';

/** What the user "types": it must reach the server, never the spans. */
const ANSWER_SECRET = 'user-answer-4242';
const fast = { heartbeat: { intervalMs: 0 }, timeoutMs: 8_000 };

let uninstall: () => void;
let demo: DemoServerHandle;
let survey: WebSocketServeHandle;
/** `traceparent` of each `survey` leg, in order. */
const surveyLegs: Array<string | undefined> = [];

/** A 2026-only server whose `survey` asks elicitation, sampling and roots in one round. */
function surveyServer(): McpServer {
  const server = new McpServer({ name: 'survey', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.registerTool('survey', {}, async (ctx) => {
    surveyLegs.push(ctx.mcpReq._meta?.traceparent as string | undefined);
    const answers = ctx.mcpReq.inputResponses;
    if (answers?.name !== undefined) return { content: [{ type: 'text' as const, text: 'thanks' }] };
    return inputRequired({
      inputRequests: {
        name: inputRequired.elicit({
          message: 'Your name?',
          requestedSchema: { type: 'object', properties: { name: { type: 'string' } } },
        }),
        draft: inputRequired.createMessage({
          messages: [{ role: 'user', content: { type: 'text', text: 'Say hi' } }],
          maxTokens: 10,
        }),
        where: inputRequired.listRoots(),
      },
    });
  });
  return server;
}

beforeAll(async () => {
  uninstall = installGlobalContext();
  demo = await startDemoServer({ eras: '2026-07-28' });
  survey = await serveWebSocket({ createServer: surveyServer, eras: '2026-07-28' });
});
afterAll(async () => {
  await Promise.all([demo.close(), survey.close()]);
  uninstall();
});

function clientSpan(spans: ReadableSpan[], name: string, parent: string): ReadableSpan {
  const found = spans.filter(
    (s) => s.name === name && s.kind === SpanKind.CLIENT && s.parentSpanContext?.spanId === parent,
  );
  expect(
    found,
    JSON.stringify(spans.map((s) => [s.name, s.kind, s.parentSpanContext?.spanId, parent])),
  ).toHaveLength(1);
  return found[0]!;
}

describe.each(['websocket', 'streamable-http'] as const)('input rounds over %s', (transport) => {
  it('a call answered over three rounds has one event a round, in order, with no user data', async () => {
    const tracing = memoryTracing();
    await using rt = createRuntime({
      servers: { s: { url: transport === 'websocket' ? demo.wsUrl : demo.httpUrl } },
      defaults: fast,
      handlers: { elicitation: () => ({ action: 'accept', content: { answer: ANSWER_SECRET } }) },
      telemetry: { tracerProvider: tracing.provider },
    });
    await rt.start(); // the harness's context manager is synchronous: the call must start at once
    const app = tracing.provider.getTracer('app').startSpan('handle request');
    const result = await context.with(trace.setSpan(context.active(), app), () =>
      rt.callTool('s', 'ask', { questions: 3 }),
    );
    app.end();
    expect((result.content as Array<{ text: string }>)[0]!.text).toBe(
      `answers: ${ANSWER_SECRET}, ${ANSWER_SECRET}, ${ANSWER_SECRET}`,
    );

    const span = clientSpan(await tracing.spans(), 'tools/call ask', app.spanContext().spanId);
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.events.map((e) => [e.name, e.attributes])).toEqual(
      [1, 2, 3].map((round) => [
        EVENT.inputRequired,
        {
          [RUNTIME_ATTR.inputRound]: round,
          [RUNTIME_ATTR.inputKinds]: ['elicitation'],
          [RUNTIME_ATTR.inputRequests]: 1,
        },
      ]),
    );
    for (const e of span.events) expect(unknownNames(Object.keys(e.attributes ?? {}))).toEqual([]);
    // Neither the server's questions nor the user's answers.
    const exported = JSON.stringify([span.attributes, span.events]);
    expect(exported).not.toContain(ANSWER_SECRET);
    expect(exported).not.toContain('Question');
  });

  it('a server that keeps asking past maxInputRounds: the rounds it asked, then PROTOCOL', async () => {
    const tracing = memoryTracing();
    await using rt = createRuntime({
      servers: {
        s: { url: transport === 'websocket' ? demo.wsUrl : demo.httpUrl, maxInputRounds: 2 },
      },
      defaults: fast,
      handlers: { elicitation: () => ({ action: 'accept', content: { answer: 'x' } }) },
      telemetry: { tracerProvider: tracing.provider },
    });
    await rt.start(); // the harness's context manager is synchronous: the call must start at once
    const app = tracing.provider.getTracer('app').startSpan('handle request');
    const error = await context
      .with(trace.setSpan(context.active(), app), () => rt.callTool('s', 'ask', { questions: 5 }))
      .catch((e: unknown) => e);
    app.end();
    expect(error).toMatchObject({ code: 'PROTOCOL' });
    const span = clientSpan(await tracing.spans(), 'tools/call ask', app.spanContext().spanId);
    // Rounds 1 and 2 were answered; the third ask is where the runtime stopped.
    expect(span.events.map((e) => e.attributes?.[RUNTIME_ATTR.inputRound])).toEqual([1, 2, 3]);
    expect(span.attributes['error.type']).toBe('PROTOCOL');
  });
});

it('one round that asks for all three kinds is one event; the answer leg carries the call trace', async () => {
  const tracing = memoryTracing();
  surveyLegs.length = 0;
  await using rt = createRuntime({
    servers: { q: { url: survey.url } },
    defaults: fast,
    handlers: {
      elicitation: () => ({ action: 'accept', content: { name: ANSWER_SECRET } }),
      sampling: () => ({ role: 'assistant', content: { type: 'text', text: 'hi' }, model: 'm' }),
      roots: () => [{ uri: 'file:///work' }],
    },
    telemetry: { tracerProvider: tracing.provider },
  });
  await rt.start();
  const app = tracing.provider.getTracer('app').startSpan('handle request');
  const result = await context.with(trace.setSpan(context.active(), app), () => rt.callTool('q', 'survey'));
  app.end();
  expect((result.content as Array<{ text: string }>)[0]!.text).toBe('thanks');

  const span = clientSpan(await tracing.spans(), 'tools/call survey', app.spanContext().spanId);
  expect(span.events.map((e) => [e.name, e.attributes])).toEqual([
    [
      EVENT.inputRequired,
      {
        [RUNTIME_ATTR.inputRound]: 1,
        [RUNTIME_ATTR.inputKinds]: ['elicitation', 'sampling', 'roots'],
        [RUNTIME_ATTR.inputRequests]: 3,
      },
    ],
  ]);
  // Both legs of the call (the request and its answer) are the call span's children.
  const traceparent = `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`;
  expect(surveyLegs).toEqual([traceparent, traceparent]);
});

/**
 * The seam's spans leave the process the way an operator's collector takes them: OTLP/HTTP (JSON)
 * to a loopback receiver this test runs, decoded and checked.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RemoteError } from '../../src/errors/index.js';
import { SecretSet } from '../../src/runtime/redact.js';
import { createCallTelemetry } from '../../src/runtime/telemetry/call-telemetry.js';
import { ATTR, EVENT, RUNTIME_ATTR } from '../../src/runtime/telemetry/names.js';
import { describeServer } from '../../src/runtime/telemetry/server-info.js';

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
}
interface OtlpSpan {
  name: string;
  kind: number;
  traceId: string;
  attributes: { key: string; value: OtlpValue }[];
  events: { name: string; attributes: { key: string; value: OtlpValue }[] }[];
  status: { code?: number; message?: string };
}

const received: { contentType: string | undefined; body: unknown }[] = [];
const receiver = createServer(async (req: IncomingMessage, res) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  let raw = Buffer.concat(chunks);
  if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
  received.push({ contentType: req.headers['content-type'], body: JSON.parse(raw.toString('utf8')) });
  res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
});

beforeAll(async () => {
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
});
afterAll(async () => {
  receiver.closeAllConnections();
  await new Promise((r) => receiver.close(r));
});

it('a retried call exported over OTLP/HTTP JSON arrives with its name, attributes, events and status', async () => {
  const port = (receiver.address() as AddressInfo).port;
  const exporter = new OTLPTraceExporter({ url: `http://127.0.0.1:${port}/v1/traces` });
  const provider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter })] });
  const secrets = new SecretSet();
  secrets.add('secret-token-123456');
  const server = describeServer({
    name: 'demo',
    transport: 'websocket',
    url: 'ws://127.0.0.1:9/mcp',
    redact: (t) => secrets.redact(t),
  });
  const t = createCallTelemetry({ tracerProvider: provider });
  const span = t.startCall(server, 'tools/call', 'get-sum', undefined);
  span.sent(1, '2025-11-25', undefined);
  span.retry(2, 120, 'CONNECTION_LOST');
  span.sent(2, '2025-11-25', undefined);
  span.end(new RemoteError('boom secret-token-123456', -32603, undefined), undefined, 5);
  await provider.forceFlush();
  await provider.shutdown();

  expect(received).toHaveLength(1);
  expect(received[0]!.contentType).toBe('application/json');
  const body = received[0]!.body as {
    resourceSpans: { scopeSpans: { scope: { name: string }; spans: OtlpSpan[] }[] }[];
  };
  const scope = body.resourceSpans[0]!.scopeSpans[0]!;
  expect(scope.scope.name).toBe('mcp-actors');
  const [s] = scope.spans;
  expect(s!.name).toBe('tools/call get-sum');
  expect(s!.kind).toBe(3); // OTLP SPAN_KIND_CLIENT
  expect(s!.traceId).toMatch(/^[0-9a-f]{32}$/);
  const attrs = Object.fromEntries(
    s!.attributes.map((a) => [a.key, a.value.stringValue ?? Number(a.value.intValue ?? a.value.doubleValue)]),
  );
  expect(attrs).toMatchObject({
    [ATTR.mcpMethodName]: 'tools/call',
    [ATTR.genAiToolName]: 'get-sum',
    [ATTR.genAiOperationName]: 'execute_tool',
    [ATTR.jsonrpcRequestId]: '2',
    [ATTR.errorType]: '-32603',
    [ATTR.rpcResponseStatusCode]: '-32603',
    [ATTR.serverAddress]: '127.0.0.1',
    [ATTR.serverPort]: 9,
  });
  expect(s!.events.map((e) => e.name)).toEqual([EVENT.retry]);
  const retry = Object.fromEntries(
    s!.events[0]!.attributes.map((a) => [a.key, a.value.stringValue ?? Number(a.value.intValue)]),
  );
  expect(retry).toEqual({
    [RUNTIME_ATTR.retryAttempt]: 2,
    [RUNTIME_ATTR.retryDelayMs]: 120,
    [RUNTIME_ATTR.retryReason]: 'CONNECTION_LOST',
  });
  expect(s!.status).toEqual({ code: 2, message: 'boom ***' }); // STATUS_CODE_ERROR
  expect(JSON.stringify(body)).not.toContain('secret-token-123456');
});

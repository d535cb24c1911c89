/**
 * How the runtime sends `tools/call` on an SDK v2 Client, and the leg of an input round.
 *
 * `Client.callTool` costs more than it gives when the runtime already knows the tool: per call
 * it compiles an output validator for the definition, and its `request()` without a schema
 * probes the era codec by validating `undefined`, which fails and builds a ZodError with its
 * message (about a tenth of the client's CPU per call in memory). The runtime validates
 * `structuredContent` itself, once, so it sends with `request()` and a result schema made once
 * per era codec from that codec's own `tools/call` check: the same decoding and the same
 * validation, without the probe. `callTool` stays where it does real work: a tool the runtime
 * has not listed (the SDK's own output-schema check applies), and a definition that declares
 * `x-mcp-header` arguments (the SDK mirrors them into headers).
 */
import type {
  CallToolRequest,
  CallToolRequestOptions,
  CallToolResult,
  Client,
  RequestOptions,
  StandardSchemaV1,
  Tool,
} from '@modelcontextprotocol/client';
import { ProtocolError as SdkProtocolError } from '@modelcontextprotocol/client';
import { type InputLeg, withInputLeg } from './input-rounds.js';

/** What `callTool` hands the call path for {@link sendCallTool}. */
export interface CallToolArg {
  params: CallToolRequest['params'];
  /** The tool as the runtime knows it, without `outputSchema` (see ToolRegistry.requestDefinition). */
  definition: Tool | undefined;
  /** Modern servers over HTTP: the tool's definition after reading the list again (header mismatch). */
  refresh?: ((client: Client) => Promise<Tool | undefined>) | undefined;
}

/** A 2026 server's answer to `Mcp-Param-*` headers that do not match the tool's schema (SEP-2243). */
const HEADER_MISMATCH = -32020;

/**
 * Sends `tools/call`. With the tool's definition the runtime validates `structuredContent` once,
 * in McpRuntime.checkToolResult (the definition has no `outputSchema`, so the SDK does not).
 */
export function sendCallTool(client: Client, opts: RequestOptions, arg: unknown): Promise<CallToolResult> {
  const { params, definition, refresh } = arg as CallToolArg;
  const sent =
    definition !== undefined && !declaresHeaders(definition)
      ? client.request({ method: 'tools/call', params }, toolResultSchema(client), opts)
      : callWithDefinition(client, params, opts, definition);
  if (refresh === undefined) return sent;
  return sent.catch(async (error: unknown) => {
    if (!(error instanceof SdkProtocolError) || error.code !== HEADER_MISMATCH) throw error;
    // The server's schema changed after the list was read: read it again, send once more.
    return callWithDefinition(client, params, { ...opts }, await refresh(client));
  });
}

/** The next input round's leg of `tools/call`: the answers go with the params (see input-rounds.ts). */
export function callToolWithInput(arg: unknown, leg: InputLeg): CallToolArg {
  const { params, definition } = arg as CallToolArg;
  return { params: withInputLeg(params, leg) as CallToolRequest['params'], definition };
}

/** `Client.callTool`, given the definition when there is one (it then skips its cache lookups). */
function callWithDefinition(
  client: Client,
  params: CallToolRequest['params'],
  opts: RequestOptions,
  definition: Tool | undefined,
): Promise<CallToolResult> {
  if (definition) (opts as CallToolRequestOptions).toolDefinition = definition;
  return client.callTool(params, opts) as Promise<CallToolResult>;
}

/** Whether a definition's input schema names `x-mcp-header` anywhere (decided once per definition). */
const headerDeclarations = new WeakMap<Tool, boolean>();

/**
 * Whether the SDK would mirror arguments of this tool into headers. Conservative: any mention of
 * `x-mcp-header` sends the call through `callTool`, which applies the SDK's own scan.
 */
function declaresHeaders(definition: Tool): boolean {
  let declares = headerDeclarations.get(definition);
  if (declares === undefined) {
    declares = JSON.stringify(definition.inputSchema ?? {}).includes('x-mcp-header');
    headerDeclarations.set(definition, declares);
  }
  return declares;
}

/** The part of the SDK's (unexported) era codec this file uses. */
interface ResultCodec {
  validateResult(
    method: string,
    raw: unknown,
  ): { ok: boolean; value?: unknown; reason?: string; message?: string };
}

/** One result schema per era codec (the codecs are the SDK's module-level singletons). */
const resultSchemas = new WeakMap<ResultCodec, StandardSchemaV1<unknown, CallToolResult>>();

/**
 * A Standard Schema over the negotiated era codec's own `tools/call` result check: what the SDK's
 * `request()` builds per call, made once. `_wireCodec()` is the Client's protected accessor.
 */
function toolResultSchema(client: Client): StandardSchemaV1<unknown, CallToolResult> {
  const codec = (client as unknown as { _wireCodec(): ResultCodec })._wireCodec();
  let schema = resultSchemas.get(codec);
  if (schema === undefined) {
    schema = {
      '~standard': {
        version: 1,
        vendor: 'mcp-actors',
        validate(value: unknown) {
          const outcome = codec.validateResult('tools/call', value);
          if (outcome.ok) return { value: outcome.value as CallToolResult };
          return {
            issues: [{ message: outcome.message ?? `not in this era: tools/call (${outcome.reason})` }],
          };
        },
      },
    };
    resultSchemas.set(codec, schema);
  }
  return schema;
}

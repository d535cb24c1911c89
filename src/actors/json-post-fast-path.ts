/**
 * The common case of the SDK's Streamable HTTP transport, done in fewer steps: a JSON-RPC request
 * POSTed and answered with `200 application/json`. Per request the SDK's `send` builds a `Headers`
 * and a merged copy of it, validates the outgoing message against three zod schemas (initialize?
 * request? request again) and wraps the fetch in its redirect handler; on the lean HTTP bench that
 * was about a fifth of the client's CPU per call. Here the headers are one plain object with the
 * same names and values (the SDK's rules, mirrored: configured headers, session id, protocol
 * version, the body-derived `Mcp-Protocol-Version`/`Mcp-Method`/`Mcp-Name`, the call's `Mcp-Param-*`
 * headers, content type and accept), and the answer is parsed as the SDK parses it
 * (`parseJSONRPCMessage`).
 *
 * Any other answer (an error status, 202, a redirect, an SSE stream, another content type) goes to
 * the SDK's own `send` with the response already fetched: its fetch gets that response instead of
 * sending the request again, so OAuth, step-up, redirects within the origin, the 2026 400 error
 * bodies, SSE and every error stay the SDK's. Initialize requests, notifications, responses,
 * batches and resumptions always take the SDK's path, as do transports with an OAuth provider (the
 * SDK adds its token and DPoP proof itself). test/actors/json-post-fast-path.test.ts sends the same
 * messages both ways and compares the requests and what is delivered.
 */
import {
  isJsonContentType,
  type JSONRPCMessage,
  PROTOCOL_VERSION_META_KEY,
  parseJSONRPCMessage,
  type StreamableHTTPClientTransport,
  type TransportSendOptions,
} from '@modelcontextprotocol/client';
import { BufferedResponse } from './buffered-response.js';

/** Headers a call's own `headers` may not set (the SDK's `RESERVED_REQUEST_HEADER_NAMES`). */
const RESERVED = new Set([
  'authorization',
  'dpop',
  'content-type',
  'mcp-protocol-version',
  'mcp-method',
  'mcp-name',
  'mcp-session-id',
]);

/** The `params` field `Mcp-Name` mirrors, by method (the SDK's `MCP_NAME_HEADER_SOURCE`). */
const NAME_SOURCE: Readonly<Record<string, string>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
};

const BASE64_PREFIX = '=?base64?';
const BASE64_SUFFIX = '?=';
/** Leading or trailing HTTP whitespace, which `Headers` strips from a value. */
const HTTP_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;

/** A header value as the SDK encodes it (`encodeMcpParamValue`): plain ASCII as is, else base64. */
function encodeHeaderValue(value: string): string {
  return needsBase64(value)
    ? `${BASE64_PREFIX}${Buffer.from(value, 'utf8').toString('base64')}${BASE64_SUFFIX}`
    : value;
}

function needsBase64(s: string): boolean {
  if (s.length === 0) return true;
  if (s.startsWith(BASE64_PREFIX) && s.endsWith(BASE64_SUFFIX)) return true;
  if (s !== s.trim()) return true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 9 && (c < 32 || c > 126)) return true;
  }
  return false;
}

/** An Accept header of `accept`'s types plus the two the transport needs, each once (the SDK's rule). */
function acceptWith(accept: string | undefined): string {
  const types = [
    ...(accept === undefined ? [] : accept.split(',').map((s) => s.trim().toLowerCase())),
    'application/json',
    'text/event-stream',
  ];
  return [...new Set(types)].join(', ');
}

type Request = { jsonrpc: '2.0'; id: string | number; method: string; params?: Record<string, unknown> };

/** A single request the fast path takes (not initialize, not a resumption). */
function takes(
  message: JSONRPCMessage | JSONRPCMessage[],
  options: TransportSendOptions | undefined,
): message is Request {
  return (
    !Array.isArray(message) &&
    'method' in message &&
    'id' in message &&
    message.id !== undefined &&
    message.method !== 'initialize' &&
    !options?.resumptionToken
  );
}

/** What {@link createJsonPostFastPath} returns. */
export interface JsonPostFastPath {
  /** The fetch to give the SDK's transport: it returns a response the fast path handed over. */
  fetch: typeof fetch;
  /** Puts the fast path in front of `transport.send` (and tracks its start and close). */
  install(transport: StreamableHTTPClientTransport): void;
}

/**
 * Builds the fast path for one transport. `headers` are its `requestInit` headers (the configured
 * ones, without Authorization); `fetch` is the transport's fetch (http-fetch.ts).
 *
 * @example
 * const fast = createJsonPostFastPath(url, headers, http.fetch);
 * const t = new StreamableHTTPClientTransport(url, { requestInit: { headers }, fetch: fast.fetch });
 * fast.install(t);
 */
export function createJsonPostFastPath(
  url: URL,
  headers: Record<string, string>,
  fetch: typeof globalThis.fetch,
): JsonPostFastPath {
  const href = url.href;
  // As the SDK's `new Headers(requestInit.headers)` has them: lower-case names, values normalized.
  const configured = Object.fromEntries(new Headers(headers));
  const configuredAccept = configured.accept;
  // The usual case (no per-call Accept): the same value every time, made once.
  const defaultAccept = acceptWith(configuredAccept);
  /** Responses fetched here for the SDK's `send`, by request body (it holds the unique request id). */
  const handedOver = new Map<string, Response>();

  const sdkFetch = ((input, init) => {
    const body = init?.body;
    if (typeof body === 'string') {
      const response = handedOver.get(body);
      if (response !== undefined) {
        handedOver.delete(body);
        return Promise.resolve(response);
      }
    }
    return fetch(input, init);
  }) as typeof globalThis.fetch;

  const headersFor = (
    transport: StreamableHTTPClientTransport,
    message: Request,
    options: TransportSendOptions | undefined,
  ): Record<string, string> => {
    const out: Record<string, string> = { ...configured };
    if (transport.sessionId) out['mcp-session-id'] = transport.sessionId;
    if (transport.protocolVersion) out['mcp-protocol-version'] = transport.protocolVersion;
    const params = message.params;
    const claimed = (params?._meta as Record<string, unknown> | undefined)?.[PROTOCOL_VERSION_META_KEY];
    if (typeof claimed === 'string') {
      out['mcp-protocol-version'] = claimed;
      out['mcp-method'] = message.method;
      const field = Object.hasOwn(NAME_SOURCE, message.method) ? NAME_SOURCE[message.method] : undefined;
      const name =
        field !== undefined && params !== null && typeof params === 'object' && !Array.isArray(params)
          ? params[field]
          : undefined;
      if (typeof name === 'string') out['mcp-name'] = encodeHeaderValue(name);
    }
    let accept = configuredAccept;
    if (options?.headers !== undefined) {
      for (const [name, value] of Object.entries(options.headers)) {
        const lower = name.toLowerCase();
        if (RESERVED.has(lower)) continue;
        out[lower] = value.replace(HTTP_WHITESPACE, '');
        if (lower === 'accept') accept = out[lower];
      }
    }
    out['content-type'] = 'application/json';
    out.accept = accept === configuredAccept ? defaultAccept : acceptWith(accept);
    return out;
  };

  const install = (transport: StreamableHTTPClientTransport): void => {
    const sdkSend = transport.send.bind(transport);
    const sdkStart = transport.start.bind(transport);
    const sdkClose = transport.close.bind(transport);
    // Mirrors the SDK's own controller: made by start(), aborted by close(), on every POST.
    let controller: AbortController | undefined;
    transport.start = async () => {
      await sdkStart();
      controller = new AbortController();
    };
    transport.close = async () => {
      controller?.abort();
      await sdkClose();
    };

    transport.send = async (message, options) => {
      if (!takes(message, options)) return sdkSend(message, options);
      const body = JSON.stringify(message);
      const requestSignal = options?.requestSignal;
      const transportSignal = controller?.signal;
      const signal =
        requestSignal !== undefined && transportSignal !== undefined
          ? AbortSignal.any([transportSignal, requestSignal])
          : (requestSignal ?? transportSignal);
      let response: Response;
      try {
        // `manual`: what the SDK's redirect handler asks for; a 3xx goes to the SDK, which follows it.
        response = await fetch(href, {
          method: 'POST',
          headers: headersFor(transport, message, options),
          body,
          signal,
          redirect: 'manual',
        });
        const type =
          response instanceof BufferedResponse
            ? response.header('content-type')
            : response.headers.get('content-type');
        if (response.ok && response.status !== 202 && isJsonContentType(type)) {
          const data: unknown = await response.json();
          const messages = Array.isArray(data) ? data.map(parseJSONRPCMessage) : [parseJSONRPCMessage(data)];
          for (const m of messages) transport.onmessage?.(m);
          return;
        }
      } catch (error) {
        // As the SDK's send does: reported, unless the caller aborted the request.
        if (requestSignal?.aborted !== true) transport.onerror?.(error as Error);
        throw error;
      }
      handedOver.set(body, response);
      try {
        await sdkSend(message, options);
      } finally {
        handedOver.delete(body);
      }
    };
  };

  return { fetch: sdkFetch, install };
}

/**
 * The `fetch` the HTTP transports (Streamable HTTP, SSE) use: undici over a keep-alive `Agent` sized
 * to the server's concurrency window (`request()` for the JSON-RPC POSTs, `fetch` for the rest:
 * request-fetch.ts), with the TLS options (Node's own fetch takes none), the bearer token injected
 * on every request and refreshed once after a 401, TLS failures (a client certificate refused after
 * the handshake too) reported as AUTH, and a cap on response bodies (`maxMessageBytes`).
 * Every request, the SDK's OAuth discovery and token requests included, passes the origin guard
 * (origin-guard.ts): configured headers stay on the configured origin, no clear text elsewhere either.
 *
 * The cap applies per message: to a JSON body as a whole, and to each event of an SSE stream. An
 * oversized JSON body fails its request with PROTOCOL. An oversized SSE event is cut off; on the
 * stream of a POSTed request the request then fails with a JSON-RPC InvalidRequest error (PROTOCOL)
 * and the stream ends; on the standalone GET stream the event is dropped and the stream goes on.
 * Either way the runtime gets an `error` event and the connection stays up.
 */
import { TLSSocket } from 'node:tls';
import { Agent, buildConnector } from 'undici';
import { type McpRuntimeError, ProtocolError } from '../errors/index.js';
import { guardOrigins, type OriginGuardOptions } from './origin-guard.js';
import { createRequestFetch, isBodyBounded } from './request-fetch.js';
import { parseRetryAfterMs } from './retry-after.js';
import { type TlsOptions, tlsConnectOptions, tlsFailureOf, watchClientCertificate } from './tls.js';

/** Options of {@link createHttpFetch}. */
export interface HttpFetchOptions {
  server?: string;
  /** TLS options; when given, requests go through an undici `Agent` built from them. */
  tls?: TlsOptions | undefined;
  /** `Authorization` value put on every request (overrides the transport's own). */
  authorization?: string | undefined;
  /** Gives a fresh `Authorization` value after a 401. Called at most once per request; shared by concurrent 401s. */
  refreshAuthorization?: (() => Promise<string>) | undefined;
  /**
   * Called, before the transport sees it, with a 401 of the configured origin to a request that
   * carried a token (`Bearer` or `DPoP`), unless it only asks for a DPoP nonce. Awaited: the OAuth
   * flow the SDK runs next on that 401 sees what it changed (transport-factory.ts forgets the
   * OAuth discovery there, SEP-2352).
   */
  onTokenRejected?: ((response: Response) => Promise<void>) | undefined;
  /** Largest JSON body or SSE event accepted, in bytes. */
  maxMessageBytes: number;
  /** Receives the PROTOCOL errors of oversized bodies (the runtime turns them into `error` events). */
  onError?: ((error: McpRuntimeError) => void) | undefined;
  /**
   * The fetch to wrap. Default: undici's fetch over an `Agent` of this transport's own, keep-alive,
   * at most {@link connections} sockets (Node's global fetch opens a socket per concurrent request
   * and keeps far more than it needs).
   */
  fetch?: typeof fetch | undefined;
  /** Keep-alive sockets of the agent: the server's concurrency window + 1 for the SSE GET stream. Default 17. */
  connections?: number | undefined;
  /** The configured URL and headers, and the clear-text rule (origin-guard.ts). */
  origin: Omit<OriginGuardOptions, 'server'>;
}

/** How long an idle keep-alive socket is kept (the server may close it sooner). */
const KEEP_ALIVE_TIMEOUT_MS = 30_000;

/** A wrapped fetch and the resources behind it. */
export interface HttpFetch {
  fetch: typeof fetch;
  /**
   * The `Retry-After` (ms) of the 429/503 that answered the JSON-RPC request `id`, once (then
   * forgotten). The SDK's HTTP error carries status and body, not headers: the transport's `send`
   * attaches this to it.
   */
  retryAfterFor(id: string | number): number | undefined;
  /** Closes the agent's sockets; idempotent. */
  close(): Promise<void>;
}

/** `data` key of the JSON-RPC error the fetch puts in place of an oversized SSE event. */
export const LOCAL_CAP_MARK = 'mcp-actors/maxMessageBytes';
/** Retry-After values kept for `retryAfterFor` at most (each is taken at once; this bounds a leak). */
const RETRY_AFTER_KEPT = 64;

/** Event type given to a cut-off SSE event, so the SDK (which only reads `message` events) skips it. */
const encoder = new TextEncoder();
const DROPPED_AT_LINE_START = encoder.encode('event: mcp-actors-oversized\n\n');
const DROPPED_MID_LINE = encoder.encode('\nevent: mcp-actors-oversized\n\n');

/**
 * Builds the fetch for one transport instance.
 *
 * @example
 * const http = createHttpFetch({ tls: { ca }, authorization: 'Bearer t', maxMessageBytes: 1 << 20,
 *   origin: { url, configuredHeaders: [], credentialed: true, allowInsecure: false } });
 * new StreamableHTTPClientTransport(url, { fetch: http.fetch });
 * // ... on close: await http.close();
 */
export function createHttpFetch(options: HttpFetchOptions): HttpFetch {
  const server = options.server;
  let agent: Agent | undefined;
  let base: typeof fetch;
  if (options.fetch) base = options.fetch;
  else {
    const connect = buildConnector(options.tls ? tlsConnectOptions(options.tls) : {});
    agent = new Agent({
      connections: options.connections ?? 17,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      // Every TLS socket is watched for a client certificate refused after the handshake (tls.ts).
      connect: (opts, callback) =>
        connect(opts, (...args) => {
          if (args[1] instanceof TLSSocket) watchClientCertificate(args[1]);
          callback(...args);
        }),
    });
    base = createRequestFetch({
      agent,
      maxBodyBytes: options.maxMessageBytes,
      tooBig: (size) => reportTooBig(options, size),
    });
  }

  let authorization = options.authorization;
  let refreshing: Promise<string> | undefined;
  const refresh = (): Promise<string> => {
    refreshing ??= options.refreshAuthorization!().then(
      (value) => {
        authorization = value;
        refreshing = undefined;
        return value;
      },
      (error: unknown) => {
        refreshing = undefined;
        throw error;
      },
    );
    return refreshing;
  };

  const attempt = async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    try {
      return await base(input, init);
    } catch (error) {
      throw tlsFailureOf(error, server) ?? error;
    }
  };
  const send = guardOrigins(attempt, { ...options.origin, server }, (error) => options.onError?.(error));
  const home = new URL(options.origin.url).origin;
  const isHome = (input: Parameters<typeof fetch>[0]): boolean =>
    new URL(input instanceof Request ? input.url : String(input)).origin === home;

  const wrapped = (async (input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> => {
    const used = authorization;
    let response = await send(input, init, used);
    // Only the configured origin's 401 asks the token provider again (its token goes nowhere else).
    if (response.status === 401 && options.refreshAuthorization && isHome(input)) {
      await response.body?.cancel().catch(() => {});
      // Another request may have refreshed the token already: use it rather than asking again.
      const fresh = authorization !== used ? authorization : await refresh();
      response = await send(input, init, fresh);
    }
    if (
      response.status === 401 &&
      options.onTokenRejected &&
      isHome(input) &&
      rejectsToken(input, init, response)
    )
      await options.onTokenRejected(response);
    if (response.status === 429 || response.status === 503) {
      const waitMs = parseRetryAfterMs(response.headers.get('retry-after'), Date.now());
      const id = waitMs === undefined ? undefined : requestIdOf(init);
      if (id !== undefined) {
        if (retryAfter.size >= RETRY_AFTER_KEPT) retryAfter.delete(retryAfter.keys().next().value!);
        retryAfter.set(id, waitMs!);
      }
    }
    return limitResponse(response, init, options);
  }) as typeof fetch;
  const retryAfter = new Map<string | number, number>();

  return {
    fetch: wrapped,
    retryAfterFor(id) {
      const waitMs = retryAfter.get(id);
      retryAfter.delete(id);
      return waitMs;
    },
    async close() {
      const a = agent;
      agent = undefined;
      await a?.destroy().catch(() => {});
    },
  };
}

const TOKEN_SCHEME = /^(bearer|dpop)\s/i;

/** True when the request carried a token and the 401 is not just a DPoP nonce challenge. */
function rejectsToken(
  input: Parameters<typeof fetch>[0],
  init: RequestInit | undefined,
  response: Response,
): boolean {
  const sent = new Headers(input instanceof Request ? input.headers : undefined);
  for (const [k, v] of new Headers(init?.headers)) sent.set(k, v);
  if (!TOKEN_SCHEME.test(sent.get('authorization') ?? '')) return false;
  return !/error="?use_dpop_nonce/i.test(response.headers.get('www-authenticate') ?? '');
}

function limitResponse(
  response: Response,
  init: RequestInit | undefined,
  options: HttpFetchOptions,
): Response {
  // A JSON body read by the request path was bounded as it was read (and its `body` is made lazily).
  if (isBodyBounded(response) || !response.ok || response.body === null) return response;
  const max = options.maxMessageBytes;
  const type = (response.headers.get('content-type') ?? '').toLowerCase();
  const isStream = type.startsWith('text/event-stream');
  const report = (message: string): ProtocolError => reportError(options, message);
  let body: ReadableStream<Uint8Array>;
  if (isStream) {
    body = response.body.pipeThrough(sseLimit(max, requestIdOf(init), report));
  } else {
    const length = Number(response.headers.get('content-length') ?? Number.NaN);
    body = response.body.pipeThrough(
      bodyLimit(max, Number.isFinite(length) ? length : undefined, (size) => reportTooBig(options, size)),
    );
  }
  const limited = new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  Object.defineProperty(limited, 'url', { value: response.url });
  return limited;
}

/** A PROTOCOL error about the response, reported to `onError` (the runtime's `error` event). */
function reportError(options: HttpFetchOptions, message: string): ProtocolError {
  const error = new ProtocolError(message, options.server ? { server: options.server } : {});
  options.onError?.(error);
  return error;
}

/** The PROTOCOL error of a JSON body over `maxMessageBytes` (`size` as far as known), reported. */
function reportTooBig(options: HttpFetchOptions, size: string): ProtocolError {
  return reportError(
    options,
    `HTTP response body of ${size} exceeds maxMessageBytes (${options.maxMessageBytes} bytes)`,
  );
}

/** Fails the body with PROTOCOL once it passes `max` bytes (at once when Content-Length says so). */
function bodyLimit(
  max: number,
  contentLength: number | undefined,
  tooBig: (size: string) => ProtocolError,
): TransformStream<Uint8Array, Uint8Array> {
  let seen = 0;
  return new TransformStream({
    start(controller) {
      if (contentLength !== undefined && contentLength > max)
        controller.error(tooBig(`${contentLength} bytes`));
    },
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > max) controller.error(tooBig(`more than ${max} bytes`));
      else controller.enqueue(chunk);
    },
  });
}

/**
 * Bounds each SSE event to `max` bytes. An oversized event is cut off and closed as an event of a type
 * the SDK ignores; for a POSTed request (`requestId` known) a JSON-RPC error for that id follows and the
 * stream ends, otherwise the rest of the event is skipped and the stream continues.
 */
function sseLimit(
  max: number,
  requestId: string | number | undefined,
  report: (message: string) => ProtocolError,
): TransformStream<Uint8Array, Uint8Array> {
  let eventBytes = 0;
  let lineBytes = 0;
  let skipping = false;
  let ended = false;
  return new TransformStream({
    transform(chunk, controller) {
      if (ended) return;
      let pos = 0;
      let forwardFrom = 0;
      while (pos < chunk.length) {
        const nl = chunk.indexOf(10, pos);
        const end = nl === -1 ? chunk.length : nl + 1;
        const content = end - pos - (nl === -1 ? 0 : 1) - (nl > pos && chunk[nl - 1] === 13 ? 1 : 0);
        if (skipping) {
          if (nl !== -1 && lineBytes + content === 0) {
            skipping = false;
            eventBytes = 0;
            forwardFrom = end;
          }
          lineBytes = nl === -1 ? lineBytes + content : 0;
          pos = end;
          continue;
        }
        eventBytes += end - pos;
        if (eventBytes > max) {
          if (pos > forwardFrom) controller.enqueue(chunk.subarray(forwardFrom, pos));
          // At a line start a leading newline would dispatch the partial event as a message.
          controller.enqueue(lineBytes === 0 ? DROPPED_AT_LINE_START : DROPPED_MID_LINE);
          const error = report(`SSE event exceeds maxMessageBytes (${max} bytes)`);
          if (requestId !== undefined) {
            const reply = {
              jsonrpc: '2.0',
              id: requestId,
              // Marked as ours: the runtime reports it as the local PROTOCOL cap, not a server's error.
              error: { code: -32600, message: error.message, data: { [LOCAL_CAP_MARK]: true } },
            };
            controller.enqueue(encoder.encode(`data: ${JSON.stringify(reply)}\n\n`));
            ended = true;
            controller.terminate();
            return;
          }
          if (nl !== -1 && lineBytes + content === 0) eventBytes = 0;
          else {
            skipping = true;
            lineBytes = nl === -1 ? lineBytes + content : 0;
          }
          pos = end;
          forwardFrom = end;
          continue;
        }
        if (nl !== -1) {
          if (lineBytes + content === 0) eventBytes = 0;
          lineBytes = 0;
        } else lineBytes += content;
        pos = end;
      }
      if (!skipping && forwardFrom < chunk.length) controller.enqueue(chunk.subarray(forwardFrom));
    },
  });
}

/** The id of the JSON-RPC request in a POST body, if the body is one request. */
function requestIdOf(init: RequestInit | undefined): string | number | undefined {
  if (init?.method !== 'POST' || typeof init.body !== 'string' || init.body.length > 1_000_000)
    return undefined;
  try {
    const message = JSON.parse(init.body) as { id?: unknown; method?: unknown };
    if (
      typeof message.method === 'string' &&
      (typeof message.id === 'string' || typeof message.id === 'number')
    ) {
      return message.id;
    }
  } catch {
    // Not JSON: no request to answer.
  }
  return undefined;
}

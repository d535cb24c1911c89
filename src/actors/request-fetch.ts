/**
 * A `fetch` for the HTTP transports' hot path: a POST with a text or byte body (every JSON-RPC
 * message) goes through undici's `request()`, which costs a fraction of undici's spec-complete
 * `fetch` per call (measured: about a quarter of the CPU, client and server together, on a
 * loopback JSON echo). Everything else (the SSE GET stream, DELETE, OAuth discovery and token
 * requests with their form bodies and redirects) goes through undici's `fetch` on the same agent.
 *
 * Like `fetch` with `redirect: 'manual'` (what the origin guard asks for: it follows redirects
 * itself, hop by hop), a 3xx is returned as is. A JSON body is read here, bounded by `maxBodyBytes`,
 * and handed over in a `Response` that keeps the bytes (buffered-response.ts); an SSE body is handed over as a stream (its own per-event bound
 * is applied by the caller, http-fetch.ts).
 */
import { setMaxListeners } from 'node:events';
import { type Agent, type Dispatcher, request, fetch as undiciFetch } from 'undici';
import { BufferedResponse, headersOf, rawHeader } from './buffered-response.js';

type FetchInput = Parameters<typeof fetch>[0];

/** Statuses whose response has no body, by definition. */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/** Options of {@link createRequestFetch}. */
export interface RequestFetchOptions {
  /** The agent every request goes through (keep-alive sockets, TLS options). */
  agent: Agent;
  /**
   * Largest JSON body read, in bytes. A larger one is not buffered: its `Response` body fails with
   * the error `tooBig` gives when read (where `fetch`'s capped stream would fail).
   */
  maxBodyBytes: number;
  /** The error a body over `maxBodyBytes` fails with (`size` says how big it was, as known). */
  tooBig: (size: string) => Error;
}

/**
 * The SDK's transport passes its own close signal to every POST: one listener per request in
 * flight, each removed by undici when its request ends. With more than 10 in flight Node would warn
 * of a leak that is not one; the calls in flight are bounded by the server's window, far below this.
 */
const SHARED_SIGNAL_LISTENERS = 10_000;
const widened = new WeakSet<AbortSignal>();

/** Responses whose JSON body this module already bounded (the caller does not bound them again). */
const bounded = new WeakSet<Response>();

/** True when `response` came from the request path with its body already bounded. */
export function isBodyBounded(response: Response): boolean {
  return bounded.has(response);
}

/** Builds the fetch; see the file header. */
export function createRequestFetch(options: RequestFetchOptions): typeof fetch {
  const { agent } = options;
  const viaFetch = (input: FetchInput, init?: RequestInit) =>
    undiciFetch(input as Parameters<typeof undiciFetch>[0], {
      ...(init as Parameters<typeof undiciFetch>[1]),
      dispatcher: agent,
    }) as unknown as Promise<Response>;

  // The URL last posted to, parsed once (undici parses a string URL on every request).
  let lastHref = '';
  let lastUrl: URL | undefined;

  return (async (input: FetchInput, init?: RequestInit): Promise<Response> => {
    const body = init?.body;
    if (
      init?.method !== 'POST' ||
      input instanceof Request ||
      !(typeof body === 'string' || body instanceof Uint8Array)
    ) {
      return viaFetch(input, init);
    }
    const signal = init.signal ?? undefined;
    if (signal && !widened.has(signal)) {
      widened.add(signal);
      setMaxListeners(SHARED_SIGNAL_LISTENERS, signal);
    }
    const href = String(input);
    if (href !== lastHref || lastUrl === undefined) {
      lastUrl = new URL(href);
      lastHref = href;
    }
    const answer = await request(lastUrl, {
      method: 'POST',
      headers: plainHeaders(init.headers),
      body,
      signal,
      dispatcher: agent as Dispatcher,
    });
    return toResponse(answer, options);
  }) as typeof fetch;
}

/** The request's headers as the plain object `request()` takes. */
function plainHeaders(headers: HeadersInit | undefined): Record<string, string> {
  if (headers === undefined) return {};
  if (headers instanceof Headers) return Object.fromEntries(headers);
  if (Array.isArray(headers)) return Object.fromEntries(headers);
  return headers as Record<string, string>;
}

async function toResponse(answer: Dispatcher.ResponseData, options: RequestFetchOptions): Promise<Response> {
  const status = answer.statusCode;
  const raw = answer.headers;
  if (NULL_BODY_STATUSES.has(status)) {
    discard(answer.body);
    return new Response(null, { status, headers: headersOf(raw) });
  }
  const type = (rawHeader(raw, 'content-type') ?? '').toLowerCase();
  if (type.startsWith('text/event-stream') || status < 200 || status >= 300) {
    // A stream (SSE), or an error body the caller reads (or cancels) through the web stream.
    return new Response(webStream(answer.body), { status, headers: headersOf(raw) });
  }
  const declared = Number(rawHeader(raw, 'content-length') ?? Number.NaN);
  let bytes: Uint8Array | Error;
  if (Number.isFinite(declared) && declared > options.maxBodyBytes) {
    discard(answer.body);
    bytes = options.tooBig(`${declared} bytes`);
  } else if (Number.isFinite(declared)) {
    // Its length is declared and within the bound: undici reads exactly that much (and fails a
    // body that does not match it), with its own consumer rather than an async iterator.
    bytes = new Uint8Array(await answer.body.arrayBuffer());
  } else {
    bytes = await readBounded(answer.body, options);
  }
  const response =
    bytes instanceof Error
      ? new Response(failingStream(bytes), { status, headers: headersOf(raw) })
      : (new BufferedResponse(bytes.byteLength === 0 ? null : bytes, status, raw) as unknown as Response);
  bounded.add(response);
  return response;
}

/** Reads the whole body, or stops (and destroys it) once it passes the bound. */
async function readBounded(body: Body, options: RequestFetchOptions) {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > options.maxBodyBytes) {
      discard(body);
      return options.tooBig(`more than ${options.maxBodyBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
}

type Body = Dispatcher.ResponseData['body'];

/** Stops reading a body (and frees its socket); the abort it reports is expected, not an error. */
function discard(body: Body): void {
  body.on('error', () => {});
  body.destroy();
}

/**
 * The body as a web stream, pulled chunk by chunk (Node 20's `Readable.toWeb` throws "Controller is
 * already closed" when the body is destroyed after it ended). Cancelling it discards the body.
 */
function webStream(body: Body): ReadableStream<Uint8Array> {
  const chunks = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await chunks.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel() {
      discard(body);
    },
  });
}

/** A body that fails with `error` when read (where `fetch`'s bounded stream fails). */
function failingStream(error: Error): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.error(error);
    },
  });
}

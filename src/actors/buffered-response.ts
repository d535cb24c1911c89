/**
 * A `Response` for a body already read into memory (request-fetch.ts reads every JSON-RPC answer
 * whole, bounded). Building a real `Response` from bytes costs undici a web `ReadableStream`, its
 * transfer bookkeeping and WebIDL conversions, and `json()` then reads that stream back, chunk by
 * chunk: together about a fifth of the client's CPU per call on the lean HTTP bench. This one keeps
 * the bytes: `json()` and `text()` decode them at once; `body` is made only when asked for.
 *
 * It passes `instanceof Response` (the SDK's OAuth error parsing checks it) and implements every
 * member a `Response` has; `clone()` shares the bytes.
 */

const decoder = new TextDecoder();

/** Response headers as undici's `request()` gives them: lower-case names, repeated ones as a list. */
export type RawHeaders = Record<string, string | string[] | undefined>;

/** One header of undici's record as `Headers.get` gives it (a list joined with `, `). */
export function rawHeader(raw: RawHeaders, name: string): string | undefined {
  const value = raw[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** undici's record as a `Headers` (`set-cookie` lists appended one by one, as `fetch` has them). */
export function headersOf(raw: RawHeaders): Headers {
  const headers = new Headers();
  for (const name in raw) {
    const value = raw[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.append(name, value);
  }
  return headers;
}

function used(): TypeError {
  return new TypeError('Body is unusable: Body has already been read');
}

/** A `Response` over bytes in memory; see the file header. */
export class BufferedResponse {
  readonly status: number;
  readonly statusText = '';
  readonly url = '';
  readonly redirected = false;
  readonly type = 'basic' as ResponseType;
  #bytes: Uint8Array | null;
  #stream: ReadableStream<Uint8Array> | null = null;
  #used = false;
  #headers: Headers | undefined;
  readonly #rawHeaders: RawHeaders;

  /**
   * `bytes` is the whole body (null: none); it is not copied and must not change. `headers` are
   * undici's (lower-case names): a `Headers` is built from them only if someone asks for it.
   */
  constructor(bytes: Uint8Array | null, status: number, headers: RawHeaders | Headers) {
    this.#bytes = bytes;
    this.status = status;
    if (headers instanceof Headers) {
      this.#headers = headers;
      this.#rawHeaders = Object.fromEntries(headers);
    } else this.#rawHeaders = headers;
  }

  /** The headers as `fetch` gives them (`set-cookie` lists appended one by one), built once. */
  get headers(): Headers {
    this.#headers ??= headersOf(this.#rawHeaders);
    return this.#headers;
  }

  /**
   * One header's value as `headers.get` gives it (a list joined with `, `), without building the
   * `Headers`: what the JSON-RPC fast path reads on every answer. `name` is lower case.
   */
  header(name: string): string | null {
    return rawHeader(this.#rawHeaders, name) ?? null;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  /** The body as a stream, made on first access (reading it uses the body up, as for `fetch`). */
  get body(): ReadableStream<Uint8Array> | null {
    if (this.#bytes === null) return null;
    if (this.#stream === null) {
      const bytes = this.#bytes;
      this.#stream = new ReadableStream({
        start: (controller) => {
          if (this.#used) controller.error(used());
          else {
            controller.enqueue(bytes);
            controller.close();
          }
        },
      });
    }
    return this.#stream;
  }

  get bodyUsed(): boolean {
    return this.#used || this.#stream?.locked === true;
  }

  async bytes(): Promise<Uint8Array<ArrayBuffer>> {
    if (this.#stream !== null) return new Uint8Array(await new Response(this.#stream).arrayBuffer());
    return new Uint8Array(this.#take());
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return (await this.bytes()).buffer;
  }

  async text(): Promise<string> {
    if (this.#stream !== null) return new Response(this.#stream).text();
    return decoder.decode(this.#take());
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  async blob(): Promise<Blob> {
    return new Blob([await this.bytes()], { type: this.headers.get('content-type') ?? '' });
  }

  async formData(): Promise<FormData> {
    return new Response(await this.bytes(), { headers: this.headers }).formData();
  }

  clone(): BufferedResponse {
    if (this.bodyUsed) throw new TypeError('Response.clone: Body has already been consumed.');
    if (this.#stream !== null) throw new TypeError('Response.clone: the body stream was taken');
    return new BufferedResponse(this.#bytes, this.status, new Headers(this.headers));
  }

  /** The bytes, once (no body reads as empty, any number of times, as with `fetch`). */
  #take(): Uint8Array {
    if (this.#bytes === null) return new Uint8Array(0);
    if (this.#used) throw used();
    this.#used = true;
    return this.#bytes;
  }
}

// `instanceof Response` holds; every member is the class's own, so no native getter is reached.
Object.setPrototypeOf(BufferedResponse.prototype, Response.prototype);

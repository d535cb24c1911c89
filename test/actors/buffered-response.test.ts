import { describe, expect, it } from 'vitest';
import { BufferedResponse } from '../../src/actors/buffered-response.js';

const JSON_BODY = '\uFEFF{"jsonrpc":"2.0","id":1,"result":{"text":"héllo"}}';

/** The same bytes as a real `Response` and as a `BufferedResponse`. */
function pair(text: string | null, status = 200): [Response, Response] {
  const bytes = text === null ? null : Buffer.from(text);
  const headers = () => new Headers({ 'content-type': 'application/json', 'mcp-session-id': 's1' });
  return [
    new Response(bytes === null ? null : new Uint8Array(bytes), { status, headers: headers() }),
    new BufferedResponse(bytes, status, headers()) as unknown as Response,
  ];
}

async function outcome(read: () => Promise<unknown>): Promise<unknown> {
  try {
    return { value: await read() };
  } catch (error) {
    return { error: (error as Error).name };
  }
}

describe('BufferedResponse reads like a fetch Response', () => {
  it('passes instanceof Response and has its status, ok and headers', () => {
    const [, buffered] = pair('{}', 202);
    expect(buffered).toBeInstanceOf(Response);
    expect([buffered.status, buffered.ok, buffered.headers.get('mcp-session-id')]).toEqual([202, true, 's1']);
    expect(new BufferedResponse(null, 500, new Headers()).ok).toBe(false);
  });

  it("undici's raw headers: header() reads one without a Headers, .headers gives what fetch would", () => {
    const raw = { 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'], vary: undefined };
    const buffered = new BufferedResponse(null, 200, raw);
    expect(buffered.header('content-type')).toBe('application/json');
    expect(buffered.header('set-cookie')).toBe('a=1, b=2');
    expect(buffered.header('vary')).toBeNull();
    const real = new Headers();
    real.append('content-type', 'application/json');
    real.append('set-cookie', 'a=1');
    real.append('set-cookie', 'b=2');
    expect([...buffered.headers]).toEqual([...real]);
    expect(buffered.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(buffered.headers).toBe(buffered.headers);
  });

  const reads: Record<string, (r: Response) => Promise<unknown>> = {
    json: (r) => r.json(),
    text: (r) => r.text(),
    bytes: async (r) => [...new Uint8Array(await r.arrayBuffer())],
    stream: async (r) => (r.body ? new Response(r.body).text() : null),
  };
  for (const [name, read] of Object.entries(reads)) {
    it(`${name}: the same value (BOM stripped), then the body is used up for every other read`, async () => {
      for (const text of [JSON_BODY, '', null]) {
        const [real, buffered] = pair(text);
        expect(await outcome(() => read(buffered))).toEqual(await outcome(() => read(real)));
        expect(buffered.bodyUsed).toBe(real.bodyUsed);
        for (const again of Object.values(reads))
          expect(await outcome(() => again(buffered))).toEqual(await outcome(() => again(real)));
      }
    });
  }

  it('clone() reads the same bytes independently; a used body cannot be cloned', async () => {
    const [, buffered] = pair(JSON_BODY);
    const copy = buffered.clone();
    expect(await copy.json()).toEqual(await buffered.json());
    expect(() => buffered.clone()).toThrow(TypeError);
  });
});

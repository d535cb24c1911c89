/**
 * Input rounds of a 2026-07-28 request (MRTR), driven by the call path instead of inside one SDK
 * request. A server that needs input answers `input_required`; the runtime answers each embedded
 * request with the handlers registered on the Client (the same `sampling`/`elicitation`/`roots`
 * handlers a 2025 server's requests reach, with the SDK's validation around them), then sends the
 * next leg: the original params plus `inputResponses` and the echoed `requestState`.
 *
 * Why not the SDK's own driver: it sends every leg on the Client that got the first answer. When
 * that connection is lost while a handler waits for a person, the answer has nowhere to go and the
 * call fails or starts again from round 1, asking the person twice. Here a leg is one attempt of
 * the call: it goes through the queue and the breaker to whichever connection is ready, and a leg
 * lost on the way is retried under the call's own rules. A stateless server needs nothing else:
 * everything the round knows travels in `requestState`.
 */
import type { Client } from '@modelcontextprotocol/client';
import { ProtocolError } from '../errors/index.js';

/** What a 2026 server answered instead of a result (the SDK's manual-mode value). */
export interface InputRequiredValue {
  resultType: 'input_required';
  inputRequests?: Record<string, unknown>;
  requestState?: string;
}

/** One input round as a call reports it: its number (from 1), what it asks, how many requests. */
export interface InputRound {
  round: number;
  kinds: InputKind[];
  count: number;
}

/** What the next leg adds to the original params. */
export interface InputLeg {
  inputResponses?: Record<string, unknown>;
  requestState?: string;
}

/** What an input request asks for, by the handler that answers it. */
export type InputKind = 'elicitation' | 'sampling' | 'roots';

/** The embedded request methods of an input round, by kind (anything else is not recorded). */
const INPUT_KIND: Readonly<Record<string, InputKind>> = {
  'elicitation/create': 'elicitation',
  'sampling/createMessage': 'sampling',
  'roots/list': 'roots',
};

/** The distinct kinds an `inputRequests` map asks for (in a fixed order) and how many requests it has. */
export function inputKindsOf(inputRequests: unknown): { kinds: InputKind[]; count: number } {
  if (inputRequests === null || typeof inputRequests !== 'object') return { kinds: [], count: 0 };
  const asked = new Set<InputKind>();
  let count = 0;
  for (const entry of Object.values(inputRequests)) {
    count++;
    const method = (entry as { method?: unknown } | null)?.method;
    const kind = typeof method === 'string' ? INPUT_KIND[method] : undefined;
    if (kind) asked.add(kind);
  }
  return { kinds: (['elicitation', 'sampling', 'roots'] as const).filter((k) => asked.has(k)), count };
}

/** How long a leg that carries only `requestState` waits before it is sent (the SDK's pacing). */
export const STATE_ONLY_LEG_DELAY_MS = 250;

/** A request handler as the Client keeps it (its validation of the request and the answer included). */
type RegisteredHandler = (
  request: { jsonrpc: '2.0'; id: string; method: string; params?: Record<string, unknown> },
  ctx: { mcpReq: { id: string; method: string; signal: AbortSignal } },
) => Promise<unknown>;

/** Whether a request's value is an `input_required` answer (only with `allowInputRequired`). */
export function isInputRequired(value: unknown): value is InputRequiredValue {
  return (value as { resultType?: unknown } | null)?.resultType === 'input_required';
}

/** The params of the next leg: the original ones, the answers and the server's state. */
export function withInputLeg(params: unknown, leg: InputLeg): unknown {
  return { ...(params as Record<string, unknown>), ...leg };
}

/** Whether an `input_required` answer asks for nothing (a leg that only carries `requestState`). */
export function asksNothing(value: InputRequiredValue): boolean {
  for (const key in value.inputRequests) if (Object.hasOwn(value.inputRequests, key)) return false;
  return true;
}

/**
 * Answers every embedded request of one round with the Client's registered handlers, in parallel.
 * The first handler to fail aborts the others' signal and fails the round. An entry that is not an
 * embedded request of the revision, or asks what no handler answers (the capability was not
 * declared), is the server's PROTOCOL error, naming the key and the method.
 *
 * @example
 * const inputResponses = await answerInputRound(conn.client, value, 'demo', 'tools/call ask', signal);
 */
export async function answerInputRound(
  client: Client,
  value: InputRequiredValue,
  server: string,
  operation: string,
  signal: AbortSignal,
): Promise<Record<string, unknown>> {
  const at = `${operation} on ${server}`;
  const entries = Object.entries(value.inputRequests ?? {});
  const round = new AbortController();
  const onAbort = (): void => round.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const answers = await Promise.all(
      entries.map(async ([key, entry]) => {
        try {
          return [key, await answerOne(client, key, entry, server, at, round.signal)] as const;
        } catch (error) {
          round.abort(error);
          throw error;
        }
      }),
    );
    return Object.fromEntries(answers);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function answerOne(
  client: Client,
  key: string,
  entry: unknown,
  server: string,
  at: string,
  signal: AbortSignal,
): Promise<unknown> {
  const method = (entry as { method?: unknown } | null)?.method;
  if (typeof method !== 'string' || INPUT_KIND[method] === undefined) {
    throw new ProtocolError(
      `${at}: input request '${key}' is not an embedded elicitation/create, sampling/createMessage or roots/list request`,
      { server },
    );
  }
  // The Client keeps its handlers behind a protected accessor (declared in its types): calling it
  // keeps the SDK's checks of the request and the answer, and its form defaults.
  const handler = (
    client as unknown as { _getRequestHandler(method: string): RegisteredHandler | undefined }
  )._getRequestHandler(method);
  if (!handler) {
    throw new ProtocolError(
      `${at}: the server asks for '${method}' (input request '${key}'), which this client did not declare (no handler is configured)`,
      { server },
    );
  }
  const params = (entry as { params?: unknown }).params;
  const request = {
    jsonrpc: '2.0' as const,
    id: key,
    method,
    ...(params !== null && typeof params === 'object' ? { params: params as Record<string, unknown> } : {}),
  };
  return handler(request, { mcpReq: { id: key, method, signal } });
}

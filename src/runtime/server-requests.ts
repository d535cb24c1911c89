/**
 * Requests the SERVER sends to the client — `sampling/createMessage`, `elicitation/create`,
 * `roots/list` — answered by the handlers given in config (`handlers: { sampling, elicitation,
 * roots }`). One handler API for both protocol eras: on a 2025 server they answer its requests; on
 * a 2026 server the same handlers answer each `input_required` round (MRTR; see input-rounds.ts).
 * A capability is declared only when its handler is present, so a server never asks for what the
 * application cannot answer.
 */
import type {
  Client,
  ClientCapabilities,
  CreateMessageRequest,
  CreateMessageResult,
  ElicitRequest,
  ElicitResult,
  Root,
} from '@modelcontextprotocol/client';

/** What a handler learns about the request besides its params. */
export interface ServerRequestContext {
  /** The configured server that asked. */
  server: string;
  /** The runtime/server context (config `context`). */
  context: Record<string, unknown>;
  /** Aborted when the server cancels the request or the connection goes. */
  signal: AbortSignal;
}

/** Answers `sampling/createMessage` (run the model the server asks for). */
export type SamplingHandler = (
  params: CreateMessageRequest['params'],
  ctx: ServerRequestContext,
) => CreateMessageResult | Promise<CreateMessageResult>;

/** Answers `elicitation/create` (ask the user). */
export type ElicitationHandler = (
  params: ElicitRequest['params'],
  ctx: ServerRequestContext,
) => ElicitResult | Promise<ElicitResult>;

/** Answers `roots/list` (the directories/URIs the server may work in). */
export type RootsHandler = (ctx: ServerRequestContext) => Root[] | Promise<Root[]>;

/** The `handlers` of the runtime config. */
export interface ServerRequestHandlers {
  sampling?: SamplingHandler;
  elicitation?: ElicitationHandler;
  roots?: RootsHandler;
}

/** The client capabilities the handlers make true (and only those). */
export function capabilitiesFor(handlers: ServerRequestHandlers | undefined): ClientCapabilities {
  const caps: ClientCapabilities = {};
  if (handlers?.sampling) caps.sampling = {};
  // applyDefaults: the SDK fills in a form's schema defaults the user left out (SEP-1034).
  if (handlers?.elicitation) caps.elicitation = { form: { applyDefaults: true } };
  if (handlers?.roots) caps.roots = { listChanged: true };
  return caps;
}

/**
 * Registers the configured handlers on a server's Client (once; they survive reconnects).
 *
 * @example
 * installServerRequestHandlers(client, 'demo', { roots: () => [{ uri: 'file:///work' }] }, {});
 */
export function installServerRequestHandlers(
  client: Client,
  server: string,
  handlers: ServerRequestHandlers | undefined,
  context: Record<string, unknown>,
  onInput?: (kind: 'sampling' | 'elicitation' | 'roots') => void,
): void {
  const ctx = (signal: AbortSignal, kind: 'sampling' | 'elicitation' | 'roots'): ServerRequestContext => {
    onInput?.(kind);
    return { server, context, signal };
  };
  const sampling = handlers?.sampling;
  if (sampling) {
    client.setRequestHandler('sampling/createMessage', async (request, extra) =>
      sampling(request.params, ctx(extra.mcpReq.signal, 'sampling')),
    );
  }
  const elicitation = handlers?.elicitation;
  if (elicitation) {
    client.setRequestHandler('elicitation/create', async (request, extra) =>
      elicitation(request.params, ctx(extra.mcpReq.signal, 'elicitation')),
    );
  }
  const roots = handlers?.roots;
  if (roots) {
    client.setRequestHandler('roots/list', async (_request, extra) => ({
      roots: await roots(ctx(extra.mcpReq.signal, 'roots')),
    }));
  }
}

/** An input request a task carries (`inputRequests` of a 2026 task), keyed by the server. */
export interface InputRequest {
  method: string;
  params?: Record<string, unknown> | undefined;
}

/**
 * Answers one input request of a 2026 task with the configured handler, as if the server had sent
 * it as a request; `undefined` when no handler serves its method (the capability was not declared,
 * so the server should not have asked).
 *
 * @example
 * const answer = await answerInputRequest(handlers, { method: 'roots/list' }, { server, context, signal });
 */
export async function answerInputRequest(
  handlers: ServerRequestHandlers | undefined,
  request: InputRequest,
  ctx: ServerRequestContext,
): Promise<unknown> {
  const params = (request.params ?? {}) as never;
  if (request.method === 'elicitation/create' && handlers?.elicitation)
    return handlers.elicitation(params, ctx);
  if (request.method === 'sampling/createMessage' && handlers?.sampling)
    return handlers.sampling(params, ctx);
  if (request.method === 'roots/list' && handlers?.roots) return { roots: await handlers.roots(ctx) };
  return undefined;
}

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
  ClientContext,
  CreateMessageRequest,
  CreateMessageResult,
  ElicitRequest,
  ElicitResult,
  HandlerResultTypeMap,
  RequestMethod,
  RequestTypeMap,
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
 * Builds, once per server, the request handlers the configured handlers make, and returns what
 * registers them on one of the server's Clients (once a Client; they survive reconnects). The
 * handlers depend on the server only, so the Clients of a pool share them.
 *
 * @example
 * const install = serverRequestInstaller('demo', { roots: () => [{ uri: 'file:///work' }] }, {});
 * install(client);
 */
export function serverRequestInstaller(
  server: string,
  handlers: ServerRequestHandlers | undefined,
  context: Record<string, unknown>,
  onInput?: (kind: 'sampling' | 'elicitation' | 'roots') => void,
): (client: Client) => void {
  const ctx = (signal: AbortSignal, kind: 'sampling' | 'elicitation' | 'roots'): ServerRequestContext => {
    onInput?.(kind);
    return { server, context, signal };
  };
  const sampling = handlers?.sampling;
  const onSampling: SdkRequestHandler<'sampling/createMessage'> | undefined = sampling
    ? async (request, extra) => sampling(request.params, ctx(extra.mcpReq.signal, 'sampling'))
    : undefined;
  const elicitation = handlers?.elicitation;
  const onElicitation: SdkRequestHandler<'elicitation/create'> | undefined = elicitation
    ? async (request, extra) => elicitation(request.params, ctx(extra.mcpReq.signal, 'elicitation'))
    : undefined;
  const roots = handlers?.roots;
  const onRoots: SdkRequestHandler<'roots/list'> | undefined = roots
    ? async (_request, extra) => ({ roots: await roots(ctx(extra.mcpReq.signal, 'roots')) })
    : undefined;
  return (client) => {
    if (onSampling) client.setRequestHandler('sampling/createMessage', onSampling);
    if (onElicitation) client.setRequestHandler('elicitation/create', onElicitation);
    if (onRoots) client.setRequestHandler('roots/list', onRoots);
  };
}

/** The SDK Client's handler of a server request `M`. */
type SdkRequestHandler<M extends RequestMethod> = (
  request: RequestTypeMap[M],
  ctx: ClientContext,
) => Promise<HandlerResultTypeMap[M]>;

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

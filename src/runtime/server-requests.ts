/**
 * Requests the SERVER sends to the client — `sampling/createMessage`, `elicitation/create`,
 * `roots/list` — answered by the handlers given in config (`handlers: { sampling, elicitation,
 * roots }`). A capability is declared only when its handler is present, so a server never asks
 * for what the application cannot answer.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  type ClientCapabilities,
  type CreateMessageRequest,
  CreateMessageRequestSchema,
  type CreateMessageResult,
  type ElicitRequest,
  ElicitRequestSchema,
  type ElicitResult,
  ListRootsRequestSchema,
  type Root,
} from '@modelcontextprotocol/sdk/types.js';

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
): void {
  const ctx = (signal: AbortSignal): ServerRequestContext => ({ server, context, signal });
  const sampling = handlers?.sampling;
  if (sampling) {
    client.setRequestHandler(CreateMessageRequestSchema, async (request, extra) =>
      sampling(request.params, ctx(extra.signal)),
    );
  }
  const elicitation = handlers?.elicitation;
  if (elicitation) {
    client.setRequestHandler(ElicitRequestSchema, async (request, extra) =>
      elicitation(request.params, ctx(extra.signal)),
    );
  }
  const roots = handlers?.roots;
  if (roots) {
    client.setRequestHandler(ListRootsRequestSchema, async (_request, extra) => ({
      roots: await roots(ctx(extra.signal)),
    }));
  }
}

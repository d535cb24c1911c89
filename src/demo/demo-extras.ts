/**
 * Extras of the demo server for the session/feature tests: a subscribable resource with real
 * change notifications on both eras (`resources/subscribe` + `notifications/resources/updated` on
 * 2025 connections, `subscriptions/listen` on 2026 ones), a tool list that changes at runtime,
 * server logs with levels, and a tool that echoes the `_meta` it received. Add them to a demo server
 * with {@link registerDemoExtras} (before it connects).
 *
 * The note and the added tools are process-wide, so every change goes out on {@link demoChanges}:
 * long-lived instances (one per WebSocket/stdio connection or 2025 HTTP session) listen to it and
 * notify their client; the Streamable HTTP endpoint hands the same bus to its 2026 listen streams.
 */
import {
  InMemoryServerEventBus,
  type LoggingLevel,
  type McpServer,
  type ServerEventBus,
} from '@modelcontextprotocol/server';
import { z } from 'zod';

/** Observers of what the extras saw (per server instance). */
export interface DemoExtrasHooks {
  onSubscribe?: (uri: string) => void;
  onUnsubscribe?: (uri: string) => void;
  /**
   * `false` for an instance that serves one HTTP request only: it publishes changes but does not
   * listen to them (the endpoint's own listen streams deliver them). Default `true`.
   */
  live?: boolean;
}

/** The URI of the subscribable note. */
export const DEMO_NOTE_URI = 'demo://note';

/** Process-wide change feed of the extras' shared state (the note, the added tools). */
export const demoChanges: ServerEventBus = new InMemoryServerEventBus();

/** The note every `demo://note` read returns; `set-note` changes it (shared by the process). */
let note = 'first';
/** How many `extra-N` tools `add-tool` has added in this process. */
let addedTools = 0;

/**
 * Registers `demo://note` (subscribable), the tools `set-note`, `add-tool`, `log`, `whoami`, and
 * the subscribe/unsubscribe handlers (2025 era; the 2026 era subscribes with `subscriptions/listen`,
 * served by the SDK's serving entries).
 *
 * @example
 * const server = createDemoMcpServer();
 * registerDemoExtras(server);
 */
export function registerDemoExtras(server: McpServer, hooks: DemoExtrasHooks = {}): void {
  server.server.registerCapabilities({
    resources: { subscribe: true, listChanged: true },
    tools: { listChanged: true },
    logging: {},
  });
  const subscribed = new Set<string>();
  // The SDK installs its own logging/setLevel only for capabilities given at construction.
  // The runtime filters by level on its side; the demo only has to accept the request.
  server.server.setRequestHandler('logging/setLevel', async () => ({}));
  server.server.setRequestHandler('resources/subscribe', async (request) => {
    subscribed.add(request.params.uri);
    hooks.onSubscribe?.(request.params.uri);
    return {};
  });
  server.server.setRequestHandler('resources/unsubscribe', async (request) => {
    subscribed.delete(request.params.uri);
    hooks.onUnsubscribe?.(request.params.uri);
    return {};
  });

  server.registerResource(
    'note',
    DEMO_NOTE_URI,
    { description: 'A note that `set-note` changes.', mimeType: 'text/plain', cacheHint: { ttlMs: 0 } },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: note }] }),
  );

  server.registerTool(
    'set-note',
    { description: 'Changes demo://note and notifies its subscribers.', inputSchema: { text: z.string() } },
    async ({ text }) => {
      note = text;
      demoChanges.publish({ kind: 'resource_updated', uri: DEMO_NOTE_URI });
      return { content: [{ type: 'text', text: 'ok' }] };
    },
  );

  let registered = 0;
  const registerAddedTools = (): void => {
    while (registered < addedTools) {
      registered += 1;
      const name = `extra-${registered}`;
      server.registerTool(name, { description: `Added at runtime (#${registered}).` }, async () => ({
        content: [{ type: 'text', text: name }],
      }));
    }
  };
  registerAddedTools();
  server.registerTool(
    'add-tool',
    { description: 'Registers a new tool `extra-N` (the server sends tools/list_changed).' },
    async () => {
      addedTools += 1;
      const name = `extra-${addedTools}`;
      registerAddedTools();
      demoChanges.publish({ kind: 'tools_list_changed' });
      return { content: [{ type: 'text', text: name }] };
    },
  );

  server.registerTool(
    'log',
    {
      description: 'Sends one log message at the given level (filtered by logging/setLevel).',
      inputSchema: {
        level: z.enum(['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency']),
        text: z.string(),
      },
    },
    async ({ level, text }, ctx) => {
      await ctx.mcpReq.log(level as LoggingLevel, text, 'demo');
      return { content: [{ type: 'text', text: 'logged' }] };
    },
  );

  server.registerTool(
    'whoami',
    {
      description:
        'Returns the `_meta` of the request (and, on 2026-07-28, its protocol envelope) as structured content.',
      inputSchema: {},
      outputSchema: {
        meta: z.record(z.string(), z.unknown()),
        envelope: z.record(z.string(), z.unknown()).optional(),
      },
      annotations: { readOnlyHint: true },
    },
    async (_args, ctx) => {
      const meta = { ...(ctx.mcpReq._meta ?? {}) } as Record<string, unknown>;
      const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
      return {
        content: [{ type: 'text', text: JSON.stringify(meta) }],
        structuredContent: envelope === undefined ? { meta } : { meta, envelope },
      };
    },
  );

  if (hooks.live === false) return;
  const stopListening = demoChanges.subscribe((event) => {
    if (event.kind === 'tools_list_changed') registerAddedTools();
    if (event.kind !== 'resource_updated' || !server.isConnected()) return;
    // A 2026 connection's listen router filters by subscription; a 2025 one asked per URI.
    const modern = server.server.getNegotiatedProtocolVersion() === '2026-07-28';
    if (modern || subscribed.has(event.uri)) {
      server.server.sendResourceUpdated({ uri: event.uri }).catch(() => undefined);
    }
  });
  const previousOnClose = server.server.onclose;
  server.server.onclose = () => {
    stopListening();
    previousOnClose?.();
  };
}

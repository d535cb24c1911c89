/**
 * Extras of the demo server for the session/feature tests: resource subscriptions with real
 * `notifications/resources/updated`, a tool list that changes at runtime, server logs with levels,
 * and a tool that echoes the `_meta` it received. Add them to a demo server with
 * {@link registerDemoExtras} (before it connects).
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  type LoggingLevel,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

/** Observers of what the extras saw (per server instance). */
export interface DemoExtrasHooks {
  onSubscribe?: (uri: string) => void;
  onUnsubscribe?: (uri: string) => void;
}

/** The note every `demo://note` read returns; `set-note` changes it (shared by the process). */
let note = 'first';

/**
 * Registers `demo://note` (subscribable), the tools `set-note`, `add-tool`, `log`, `whoami`, and
 * the subscribe/unsubscribe handlers.
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
  server.server.setRequestHandler(SetLevelRequestSchema, async () => ({}));
  server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    subscribed.add(request.params.uri);
    hooks.onSubscribe?.(request.params.uri);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    subscribed.delete(request.params.uri);
    hooks.onUnsubscribe?.(request.params.uri);
    return {};
  });

  server.registerResource(
    'note',
    'demo://note',
    { description: 'A note that `set-note` changes.', mimeType: 'text/plain' },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: note }] }),
  );

  server.registerTool(
    'set-note',
    { description: 'Changes demo://note and notifies its subscribers.', inputSchema: { text: z.string() } },
    async ({ text }) => {
      note = text;
      if (subscribed.has('demo://note')) await server.server.sendResourceUpdated({ uri: 'demo://note' });
      return { content: [{ type: 'text', text: 'ok' }] };
    },
  );

  let added = 0;
  server.registerTool(
    'add-tool',
    { description: 'Registers a new tool `extra-N` (the server sends tools/list_changed).' },
    async () => {
      added += 1;
      const name = `extra-${added}`;
      server.registerTool(name, { description: `Added at runtime (#${added}).` }, async () => ({
        content: [{ type: 'text', text: name }],
      }));
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
    async ({ level, text }, extra) => {
      await server.sendLoggingMessage(
        { level: level as LoggingLevel, logger: 'demo', data: text },
        extra.sessionId,
      );
      return { content: [{ type: 'text', text: 'logged' }] };
    },
  );

  server.registerTool(
    'whoami',
    {
      description: 'Returns the `_meta` of the request as structured content.',
      outputSchema: { meta: z.record(z.string(), z.unknown()) },
      annotations: { readOnlyHint: true },
    },
    async (extra) => {
      const meta = { ...(extra._meta ?? {}) } as Record<string, unknown>;
      return { content: [{ type: 'text', text: JSON.stringify(meta) }], structuredContent: { meta } };
    },
  );
}

/**
 * Issue 17: a tool result is validated once. With the tool known to the runtime's registry, the
 * SDK Client gets the tool's definition without `outputSchema` (no response-cache lookup, no
 * second validation) and the runtime checks `structuredContent` itself, naming the field.
 */

import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, type McpRuntime } from '../../src/index.js';

let rt: McpRuntime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

/** An in-process server whose `weather` tool breaks its own outputSchema on request. */
function weatherServer(calls: { count: number }) {
  return {
    connect() {
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      const server = new Server({ name: 'weather', version: '1.0.0' }, { capabilities: { tools: {} } });
      server.setRequestHandler(ListToolsRequestSchema, async () => ({
        tools: [
          {
            name: 'weather',
            inputSchema: { type: 'object' as const, properties: { bad: { type: 'boolean' } } },
            outputSchema: {
              type: 'object' as const,
              properties: { tempC: { type: 'number' } },
              required: ['tempC'],
            },
          },
        ],
      }));
      server.setRequestHandler(CallToolRequestSchema, async (request) => {
        calls.count++;
        const tempC = request.params.arguments?.bad ? 'warm' : 21;
        return { content: [{ type: 'text', text: String(tempC) }], structuredContent: { tempC } };
      });
      void server.connect(serverSide);
      return clientSide;
    },
  };
}

describe('structuredContent is validated once', () => {
  it('a known tool: the runtime validates, naming the field; the SDK does not validate first', async () => {
    const calls = { count: 0 };
    rt = createRuntime({ servers: { w: { mock: weatherServer(calls) } } });
    await rt.refreshTools(['w']);
    expect((await rt.callTool('w', 'weather', {})).structuredContent).toEqual({ tempC: 21 });
    const error = await rt.callTool('w', 'weather', { bad: true }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'VALIDATION', path: 'structuredContent.tempC' });
    // The SDK's own check would have failed first, and its error would be the cause.
    expect((error as Error).cause).toBeUndefined();
    expect((error as Error).message).not.toMatch(/does not match the tool's output schema/);
    expect(calls.count).toBe(2); // a validation failure is not retried
  });
});

/**
 * The bench's 2026-era MCP server: an SDK v2 `McpServer` with the one `echo` tool the benchmarks
 * call, served through the SDK's own era entry (`serveStdio`), which answers `server/discover` and
 * pins the 2026-07-28 era, or `initialize` and pins 2025-11-25, per connection. The entry takes any
 * framed transport, so the same server runs over stdio, in memory and our WebSocket server
 * transport.
 *
 *   node --import tsx bench/server-v2.ts --stdio      serve one client over this process's stdio
 *
 * Bench-only: the demo server (src/demo) stays the 2025 server of the other rows.
 */
import { fileURLToPath } from 'node:url';
import { McpServer, type Transport } from '@modelcontextprotocol/server';
import { type StdioServerHandle, serveStdio } from '@modelcontextprotocol/server/stdio';
import { z } from 'zod';

/** A fresh v2 server with `echo` (the serving entry asks for one per connection). */
export function createEchoServerV2(): McpServer {
  const server = new McpServer({ name: 'bench-v2', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.registerTool(
    'echo',
    { description: 'Echoes the text back', inputSchema: z.object({ text: z.string() }) },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );
  return server;
}

/**
 * Serves one connection on `transport` (both eras, decided by the client's opening message).
 *
 * @example
 * const [client, server] = InMemoryTransport.createLinkedPair();
 * serveV2(server);
 */
export function serveV2(transport: Transport): StdioServerHandle {
  return serveStdio(createEchoServerV2, { transport });
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--stdio')) {
  serveStdio(createEchoServerV2);
}

/**
 * Shared by the examples: the demo server to talk to. With a URL argument
 * (`npx tsx examples/NAME.ts ws://127.0.0.1:8080`) the examples use that server; without one they
 * start the demo server in this process (WebSocket + Streamable HTTP on free ports) and stop it at
 * the end, so every example runs with no set-up and ends by itself.
 */
import { startDemoServer } from '../src/demo/demo-server.js';

/** Where the demo server is, and how to let go of it. */
export interface DemoTarget {
  /** The URL to use (WebSocket unless the argument said otherwise). */
  url: string;
  /** The WebSocket and Streamable HTTP URLs of an in-process server (undefined for a given URL). */
  wsUrl: string | undefined;
  httpUrl: string | undefined;
  /** Stops the in-process server (no-op for a given URL). */
  close(): Promise<void>;
}

/**
 * The demo server of this example run.
 *
 * @example
 * const demo = await demoTarget();
 * try { ... createRuntime({ servers: { demo: { url: demo.url } } }) ... } finally { await demo.close(); }
 */
export async function demoTarget(): Promise<DemoTarget> {
  const given = process.argv[2] || process.env.DEMO_URL;
  if (given) return { url: given, wsUrl: undefined, httpUrl: undefined, close: async () => {} };
  const demo = await startDemoServer();
  return { url: demo.wsUrl, wsUrl: demo.wsUrl, httpUrl: demo.httpUrl, close: () => demo.close() };
}

/** The text of the first content item of a tool result. */
export function textOf(result: { content?: unknown }): string {
  const first = (result.content as Array<{ type: string; text?: string }> | undefined)?.[0];
  return first?.type === 'text' ? (first.text ?? '') : '';
}

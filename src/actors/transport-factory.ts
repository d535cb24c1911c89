/**
 * Builds the SDK `Transport` a server's configuration asks for: WebSocket (ours, over `ws`),
 * Streamable HTTP and legacy SSE (the SDK's), or stdio (the SDK's, child process).
 */
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { WebSocketClientTransport } from './websocket-client-transport.js';

/** Which transport a server uses. */
export type TransportKind = 'websocket' | 'streamable-http' | 'sse' | 'stdio';

/** TLS options passed through to `wss://` and `https://` connections. */
export interface TlsOptions {
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer;
  key?: string | Buffer;
  passphrase?: string;
  servername?: string;
  rejectUnauthorized?: boolean;
}

/** Everything needed to build one transport instance (headers already carry any token). */
export interface TransportSpec {
  server: string;
  kind: TransportKind;
  url?: string | undefined;
  command?: string | undefined;
  args?: string[];
  env?: Record<string, string> | undefined;
  cwd?: string | undefined;
  headers: Record<string, string>;
  tls?: TlsOptions | undefined;
  maxMessageBytes: number;
  handshakeTimeoutMs: number;
  oauth?: OAuthClientProvider | undefined;
  /** Custom fetch for the HTTP transports (keep-alive pools, TLS agents). */
  fetch?: typeof fetch | undefined;
  /** Receives the stdio child's stderr, chunk by chunk. */
  onStderr?: ((text: string) => void) | undefined;
}

/** A fresh, unstarted transport for `spec`. */
export function createTransport(spec: TransportSpec): Transport {
  switch (spec.kind) {
    case 'websocket':
      return new WebSocketClientTransport({
        url: spec.url!,
        headers: spec.headers,
        ...(spec.tls ? { tls: spec.tls } : {}),
        maxPayloadBytes: spec.maxMessageBytes,
        handshakeTimeoutMs: spec.handshakeTimeoutMs,
      });
    case 'streamable-http':
      return new StreamableHTTPClientTransport(new URL(spec.url!), {
        requestInit: { headers: spec.headers },
        ...(spec.oauth ? { authProvider: spec.oauth } : {}),
        ...(spec.fetch ? { fetch: spec.fetch } : {}),
      });
    case 'sse':
      return new SSEClientTransport(new URL(spec.url!), {
        requestInit: { headers: spec.headers },
        ...(spec.oauth ? { authProvider: spec.oauth } : {}),
        ...(spec.fetch ? { fetch: spec.fetch } : {}),
      });
    case 'stdio': {
      const transport = new StdioClientTransport({
        command: spec.command!,
        args: spec.args ?? [],
        env: { ...getDefaultEnvironment(), ...spec.env },
        ...(spec.cwd ? { cwd: spec.cwd } : {}),
        stderr: 'pipe',
      });
      const onStderr = spec.onStderr;
      if (onStderr) transport.stderr?.on('data', (chunk: Buffer) => onStderr(chunk.toString('utf8')));
      return transport;
    }
  }
}

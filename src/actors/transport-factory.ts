/**
 * Builds the SDK `Transport` a server's configuration asks for: WebSocket (ours, over `ws`),
 * Streamable HTTP and legacy SSE (the SDK's), or stdio (ours: the child leads a process group that
 * `close()` waits out, stdio-client-transport.ts).
 */
import type { OAuthClientProvider, Transport } from '@modelcontextprotocol/client';
import {
  SdkHttpError,
  SSEClientTransport,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client';
import { getDefaultEnvironment } from '@modelcontextprotocol/client/stdio';
import { ConfigError } from '../errors/index.js';
import { hasOwnKeys } from './has-own-keys.js';
import { createHttpFetch } from './http-fetch.js';
import { createJsonPostFastPath } from './json-post-fast-path.js';
import { ReauthTransport } from './reauth-transport.js';
import { isSecretName } from './secret-names.js';
import { StdioClientTransport } from './stdio-client-transport.js';
import { type TlsOptions, tlsConnectOptions } from './tls.js';
import { WebSocketClientTransport } from './websocket-client-transport.js';

/** Which transport a server uses. */
export type TransportKind = 'websocket' | 'streamable-http' | 'sse' | 'stdio' | 'memory';

/**
 * An MCP server living in this process that hands out one connected transport per connection
 * (`mcp-actors/testing`'s mock server; config `servers.x.mock`).
 */
export interface InProcessServer {
  /** A fresh client-side transport linked to a new server session (e.g. `InMemoryTransport`). */
  connect(): Transport;
}

/** TLS options passed through to `wss://` and `https://` connections. */
export type { TlsOptions } from './tls.js';

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
  /** The in-process server of kind `memory`. */
  inProcess?: InProcessServer | undefined;
  /** Custom fetch for the HTTP transports (keep-alive pools, TLS agents). */
  fetch?: typeof fetch | undefined;
  /** Wraps the HTTP transports' fetch (the runtime's fleet serves OAuth refreshes there: fleet/fleet-oauth.ts). */
  wrapFetch?: ((next: typeof fetch) => typeof fetch) | undefined;
  /** Requests the server may have in flight at once (the queue's window): sizes the HTTP keep-alive pool. */
  concurrency?: number | undefined;
  /** Receives the stdio child's stderr, chunk by chunk. */
  onStderr?: ((text: string) => void) | undefined;
  /** Headers with a fresh token, asked for once after a 401 (token providers only). */
  refreshHeaders?: (() => Promise<Record<string, string>>) | undefined;
  /** `allowInsecure` of the configuration: clear text allowed to any origin (origin-guard.ts). */
  allowInsecure?: boolean | undefined;
}

/** A fresh, unstarted transport for `spec`. */
export function createTransport(spec: TransportSpec): Transport {
  switch (spec.kind) {
    case 'websocket':
      return new ReauthTransport({
        server: spec.server,
        headers: spec.headers,
        refreshHeaders: spec.refreshHeaders,
        create: (headers) =>
          new WebSocketClientTransport({
            url: spec.url!,
            server: spec.server,
            // No empty object kept for the connection's life when there are no headers.
            ...(hasOwnKeys(headers) ? { headers } : {}),
            ...(spec.tls ? { tls: tlsConnectOptions(spec.tls) } : {}),
            maxPayloadBytes: spec.maxMessageBytes,
            handshakeTimeoutMs: spec.handshakeTimeoutMs,
          }),
      });
    case 'streamable-http':
    case 'sse':
      return createHttpTransport(spec);
    case 'memory':
      if (!spec.inProcess)
        throw new ConfigError([
          { path: `servers.${spec.server}.mock`, message: 'required for transport "memory"' },
        ]);
      return spec.inProcess.connect();
    case 'stdio': {
      const transport = new StdioClientTransport({
        command: spec.command!,
        args: spec.args ?? [],
        env: { ...getDefaultEnvironment(), ...spec.env },
        cwd: spec.cwd,
      });
      const onStderr = spec.onStderr;
      // Unread, the pipe would fill and block a child that writes to stderr.
      if (onStderr) transport.stderr.on('data', (chunk: Buffer) => onStderr(chunk.toString('utf8')));
      else transport.stderr.resume();
      return transport;
    }
  }
}

/**
 * SEP-2352: a 401 for a token the provider holds may mean the protected resource moved to another
 * authorization server. The SDK's own 401 handling runs `auth()` once on the cached discovery and
 * so asks the old server again; forgetting the discovery first makes it read the resource metadata
 * again, and the issuer stamps then keep the old server's client registration and tokens away from
 * a new one (the SDK registers anew). Tokens are not dropped here: on the same authorization server
 * the refresh token is what a 401 for an expired token needs. Bounded by the SDK: one `auth()` per
 * 401, and the request is retried once.
 */
function forgetDiscovery(provider: OAuthClientProvider): () => Promise<void> {
  return async () => {
    await provider.invalidateCredentials?.('discovery');
  };
}

/**
 * Streamable HTTP or SSE through the fetch of http-fetch.ts (keep-alive agent sized to the window,
 * TLS, token refresh after a 401, body cap); closing the transport also closes the fetch's agent.
 */
function createHttpTransport(spec: TransportSpec): Transport {
  const headers: Record<string, string> = {};
  let authorization: string | undefined;
  for (const [name, value] of Object.entries(spec.headers)) {
    if (name.toLowerCase() === 'authorization') authorization = value;
    else headers[name] = value;
  }
  const refresh = spec.refreshHeaders;
  let transport: Transport | undefined;
  const http = createHttpFetch({
    server: spec.server,
    tls: spec.tls,
    authorization,
    refreshAuthorization: refresh ? async () => (await refresh()).Authorization ?? '' : undefined,
    maxMessageBytes: spec.maxMessageBytes,
    onTokenRejected: spec.oauth ? forgetDiscovery(spec.oauth) : undefined,
    // Oversized bodies are reported like any transport error (the runtime emits `error`).
    onError: (error) => transport?.onerror?.(error),
    fetch: spec.fetch,
    // One socket per request of the window, and one for the standalone SSE GET stream.
    connections: (spec.concurrency ?? 16) + 1,
    origin: {
      url: spec.url!,
      configuredHeaders: Object.keys(spec.headers),
      credentialed: spec.oauth !== undefined || Object.keys(spec.headers).some(isSecretName),
      allowInsecure: spec.allowInsecure ?? false,
    },
  });
  const url = new URL(spec.url!);
  const fetch = spec.wrapFetch ? spec.wrapFetch(http.fetch) : http.fetch;
  // JSON-RPC requests answered with JSON skip most of the SDK's per-request work (json-post-fast-path.ts);
  // with an OAuth provider the SDK adds its token (and DPoP proof) to every request itself.
  const fast =
    spec.kind === 'streamable-http' && !spec.oauth ? createJsonPostFastPath(url, headers, fetch) : undefined;
  const options = {
    requestInit: { headers },
    fetch: fast ? fast.fetch : fetch,
    ...(spec.oauth ? { authProvider: spec.oauth } : {}),
  };
  let created: Transport;
  if (spec.kind === 'sse') created = new SSEClientTransport(url, options);
  else {
    const streamable = new StreamableHTTPClientTransport(url, options);
    fast?.install(streamable);
    created = streamable;
  }
  transport = created;
  const send = created.send.bind(created);
  created.send = async (message, sendOptions) => {
    try {
      await send(message, sendOptions);
    } catch (error) {
      // A 429/503 for this request: its Retry-After goes with the SDK's error (map-error.ts reads it).
      const id = 'method' in message && 'id' in message ? message.id : undefined;
      const waitMs = id === undefined ? undefined : http.retryAfterFor(id);
      if (
        waitMs !== undefined &&
        error instanceof SdkHttpError &&
        typeof error.data === 'object' &&
        error.data
      )
        Object.assign(error.data, { retryAfterMs: waitMs });
      throw error;
    }
  };
  const close = created.close.bind(created);
  created.close = async () => {
    try {
      await close();
    } finally {
      await http.close();
    }
  };
  return created;
}

/**
 * What telemetry knows about one configured server, computed once when the server is set up:
 * its name, where it is (`server.address`/`server.port` from the URL, never credentials or query),
 * how it is reached (`network.transport`, `network.protocol.name`) and its redactor.
 */
import { ATTR, RUNTIME_ATTR } from './names.js';

/** Transport kinds as the runtime's config names them. */
export type TelemetryTransport = 'websocket' | 'streamable-http' | 'sse' | 'stdio' | 'memory';

/** Input of {@link describeServer}. */
export interface ServerDescription {
  /** The server's name in the config. */
  name: string;
  transport: TelemetryTransport;
  /** The server's URL (remote transports). Only host and port are used. */
  url?: string | undefined;
  /**
   * Masks secrets in a string (the server's `SecretSet.redact`). Every string attribute and event
   * value passes through it. Default: identity (callers are expected to pass the server's).
   */
  redact?: ((text: string) => string) | undefined;
}

/** A server as the telemetry seam uses it. Create with {@link describeServer}. */
export interface TelemetryServer {
  readonly name: string;
  readonly redact: (text: string) => string;
  /** Attributes every span and operation metric of this server carries (already redacted). */
  readonly attributes: Readonly<Record<string, string | number>>;
  /** Last session id seen and its digest (the raw id is a credential; see {@link sessionDigest}). */
  lastSession: { raw: string; digest: string } | undefined;
}

const DEFAULT_PORT: Record<string, number> = { 'http:': 80, 'https:': 443, 'ws:': 80, 'wss:': 443 };

/**
 * Describes a server for telemetry.
 *
 * @example
 * const s = describeServer({ name: 'demo', transport: 'websocket', url: 'ws://127.0.0.1:8080', redact });
 * s.attributes; // { 'mcp_actors.server': 'demo', 'server.address': '127.0.0.1', 'server.port': 8080, ... }
 */
export function describeServer(d: ServerDescription): TelemetryServer {
  const redact = d.redact ?? identity;
  const attributes: Record<string, string | number> = { [RUNTIME_ATTR.server]: redact(d.name) };
  if (d.transport === 'stdio') attributes[ATTR.networkTransport] = 'pipe';
  else if (d.transport !== 'memory') {
    attributes[ATTR.networkTransport] = 'tcp';
    attributes[ATTR.networkProtocolName] = d.transport === 'websocket' ? 'websocket' : 'http';
  }
  if (d.url) {
    try {
      const u = new URL(d.url);
      // URL keeps IPv6 brackets in hostname; the conventions want the bare address.
      attributes[ATTR.serverAddress] = redact(u.hostname.replace(/^\[(.*)\]$/, '$1'));
      const port = u.port ? Number(u.port) : DEFAULT_PORT[u.protocol];
      if (port !== undefined) attributes[ATTR.serverPort] = port;
    } catch {
      // An unparsable URL was refused by config validation; nothing to describe.
    }
  }
  return { name: d.name, redact, attributes: Object.freeze(attributes), lastSession: undefined };
}

function identity(text: string): string {
  return text;
}

/**
 * The inspector's last line of secret hygiene: the configured secrets are collected once and
 * scrubbed from every message before it leaves the process, whatever the message holds.
 */
import type { ResolvedConfig } from '../config.js';
import { isSecretName, scrubText } from '../redact.js';

/** Every secret value the configuration holds: tokens, secret headers and env values, URL credentials. */
export function configSecrets(config: ResolvedConfig): string[] {
  const out = new Set<string>();
  for (const server of config.servers.values()) {
    const token = (server.auth as { token?: unknown } | undefined)?.token;
    if (typeof token === 'string') out.add(token);
    for (const [name, value] of Object.entries(server.headers ?? {})) {
      if (isSecretName(name)) {
        out.add(value);
        const bearer = /^\s*bearer\s+(.+)$/i.exec(value);
        if (bearer?.[1]) out.add(bearer[1]);
      }
    }
    for (const [name, value] of Object.entries(server.env ?? {})) if (isSecretName(name)) out.add(value);
    if (server.url) {
      try {
        const u = new URL(server.url);
        if (u.username) out.add(decodeURIComponent(u.username));
        if (u.password) out.add(decodeURIComponent(u.password));
        for (const [key, value] of u.searchParams) if (isSecretName(key)) out.add(value);
      } catch {
        // An invalid URL never passed validation; nothing to collect.
      }
    }
  }
  return [...out].filter((s) => s.length >= 4);
}

/** `json` with every secret (raw or JSON-escaped) replaced by `***`. */
export function scrubJson(json: string, secrets: readonly string[]): string {
  if (secrets.length === 0) return json;
  const forms = secrets.flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]);
  return scrubText(json, forms);
}

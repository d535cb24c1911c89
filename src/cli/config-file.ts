/**
 * The CLI's configuration: `mcp-actors.config.json` (or `--config FILE`), the same schema as
 * `createRuntime` (or the `mcpServers` file of Claude Desktop, Cursor and VS Code), with `${ENV}`
 * placeholders filled from the environment (so secrets stay out of the file). A target on the command line may also be a URL or a command, for one ad-hoc server.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../errors/index.js';
import {
  type RuntimeConfig,
  resolveConfig,
  runtimeConfigSchema,
  type ServerConfig,
} from '../runtime/config.js';

/** The file looked for in the working directory when `--config` is not given. */
export const DEFAULT_CONFIG_FILE = 'mcp-actors.config.json';

/**
 * Replaces `${NAME}` (and `${NAME:-default}`) in every string of `value`. A missing variable
 * without a default is a {@link ConfigError} naming the field.
 */
export function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv, path = ''): unknown {
  if (typeof value === 'string') {
    return value.replace(
      /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
      (_, name: string, fallback?: string) => {
        const v = env[name];
        if (v !== undefined && v !== '') return v;
        if (fallback !== undefined) return fallback;
        throw new ConfigError([
          { path: path || '(root)', message: `environment variable ${name} is not set` },
        ]);
      },
    );
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, `${path}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolateEnv(v, env, path ? `${path}.${k}` : k)]),
    );
  }
  return value;
}

/** Line and column (both from 1) of a character offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

/** True when `text` is the start of some valid JSON document (it fails only by ending early). */
function isJsonPrefix(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch (error) {
    const m = /at position (\d+)/.exec((error as Error).message);
    return /end of JSON input/.test((error as Error).message) || (m !== null && Number(m[1]) >= text.length);
  }
}

/**
 * Where and why `text` is not JSON, without quoting the file: V8's messages may include the
 * offending token or a snippet, and a config file can hold secrets. When V8 gives no position, the
 * longest prefix that could still become JSON ends where the error is.
 */
export function jsonSyntaxError(text: string, error: Error): string {
  const m = /^(.*?) in JSON at position (\d+)/.exec(error.message);
  let offset: number;
  let reason: string;
  if (m) {
    reason = m[1]!;
    offset = Number(m[2]);
  } else if (/end of JSON input/.test(error.message)) {
    reason = 'Unexpected end of input';
    offset = text.length;
  } else {
    reason = 'Unexpected token';
    let lo = 0;
    let hi = text.length;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (isJsonPrefix(text.slice(0, mid))) lo = mid;
      else hi = mid - 1;
    }
    offset = lo;
  }
  const { line, column } = lineColumn(text, offset);
  return `${reason} at line ${line}, column ${column}`;
}

/** Edit distance of two short keys (for "did you mean"). */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}

/** The closest of `known` to `key` when it looks like a typo of it. */
function didYouMean(key: string, known: readonly string[]): string | undefined {
  const near = known
    .map((k) => ({ k, d: distance(key.toLowerCase(), k.toLowerCase()) }))
    .filter(({ d }) => d <= 2)
    .sort((x, y) => x.d - y.d)[0];
  return near?.k;
}

/** Root keys a config file may hold: the runtime's, plus `mcpServers` and `$schema`. */
const ROOT_KEYS = [...Object.keys(runtimeConfigSchema.shape), 'mcpServers'];

/**
 * One server entry in the format of Claude Desktop, Cursor and VS Code (`command`/`args`/`env`,
 * or `url`/`headers`, optionally `type: "stdio" | "http" | "sse"`) as a runtime server config.
 * Other fields stay, so validation names them.
 */
function fromHostEntry(name: string, entry: unknown): unknown {
  if (!entry || typeof entry !== 'object' || Array.isArray(entry) || !('type' in entry)) return entry;
  const { type, ...spec } = entry as Record<string, unknown>;
  const transport = (
    { stdio: 'stdio', http: 'streamable-http', 'streamable-http': 'streamable-http', sse: 'sse' } as const
  )[String(type) as 'stdio'];
  if (transport === undefined) {
    throw new ConfigError([
      {
        path: `servers.${name}.type`,
        message: `unknown type ${JSON.stringify(type)} (use stdio, http or sse)`,
      },
    ]);
  }
  // stdio is implied by `command`; the runtime picks its own transport for a ws:// URL.
  return transport === 'stdio' ? spec : { ...spec, transport };
}

/**
 * The file's content as a runtime config: `servers` (ours) or `mcpServers` (Claude Desktop, Cursor,
 * VS Code); entries with a `type` are translated. A file with neither is a {@link ConfigError} that
 * names a likely typo.
 */
export function fromConfigFile(raw: Record<string, unknown>, file: string): RuntimeConfig {
  const { servers, mcpServers, ...rest } = raw;
  if (servers !== undefined && mcpServers !== undefined) {
    throw new ConfigError([{ path: 'mcpServers', message: 'give `servers` or `mcpServers`, not both' }]);
  }
  const entries = servers ?? mcpServers;
  if (entries === undefined) {
    const hints = Object.keys(rest)
      .filter((k) => !ROOT_KEYS.includes(k))
      .map((k) => ({ k, near: didYouMean(k, ['servers', 'mcpServers']) }))
      .filter((h) => h.near)
      .map((h) => `found "${h.k}": did you mean "${h.near}"?`);
    throw new ConfigError([
      {
        path: 'servers',
        message: `${file} has no "servers" (or "mcpServers") object${hints.length ? `; ${hints.join('; ')}` : ''}`,
      },
    ]);
  }
  const key = servers !== undefined ? 'servers' : 'mcpServers';
  if (!entries || typeof entries !== 'object' || Array.isArray(entries)) {
    throw new ConfigError([{ path: key, message: `"${key}" must be an object of named servers` }]);
  }
  const translated = Object.fromEntries(
    Object.entries(entries).map(([name, entry]) => [name, fromHostEntry(name, entry)]),
  );
  return { ...rest, servers: translated } as RuntimeConfig;
}

/**
 * Reads and validates a config file (as `createRuntime` would: every bad field is a
 * {@link ConfigError} naming it). `required` (an explicit `--config`) makes a missing file an
 * error; otherwise a missing default file gives `undefined`.
 */
export function loadConfigFile(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): RuntimeConfig | undefined {
  const path = resolve(file ?? DEFAULT_CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (file === undefined && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError([{ path: 'config', message: `cannot read ${path}: ${(error as Error).message}` }], {
      cause: error,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    // No `cause`: V8's message quotes the file, which may hold secrets.
    throw new ConfigError([
      { path: 'config', message: `${path} is not valid JSON: ${jsonSyntaxError(text, error as Error)}` },
    ]);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new ConfigError([{ path: 'config', message: `${path} must hold a JSON object` }]);
  }
  const { $schema: _schema, ...rest } = json as Record<string, unknown>;
  const config = fromConfigFile(interpolateEnv(rest, env) as Record<string, unknown>, path);
  resolveConfig(config);
  return config;
}

/** True when the argument names a server by URL rather than by config name. */
export function isUrl(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(target);
}

/** A short server name for an ad-hoc URL or command. */
function adHocName(target: string): string {
  try {
    const u = new URL(target);
    return u.hostname.replace(/[^A-Za-z0-9_-]/g, '_') || 'server';
  } catch {
    return 'server';
  }
}

/**
 * The runtime config and server name for a target: a configured server's name, a URL, or a
 * command line (`connect -- node server.js`).
 */
export function resolveTarget(
  target: string | string[],
  config: RuntimeConfig | undefined,
): { config: RuntimeConfig; server: string } {
  const base = config ?? { servers: {} };
  let server: string;
  let spec: ServerConfig;
  if (Array.isArray(target)) {
    const [command, ...args] = target;
    if (!command) throw new ConfigError([{ path: 'command', message: 'no command given after --' }]);
    server =
      command
        .split(/[\\/]/)
        .pop()!
        .replace(/[^A-Za-z0-9_-]/g, '_') || 'server';
    spec = { command, args };
  } else if (isUrl(target)) {
    server = adHocName(target);
    spec = { url: target };
  } else {
    if (!config) {
      throw new ConfigError([
        {
          path: 'servers',
          message: `"${target}" is not a URL and there is no config file (${DEFAULT_CONFIG_FILE} or --config FILE)`,
        },
      ]);
    }
    if (!(target in (config.servers ?? {}))) {
      throw new ConfigError([
        {
          path: 'servers',
          message: `unknown server "${target}" (known: ${Object.keys(config.servers ?? {}).join(', ') || 'none'})`,
        },
      ]);
    }
    return { config, server: target };
  }
  return { config: { ...base, servers: { [server]: spec } }, server };
}

/**
 * The CLI's configuration: `mcp-actors.config.json` (or `--config FILE`), the same schema as
 * `createRuntime`, with `${ENV}` placeholders filled from the environment (so secrets stay out of
 * the file). A target on the command line may also be a URL or a command, for one ad-hoc server.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../errors/index.js';
import type { RuntimeConfig, ServerConfig } from '../runtime/config.js';

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

/**
 * Reads a config file. `required` (an explicit `--config`) makes a missing file an error;
 * otherwise a missing default file gives `undefined`.
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
    throw new ConfigError(
      [{ path: 'config', message: `${path} is not valid JSON: ${(error as Error).message}` }],
      {
        cause: error,
      },
    );
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new ConfigError([{ path: 'config', message: `${path} must hold a JSON object` }]);
  }
  const { $schema: _schema, ...rest } = json as Record<string, unknown>;
  return interpolateEnv(rest, env) as RuntimeConfig;
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

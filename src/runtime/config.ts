/**
 * Runtime configuration: the zod schema, defaults, and per-server resolution. Validation happens
 * before any I/O; every problem is reported as a {@link ConfigError} naming the field's path.
 */
import { z } from 'zod';
import type { InProcessServer, TransportKind } from '../actors/transport-factory.js';
import { ConfigError } from '../errors/index.js';
import type { FleetConfig } from './fleet/fleet.js';
import type { FleetTokenSet } from './fleet/fleet-tokens.js';
import type { FleetStore } from './fleet/store.js';
import { parseFleetKey } from './fleet/token-cipher.js';
import type { ElicitationHandler, RootsHandler, SamplingHandler } from './server-requests.js';

/** Input rounds (2026 MRTR) one request may take before it fails with PROTOCOL. */
export const DEFAULT_MAX_INPUT_ROUNDS = 8;

const positiveMs = z.number().int().nonnegative();
/** `auth.refresh`: the refresh_token grant; must honour `signal` (aborted before its lock's lease ends). */
export type RefreshTokens = (current: FleetTokenSet, signal: AbortSignal) => Promise<FleetTokenSet>;

import type { MeterProviderLike, TelemetryOptions, TracerProviderLike } from './telemetry/options.js';

const fn = <T>(what: string) => z.custom<T>((v) => typeof v === 'function', { message: `expected ${what}` });

const tlsSchema = z
  .object({
    ca: z
      .union([z.string(), z.instanceof(Buffer), z.array(z.union([z.string(), z.instanceof(Buffer)]))])
      .optional(),
    cert: z.union([z.string(), z.instanceof(Buffer)]).optional(),
    key: z.union([z.string(), z.instanceof(Buffer)]).optional(),
    passphrase: z.string().optional(),
    servername: z.string().optional(),
    rejectUnauthorized: z.boolean().optional(),
  })
  .strict();

const authSchema = z
  .object({
    token: z.string().min(1).optional(),
    getToken: fn<() => Promise<string> | string>('a function returning a token').optional(),
    oauth: z
      .custom<object>((v) => typeof v === 'object' && v !== null, {
        message: 'expected an OAuthClientProvider',
      })
      .optional(),
    // A refreshable token set (runtime/auth-refresh.ts): one refresh per expiry, fleet-wide with `fleet`.
    refresh: fn<RefreshTokens>('a function refreshing the token set').optional(),
    tokens: z
      .object({
        accessToken: z.string().min(1),
        refreshToken: z.string().min(1).optional(),
        expiresAtMs: z.number().optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((a) => [a.token, a.getToken, a.oauth, a.refresh].filter((v) => v !== undefined).length <= 1, {
    message: 'give one of `token`, `getToken`, `oauth` or `refresh`',
  })
  .refine((a) => a.tokens === undefined || a.refresh !== undefined, {
    message: 'are only used with `refresh`',
    path: ['tokens'],
  })
  // `token: process.env.X` with X unset must not silently mean "no auth".
  .refine((a) => !('token' in a) || a.token !== undefined, {
    message: 'is undefined (an unset environment variable?); remove `auth` for no auth',
    path: ['token'],
  });

const reconnectSchema = z
  .object({
    initialDelayMs: positiveMs,
    factor: z.number().min(1),
    maxDelayMs: positiveMs,
    maxAttempts: z.number().int().positive(),
    jitter: z.boolean(),
  })
  .strict();

const heartbeatSchema = z
  .object({
    intervalMs: positiveMs,
    timeoutMs: z.number().int().positive(),
    maxMissed: z.number().int().positive(),
  })
  .strict();

const retrySchema = z
  .object({
    maxAttempts: z.number().int().positive(),
    backoffFactor: z.number().min(1),
    initialDelayMs: positiveMs,
    maxBackoffMs: positiveMs,
    budgetRatio: z.number().min(0).max(1),
    budgetWindowMs: z.number().int().positive(),
    budgetMinRetries: z.number().int().nonnegative(),
  })
  .strict();

const breakerSchema = z
  .object({
    failureThreshold: z.number().int().positive(),
    resetTimeoutMs: z.number().int().positive(),
    halfOpenProbes: z.number().int().positive(),
    rateThreshold: z.number().gt(0).max(1).optional(),
    windowMs: z.number().int().positive().optional(),
    minimumCalls: z.number().int().positive().optional(),
    resetBackoffFactor: z.number().min(1).optional(),
    maxResetTimeoutMs: z.number().int().positive().optional(),
    perTool: z.boolean().optional(),
  })
  .strict();

const queueSchema = z
  .object({ concurrency: z.number().int().positive(), maxQueued: z.number().int().nonnegative() })
  .strict();

const poolSchema = z
  .object({
    min: z.number().int().nonnegative(),
    max: z.number().int().positive(),
    maxIdleMs: positiveMs,
    growAfterBusyMs: positiveMs,
    replaceDelayMs: positiveMs,
    busyAtInFlight: z.number().int().positive(),
  })
  .strict();

const supervisorSchema = z
  .object({ maxRestarts: z.number().int().nonnegative(), withinMs: z.number().int().positive() })
  .strict();

const cacheSchema = z.object({ maxSize: z.number().int().nonnegative(), ttlMs: positiveMs }).strict();

/** Policies that can be set in `defaults` and overridden per server. */
const policyShape = {
  timeoutMs: z.number().int().positive(),
  connectTimeoutMs: z.number().int().positive(),
  initializeTimeoutMs: z.number().int().positive(),
  reconnect: reconnectSchema.partial(),
  heartbeat: heartbeatSchema.partial(),
  retry: retrySchema.partial(),
  breaker: breakerSchema.partial(),
  queue: queueSchema.partial(),
  pool: poolSchema.partial(),
  supervisor: supervisorSchema.partial(),
  maxMessageBytes: z.number().int().positive(),
  /**
   * Protocol era: `auto` (default) probes with `server/discover` and falls back to `initialize`
   * for 2025 servers; `2026-07-28` or `2025-11-25` pins one era (no fallback).
   */
  protocol: z.enum(['auto', '2026-07-28', '2025-11-25']),
  /** `input_required` rounds (2026 MRTR) one request may take before it fails with PROTOCOL. */
  maxInputRounds: z.number().int().positive().max(100),
};

const serverSchema = z
  .object({
    url: z.string().url().optional(),
    command: z.string().min(1).optional(),
    args: z.array(z.string()).optional(),
    env: z.record(z.string(), z.string()).optional(),
    cwd: z.string().optional(),
    transport: z.enum(['websocket', 'streamable-http', 'sse', 'stdio', 'memory']).optional(),
    /** An in-process server (`mcp-actors/testing`'s `createMockServer()`): transport `memory`. */
    mock: z
      .custom<InProcessServer>((v) => typeof (v as InProcessServer | null)?.connect === 'function', {
        message: 'expected an in-process server (createMockServer() from mcp-actors/testing)',
      })
      .optional(),
    headers: z.record(z.string(), z.string()).optional(),
    auth: authSchema.optional(),
    tls: tlsSchema.optional(),
    allowInsecure: z.boolean().optional(),
    cache: cacheSchema.partial().optional(),
    context: z.record(z.string(), z.unknown()).optional(),
  })
  .extend(z.object(policyShape).partial().shape)
  .strict()
  .superRefine((s, ctx) => {
    if (s.mock && (s.url || s.command)) {
      ctx.addIssue({
        code: 'custom',
        message: 'give `mock` alone, without `url` or `command`',
        path: ['mock'],
      });
    }
    if (s.transport === 'memory' && !s.mock) {
      ctx.addIssue({ code: 'custom', message: 'transport "memory" needs `mock`', path: ['transport'] });
    }
    if (!s.url && !s.command && !s.mock) {
      ctx.addIssue({ code: 'custom', message: 'a server needs either `url` or `command`', path: [] });
    }
    if (s.url && s.command) {
      ctx.addIssue({ code: 'custom', message: 'give `url` or `command`, not both', path: ['command'] });
    }
    if (s.url) {
      const protocol = safeProtocol(s.url);
      if (!['ws:', 'wss:', 'http:', 'https:'].includes(protocol)) {
        ctx.addIssue({
          code: 'custom',
          message: `unsupported URL scheme "${protocol}" (use ws, wss, http or https)`,
          path: ['url'],
        });
      }
      if ((s.transport === 'sse' || s.transport === 'streamable-http') && protocol.startsWith('ws')) {
        ctx.addIssue({
          code: 'custom',
          message: `transport "${s.transport}" needs an http(s) URL`,
          path: ['transport'],
        });
      }
      if (s.transport === 'websocket' && protocol.startsWith('http')) {
        ctx.addIssue({
          code: 'custom',
          message: 'transport "websocket" needs a ws(s) URL',
          path: ['transport'],
        });
      }
      if (s.transport === 'stdio') {
        ctx.addIssue({
          code: 'custom',
          message: 'transport "stdio" needs `command`, not `url`',
          path: ['transport'],
        });
      }
    }
  });

function safeProtocol(url: string): string {
  try {
    return new URL(url).protocol;
  } catch {
    return '';
  }
}

const handlersSchema = z
  .object({
    sampling: fn<SamplingHandler>('a sampling handler function').optional(),
    elicitation: fn<ElicitationHandler>('an elicitation handler function').optional(),
    roots: fn<RootsHandler>('a roots handler function').optional(),
  })
  .strict();

/** `fleet`: processes sharing breakers, retry budgets, tokens and cache through Redis (runtime/fleet). */
const fleetSchema = z
  .object({
    redis: z
      .object({ url: z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL') })
      .strict()
      .optional(),
    namespace: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only'),
    key: z
      .union([
        z.string(),
        z.custom<Uint8Array>((v) => v instanceof Uint8Array, { message: 'expected a string or bytes' }),
      ])
      .optional(),
    timeoutMs: z.number().int().positive().max(10_000).optional(),
    store: z
      .custom<FleetStore>((v) => typeof v === 'object' && v !== null, { message: 'expected a FleetStore' })
      .optional(),
  })
  .strict()
  .refine((f) => f.redis !== undefined || f.store !== undefined, {
    message: 'needs redis: { url } (or a store)',
  })
  .superRefine((f, ctx) => {
    if (f.key === undefined) return;
    try {
      parseFleetKey(f.key);
    } catch {
      ctx.addIssue({
        code: 'custom',
        path: ['key'],
        message: 'must be 32 bytes (AES-256): a Buffer, 64 hex characters or base64',
      });
    }
  });
/** An object with method `method` (an OpenTelemetry provider, checked structurally). */
const withMethod = <T>(method: string, what: string) =>
  z.custom<T>(
    (v) =>
      typeof v === 'object' && v !== null && typeof (v as Record<string, unknown>)[method] === 'function',
    { message: `expected ${what} (an object with ${method}())` },
  );

const telemetrySchema = z.union([
  z.literal(false),
  z
    .object({
      tracerProvider: withMethod<TracerProviderLike>(
        'getTracer',
        'an OpenTelemetry TracerProvider',
      ).optional(),
      meterProvider: withMethod<MeterProviderLike>('getMeter', 'an OpenTelemetry MeterProvider').optional(),
      resourceUriInSpanName: z.boolean().optional(),
    })
    .strict(),
]);

/** The zod schema of {@link RuntimeConfig}. */
export const runtimeConfigSchema = z
  .object({
    servers: z.record(
      z.string().regex(/^[A-Za-z0-9_-]+$/, 'server names use letters, digits, "_" and "-" only'),
      serverSchema,
    ),
    defaults: z.object(policyShape).partial().strict().optional(),
    cache: cacheSchema.partial().optional(),
    context: z.record(z.string(), z.unknown()).optional(),
    clientInfo: z.object({ name: z.string(), version: z.string() }).strict().optional(),
    handlers: handlersSchema.optional(),
    fleet: fleetSchema.optional(),
    /**
     * OpenTelemetry (docs/observability.md): the global providers by default, your own here, or
     * `false` for none. Without `@opentelemetry/api` installed there is no telemetry either way.
     */
    telemetry: telemetrySchema.optional(),
  })
  .strict();

/** Configuration accepted by `createRuntime`. */
export type RuntimeConfig = z.input<typeof runtimeConfigSchema>;
/** One server's entry in {@link RuntimeConfig}. */
export type ServerConfig = z.input<typeof serverSchema>;
type ParsedConfig = z.output<typeof runtimeConfigSchema>;
type ParsedServer = z.output<typeof serverSchema>;

const DEFAULT_CLIENT_INFO = { name: 'mcp-actors', version: '0.1.0' };

/** The built-in defaults (DESIGN.md "public contract"). */
export const DEFAULTS = {
  timeoutMs: 30_000,
  connectTimeoutMs: 10_000,
  initializeTimeoutMs: 10_000,
  maxMessageBytes: 16 * 1024 * 1024,
  reconnect: { initialDelayMs: 100, factor: 2, maxDelayMs: 30_000, maxAttempts: 20, jitter: true },
  heartbeat: { intervalMs: 15_000, timeoutMs: 5_000, maxMissed: 2 },
  retry: {
    maxAttempts: 3,
    backoffFactor: 1.5,
    initialDelayMs: 100,
    maxBackoffMs: 30_000,
    budgetRatio: 0.2,
    budgetWindowMs: 10_000,
    // Without a floor a quiet server (a few calls in the window) got one retry: a restart that
    // caught two safe calls lost one of them.
    budgetMinRetries: 10,
  },
  breaker: { failureThreshold: 5, resetTimeoutMs: 60_000, halfOpenProbes: 1 },
  queue: { concurrency: 64, maxQueued: 1_000 },
  pool: {
    min: 1,
    max: 1,
    maxIdleMs: 300_000,
    growAfterBusyMs: 100,
    replaceDelayMs: 1_000,
    busyAtInFlight: 1,
  },
  supervisor: { maxRestarts: 3, withinMs: 60_000 },
  cache: { maxSize: 1_000, ttlMs: 3_600_000 },
} as const;

/** A server's configuration with every default applied. */
export interface ResolvedServerConfig {
  name: string;
  /** How the runtime introduces itself in `initialize` (the runtime-wide `clientInfo`). */
  clientInfo: { name: string; version: string };
  transport: TransportKind;
  url: string | undefined;
  command: string | undefined;
  /** The in-process server of transport `memory`. */
  mock?: InProcessServer | undefined;
  args: string[];
  env: Record<string, string> | undefined;
  cwd: string | undefined;
  headers: Record<string, string>;
  auth: ParsedServer['auth'];
  tls: ParsedServer['tls'];
  allowInsecure: boolean;
  timeoutMs: number;
  connectTimeoutMs: number;
  initializeTimeoutMs: number;
  maxMessageBytes: number;
  /** Protocol era preference (`auto` by default). */
  protocol: 'auto' | '2026-07-28' | '2025-11-25';
  /** `input_required` rounds one request may take (2026 servers). */
  maxInputRounds: number;
  reconnect: {
    initialDelayMs: number;
    factor: number;
    maxDelayMs: number;
    maxAttempts: number;
    jitter: boolean;
  };
  heartbeat: { intervalMs: number; timeoutMs: number; maxMissed: number };
  retry: { -readonly [K in keyof typeof DEFAULTS.retry]: number };
  breaker: z.output<typeof breakerSchema>;
  queue: { concurrency: number; maxQueued: number };
  pool: {
    min: number;
    max: number;
    maxIdleMs: number;
    growAfterBusyMs: number;
    replaceDelayMs: number;
    busyAtInFlight: number;
  };
  supervisor: { maxRestarts: number; withinMs: number };
  cache: { maxSize: number; ttlMs: number };
  context: Record<string, unknown>;
}

/** The whole configuration, validated and resolved. */
export interface ResolvedConfig {
  servers: Map<string, ResolvedServerConfig>;
  cache: { maxSize: number; ttlMs: number };
  context: Record<string, unknown>;
  clientInfo: { name: string; version: string };
  handlers: ParsedConfig['handlers'];
  /** The fleet this runtime joins; undefined = a single process (nothing is loaded). */
  fleet: FleetConfig | undefined;
  telemetry: TelemetryOptions | false;
  /** The policy defaults as given, for servers added later (`rt.addServer`). */
  defaults: NonNullable<ParsedConfig['defaults']>;
}

function pathOf(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

function transportOf(s: ParsedServer): TransportKind {
  if (s.transport) return s.transport;
  if (s.mock) return 'memory';
  if (s.command) return 'stdio';
  return safeProtocol(s.url ?? '').startsWith('ws') ? 'websocket' : 'streamable-http';
}

/**
 * Validates `input` and applies defaults. Throws {@link ConfigError} listing every bad field.
 *
 * @example
 * const config = resolveConfig({ servers: { demo: { url: 'ws://127.0.0.1:8080' } } });
 */
export function resolveConfig(input: unknown): ResolvedConfig {
  const parsed = runtimeConfigSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => ({ path: pathOf(i.path), message: i.message })));
  }
  const c = parsed.data;
  const d = c.defaults ?? {};
  const cache = { ...DEFAULTS.cache, ...c.cache };
  const servers = new Map<string, ResolvedServerConfig>();
  for (const [name, s] of Object.entries(c.servers)) {
    const pool = { ...DEFAULTS.pool, ...d.pool, ...s.pool };
    if (pool.min > pool.max) {
      throw new ConfigError([{ path: `servers.${name}.pool.min`, message: 'pool.min must be <= pool.max' }]);
    }
    servers.set(name, {
      name,
      clientInfo: c.clientInfo ?? DEFAULT_CLIENT_INFO,
      transport: transportOf(s),
      url: s.url,
      command: s.command,
      ...(s.mock ? { mock: s.mock } : {}),
      args: s.args ?? [],
      env: s.env,
      cwd: s.cwd,
      headers: s.headers ?? {},
      auth: s.auth,
      tls: s.tls,
      allowInsecure: s.allowInsecure ?? false,
      timeoutMs: s.timeoutMs ?? d.timeoutMs ?? DEFAULTS.timeoutMs,
      connectTimeoutMs: s.connectTimeoutMs ?? d.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      initializeTimeoutMs: s.initializeTimeoutMs ?? d.initializeTimeoutMs ?? DEFAULTS.initializeTimeoutMs,
      maxMessageBytes: s.maxMessageBytes ?? d.maxMessageBytes ?? DEFAULTS.maxMessageBytes,
      protocol: s.protocol ?? d.protocol ?? 'auto',
      maxInputRounds: s.maxInputRounds ?? d.maxInputRounds ?? DEFAULT_MAX_INPUT_ROUNDS,
      reconnect: { ...DEFAULTS.reconnect, ...d.reconnect, ...s.reconnect },
      heartbeat: { ...DEFAULTS.heartbeat, ...d.heartbeat, ...s.heartbeat },
      retry: { ...DEFAULTS.retry, ...d.retry, ...s.retry },
      breaker: { ...DEFAULTS.breaker, ...d.breaker, ...s.breaker },
      queue: { ...DEFAULTS.queue, ...d.queue, ...s.queue },
      pool,
      supervisor: { ...DEFAULTS.supervisor, ...d.supervisor, ...s.supervisor },
      cache: { ...cache, ...s.cache },
      context: { ...c.context, ...s.context },
    });
  }
  return {
    servers,
    cache,
    context: c.context ?? {},
    clientInfo: c.clientInfo ?? DEFAULT_CLIENT_INFO,
    handlers: c.handlers,
    fleet: c.fleet,
    telemetry: c.telemetry ?? {},
    defaults: d,
  };
}

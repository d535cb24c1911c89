/**
 * What a runtime keeps across a process restart: breaker states with their open-until deadlines,
 * retry budgets, known session ids, the protocol era of each server and cached list results with
 * their age. Versioned; a snapshot
 * is validated as a whole before anything is applied, so an incompatible one is refused with a
 * clear error and never half-applied.
 */
import { z } from 'zod';
import type { KnownEra } from '../actors/server-connection.js';
import { ConfigError } from '../errors/index.js';
import type { BreakerPersisted } from '../machines/breaker.js';
import type { RetryBudgetState } from '../machines/retry-policy.js';

/** The format tag of a persisted runtime. */
export const PERSIST_FORMAT = 'mcp-actors.persist';
/** The version this build writes and reads. */
export const PERSIST_VERSION = 1;

const breakerSchema = z.object({
  circuit: z.enum(['closed', 'open', 'halfOpen']),
  openUntil: z.number().nullable(),
  resetTimeoutMs: z.number().nonnegative(),
  openedCount: z.number().int().nonnegative(),
});

const serverSchema = z.object({
  breakers: z.record(z.string(), breakerSchema),
  retryBudget: z
    .object({ calls: z.array(z.number()), retries: z.array(z.number()), bucketStartMs: z.number() })
    .nullable(),
  session: z.object({ sessionId: z.string().optional(), protocolVersion: z.string().optional() }).nullable(),
  lists: z.record(z.string(), z.object({ value: z.unknown(), ageMs: z.number().nonnegative() })).optional(),
  era: z
    .object({
      era: z.enum(['modern', 'legacy']),
      protocolVersion: z.string().max(64),
      discover: z.record(z.string(), z.unknown()).optional(),
    })
    .nullable()
    .optional(),
});

const persistedSchema = z.object({
  format: z.literal(PERSIST_FORMAT),
  version: z.number().int(),
  savedAt: z.number(),
  servers: z.record(z.string(), serverSchema),
});

/** One server's persisted state. */
export interface PersistedServer {
  breakers: Record<string, BreakerPersisted>;
  retryBudget: RetryBudgetState | null;
  session: { sessionId?: string; protocolVersion?: string } | null;
  /** Cached list results (`tools/list`, ...) with their age when saved. */
  lists?: Record<string, { value: unknown; ageMs: number }>;
  /** The protocol era learned for the server (with the discover result a modern one is adopted from). */
  era?: KnownEra | null;
}

/** A persisted runtime (plain JSON). */
export interface PersistedRuntime {
  format: typeof PERSIST_FORMAT;
  version: number;
  savedAt: number;
  servers: Record<string, PersistedServer>;
}

/**
 * Validates a persisted runtime (an object or its JSON text). Throws {@link ConfigError} with paths
 * under `restoreFrom` when it is malformed or of another version; returns it untouched otherwise.
 *
 * @example
 * const restored = parsePersisted(await readFile('rt.json', 'utf8'));
 */
export function parsePersisted(input: unknown): PersistedRuntime {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw new ConfigError([{ path: 'restoreFrom', message: 'is not valid JSON' }], { cause: error });
    }
  }
  const head = z.object({ format: z.unknown(), version: z.unknown() }).safeParse(value);
  if (!head.success || head.data.format !== PERSIST_FORMAT) {
    throw new ConfigError([{ path: 'restoreFrom.format', message: `expected "${PERSIST_FORMAT}"` }]);
  }
  if (head.data.version !== PERSIST_VERSION) {
    throw new ConfigError([
      {
        path: 'restoreFrom.version',
        message: `snapshot version ${String(head.data.version)} is not supported by this build (version ${PERSIST_VERSION}); start without restoreFrom`,
      },
    ]);
  }
  const parsed = persistedSchema.safeParse(value);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({
        path: ['restoreFrom', ...i.path.map(String)].join('.'),
        message: i.message,
      })),
    );
  }
  return parsed.data as PersistedRuntime;
}

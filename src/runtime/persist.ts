/**
 * What a runtime keeps across a process restart: breaker states with their open-until deadlines,
 * retry budgets, known session ids, the protocol era of each server and cached list results with
 * their age, and the handles of tasks under way. Versioned; a snapshot
 * is validated as a whole before anything is applied, so an incompatible one is refused with a
 * clear error and never half-applied.
 */
import { z } from 'zod';
import type { KnownEra } from '../actors/server-connection.js';
import { ConfigError } from '../errors/index.js';
import type { BreakerPersisted } from '../machines/breaker.js';
import { MAX_TIMER_MS } from '../machines/breaker-config.js';
import type { RetryBudgetState } from '../machines/retry-policy.js';
import type { TaskHandle } from './task-ledger.js';

/** The format tag of a persisted runtime. */
export const PERSIST_FORMAT = 'mcp-actors.persist';
/** The version this build writes and reads. */
export const PERSIST_VERSION = 1;

/**
 * Semantic bounds: a snapshot is data from disk (or another process), and a value that types well
 * can still disable the runtime, e.g. a retry budget of 1e9 retries in a bucket that starts a year
 * ahead refuses every retry for the process's whole life.
 */
/** Largest count one retry-budget bucket may hold. */
const MAX_BUCKET_COUNT = 1_000_000;
/** Buckets of a retry budget (machines/retry-policy.ts). */
const BUDGET_BUCKETS = 10;
/** How far ahead of this clock a saved timestamp may be (clocks of two hosts differ a little). */
const CLOCK_SKEW_MS = 60_000;

const count = z.number().int().nonnegative().max(MAX_BUCKET_COUNT);

const breakerSchema = z.object({
  circuit: z.enum(['closed', 'open', 'halfOpen']),
  openUntil: z.number().nullable(),
  resetTimeoutMs: z.number().nonnegative().max(MAX_TIMER_MS),
  openedCount: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});

const serverSchema = z.object({
  breakers: z.record(z.string(), breakerSchema),
  retryBudget: z
    .object({
      calls: z.array(count).length(BUDGET_BUCKETS),
      retries: z.array(count).length(BUDGET_BUCKETS),
      bucketStartMs: z.number().nonnegative(),
    })
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

/** Task handles a snapshot may carry (a bound: it is data from disk). */
const MAX_TASKS = 10_000;
const taskSchema = z.object({
  server: z.string().min(1).max(256),
  taskId: z.string().min(1).max(1_024),
  tool: z.string().max(1_024),
  era: z.enum(['modern', 'legacy']),
  createdAtMs: z.number().int().nonnegative(),
});

const persistedSchema = z.object({
  format: z.literal(PERSIST_FORMAT),
  version: z.number().int(),
  savedAt: z.number(),
  servers: z.record(z.string(), serverSchema),
  tasks: z.array(taskSchema).max(MAX_TASKS).optional(),
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
  /** Tasks under way when saved (`rt.tasks()`), resumable with `rt.resumeTask()` after `restoreFrom`. */
  tasks?: TaskHandle[];
}

/**
 * Validates a persisted runtime (an object or its JSON text). Throws {@link ConfigError} with paths
 * under `restoreFrom` when it is malformed or of another version; returns it untouched otherwise.
 *
 * @example
 * const restored = parsePersisted(await readFile('rt.json', 'utf8'));
 */
export function parsePersisted(input: unknown, nowMs: number = Date.now()): PersistedRuntime {
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
  const issues = timeIssues(parsed.data as PersistedRuntime, nowMs);
  if (issues.length > 0) throw new ConfigError(issues);
  return parsed.data as PersistedRuntime;
}

/** Timestamps from the future (past clock skew), which would stall a budget or a breaker until then. */
function timeIssues(data: PersistedRuntime, nowMs: number): Array<{ path: string; message: string }> {
  const issues: Array<{ path: string; message: string }> = [];
  const latest = nowMs + CLOCK_SKEW_MS;
  if (data.savedAt > latest) issues.push({ path: 'restoreFrom.savedAt', message: 'is in the future' });
  for (const [i, task] of (data.tasks ?? []).entries()) {
    if (task.createdAtMs > latest)
      issues.push({ path: `restoreFrom.tasks.${i}.createdAtMs`, message: 'is in the future' });
  }
  for (const [name, server] of Object.entries(data.servers)) {
    const at = `restoreFrom.servers.${name}`;
    const budget = server.retryBudget;
    if (budget && budget.bucketStartMs > latest) {
      issues.push({ path: `${at}.retryBudget.bucketStartMs`, message: 'is in the future' });
    }
    for (const [key, b] of Object.entries(server.breakers)) {
      // Open for at most its own reset timeout from now (the machine never sets more).
      if (b.openUntil !== null && b.openUntil > latest + b.resetTimeoutMs) {
        issues.push({
          path: `${at}.breakers.${key}.openUntil`,
          message: `is further ahead than its resetTimeoutMs (${b.resetTimeoutMs} ms)`,
        });
      }
    }
  }
  return issues;
}

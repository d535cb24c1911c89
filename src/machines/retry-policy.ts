/**
 * Which calls may be retried, when, and how often. Pure functions plus one small sliding-window
 * budget; the runtime's call path applies them.
 *
 * The safety rule: a call that may have reached the server is sent again only when repeating it
 * cannot change anything: ping, list*, read, get, completion, and tools annotated `readOnlyHint`
 * or `idempotentHint`. Any other tool is retried only when the caller passes `retry: true`.
 */
import { isMcpRuntimeError, type McpRuntimeError, RemoteError } from '../errors/index.js';

/** The retry knobs of one server. */
export interface RetryPolicy {
  /** Attempts in all, the first included (1 = no retry). */
  maxAttempts: number;
  backoffFactor: number;
  initialDelayMs: number;
  maxBackoffMs: number;
  /** Retries allowed per call over the window (0.2 = at most one retry per five calls). */
  budgetRatio: number;
  budgetWindowMs: number;
  /** Retries always allowed over the window, whatever the ratio (a quiet server's few calls). */
  budgetMinRetries: number;
}

/** What kind of request a call is, for the safety rule. */
export type RequestKind =
  | 'ping'
  | 'list'
  | 'read'
  | 'get'
  | 'complete'
  | 'subscribe'
  /** Other requests that set or establish state idempotently: `initialize`, `logging/setLevel`. */
  | 'idempotent'
  | 'tool'
  | 'other';

/** Hints a tool's annotations give about repeating it. */
export interface ToolHints {
  readOnlyHint?: boolean | undefined;
  idempotentHint?: boolean | undefined;
}

/**
 * May this request be sent again after it possibly reached the server?
 *
 * @example
 * isRetrySafe('tool', { idempotentHint: true }, false); // true
 * isRetrySafe('tool', undefined, false);                // false: a plain tool call is never repeated
 */
export function isRetrySafe(
  kind: RequestKind,
  hints: ToolHints | undefined,
  explicitRetry: boolean | undefined,
): boolean {
  if (explicitRetry === true) return true;
  if (explicitRetry === false) return false;
  switch (kind) {
    case 'ping':
    case 'list':
    case 'read':
    case 'get':
    case 'complete':
    case 'subscribe':
    case 'idempotent':
      return true;
    case 'tool':
      return hints?.readOnlyHint === true || hints?.idempotentHint === true;
    default:
      return false;
  }
}

const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * Is the failure transient, so that another attempt could succeed? (Safety is a separate question.)
 * Transport loss and 429/5xx are; timeouts are not (the call's deadline is spent), nor are answers
 * such as invalid params, tool errors, auth failures or the runtime's own refusals.
 */
export function isTransientFailure(error: unknown): boolean {
  if (!isMcpRuntimeError(error)) return false;
  const e = error as McpRuntimeError;
  if (e.code === 'CONNECTION_LOST') return true;
  if (e instanceof RemoteError) return RETRYABLE_STATUS.has(e.rpcCode) || e.rpcCode === -32603;
  return false;
}

/** The server's own wait hint (Retry-After), when the error carries one. */
export function retryAfterOf(error: unknown): number | undefined {
  return error instanceof RemoteError ? error.retryAfterMs : undefined;
}

/**
 * Delay before retry number `retry` (1-based): full jitter over the exponential ceiling, never
 * shorter than the server's Retry-After.
 *
 * @example
 * retryDelayMs(1, policy, 0.5);        // half of initialDelayMs
 * retryDelayMs(1, policy, 0.5, 2_000); // at least 2 s: the server asked for it
 */
export function retryDelayMs(
  retry: number,
  policy: RetryPolicy,
  random: number,
  retryAfterMs?: number,
): number {
  const ceiling = Math.min(
    policy.maxBackoffMs,
    policy.initialDelayMs * policy.backoffFactor ** Math.max(0, retry - 1),
  );
  const jittered = Math.floor(random * ceiling);
  return retryAfterMs !== undefined ? Math.max(jittered, retryAfterMs) : jittered;
}

/** Counters of a {@link RetryBudget}, for snapshots and persistence. */
export interface RetryBudgetState {
  calls: number[];
  retries: number[];
  bucketStartMs: number;
}

const BUCKETS = 10;

/** Retries a budget allows for `calls` first attempts in its window. */
export function retriesAllowed(calls: number, ratio: number, minRetries: number): number {
  return Math.max(1, minRetries, Math.floor(calls * ratio));
}

/**
 * A sliding-window retry budget: retries may not exceed `ratio` × calls over `windowMs`, or
 * `minRetries` when that is more (a quiet server's few calls, caught by one restart, all retry;
 * at volume the ratio bounds a retry storm). Fixed buckets: O(1) per call.
 */
export class RetryBudget {
  private readonly bucketMs: number;
  private calls = new Array<number>(BUCKETS).fill(0);
  private retries = new Array<number>(BUCKETS).fill(0);
  private bucketStartMs = 0;
  private head = 0;

  constructor(
    private readonly ratio: number,
    windowMs: number,
    private readonly minRetries = 1,
  ) {
    this.bucketMs = Math.max(1, Math.ceil(windowMs / BUCKETS));
  }

  /** Counts a first attempt. */
  recordCall(nowMs: number): void {
    this.advance(nowMs);
    this.calls[this.head]!++;
  }

  /** Takes one retry from the budget; false when the budget is spent (then do not retry). */
  tryTakeRetry(nowMs: number): boolean {
    this.advance(nowMs);
    let calls = 0;
    let retries = 0;
    for (let i = 0; i < BUCKETS; i++) {
      calls += this.calls[i]!;
      retries += this.retries[i]!;
    }
    if (retries + 1 > retriesAllowed(calls, this.ratio, this.minRetries)) return false;
    this.retries[this.head]!++;
    return true;
  }

  /** Plain JSON view. */
  state(): RetryBudgetState {
    return { calls: [...this.calls], retries: [...this.retries], bucketStartMs: this.bucketStartMs };
  }

  /** Restores a persisted view (ignored when malformed). */
  restore(state: RetryBudgetState): void {
    if (state.calls?.length !== BUCKETS || state.retries?.length !== BUCKETS) return;
    this.calls = [...state.calls];
    this.retries = [...state.retries];
    this.bucketStartMs = state.bucketStartMs;
    this.head = 0;
  }

  private advance(nowMs: number): void {
    if (this.bucketStartMs === 0) this.bucketStartMs = nowMs;
    let steps = Math.floor((nowMs - this.bucketStartMs) / this.bucketMs);
    if (steps <= 0) return;
    if (steps > BUCKETS) steps = BUCKETS;
    for (let i = 0; i < steps; i++) {
      this.head = (this.head + 1) % BUCKETS;
      this.calls[this.head] = 0;
      this.retries[this.head] = 0;
    }
    this.bucketStartMs += Math.floor((nowMs - this.bucketStartMs) / this.bucketMs) * this.bucketMs;
  }
}

/**
 * One OAuth token set shared by the fleet, refreshed once per expiry for the whole fleet.
 *
 * - The token set lives in the store sealed with AES-256-GCM (token-cipher.ts): never clear text.
 * - A refresh is single-flight: within a process by one shared promise, across the fleet by a
 *   {@link LeaseLock} (lease + fencing token). The holder re-reads the store first (someone may
 *   have refreshed meanwhile), marks the refresh token as in flight, calls `refresh`, and writes
 *   the new set guarded by its lock, then publishes. The others wait (bounded by `waitMs`) for the
 *   message and read the new set from the store.
 * - A rotating refresh token is never sent twice: the in-flight mark names (a hash of) the token
 *   being spent. A holder that dies mid-refresh loses the lock when the lease expires; the next
 *   holder finds the mark on the same refresh token, cannot know whether it was consumed, and
 *   does not send it again: it drops it and reports AUTH (re-authorize with `seed`), instead of
 *   risking a reuse that revokes the token family. A refresh that provably never left
 *   (`isUnsent`) clears the mark.
 * - Hot path: `getToken()` returns the cached access token while it is fresh: no round trip.
 * - Store down: the process refreshes alone from its last known set (single-flight locally) and
 *   keeps serving. Two processes cut off at the very moment of expiry could then both refresh;
 *   this is the one advisory gap, and it needs Redis down exactly then.
 */
import { createHash } from 'node:crypto';
import { AuthError } from '../../errors/index.js';
import type { FleetContext } from './fleet-context.js';
import { LeaseLock, type LeaseLockHandle } from './lease-lock.js';
import { isFleetStoreError } from './store.js';
import type { TokenCipher } from './token-cipher.js';

/** An OAuth token set. */
export interface FleetTokenSet {
  accessToken: string;
  refreshToken?: string;
  /** Expiry of the access token (epoch ms). Without it the token is used until rejected. */
  expiresAtMs?: number;
  /** Other fields of the token response (OAuth: token_type, scope, id_token): sealed with the rest. */
  extra?: Record<string, unknown>;
}

/** Options of {@link FleetTokens}. */
export interface FleetTokensOptions {
  /** Names the token set in the store (e.g. the server's name). */
  id: string;
  cipher: TokenCipher;
  /**
   * Exchanges the refresh token for a new set (the OAuth refresh_token grant). Must honour
   * `signal`: it is aborted before the lease ends, so a slow refresh never outlives its lock.
   */
  refresh: (current: FleetTokenSet, signal: AbortSignal) => Promise<FleetTokenSet>;
  /** Lock lease (default 30 s). `refresh` is aborted `leaseMarginMs` before it ends. */
  leaseMs?: number;
  leaseMarginMs?: number;
  /** How long a process waits for another's refresh (default 10 s). */
  waitMs?: number;
  /** Refresh this long before the expiry (default 30 s). */
  skewMs?: number;
  /** While waiting, how often to re-read the store in case the message was lost (default 250 ms). */
  pollMs?: number;
  /** True when a refresh failure proves the refresh token was never sent (default: connection refused, DNS). */
  isUnsent?: (error: unknown) => boolean;
  nowMs?: () => number;
}

interface TokenRecord {
  tokens: FleetTokenSet;
  /** Fence of the refresh that wrote it (0 for a seeded set). */
  fence: number;
}

/**
 * A fleet-wide token source for one server.
 *
 * @example
 * const tokens = new FleetTokens(ctx, { id: 'demo', cipher, refresh: (t, signal) => refreshGrant(t, signal) });
 * await tokens.start();
 * await tokens.seed({ accessToken, refreshToken, expiresAtMs }); // once, after authorization
 * const bearer = await tokens.getToken();
 */
export class FleetTokens {
  private readonly lock: LeaseLock;
  private readonly recordKey: string;
  private readonly inflightKey: string;
  private readonly channel: string;
  private readonly leaseMs: number;
  private readonly leaseMarginMs: number;
  private readonly waitMs: number;
  private readonly skewMs: number;
  private readonly pollMs: number;
  private readonly nowMs: () => number;
  /** The last set this process knew (kept for a local refresh when the store is down). */
  private current: FleetTokenSet | undefined;
  /** The fleet has a newer set, or the server rejected `current`: do not serve it from cache. */
  private stale = false;
  private single: Promise<FleetTokenSet> | undefined;
  private readonly wakers = new Set<() => void>();
  private unsubscribe: (() => void) | undefined;
  /** Refreshes this process performed (for tests and metrics). */
  refreshes = 0;

  constructor(
    private readonly ctx: FleetContext,
    private readonly options: FleetTokensOptions,
  ) {
    this.recordKey = ctx.key('tok', options.id);
    this.inflightKey = ctx.key('tok', options.id, 'inflight');
    this.channel = ctx.key('tok', options.id, 'updated');
    this.lock = new LeaseLock(ctx.store, ctx.key('tok', options.id, 'lock'), ctx.processId);
    this.leaseMs = options.leaseMs ?? 30_000;
    this.leaseMarginMs = options.leaseMarginMs ?? Math.min(1_000, this.leaseMs / 4);
    this.waitMs = options.waitMs ?? 10_000;
    this.skewMs = options.skewMs ?? 30_000;
    this.pollMs = options.pollMs ?? 250;
    this.nowMs = options.nowMs ?? Date.now;
  }

  /** Listens for the fleet's refreshes (a new set drops the cached one). */
  async start(): Promise<void> {
    this.unsubscribe = await this.ctx.store.subscribe(this.channel, () => {
      this.stale = true;
      for (const wake of [...this.wakers]) wake();
    });
  }

  /** Stores a freshly authorized set for the fleet (overwrites; clears a pending in-flight mark). */
  async seed(tokens: FleetTokenSet): Promise<void> {
    this.adopt(tokens);
    try {
      await this.ctx.store.set(this.recordKey, this.seal({ tokens, fence: 0 }));
      await this.ctx.store.del(this.inflightKey);
      await this.ctx.store.publish(this.channel, 'seeded');
    } catch (e) {
      if (!isFleetStoreError(e)) throw e;
    }
  }

  /**
   * Offers the set this process was configured with: stored only when the fleet has none (every
   * process starting with the same first set must not overwrite a set the fleet already rotated).
   * Adopted locally either way as the fallback while the store is unreachable.
   */
  async seedIfAbsent(tokens: FleetTokenSet): Promise<void> {
    this.current ??= tokens;
    try {
      await this.ctx.store.set(this.recordKey, this.seal({ tokens, fence: 0 }), { onlyIfAbsent: true });
    } catch (e) {
      if (!isFleetStoreError(e)) throw e;
    }
  }

  /** The access token: cached while fresh (no round trip), else the fleet's, refreshed once. */
  async getToken(): Promise<string> {
    const c = this.current;
    if (c && !this.stale && this.isFresh(c)) return c.accessToken;
    return (await this.refreshOnce(undefined)).accessToken;
  }

  /** The server rejected `accessToken` (401): the next token comes from a refresh, unless one already happened. */
  async rejected(accessToken: string): Promise<string> {
    return (await this.rejectedSet(accessToken)).accessToken;
  }

  /** {@link rejected}, answering the whole set (an OAuth token response is made of it). */
  rejectedSet(accessToken: string): Promise<FleetTokenSet> {
    if (this.current?.accessToken === accessToken) this.stale = true;
    return this.refreshOnce(accessToken);
  }

  /**
   * The fleet's current set without refreshing it: the cached one until the fleet announces a
   * newer one, then one bounded read; the last known set when the store fails.
   */
  async peek(): Promise<FleetTokenSet | undefined> {
    if (this.current && !this.stale) return this.current;
    try {
      const record = await this.read();
      return record ? this.adopt(record.tokens) : this.current;
    } catch (e) {
      if (!isFleetStoreError(e)) throw e;
      return this.current;
    }
  }

  /** Stops listening. */
  close(): void {
    this.unsubscribe?.();
    for (const wake of [...this.wakers]) wake();
  }

  private refreshOnce(rejected: string | undefined): Promise<FleetTokenSet> {
    this.single ??= this.obtain(rejected).finally(() => {
      this.single = undefined;
    });
    return this.single;
  }

  private isFresh(t: FleetTokenSet, rejected?: string): boolean {
    if (rejected !== undefined && t.accessToken === rejected) return false;
    return t.expiresAtMs === undefined || this.nowMs() < t.expiresAtMs - this.skewMs;
  }

  private async obtain(rejected: string | undefined): Promise<FleetTokenSet> {
    const deadline = this.nowMs() + this.waitMs;
    // Bounded: each round either returns, throws, or waits for a message / pollMs until the deadline.
    for (let round = 0; round < 1 + Math.ceil(this.waitMs / this.pollMs); round++) {
      let record: TokenRecord | undefined;
      try {
        record = await this.read();
      } catch (e) {
        if (!isFleetStoreError(e)) throw e;
        return this.refreshLocally(rejected);
      }
      if (record && this.isFresh(record.tokens, rejected)) return this.adopt(record.tokens);
      if (!record && !this.current)
        throw new AuthError(
          `${this.options.id}: no tokens in the fleet store; authorize and seed them first`,
          {
            server: this.options.id,
          },
        );
      let held: LeaseLockHandle | undefined;
      try {
        held = await this.lock.tryAcquire(this.leaseMs);
      } catch (e) {
        if (!isFleetStoreError(e)) throw e;
        return this.refreshLocally(rejected);
      }
      if (held) return this.refreshHolding(held, rejected);
      if (this.nowMs() >= deadline) break;
      await this.waitForNews(Math.min(this.pollMs, deadline - this.nowMs()));
    }
    throw new AuthError(
      `${this.options.id}: another process's token refresh did not finish within ${this.waitMs} ms`,
      { server: this.options.id },
    );
  }

  /** Holding the lock: re-check, guard against reuse, refresh, write fenced, publish, release. */
  private async refreshHolding(held: LeaseLockHandle, rejected: string | undefined): Promise<FleetTokenSet> {
    const store = this.ctx.store;
    const guard = this.lock.guard(held);
    try {
      const record = await this.read();
      if (record && this.isFresh(record.tokens, rejected)) return this.adopt(record.tokens);
      const tokens = record?.tokens ?? this.current;
      const refreshToken = tokens?.refreshToken;
      if (!tokens || !refreshToken) throw this.reauthorize('no refresh token is left');
      const spent = hashToken(refreshToken);
      if ((await store.get(this.inflightKey)) === spent) {
        // A holder died (or failed) after sending this refresh token: never send it again.
        await store.setIf(
          guard,
          this.recordKey,
          this.seal({
            tokens: {
              accessToken: tokens.accessToken,
              ...(tokens.expiresAtMs !== undefined ? { expiresAtMs: tokens.expiresAtMs } : {}),
            },
            fence: held.fence,
          }),
        );
        throw this.reauthorize('an interrupted refresh may have consumed the refresh token');
      }
      if (!(await store.setIf(guard, this.inflightKey, spent)))
        throw this.reauthorize('the refresh lock was lost');
      const next = await this.callRefresh(tokens, async (error) => {
        // Provably never sent: the token is still good, clear the mark so it can be used.
        if (this.options.isUnsent?.(error) ?? isConnectionRefused(error))
          await store.deleteIf(this.inflightKey, spent);
      });
      const wrote = await store.setIf(guard, this.recordKey, this.seal({ tokens: next, fence: held.fence }));
      if (wrote) {
        await store.deleteIf(this.inflightKey, spent);
        await store.publish(this.channel, String(held.fence));
      }
      return this.adopt(next);
    } finally {
      await this.lock.release(held).catch(() => false);
    }
  }

  private async refreshLocally(rejected: string | undefined): Promise<FleetTokenSet> {
    const c = this.current;
    if (c && this.isFresh(c, rejected)) return c;
    if (!c?.refreshToken)
      throw this.reauthorize('the fleet store is unreachable and no refresh token is known here');
    return this.adopt(await this.callRefresh(c, async () => {}));
  }

  private async callRefresh(
    tokens: FleetTokenSet,
    onError: (error: unknown) => Promise<void>,
  ): Promise<FleetTokenSet> {
    const signal = AbortSignal.timeout(Math.max(1, this.leaseMs - this.leaseMarginMs));
    this.refreshes++;
    try {
      const next = await this.options.refresh(tokens, signal);
      if (!next || typeof next.accessToken !== 'string' || next.accessToken.length === 0)
        throw new Error('refresh returned no access token');
      return next;
    } catch (error) {
      await onError(error).catch(() => {});
      throw new AuthError(`${this.options.id}: token refresh failed`, {
        server: this.options.id,
        cause: redacted(error),
      });
    }
  }

  private adopt(tokens: FleetTokenSet): FleetTokenSet {
    this.current = tokens;
    this.stale = false;
    return tokens;
  }

  private async read(): Promise<TokenRecord | undefined> {
    const raw = await this.ctx.store.get(this.recordKey);
    if (raw === undefined) return undefined;
    try {
      return JSON.parse(this.options.cipher.open(raw, this.recordKey)) as TokenRecord;
    } catch (cause) {
      throw new AuthError(
        `${this.options.id}: the fleet's token record cannot be opened (wrong fleet.key?)`,
        {
          server: this.options.id,
          cause: cause instanceof Error ? cause.message : undefined,
        },
      );
    }
  }

  private seal(record: TokenRecord): string {
    return this.options.cipher.seal(JSON.stringify(record), this.recordKey);
  }

  private waitForNews(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.wakers.add(done);
    });
  }

  private reauthorize(why: string): AuthError {
    const error = new AuthError(`${this.options.id}: ${why}; authorize again`, { server: this.options.id });
    reauthorizations.add(error);
    return error;
  }
}

const reauthorizations = new WeakSet<Error>();

/** True for an error meaning the refresh token is gone (spent, lost): only a new authorization helps. */
export function needsReauthorization(error: unknown): boolean {
  return error instanceof Error && reauthorizations.has(error);
}

/** A one-way name for a refresh token (the in-flight mark must not hold the token itself). */
function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

function isConnectionRefused(error: unknown): boolean {
  const code =
    (error as { code?: unknown; cause?: { code?: unknown } })?.cause?.code ??
    (error as { code?: unknown })?.code;
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND';
}

/** The refresh error without its message text (which may quote a token endpoint's answer). */
function redacted(error: unknown): { name: string } | undefined {
  return error instanceof Error ? { name: error.name } : undefined;
}

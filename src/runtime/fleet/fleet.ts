/**
 * The fleet layer of one runtime: the store (Redis when `fleet.redis` is configured, loaded
 * lazily; else nothing is created at all) and the shared pieces built on it, one per idea:
 * breakers (shared-breaker.ts), retry budgets (shared-retry-budget.ts), tokens
 * (fleet-tokens.ts), the response cache (shared-cache.ts). The runtime asks for a piece per
 * server; the fleet starts it and closes it with the rest.
 */
import { ConfigError } from '../../errors/index.js';
import { FleetContext } from './fleet-context.js';
import { FleetTokens, type FleetTokensOptions } from './fleet-tokens.js';
import { createRedisFleetStore } from './redis-store.js';
import { type SharedBreakerHooks, type SharedBreakerOptions, SharedBreakers } from './shared-breaker.js';
import { type SharedInvalidation, SharedResponseCache } from './shared-cache.js';
import { SharedRetryBudget, type SharedRetryBudgetOptions } from './shared-retry-budget.js';
import type { FleetStore, FleetStoreStateChange } from './store.js';
import { type FleetKey, TokenCipher } from './token-cipher.js';

/** The `fleet` section of the runtime config. */
export interface FleetConfig {
  /** The Redis the fleet shares. Without it (and without `store`) there is no fleet. */
  redis?: { url: string };
  /** Separates fleets (and environments) sharing one Redis. */
  namespace: string;
  /** 32-byte key sealing tokens (and shared cache values) at rest; required for fleet tokens. */
  key?: FleetKey;
  /** Bound on every store operation (default 100 ms). */
  timeoutMs?: number;
  /** A store to use instead of Redis (the in-memory one, or a custom one). */
  store?: FleetStore;
}

/**
 * One runtime's fleet layer.
 *
 * @example
 * const fleet = await Fleet.create({ redis: { url }, namespace: 'prod', key }, (c) => console.log(c.state));
 * const breakers = await fleet.breakers('demo', { failureThreshold: 5 }, hooks);
 */
export class Fleet {
  readonly ctx: FleetContext;
  private readonly cipher: TokenCipher | undefined;
  private readonly closers: (() => void)[] = [];
  private readonly stopStateWatch: () => void;
  private closed = false;

  private constructor(
    store: FleetStore,
    private readonly config: FleetConfig,
    cipher: TokenCipher | undefined,
    onState: (change: FleetStoreStateChange) => void,
  ) {
    this.ctx = new FleetContext(store, config.namespace);
    this.cipher = cipher;
    this.stopStateWatch = store.onStateChange(onState);
  }

  /**
   * Connects the store (bounded: an unreachable Redis gives a degraded fleet that rejoins later)
   * and reports its state changes to `onState` (the runtime's `fleet` event).
   */
  static async create(config: FleetConfig, onState: (change: FleetStoreStateChange) => void): Promise<Fleet> {
    if (!config.namespace || /[\s:*?[\]]/.test(config.namespace))
      throw new ConfigError([
        {
          path: 'fleet.namespace',
          message: 'must be a non-empty name without spaces, ":" or glob characters',
        },
      ]);
    // Checked before connecting: a bad key must fail at once, not after a Redis round trip.
    const cipher = config.key === undefined ? undefined : new TokenCipher(config.key);
    let store = config.store;
    if (!store) {
      if (!config.redis?.url)
        throw new ConfigError([{ path: 'fleet.redis.url', message: 'is required (or pass fleet.store)' }]);
      store = await createRedisFleetStore({ url: config.redis.url, timeoutMs: config.timeoutMs ?? 100 });
    }
    const fleet = new Fleet(store, config, cipher, onState);
    if (store.state === 'degraded')
      onState({ state: 'degraded', atMs: Date.now(), reason: 'unreachable at start' });
    return fleet;
  }

  /** The shared breaker view of `server`, started. */
  async breakers(
    server: string,
    options: SharedBreakerOptions,
    hooks: SharedBreakerHooks,
  ): Promise<SharedBreakers> {
    const b = new SharedBreakers(this.ctx, server, options, hooks);
    this.closers.push(() => b.close());
    await b.start().catch(() => {}); // degraded: it syncs on rejoin
    return b;
  }

  /** The shared retry budget of `server`, started. */
  retryBudget(server: string, options: SharedRetryBudgetOptions): SharedRetryBudget {
    const b = new SharedRetryBudget(this.ctx, server, options);
    this.closers.push(() => b.close());
    b.start();
    return b;
  }

  /** The fleet's token source for `server`; needs `fleet.key` (tokens are never stored in clear). */
  async tokens(server: string, options: Omit<FleetTokensOptions, 'id' | 'cipher'>): Promise<FleetTokens> {
    if (!this.cipher)
      throw new ConfigError([
        {
          path: 'fleet.key',
          message: `is required to share tokens (server ${server}): tokens are stored encrypted`,
        },
      ]);
    const t = new FleetTokens(this.ctx, { ...options, id: server, cipher: this.cipher });
    this.closers.push(() => t.close());
    await t.start().catch(() => {});
    return t;
  }

  /** The shared response cache; `onInvalidate` drops local copies on the fleet's invalidations. */
  async cache(
    defaultTtlMs: number,
    onInvalidate: (inv: SharedInvalidation) => void,
  ): Promise<SharedResponseCache> {
    const c = new SharedResponseCache(this.ctx, {
      defaultTtlMs,
      ...(this.cipher ? { cipher: this.cipher } : {}),
    });
    this.closers.push(() => c.close());
    await c.start(onInvalidate).catch(() => {});
    return c;
  }

  /** `ok` or `degraded`. */
  get state() {
    return this.ctx.store.state;
  }

  /** Stops every piece, waits for pending writes (bounded by the store timeout), closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const close of this.closers.splice(0)) close();
    this.stopStateWatch();
    await this.ctx.settled();
    if (!this.config.store) await this.ctx.store.close();
  }
}

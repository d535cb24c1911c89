/**
 * The fleet's shared response cache: a second level behind each process's own LRU, for entries
 * the server allows to share (2026 caching hints: `cacheScope: 'public'`, with `ttlMs`) and for
 * reads the user marks shared. A local miss asks the store (one bounded GET) before the server;
 * invalidations (`resources/updated`, `subscriptions/listen`, list_changed) are published, so
 * every process drops its local copy too.
 *
 * Keys: `cache:<server>:g<generation>:<sha256(key)>`. Dropping a whole server (list_changed,
 * session re-initialisation, `clear`) bumps its generation, an O(1) invalidation whose old
 * entries expire by TTL. Values are JSON, sealed with the fleet key when one is configured.
 * Store down: `get` misses, `set` and `invalidate` are dropped; local caching goes on.
 */
import { createHash } from 'node:crypto';
import type { FleetContext } from './fleet-context.js';
import type { TokenCipher } from './token-cipher.js';

/** An invalidation heard from the fleet (or made here). `key` undefined = the whole server. */
export interface SharedInvalidation {
  server: string;
  key: string | undefined;
}

/** Options of {@link SharedResponseCache}. */
export interface SharedResponseCacheOptions {
  /** Seals values when given (the fleet key). */
  cipher?: TokenCipher;
  /** TTL when the result gives none (the runtime's cache ttlMs). */
  defaultTtlMs: number;
  /** Larger values stay local (default 1 MiB). */
  maxValueBytes?: number;
}

/**
 * The shared second-level cache.
 *
 * @example
 * const shared = new SharedResponseCache(ctx, { defaultTtlMs: 60_000 });
 * await shared.start((inv) => localCache.invalidate(inv.server, inv.key));
 * const hit = await shared.get('demo', 'resource:file:///x');
 */
export class SharedResponseCache {
  private readonly channel: string;
  private readonly generations = new Map<string, string>();
  private unsubscribe: (() => void) | undefined;
  private stopStateWatch: (() => void) | undefined;

  constructor(
    private readonly ctx: FleetContext,
    private readonly options: SharedResponseCacheOptions,
  ) {
    this.channel = ctx.key('cache', 'invalidate');
  }

  /** Listens for the fleet's invalidations; `onInvalidate` drops the local copies. */
  async start(onInvalidate: (inv: SharedInvalidation) => void): Promise<void> {
    // Invalidations published while this process was cut off are lost: forget the generations.
    this.stopStateWatch = this.ctx.store.onStateChange((c) => {
      if (c.state === 'rejoined') this.generations.clear();
    });
    this.unsubscribe = await this.ctx.store.subscribe(this.channel, (raw) => {
      let inv: SharedInvalidation & { from?: string };
      try {
        inv = JSON.parse(raw) as SharedInvalidation & { from?: string };
      } catch {
        return;
      }
      if (typeof inv.server !== 'string') return;
      if (inv.key === undefined) this.generations.delete(inv.server); // re-read on next use
      if (inv.from !== this.ctx.processId) onInvalidate({ server: inv.server, key: inv.key ?? undefined });
    });
  }

  /** The shared value of `key` on `server`, or undefined (miss, or the store failed: bounded). */
  async get(server: string, key: string): Promise<unknown> {
    try {
      const raw = await this.ctx.store.get(await this.storeKey(server, key));
      if (raw === undefined) return undefined;
      const json = this.options.cipher ? this.options.cipher.open(raw, this.aad(server, key)) : raw;
      return JSON.parse(json) as unknown;
    } catch {
      return undefined;
    }
  }

  /** Shares `value` for `ttlMs` (the hint's, else the default). Fire-and-forget. */
  set(server: string, key: string, value: unknown, ttlMs?: number): void {
    const json = JSON.stringify(value);
    if (json === undefined || Buffer.byteLength(json) > (this.options.maxValueBytes ?? 1 << 20)) return;
    const sealed = this.options.cipher ? this.options.cipher.seal(json, this.aad(server, key)) : json;
    this.ctx.background(
      (async () => {
        await this.ctx.store.set(await this.storeKey(server, key), sealed, {
          ttlMs: ttlMs ?? this.options.defaultTtlMs,
        });
      })(),
    );
  }

  /** Drops `key` of `server` everywhere (or the whole server when `key` is undefined). */
  invalidate(server: string, key?: string): void {
    this.ctx.background(
      (async () => {
        const store = this.ctx.store;
        if (key === undefined) {
          this.generations.set(server, String(await store.incr(this.generationKey(server))));
        } else {
          await store.del(await this.storeKey(server, key));
        }
        await store.publish(this.channel, JSON.stringify({ server, key, from: this.ctx.processId }));
      })(),
    );
  }

  /** Stops listening. */
  close(): void {
    this.unsubscribe?.();
    this.stopStateWatch?.();
  }

  private async storeKey(server: string, key: string): Promise<string> {
    let gen = this.generations.get(server);
    if (gen === undefined) {
      gen = (await this.ctx.store.get(this.generationKey(server))) ?? '0';
      this.generations.set(server, gen);
    }
    const digest = createHash('sha256').update(key).digest('base64url');
    return this.ctx.key('cache', server, `g${gen}`, digest);
  }

  private generationKey(server: string): string {
    return this.ctx.key('cache', server, 'generation');
  }

  private aad(server: string, key: string): string {
    return `${server}\n${key}`;
  }
}

/**
 * The runtime's resource cache: one LRU (`lru-cache`) per server, sized and aged by that server's
 * `cache: { maxSize, ttlMs }` (runtime-wide default, overridable per server), keyed by URI (and
 * by list name / tool + canonical arguments for the other cached kinds).
 *
 * Concurrent loads of the same key share one request. A load that was in flight when the key was
 * invalidated (resources/updated, list_changed, session re-initialisation) delivers its value to
 * its callers but is NOT stored, so the cache never keeps a value older than an invalidation.
 *
 * 2026 caching hints on a result: `ttlMs` shortens the entry's life (capped by the configured
 * `ttlMs`; 0 = not stored); `cacheScope: 'public'` lets a fleet share it (fleet/shared-cache.ts),
 * `'private'` never leaves the process, even for a read the user marked `shared`.
 */
import { LRUCache } from 'lru-cache';
import type { SharedResponseCache } from './fleet/shared-cache.js';

/** Hit/miss/eviction counters. */
export interface CacheStats {
  hits: number;
  misses: number;
  evictions: number;
  /** Entries currently held. */
  size: number;
}

/** What the cache needs to know of a server. */
export interface CachePolicy {
  maxSize: number;
  ttlMs: number;
}

interface ServerCache {
  lru: LRUCache<string, { value: unknown; storedAt: number }> | undefined;
  inflight: Map<string, Promise<unknown>>;
  /** Bumped by every invalidation of the key (and of the whole server under the key `*`). */
  versions: Map<string, number>;
  epoch: number;
  stats: { hits: number; misses: number; evictions: number };
}

/** Key of a cached resource. */
export const resourceKey = (uri: string): string => `resource:${uri}`;
/** Key of a cached list (`tools`, `resources`, `prompts`, `templates`). */
export const listKey = (kind: string): string => `list:${kind}`;
/** Key of a cached read-only tool result: the tool and the canonical JSON of its arguments. */
export const toolResultKey = (tool: string, args: unknown): string => `tool:${tool}:${canonicalJson(args)}`;

/** JSON with object keys sorted at every level: equal arguments give equal keys. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The 2026 caching hints a result carries (`ttlMs`, `cacheScope`), read defensively. */
export function cacheHintsOf(value: unknown): {
  ttlMs: number | undefined;
  scope: 'public' | 'private' | undefined;
} {
  if (!value || typeof value !== 'object') return { ttlMs: undefined, scope: undefined };
  const v = value as { ttlMs?: unknown; cacheScope?: unknown };
  const ttlMs = typeof v.ttlMs === 'number' && Number.isFinite(v.ttlMs) && v.ttlMs >= 0 ? v.ttlMs : undefined;
  const scope = v.cacheScope === 'public' || v.cacheScope === 'private' ? v.cacheScope : undefined;
  return { ttlMs, scope };
}

/** Options of {@link ResourceCache.get}. */
export interface CacheGetOptions {
  /** Share the value with the fleet even without `cacheScope: 'public'` (never a `private` one). */
  shared?: boolean;
}

/**
 * The cache of one runtime (`rt.cache`).
 *
 * @example
 * rt.cache.stats();          // { hits, misses, evictions, size }
 * rt.cache.clear('demo');    // forget what one server's entries held
 */
export class ResourceCache {
  private readonly servers = new Map<string, ServerCache>();
  private shared: SharedResponseCache | undefined;

  /** `nowMs` is the clock entries age on (default `performance.now()`; a virtual one in tests). */
  constructor(
    private readonly policyOf: (server: string) => CachePolicy,
    private readonly options: { nowMs?: () => number } = {},
  ) {}

  /** Shares entries with the fleet from now on (runtime/fleet); its invalidations arrive at {@link dropLocal}. */
  attachShared(shared: SharedResponseCache): void {
    this.shared = shared;
  }

  /**
   * The cached value of `key` on `server`, or the result of `load` (shared by concurrent callers).
   * With `maxSize: 0` nothing is stored (loads are still shared). In a fleet a local miss asks the
   * fleet's cache first (one bounded store read).
   */
  get<T>(server: string, key: string, load: () => Promise<T>, options: CacheGetOptions = {}): Promise<T> {
    const s = this.serverCache(server);
    const hit = s.lru?.get(key);
    if (hit) {
      s.stats.hits++;
      return Promise.resolve(hit.value as T);
    }
    const pending = s.inflight.get(key);
    if (pending) {
      s.stats.hits++;
      return pending as Promise<T>;
    }
    s.stats.misses++;
    const version = this.versionOf(s, key);
    const shared = this.shared;
    const source = shared
      ? shared.get(server, key).then((v) => (v === undefined ? load() : (v as T)))
      : load();
    const promise = source.then(
      (value) => {
        if (s.inflight.get(key) === promise) s.inflight.delete(key);
        if (this.versionOf(s, key) === version) this.store(server, s, key, value, options);
        return value;
      },
      (error: unknown) => {
        if (s.inflight.get(key) === promise) s.inflight.delete(key);
        throw error;
      },
    );
    s.inflight.set(key, promise);
    return promise;
  }

  /** True when `key` is held (not expired) for `server`. */
  has(server: string, key: string): boolean {
    return this.servers.get(server)?.lru?.has(key) ?? false;
  }

  /** Drops one key (e.g. a resource on `notifications/resources/updated`); in a fleet, everywhere. */
  invalidate(server: string, key: string): void {
    this.shared?.invalidate(server, key);
    this.dropLocal(server, key);
  }

  /** Drops one key here only (an invalidation heard from the fleet); `undefined` = the whole server. */
  dropLocal(server: string, key: string | undefined): void {
    if (key === undefined) {
      this.clear(server);
      return;
    }
    const s = this.servers.get(server);
    if (!s) return;
    s.versions.set(key, (s.versions.get(key) ?? 0) + 1);
    s.inflight.delete(key);
    s.lru?.delete(key);
  }

  /** Drops every key of `server` that starts with `prefix` (e.g. `list:` on list_changed). */
  invalidatePrefix(server: string, prefix: string): void {
    const s = this.servers.get(server);
    if (!s) return;
    for (const key of [...(s.lru?.keys() ?? []), ...s.inflight.keys()]) {
      if (key.startsWith(prefix)) this.invalidate(server, key);
    }
  }

  /** Forgets everything held for `server` (or for every server). Counters are kept. */
  clear(server?: string): void {
    const targets = server === undefined ? [...this.servers.values()] : [this.servers.get(server)];
    for (const s of targets) {
      if (!s) continue;
      s.epoch++;
      s.inflight.clear();
      s.versions.clear();
      s.lru?.clear();
    }
  }

  /** The cached list results (`list:*` keys) of `server` with their age, for `persist()`. */
  exportLists(server: string): Record<string, { value: unknown; ageMs: number }> {
    const lru = this.servers.get(server)?.lru;
    const out: Record<string, { value: unknown; ageMs: number }> = {};
    if (!lru) return out;
    const now = Date.now();
    for (const [key, entry] of lru.entries()) {
      if (key.startsWith('list:'))
        out[key] = { value: entry.value, ageMs: Math.max(0, now - entry.storedAt) };
    }
    return out;
  }

  /** Restores persisted list results; each keeps its age, so it expires when it would have. */
  importLists(server: string, lists: Record<string, { value: unknown; ageMs: number }>): void {
    const s = this.serverCache(server);
    if (!s.lru) return;
    const ttlMs = this.policyOf(server).ttlMs;
    const now = Date.now();
    for (const [key, { value, ageMs }] of Object.entries(lists)) {
      if (!key.startsWith('list:') || (ttlMs > 0 && ageMs >= ttlMs)) continue;
      s.lru.set(key, { value, storedAt: now - ageMs }, ttlMs > 0 ? { ttl: ttlMs - ageMs } : {});
    }
  }

  /** Counters across every server, or of one server. */
  stats(server?: string): CacheStats {
    const targets = server === undefined ? [...this.servers.values()] : [this.servers.get(server)];
    const out: CacheStats = { hits: 0, misses: 0, evictions: 0, size: 0 };
    for (const s of targets) {
      if (!s) continue;
      out.hits += s.stats.hits;
      out.misses += s.stats.misses;
      out.evictions += s.stats.evictions;
      out.size += s.lru?.size ?? 0;
    }
    return out;
  }

  /** Stores a loaded value by its hints: TTL capped by the policy, shared only when allowed. */
  private store(server: string, s: ServerCache, key: string, value: unknown, options: CacheGetOptions): void {
    const hints = cacheHintsOf(value);
    if (hints.ttlMs === 0) return; // the server says: do not reuse
    const policyTtlMs = this.policyOf(server).ttlMs;
    const ttlMs =
      hints.ttlMs === undefined
        ? undefined
        : policyTtlMs > 0
          ? Math.min(hints.ttlMs, policyTtlMs)
          : hints.ttlMs;
    s.lru?.set(key, { value, storedAt: Date.now() }, ttlMs === undefined ? {} : { ttl: ttlMs });
    if (this.shared && hints.scope !== 'private' && (hints.scope === 'public' || options.shared))
      this.shared.set(server, key, value, ttlMs ?? (policyTtlMs > 0 ? policyTtlMs : undefined));
  }

  private versionOf(s: ServerCache, key: string): string {
    return `${s.epoch}:${s.versions.get(key) ?? 0}`;
  }

  private serverCache(server: string): ServerCache {
    let s = this.servers.get(server);
    if (s) return s;
    const policy = this.policyOf(server);
    const stats = { hits: 0, misses: 0, evictions: 0 };
    s = {
      lru:
        policy.maxSize > 0
          ? new LRUCache<string, { value: unknown; storedAt: number }>({
              max: policy.maxSize,
              ...(policy.ttlMs > 0 ? { ttl: policy.ttlMs, ttlAutopurge: false } : {}),
              ...(this.options.nowMs ? { perf: { now: this.options.nowMs }, ttlResolution: 0 } : {}),
              dispose: (_value, _key, reason) => {
                if (reason === 'evict') stats.evictions++;
              },
            })
          : undefined,
      inflight: new Map(),
      versions: new Map(),
      epoch: 0,
      stats,
    };
    this.servers.set(server, s);
    return s;
  }
}

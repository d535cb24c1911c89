/**
 * The response-cache store the runtime hands its SDK v2 Clients (`ClientOptions.responseCacheStore`):
 * one that holds nothing. By default every Client builds its own `InMemoryResponseCacheStore`
 * behind a `ClientResponseCache` (two Maps, a closure, the server's identity string: about 0.6 KiB
 * per connection), and serves `tools/list` and `resources/read` from it while a server's `ttlMs`
 * hint lasts. The runtime keeps one cache per server instead (resource-cache.ts: the hints, the
 * fleet level, `cache: false`) and its own tool registry, whose definition it hands to every call
 * it knows (tool-call-send.ts): a second, per-connection cache under it would only serve what the
 * runtime was told to fetch. Stateless, so one object serves every Client and never grows.
 */
import type { CacheEntry, ResponseCacheStore } from '@modelcontextprotocol/client';

/** A store that keeps nothing: every read misses, every write and eviction is a no-op. */
export const noResponseCache: ResponseCacheStore = Object.freeze({
  get: (): CacheEntry | undefined => undefined,
  set: (): number => 0,
  delete: (): void => {},
  evict: (): void => {},
  clear: (): void => {},
});

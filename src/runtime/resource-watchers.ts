/**
 * The application's watchers of resources (`rt.watch`), per server and URI. The first watcher of a
 * URI subscribes to it and the last one to leave unsubscribes, so any number of loops share one
 * subscription; each gets every fresh value the runtime reads after the server reports a change.
 */
import type { ReadResourceResult } from '@modelcontextprotocol/client';
import { subscriptionStream } from './streams.js';

type Push = (value: ReadResourceResult) => void;

/** How the watchers reach the server's subscriptions (RuntimeFeatures). */
export interface WatchHost {
  subscribe(server: string, uri: string): Promise<void>;
  unsubscribe(server: string, uri: string): Promise<void>;
  isClosed(): boolean;
}

/** Watchers per server and URI. */
export class ResourceWatchers {
  private readonly byServer = new Map<string, Map<string, Set<Push>>>();

  constructor(private readonly host: WatchHost) {}

  /** Yields the resource each time the server reports it updated, until the loop ends. */
  watch(
    server: string,
    uri: string,
    signal?: AbortSignal,
  ): AsyncGenerator<ReadResourceResult, void, undefined> {
    return subscriptionStream<ReadResourceResult>(async (push) => {
      const byUri = this.byServer.get(server) ?? new Map<string, Set<Push>>();
      this.byServer.set(server, byUri);
      const existing = byUri.get(uri);
      const first = existing === undefined;
      const set = existing ?? new Set<Push>();
      byUri.set(uri, set);
      set.add(push);
      if (first) {
        try {
          await this.host.subscribe(server, uri);
        } catch (error) {
          set.delete(push);
          if (set.size === 0) byUri.delete(uri);
          throw error;
        }
      }
      return async () => {
        set.delete(push);
        if (set.size > 0 || byUri.get(uri) !== set) return;
        byUri.delete(uri);
        if (!this.host.isClosed()) await this.host.unsubscribe(server, uri).catch(() => {});
      };
    }, signal);
  }

  /** Whether anyone watches `uri` on `server`. */
  watches(server: string, uri: string): boolean {
    return this.byServer.get(server)?.has(uri) === true;
  }

  /** Hands a fresh value of `uri` to its watchers. */
  deliver(server: string, uri: string, value: ReadResourceResult): void {
    for (const push of this.byServer.get(server)?.get(uri) ?? []) push(value);
  }

  /** A server left: its watchers go (their loops end with the runtime's streams). */
  removeServer(server: string): void {
    this.byServer.delete(server);
  }
}

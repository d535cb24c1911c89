/**
 * Tools and prompts are listed as part of connecting (issue 16, item 8): once a server's first
 * connection is ready, its lists go into the registry, so `rt.tools()` is filled when `start()`
 * resolves and a call's arguments are checked against the tool's `inputSchema` from the first call
 * (VALIDATION naming the field instead of the server's -32602).
 *
 * Like the handshake, the listing goes straight to the connection's Client: it is not a caller's
 * call, so it does not pass the queue, the breaker or the call counters.
 */
import type { Client, Prompt, Tool } from '@modelcontextprotocol/client';
import { toRuntimeError } from '../actors/map-error.js';
import type { ListKind, ToolRegistry } from './tool-registry.js';

/** A server's list is at most this many pages (a server repeating its cursor ends the loop). */
const MAX_PAGES = 1_000;

/** What the loader needs from the runtime. */
export interface ListsOnConnectDeps {
  registry: ToolRegistry;
  /** Deadline of each page request. */
  timeoutMs: (server: string) => number;
  /** A listing that failed (the server declared tools but could not list them). */
  onError: (server: string, error: unknown) => void;
}

/** Loads each server's tools and prompts once, when a connection first becomes ready. */
export class ListsOnConnect {
  /** Listings in flight (an explicit `listTools` counts: the loader does not list twice). */
  private readonly loading = new Map<string, Promise<void>>();

  constructor(private readonly deps: ListsOnConnectDeps) {}

  /** A connection of `server` became ready: list what the registry lacks (no-op when loaded or loading). */
  onReady(server: string, client: Client): void {
    if (this.loading.has(server) || this.deps.registry.isLoaded(server, 'tools')) return;
    this.track(
      server,
      this.load(server, client).catch((error: unknown) => this.deps.onError(server, error)),
    );
  }

  /** An explicit listing of `server` is in flight: the loader waits for it instead of listing again. */
  track(server: string, listing: Promise<unknown>): void {
    if (this.loading.has(server)) return;
    const settled = listing.then(
      () => {},
      () => {},
    );
    this.loading.set(server, settled);
    void settled.then(() => {
      if (this.loading.get(server) === settled) this.loading.delete(server);
    });
  }

  /** The listing in flight for `server`, if any (resolves, never rejects). */
  pending(server: string): Promise<void> | undefined {
    return this.loading.get(server);
  }

  /**
   * Lists one kind on `client` now and puts it into the registry. The registry's own refreshes
   * (list_changed, a renewed session) use this too: housekeeping, not a caller's call, so it is not
   * counted with the calls (a refresh in flight made `calls` differ from `ok + failed`).
   */
  list(server: string, kind: ListKind, client: Client): Promise<void> {
    return this.listKind(server, kind, client).catch((error: unknown) => {
      throw toRuntimeError(error, { server, operation: `${kind}/list` });
    });
  }

  private async listKind(server: string, kind: ListKind, client: Client): Promise<void> {
    const timeout = this.deps.timeoutMs(server);
    if (kind === 'tools') {
      const tools = await paginate<Tool>((cursor) =>
        client.listTools(cursor ? { cursor } : undefined, { timeout }).then((r) => [r.tools, r.nextCursor]),
      );
      this.deps.registry.ingest(server, 'tools', tools);
    } else {
      const prompts = await paginate<Prompt>((cursor) =>
        client
          .listPrompts(cursor ? { cursor } : undefined, { timeout })
          .then((r) => [r.prompts, r.nextCursor]),
      );
      this.deps.registry.ingest(server, 'prompts', prompts);
    }
  }

  private async load(server: string, client: Client): Promise<void> {
    const caps = client.getServerCapabilities();
    if (caps?.tools) await this.list(server, 'tools', client);
    if (caps?.prompts) await this.list(server, 'prompts', client);
  }
}

async function paginate<T>(
  page: (cursor: string | undefined) => Promise<[T[], string | undefined]>,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const [batch, next] = await page(cursor);
    items.push(...batch);
    if (!next || next === cursor) break;
    cursor = next;
  }
  return items;
}

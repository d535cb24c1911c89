/**
 * Background re-reads of resources a server reported updated (`notifications/resources/updated`).
 * A server chooses how many notifications it sends and for which URIs, so these reads must not be
 * able to crowd out the application's own calls: the caller admits only URIs the application
 * subscribed to or holds in its cache, and here at most one read per URI is in flight (an update
 * during it makes one more read afterwards, not one per notification) and at most
 * `maxInFlight` per server; the rest wait in a set (one entry per URI). The reads themselves run
 * beside the call path (not through its queue or breaker), so they can neither fill the queue nor
 * open the breaker.
 */

/** What the refresher needs. */
export interface ResourceRefresherOptions<T> {
  /** Background reads in flight per server at most. */
  maxInFlight: number;
  /** Reads `uri` on `server` (bounded by the server's timeout). */
  read(server: string, uri: string): Promise<T>;
  /** Called once per read with its outcome (not after `close()`). */
  settled(server: string, uri: string, outcome: { value: T } | { error: unknown }): void;
}

interface ServerState {
  inFlight: Set<string>;
  /** URIs updated again while their read was in flight: read once more. */
  again: Set<string>;
  /** URIs waiting for a free slot, in arrival order. */
  waiting: Set<string>;
}

/** Default of {@link ResourceRefresherOptions.maxInFlight}. */
export const MAX_BACKGROUND_READS_PER_SERVER = 4;

/**
 * Deduplicated, bounded background reads.
 *
 * @example
 * const refresher = new ResourceRefresher({ maxInFlight: 4, read, settled });
 * refresher.request('demo', 'file:///x'); // a second request while in flight is folded into one more read
 */
export class ResourceRefresher<T> {
  private readonly servers = new Map<string, ServerState>();
  private closed = false;

  constructor(private readonly options: ResourceRefresherOptions<T>) {}

  /** Asks for a fresh read of `uri` (deduplicated, bounded). */
  request(server: string, uri: string): void {
    if (this.closed) return;
    const s = this.stateOf(server);
    if (s.inFlight.has(uri)) s.again.add(uri);
    else if (s.inFlight.size < this.options.maxInFlight) this.start(server, s, uri);
    else s.waiting.add(uri);
  }

  /** Reads in flight and waiting, per server (for tests and the snapshot). */
  stats(server: string): { inFlight: number; waiting: number } {
    const s = this.servers.get(server);
    return { inFlight: s?.inFlight.size ?? 0, waiting: (s?.waiting.size ?? 0) + (s?.again.size ?? 0) };
  }

  /** Forgets what waits; reads in flight settle silently. */
  close(): void {
    this.closed = true;
    this.servers.clear();
  }

  private stateOf(server: string): ServerState {
    let s = this.servers.get(server);
    if (!s) {
      s = { inFlight: new Set(), again: new Set(), waiting: new Set() };
      this.servers.set(server, s);
    }
    return s;
  }

  private start(server: string, s: ServerState, uri: string): void {
    s.inFlight.add(uri);
    const done = (outcome: { value: T } | { error: unknown }): void => {
      if (this.closed) return;
      s.inFlight.delete(uri);
      this.options.settled(server, uri, outcome);
      if (this.closed) return;
      // The URI changed again meanwhile: its turn comes again, behind those already waiting.
      if (s.again.delete(uri)) s.waiting.add(uri);
      const next = s.waiting.values().next();
      if (!next.done) {
        s.waiting.delete(next.value);
        this.start(server, s, next.value);
      }
    };
    let reading: Promise<T>;
    try {
      reading = this.options.read(server, uri);
    } catch (error) {
      reading = Promise.reject(error);
    }
    reading.then(
      (value) => done({ value }),
      (error: unknown) => done({ error }),
    );
  }
}

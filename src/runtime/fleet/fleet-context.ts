/**
 * What every shared piece of the fleet layer needs: the store, the namespace its keys and channels
 * live under, this process's id, and a place for fire-and-forget store operations (their failures
 * are the store's to report as `degraded`; a piece never waits on them in a call's path).
 */
import { randomUUID } from 'node:crypto';
import type { FleetStore } from './store.js';

/**
 * The shared context of one runtime's fleet layer.
 *
 * @example
 * const ctx = new FleetContext(new MemoryFleetStore(), 'prod');
 * ctx.key('brk', 'demo', '*', 'open'); // 'mcp-actors:prod:brk:demo:*:open'
 */
export class FleetContext {
  /** Unique per process (and per runtime): messages carry it so a process ignores its own. */
  readonly processId: string;
  private readonly prefix: string;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    readonly store: FleetStore,
    readonly namespace: string,
    processId: string = randomUUID(),
  ) {
    this.processId = processId;
    this.prefix = `mcp-actors:${namespace}`;
  }

  /** A store key or channel under the namespace. Parts are joined with `:`. */
  key(...parts: string[]): string {
    return `${this.prefix}:${parts.join(':')}`;
  }

  /** Runs a store operation nobody waits for; its failure is swallowed (the store reports it). */
  background(operation: Promise<unknown>): void {
    const p = operation.then(
      () => {},
      () => {},
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /**
   * Resolves once the background operations have settled (each is bounded by the store's
   * timeout; operations they start are awaited too, up to a bounded number of rounds).
   */
  async settled(): Promise<void> {
    for (let round = 0; round < 16 && this.pending.size > 0; round++) await Promise.all([...this.pending]);
  }
}

/**
 * Callers waiting for something to become ready (a connection, a pool member), each bounded by its
 * own timeout and AbortSignal. Every wait settles exactly once and leaves no timer or listener.
 */
import type { McpRuntimeError } from '../errors/index.js';

interface Waiter {
  resolve: () => void;
  reject: (error: McpRuntimeError) => void;
}

/** A set of bounded waits, released together. */
export class ReadyWaiters {
  /** Made on the first wait: most connections never have a caller waiting. */
  private waiters: Set<Waiter> | undefined;

  /**
   * Waits until {@link resolveAll} or {@link rejectAll}; rejects with `timeoutError()` after
   * `timeoutMs` and with `abortError()` when `signal` aborts.
   */
  wait(
    timeoutMs: number,
    signal: AbortSignal | undefined,
    timeoutError: () => McpRuntimeError,
    abortError: () => McpRuntimeError,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiters?.delete(waiter);
        // Kept only while someone waits: a connection lives long, its waits are rare.
        if (this.waiters?.size === 0) this.waiters = undefined;
      };
      const waiter: Waiter = {
        resolve: () => {
          cleanup();
          resolve();
        },
        reject: (error) => {
          cleanup();
          reject(error);
        },
      };
      const onAbort = (): void => waiter.reject(abortError());
      const timer = setTimeout(() => waiter.reject(timeoutError()), timeoutMs);
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters ??= new Set();
      this.waiters.add(waiter);
    });
  }

  /** How many waits are pending. */
  get size(): number {
    return this.waiters?.size ?? 0;
  }

  /** Resolves every wait. */
  resolveAll(): void {
    if (this.waiters) for (const w of [...this.waiters]) w.resolve();
  }

  /** Rejects every wait with `error`. */
  rejectAll(error: McpRuntimeError): void {
    if (this.waiters) for (const w of [...this.waiters]) w.reject(error);
  }
}

/**
 * Waits for `promise` to settle, but no longer than `limitMs` and no longer than `signal` stays
 * unaborted. Resolves in every case and never rejects: the caller goes on, and its own deadline
 * (or abort) decides what the outcome is. The timer is cleared and the listener removed either way.
 */
export function settledWithin(
  promise: Promise<unknown>,
  limitMs: number,
  signal?: AbortSignal,
): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, limitMs);
    signal?.addEventListener('abort', done, { once: true });
    promise.then(done, done);
  });
}

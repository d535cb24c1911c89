/**
 * Async iterators over a call's progress (`rt.stream`) and over a resource's updates (`rt.watch`).
 * Leaving the `for await` loop early (break, return, throw) cancels the call — the server gets
 * `notifications/cancelled` — or unsubscribes the resource.
 *
 * A consumer slower than the server does not make the runtime buffer without bound: progress events
 * not yet read are coalesced (the newest replaces the one waiting), and so are resource updates
 * (each is the whole resource: the newest is what matters). At most one item waits besides the
 * result.
 */
import type { CallToolResult, ReadResourceResult } from '@modelcontextprotocol/client';
import { CancelledError } from '../errors/index.js';
import type { InputRound } from './input-rounds.js';
import type { TaskStatusUpdate } from './tasks.js';

/** One item of `rt.stream(...)`. */
export type StreamEvent<T> =
  | { type: 'progress'; progress: number; total?: number | undefined; message?: string | undefined }
  /** A task-augmented call's status changed (`callTool` with `task`). */
  | ({ type: 'status' } & TaskStatusUpdate)
  /** A 2026 server asked for input (one `input_required` round); the handlers answer it. */
  | ({ type: 'input' } & InputRound)
  | { type: 'result'; value: T };

/** What `rt.stream` runs: a tool call or a resource read. */
export type StreamTarget = { tool: string; args?: Record<string, unknown> } | { resource: string };

/** The value a stream of `target` ends with. */
export type StreamResult<S extends StreamTarget> = S extends { tool: string }
  ? CallToolResult
  : ReadResourceResult;

/** A single-consumer push queue that an async generator drains. */
class PushQueue<T> {
  private readonly items: T[] = [];
  private wake: (() => void) | undefined;
  private failure: { error: unknown } | undefined;
  private ended = false;

  /** Queues `item`, or replaces the last waiting item when `replaces(last)` says it supersedes it. */
  push(item: T, replaces?: (last: T) => boolean): void {
    const last = this.items.length - 1;
    if (replaces && last >= 0 && replaces(this.items[last]!)) this.items[last] = item;
    else this.items.push(item);
    this.wake?.();
  }

  fail(error: unknown): void {
    this.failure = { error };
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *drain(): AsyncGenerator<T, void, undefined> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (this.failure) throw this.failure.error;
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }
}

/**
 * Runs `start` with an AbortSignal and a progress callback, yielding progress events in order and
 * then the result. Breaking out of the loop aborts the signal (the call is cancelled).
 */
export async function* progressStream<T>(
  start: (
    signal: AbortSignal,
    onProgress: (p: { progress: number; total?: number; message?: string }) => void,
    onTaskStatus: (update: TaskStatusUpdate) => void,
    onInputRound: (round: InputRound) => void,
  ) => Promise<T>,
  outer?: AbortSignal,
): AsyncGenerator<StreamEvent<T>, void, undefined> {
  const controller = new AbortController();
  const onOuterAbort = (): void => controller.abort(outer?.reason);
  if (outer?.aborted) throw new CancelledError();
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  const queue = new PushQueue<StreamEvent<T>>();
  let settled = false;
  start(
    controller.signal,
    (p) => {
      if (!settled)
        queue.push(
          { type: 'progress', progress: p.progress, total: p.total, message: p.message },
          (last) => last.type === 'progress',
        );
    },
    (update) => {
      // Statuses coalesce like progress: an unread one is superseded by the newer.
      if (!settled) queue.push({ type: 'status', ...update }, (last) => last.type === 'status');
    },
    (round) => {
      // Rounds are few and each one matters: never coalesced.
      if (!settled) queue.push({ type: 'input', ...round });
    },
  ).then(
    (value) => {
      settled = true;
      queue.push({ type: 'result', value });
      queue.end();
    },
    (error: unknown) => {
      settled = true;
      queue.fail(error);
    },
  );
  try {
    yield* queue.drain();
  } finally {
    outer?.removeEventListener('abort', onOuterAbort);
    if (!settled) controller.abort(new CancelledError('The stream was closed by its consumer'));
  }
}

/**
 * Yields whatever `subscribe` delivers until the loop ends; then calls the returned unsubscribe.
 * `subscribe` resolves once the subscription is in place.
 */
export async function* subscriptionStream<T>(
  subscribe: (
    push: (value: T) => void,
    fail: (error: unknown) => void,
  ) => Promise<() => Promise<void> | void>,
  signal?: AbortSignal,
): AsyncGenerator<T, void, undefined> {
  const queue = new PushQueue<T>();
  const onAbort = (): void => queue.end();
  if (signal?.aborted) return;
  const unsubscribe = await subscribe(
    (value) => queue.push(value, () => true),
    (error) => queue.fail(error),
  );
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    yield* queue.drain();
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await unsubscribe();
  }
}

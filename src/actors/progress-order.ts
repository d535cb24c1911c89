/**
 * Keeps a call's progress ahead of its result. The SDK's Protocol handles a notification one
 * microtask after it arrives but a response at once, and forgets the call's progress handler with
 * the response. So when the last `notifications/progress` and the result arrive in one read (a
 * stdio chunk, one SSE read, frames of one TCP segment), the progress found no handler: it was
 * lost, and the SDK reported "Received a progress notification for an unknown token".
 *
 * While a progress notification's handler is still queued, a response is handed on one microtask
 * later, which is after that handler (microtasks run in order). Nothing else is delayed.
 */
import type { JSONRPCMessage, MessageExtraInfo } from '@modelcontextprotocol/client';

type Deliver = (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;

/**
 * Wraps a transport's `onmessage` delivery so a response never overtakes progress that arrived
 * before it.
 *
 * @example
 * inner.onmessage = progressBeforeResult((message, extra) => this.onmessage?.(message, extra));
 */
export function progressBeforeResult(deliver: Deliver): Deliver {
  /** Progress notifications whose handler microtask has not run yet. */
  let queuedProgress = 0;
  const handled = (): void => {
    queuedProgress--;
  };
  return (message, extra) => {
    if ((message as { method?: unknown }).method === 'notifications/progress') {
      deliver(message, extra);
      queuedProgress++;
      // Queued after the SDK's own handler microtask: when it runs, the handler has run.
      queueMicrotask(handled);
    } else if (queuedProgress > 0 && !('method' in message)) {
      queueMicrotask(() => deliver(message, extra));
    } else {
      deliver(message, extra);
    }
  };
}

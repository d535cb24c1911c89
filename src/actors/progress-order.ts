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

/** Where messages go once ordered (a transport wrapper: no closure per connection). */
export interface OrderedReceiver {
  handOn(message: JSONRPCMessage, extra?: MessageExtraInfo): void;
}

/** Whether `message` is a progress notification (until the first one, nothing can overtake). */
export function isProgress(message: JSONRPCMessage): boolean {
  return (message as { method?: unknown }).method === 'notifications/progress';
}

/**
 * One connection's ordering of incoming messages, so a response never overtakes progress that
 * arrived before it. Needed from the first progress notification on: a connection makes it then.
 *
 * @example
 * inner.onmessage = (message, extra) => {
 *   if (!order && !isProgress(message)) return this.handOn(message, extra);
 *   order ??= new ProgressOrder();
 *   order.pass(message, extra, this);
 * };
 */
export class ProgressOrder {
  /** Progress notifications whose handler microtask has not run yet. */
  #queued = 0;
  /** Runs after a progress notification's handler (this object exists once one has come). */
  readonly #handled = (): void => {
    this.#queued--;
  };

  /** Hands `message` to `to`, now or (a response behind queued progress) one microtask later. */
  pass(message: JSONRPCMessage, extra: MessageExtraInfo | undefined, to: OrderedReceiver): void {
    if (isProgress(message)) {
      to.handOn(message, extra);
      this.#queued++;
      // Queued after the SDK's own handler microtask: when it runs, the handler has run.
      queueMicrotask(this.#handled);
    } else if (this.#queued > 0 && !('method' in message)) {
      queueMicrotask(() => to.handOn(message, extra));
    } else {
      to.handOn(message, extra);
    }
  }
}

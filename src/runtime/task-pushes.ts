/**
 * Status pushes of 2026 tasks (the `io.modelcontextprotocol/tasks` extension, ext-tasks 0.2.2): a
 * `subscriptions/listen` whose filter names the task (`notifications.taskIds`) asks the server for
 * `notifications/tasks`, each carrying the task as `tasks/get` would (status, message, and the
 * result, error or input requests). tasks.ts takes a push as a poll's answer that came early;
 * polling stays the fallback, so a server that never pushes (or refuses the listen) changes
 * nothing but one listen request per task.
 *
 * The SDK's listen ack is parsed with the core filter schema, which drops `taskIds`, so whether a
 * server honours it cannot be read from the ack: the listen stays open until the task ends.
 */
import type { Client, SubscriptionFilter } from '@modelcontextprotocol/client';
import { TaskStatusNotificationParamsV2Schema } from '@modelcontextprotocol/ext-tasks/core/v2';
import type { ServerHandle } from './server-handle.js';
import type { TaskSnapshot } from './task-wire.js';

/** `notifications/tasks` receivers per Client, by task id (the handler is installed once per Client). */
const receivers = new WeakMap<Client, Map<string, (task: TaskSnapshot) => void>>();

function receiversOf(client: Client): Map<string, (task: TaskSnapshot) => void> {
  let byTask = receivers.get(client);
  if (byTask === undefined) {
    const created = new Map<string, (task: TaskSnapshot) => void>();
    byTask = created;
    receivers.set(client, created);
    client.setNotificationHandler(
      'notifications/tasks',
      { params: TaskStatusNotificationParamsV2Schema },
      (params) => {
        const task = params as TaskSnapshot;
        created.get(task.taskId)?.(task);
      },
    );
  }
  return byTask;
}

/**
 * Opens the listen for one task's pushes; `onPush` gets each. Resolves with the function that ends
 * it (a failed or refused listen ends nothing: polling alone follows the task).
 */
export async function listenForTask(
  h: ServerHandle,
  taskId: string,
  timeoutMs: number,
  onPush: (task: TaskSnapshot) => void,
): Promise<() => void> {
  let stop = (): void => {};
  try {
    await h.call('subscriptions/listen', { timeoutMs, retry: false }, async (client, opts) => {
      const byTask = receiversOf(client);
      byTask.set(taskId, onPush);
      try {
        // `taskIds` is the extension's addition to the core filter (TaskSubscriptionNotificationsV2).
        const filter = { taskIds: [taskId] } as SubscriptionFilter;
        const subscription = await client.listen(filter, { timeout: opts.timeout, signal: opts.signal });
        stop = () => {
          byTask.delete(taskId);
          void subscription.close().catch(() => undefined);
        };
      } catch (error) {
        byTask.delete(taskId);
        throw error;
      }
    });
  } catch {
    // Polling follows the task.
  }
  return stop;
}

/**
 * The task handles a runtime holds: every task it created (or resumed) that has not ended, and
 * those restored by `restoreFrom` until they are resumed to an end. A task lives on the server, so
 * its handle (server, task id, tool, era) is all it takes to follow it again after a reconnect or
 * a process restart; `persist()` keeps them.
 */

/** A task the runtime can follow to its end (`rt.tasks()`, persisted by `persist()`). */
export interface TaskHandle {
  /** The configured server the task lives on. */
  server: string;
  taskId: string;
  /** The tool whose call created it. */
  tool: string;
  /** The protocol era it was created in (2026 `modern`: the tasks extension; 2025 `legacy`). */
  era: 'modern' | 'legacy';
  /** When it was created (epoch ms, this runtime's clock). */
  createdAtMs: number;
}

/** The handles of one runtime, one per (server, task id). */
export class TaskLedger {
  readonly #handles = new Map<string, TaskHandle>();

  /** Keeps a handle (a task created, resumed or restored). */
  add(handle: TaskHandle): void {
    this.#handles.set(keyOf(handle.server, handle.taskId), handle);
  }

  /** The handle of a task, if held. */
  get(server: string, taskId: string): TaskHandle | undefined {
    return this.#handles.get(keyOf(server, taskId));
  }

  /** Forgets a task: it ended, was cancelled, or is no longer known to its server. */
  remove(server: string, taskId: string): void {
    this.#handles.delete(keyOf(server, taskId));
  }

  /** Every held handle, oldest first (copies). */
  list(): TaskHandle[] {
    return [...this.#handles.values()].map((h) => ({ ...h }));
  }
}

function keyOf(server: string, taskId: string): string {
  return JSON.stringify([server, taskId]);
}

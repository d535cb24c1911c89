/**
 * Batches: a list of calls across servers, run with a concurrency limit, each settling to an
 * outcome in the order it was added. `failFast` cancels the rest on the first failure; the batch's
 * `signal` (and `Symbol.asyncDispose`) cancels everything unfinished.
 *
 * A batch reaches the runtime only through {@link BatchTarget} (the runtime's own call methods),
 * so every item takes the server's normal call path (queue, breaker, retries) and nothing here
 * depends on runtime internals.
 */
import type {
  CallToolResult,
  GetPromptResult,
  ListPromptsResult,
  ListResourcesResult,
  ListToolsResult,
  ReadResourceResult,
} from '@modelcontextprotocol/client';
import { toRuntimeError } from '../actors/map-error.js';
import { CancelledError, ConfigError, type McpRuntimeError, ValidationError } from '../errors/index.js';
import type { CallOptions } from './server-handle.js';

/** Per-item options of a tool call in a batch (the runtime's `callTool` options). */
export interface BatchCallToolOptions extends CallOptions {
  /** Resolve with the result even when the tool reports `isError`. */
  allowToolError?: boolean;
  meta?: Record<string, unknown>;
}

/** What a batch needs from the runtime: its public call methods (`McpRuntime` satisfies it). */
export interface BatchTarget {
  callTool(
    server: string,
    tool: string,
    args: Record<string, unknown>,
    options: BatchCallToolOptions,
  ): Promise<CallToolResult>;
  readResource(server: string, uri: string, options: CallOptions): Promise<ReadResourceResult>;
  getPrompt(
    server: string,
    name: string,
    args: Record<string, string>,
    options: CallOptions,
  ): Promise<GetPromptResult>;
  listTools(server: string, options: CallOptions): Promise<ListToolsResult['tools']>;
  listResources(server: string, options: CallOptions): Promise<ListResourcesResult['resources']>;
  listPrompts(server: string, options: CallOptions): Promise<ListPromptsResult['prompts']>;
}

/** Options of `rt.batch()`. */
export interface BatchOptions {
  /** Items running at once, across servers (integer >= 1; default: all of them). */
  concurrency?: number;
  /** On the first failure, cancel every item not finished yet (default false). */
  failFast?: boolean;
  /** Aborting it cancels every unfinished item. */
  signal?: AbortSignal;
}

/** The outcome of one item: its value, or the typed error it failed with. */
export type BatchOutcome<T = unknown> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: McpRuntimeError };

/** Where a batch is in its life. */
export type BatchState = 'open' | 'executing' | 'done' | 'disposed';

type Run = (target: BatchTarget, signal: AbortSignal) => Promise<unknown>;

interface Item {
  readonly server: string;
  readonly operation: string;
  readonly run: Run;
}

function requireName(value: unknown, path: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new ValidationError(`${path} must be a non-empty string, got ${JSON.stringify(value)}`, path);
  }
  return value;
}

/**
 * A fresh signal per item that aborts when any of `signals` does. Fresh, so the runtime's and the
 * SDK's per-call abort listeners land on it, not all on the batch's one signal.
 */
function anySignal(signals: (AbortSignal | undefined)[]): AbortSignal {
  return AbortSignal.any(signals.filter((s): s is AbortSignal => s !== undefined));
}

/**
 * A batch of calls. Create it with `rt.batch(options)`; `add`, `read`, `getPrompt`, `listTools`,
 * `listResources` and `listPrompts` each return the item's index; `execute()` runs them.
 *
 * Misuse - adding after `execute()` (or after dispose), executing twice - throws a
 * {@link ValidationError} (code VALIDATION, path `batch`): it is a bug in the calling code, not a
 * configuration problem. Bad options throw {@link ConfigError} naming the field.
 *
 * @example
 * await using b = rt.batch({ concurrency: 4, failFast: true });
 * b.add('demo', 'echo', { text: 'a' });
 * b.read('demo', 'demo://greeting');
 * const [echo, greeting] = await b.execute();
 */
export class Batch {
  private readonly items: Item[] = [];
  private readonly concurrency: number | undefined;
  private readonly failFast: boolean;
  private readonly signal: AbortSignal | undefined;
  /** Aborts every item: failFast, dispose. */
  private readonly cancel = new AbortController();
  private running: Promise<BatchOutcome[]> | undefined;
  private stateName: BatchState = 'open';

  constructor(
    private readonly target: BatchTarget,
    options: BatchOptions = {},
  ) {
    if (options === null || typeof options !== 'object') {
      throw new ConfigError([{ path: 'batch', message: 'options must be an object' }]);
    }
    const { concurrency, failFast, signal } = options;
    if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) {
      throw new ConfigError([
        { path: 'batch.concurrency', message: `must be a whole number >= 1, got ${String(concurrency)}` },
      ]);
    }
    if (failFast !== undefined && typeof failFast !== 'boolean') {
      throw new ConfigError([{ path: 'batch.failFast', message: 'must be a boolean' }]);
    }
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new ConfigError([{ path: 'batch.signal', message: 'must be an AbortSignal' }]);
    }
    this.concurrency = concurrency;
    this.failFast = failFast ?? false;
    this.signal = signal;
  }

  /** `open` (adding), `executing`, `done`, or `disposed`. */
  get state(): BatchState {
    return this.stateName;
  }

  /** Items added so far. */
  get size(): number {
    return this.items.length;
  }

  /** Adds a tool call; returns its index. */
  add(
    server: string,
    tool: string,
    args: Record<string, unknown> = {},
    options: BatchCallToolOptions = {},
  ): number {
    requireName(tool, 'batch.add.tool');
    return this.push(server, `tools/call ${tool}`, (t, signal) =>
      t.callTool(server, tool, args, { ...options, signal: anySignal([signal, options.signal]) }),
    );
  }

  /** Adds a resource read; returns its index. */
  read(server: string, uri: string, options: CallOptions = {}): number {
    requireName(uri, 'batch.read.uri');
    return this.push(server, `resources/read ${uri}`, (t, signal) =>
      t.readResource(server, uri, { ...options, signal: anySignal([signal, options.signal]) }),
    );
  }

  /** Adds a prompt; returns its index. */
  getPrompt(
    server: string,
    name: string,
    args: Record<string, string> = {},
    options: CallOptions = {},
  ): number {
    requireName(name, 'batch.getPrompt.name');
    return this.push(server, `prompts/get ${name}`, (t, signal) =>
      t.getPrompt(server, name, args, { ...options, signal: anySignal([signal, options.signal]) }),
    );
  }

  /** Adds a tools listing; returns its index. */
  listTools(server: string, options: CallOptions = {}): number {
    return this.push(server, 'tools/list', (t, signal) =>
      t.listTools(server, { ...options, signal: anySignal([signal, options.signal]) }),
    );
  }

  /** Adds a resources listing; returns its index. */
  listResources(server: string, options: CallOptions = {}): number {
    return this.push(server, 'resources/list', (t, signal) =>
      t.listResources(server, { ...options, signal: anySignal([signal, options.signal]) }),
    );
  }

  /** Adds a prompts listing; returns its index. */
  listPrompts(server: string, options: CallOptions = {}): number {
    return this.push(server, 'prompts/list', (t, signal) =>
      t.listPrompts(server, { ...options, signal: anySignal([signal, options.signal]) }),
    );
  }

  /**
   * Runs every item, at most `concurrency` at once, and resolves with one outcome per item in the
   * order they were added. Never rejects for an item's failure; an item that never started because
   * the batch was cancelled (failFast, signal, dispose) fails with CANCELLED.
   *
   * @throws {ValidationError} when called twice or after dispose.
   */
  execute<T = unknown>(): Promise<BatchOutcome<T>[]> {
    if (this.stateName !== 'open') {
      return Promise.reject(
        new ValidationError(
          `This batch was already ${this.stateName === 'disposed' ? 'disposed' : 'executed'}`,
          'batch',
        ),
      );
    }
    this.stateName = 'executing';
    this.running = this.runAll().finally(() => {
      if (this.stateName === 'executing') this.stateName = 'done';
    });
    return this.running as Promise<BatchOutcome<T>[]>;
  }

  /** `await using b = rt.batch()`: cancels whatever is unfinished and waits for it to settle. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.stateName === 'open') this.stateName = 'disposed';
    this.cancel.abort(new CancelledError('The batch was disposed'));
    await this.running;
  }

  private push(server: string, operation: string, run: Run): number {
    if (this.stateName !== 'open') {
      throw new ValidationError(
        `Cannot add to a batch that was already ${this.stateName === 'disposed' ? 'disposed' : 'executed'}`,
        'batch',
      );
    }
    requireName(server, 'batch.server');
    this.items.push({ server, operation, run });
    return this.items.length - 1;
  }

  private async runAll(): Promise<BatchOutcome[]> {
    const items = this.items;
    const outcomes: BatchOutcome[] = new Array(items.length);
    const signal = anySignal([this.cancel.signal, this.signal]);
    let next = 0;
    const cancelledError = (item: Item): CancelledError =>
      new CancelledError(`${item.operation} on ${item.server} was cancelled: the batch was cancelled`, {
        server: item.server,
        cause: signal.reason,
      });
    const worker = async (): Promise<void> => {
      for (let i = next++; i < items.length; i = next++) {
        const item = items[i] as Item;
        if (signal.aborted) {
          outcomes[i] = { ok: false, error: cancelledError(item) };
          continue;
        }
        try {
          outcomes[i] = { ok: true, value: await item.run(this.target, signal) };
        } catch (error) {
          const mapped = signal.aborted
            ? cancelledError(item)
            : toRuntimeError(error, { server: item.server, operation: item.operation });
          outcomes[i] = { ok: false, error: mapped };
          if (this.failFast && !signal.aborted) {
            this.cancel.abort(
              new CancelledError(`failFast: ${item.operation} on ${item.server} failed`, { cause: mapped }),
            );
          }
        }
      }
    };
    const workers = Math.min(this.concurrency ?? items.length, items.length);
    await Promise.all(Array.from({ length: workers }, worker));
    return outcomes;
  }
}

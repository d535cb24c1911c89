/**
 * The runtime as XState actor logic, for applications that run as actors themselves: `invoke`
 * or `spawnChild` it, send it requests as events, receive results and lifecycle events back.
 *
 * It is the same machinery as `createRuntime` (it creates one {@link McpRuntime} inside), not a
 * second implementation. A server the runtime gives up on is escalated to the parent as an
 * `mcp.serverFailed` event, so the parent's own statechart decides: `mcp.restart`, degrade, stop.
 *
 * Inspection: the runtime's actors are root actors of their own, so their inspection events are
 * forwarded into the parent's actor system; an inspector on the application sees the whole tree.
 */
import {
  type ActorRef,
  type AnyActorRef,
  type EventObject,
  fromCallback,
  type InspectionEvent,
} from 'xstate';
import { type ErrorCode, isMcpRuntimeError } from '../errors/index.js';
import type { RuntimeConfig } from './config.js';
import type { PersistedRuntime } from './persist.js';
import { createRuntime, type McpRuntime } from './runtime.js';

/** Where a reply goes: the `replyTo` actor of the request, else the parent. */
type ReplyTarget = ActorRef<never, EventObject> | AnyActorRef;

interface RequestBase {
  /** Echoed in the reply, so the parent can match it. */
  requestId?: string;
  /** Actor that receives the reply (default: the parent). */
  replyTo?: ReplyTarget;
  /** Deadline of the call (ms). */
  timeoutMs?: number;
}

/** Requests the runtime actor accepts. */
export type McpRuntimeRequest =
  | (RequestBase & {
      type: 'mcp.callTool';
      server: string;
      tool: string;
      args?: Record<string, unknown>;
      retry?: boolean;
    })
  | (RequestBase & { type: 'mcp.readResource'; server: string; uri: string })
  | (RequestBase & { type: 'mcp.getPrompt'; server: string; name: string; args?: Record<string, string> })
  | (RequestBase & { type: 'mcp.listTools'; server: string })
  | (RequestBase & {
      type: 'mcp.batch';
      items: Array<{ server: string; tool: string; args?: Record<string, unknown> }>;
      failFast?: boolean;
    })
  | (RequestBase & { type: 'mcp.persist' })
  | { type: 'mcp.restart'; server: string }
  | { type: 'mcp.close' };

/** Events the runtime actor sends (to `replyTo` or its parent). */
export type McpRuntimeOutput =
  | { type: 'mcp.result'; requestId?: string; server?: string; value: unknown }
  | { type: 'mcp.error'; requestId?: string; server?: string; code: ErrorCode | 'UNKNOWN'; message: string }
  | { type: 'mcp.connect'; server: string; reconnect: boolean }
  | { type: 'mcp.disconnect'; server: string; reason: string | null }
  | { type: 'mcp.breaker'; server: string; from: string; to: string; reason: string; tool?: string }
  | { type: 'mcp.resourceUpdated'; server: string; uri: string }
  | { type: 'mcp.serverFailed'; server: string; code: string; message: string }
  | { type: 'mcp.persisted'; requestId?: string; snapshot: PersistedRuntime }
  | { type: 'mcp.closed' };

/** Input of {@link mcpRuntimeLogic}. */
export interface McpRuntimeLogicInput {
  config: RuntimeConfig;
  /** A persisted runtime to resume from (see `persist()`). */
  restoreFrom?: PersistedRuntime | string;
  /** Extra inspection observer (the parent system's inspectors get the events anyway). */
  inspect?: (event: InspectionEvent) => void;
}

interface InspectableSystem {
  _sendInspectionEvent?: (event: InspectionEvent) => void;
}

function errorFields(error: unknown): { code: ErrorCode | 'UNKNOWN'; message: string } {
  return isMcpRuntimeError(error)
    ? { code: error.code, message: error.message }
    : { code: 'UNKNOWN', message: error instanceof Error ? error.message : String(error) };
}

/**
 * Runtime actor logic. Invoke it with `input: { config }`.
 *
 * @example
 * const app = setup({ actors: { mcp: mcpRuntimeLogic } }).createMachine({
 *   invoke: { id: 'mcp', src: 'mcp', input: { config } },
 *   on: { 'mcp.serverFailed': { actions: sendTo('mcp', ({ event }) => ({ type: 'mcp.restart', server: event.server })) } },
 * });
 */
export const mcpRuntimeLogic = fromCallback<McpRuntimeRequest, McpRuntimeLogicInput, McpRuntimeOutput>(
  (args) => runRuntimeActor(args),
);

type CallbackArgs<TInput> = Parameters<
  Parameters<typeof fromCallback<McpRuntimeRequest, TInput, McpRuntimeOutput>>[0]
>[0];

/** The body shared by {@link mcpRuntimeLogic} and {@link createRuntimeLogic}. */
function runRuntimeActor({
  input,
  sendBack,
  receive,
  system,
}: CallbackArgs<McpRuntimeLogicInput>): () => void {
  const forward = (system as unknown as InspectableSystem)._sendInspectionEvent;
  const inspect = (event: InspectionEvent): void => {
    forward?.(event);
    input.inspect?.(event);
  };
  const rt: McpRuntime = createRuntime(input.config, {
    inspect,
    ...(input.restoreFrom ? { restoreFrom: input.restoreFrom } : {}),
  });
  let closed = false;
  const out = (event: McpRuntimeOutput): void => {
    if (!closed) sendBack(event);
  };
  const reply = (to: ReplyTarget | undefined, event: McpRuntimeOutput): void => {
    if (closed) return;
    if (to) (to as AnyActorRef).send(event);
    else sendBack(event);
  };
  rt.on('connect', ({ server, reconnect }) => out({ type: 'mcp.connect', server, reconnect }));
  rt.on('disconnect', ({ server, reason }) =>
    out({ type: 'mcp.disconnect', server, reason: reason?.message ?? null }),
  );
  rt.on('breaker', ({ server, from, to, reason, tool }) =>
    out({ type: 'mcp.breaker', server, from, to, reason, ...(tool ? { tool } : {}) }),
  );
  rt.on('resourceUpdated', ({ server, uri }) => out({ type: 'mcp.resourceUpdated', server, uri }));
  rt.on('state', (e) => {
    // Escalate when the supervisor gives up (restart intensity spent) or credentials are refused.
    const givenUp =
      (e.actor === 'supervisor' && e.to === 'failed') ||
      (e.actor.startsWith('connection') && e.to === 'failed' && e.lastError?.code === 'AUTH');
    if (givenUp) {
      out({
        type: 'mcp.serverFailed',
        server: e.server,
        code: e.lastError?.code ?? 'SERVER_FAILED',
        message: e.lastError?.message ?? `${e.server} failed`,
      });
    }
  });
  // Errors that belong to no call are reported by events, never thrown into the parent.
  rt.on('error', () => {});

  const answer = (request: RequestBase & { server?: string }, work: Promise<unknown>): void => {
    const base = {
      ...(request.requestId !== undefined ? { requestId: request.requestId } : {}),
      ...(request.server !== undefined ? { server: request.server } : {}),
    };
    work.then(
      (value) => reply(request.replyTo, { type: 'mcp.result', ...base, value }),
      (error: unknown) => reply(request.replyTo, { type: 'mcp.error', ...base, ...errorFields(error) }),
    );
  };

  receive((event) => {
    const timeout =
      'timeoutMs' in event && event.timeoutMs !== undefined ? { timeoutMs: event.timeoutMs } : {};
    switch (event.type) {
      case 'mcp.callTool':
        return answer(
          event,
          rt.callTool(event.server, event.tool, event.args ?? {}, {
            ...timeout,
            ...(event.retry !== undefined ? { retry: event.retry } : {}),
          }),
        );
      case 'mcp.readResource':
        return answer(event, rt.readResource(event.server, event.uri, timeout));
      case 'mcp.getPrompt':
        return answer(event, rt.getPrompt(event.server, event.name, event.args ?? {}, timeout));
      case 'mcp.listTools':
        return answer(event, rt.listTools(event.server, timeout));
      case 'mcp.batch': {
        const batch = rt.batch(event.failFast !== undefined ? { failFast: event.failFast } : {});
        for (const item of event.items) batch.add(item.server, item.tool, item.args ?? {}, timeout);
        return answer(
          event,
          batch
            .execute()
            .then((outcomes) =>
              outcomes.map((o) => (o.ok ? o : { ok: false as const, error: errorFields(o.error) })),
            ),
        );
      }
      case 'mcp.persist':
        return reply(event.replyTo, {
          type: 'mcp.persisted',
          ...(event.requestId !== undefined ? { requestId: event.requestId } : {}),
          snapshot: rt.persist(),
        });
      case 'mcp.restart':
        rt.restart(event.server);
        return;
      case 'mcp.close':
        void rt.close().then(() => {
          out({ type: 'mcp.closed' });
          closed = true;
        });
        return;
    }
  });

  return () => {
    closed = true;
    void rt.close();
  };
}

/**
 * Actor logic bound to one configuration (no `input` needed when invoking).
 *
 * @example
 * const app = createMachine({ invoke: { src: createRuntimeLogic(config) } });
 */
export function createRuntimeLogic(
  config: RuntimeConfig,
  options: Omit<McpRuntimeLogicInput, 'config'> = {},
) {
  return fromCallback<McpRuntimeRequest, void, McpRuntimeOutput>((args) =>
    runRuntimeActor({ ...args, input: { config, ...options } } as CallbackArgs<McpRuntimeLogicInput>),
  );
}

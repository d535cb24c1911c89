/**
 * The agent of examples/embedded-agent.ts: an application statechart that invokes the MCP runtime
 * as its child actor `mcp` (`mcpRuntimeLogic`), works through a list of tasks by calling a tool,
 * and reacts to the runtime's events — when the primary server's circuit breaker opens it switches
 * to the fallback server and asks again. Every implementation is named in `setup()`, so the chart
 * is drawn in docs/statecharts (`npm run statecharts`) with the runtime as the invoked child `mcp`.
 */
import { assign, sendTo, setup } from 'xstate';
import { type McpRuntimeOutput, mcpRuntimeLogic, type RuntimeConfig } from '../src/index.js';

/** What the agent is given. */
export interface AgentInput {
  /** The runtime's configuration (names both servers). */
  config: RuntimeConfig;
  primary: string;
  fallback: string;
  /** The texts to send, one `echo` call each. */
  tasks: string[];
  /** Deadline of one call (ms). */
  callTimeoutMs: number;
  /** Attempts per task before the agent gives up. */
  maxAttempts: number;
}

/** One task done. */
export interface AgentAnswer {
  task: string;
  server: string;
  text: string;
}

/** The agent's context. */
export interface AgentContext extends AgentInput {
  /** The server tasks go to now. */
  current: string;
  next: number;
  attempts: number;
  requestSeq: number;
  requestId: string;
  answers: AgentAnswer[];
  /** What the agent saw of the runtime: breaker transitions and errors, in order. */
  log: string[];
}

type McpEvent = McpRuntimeOutput;

function textOf(value: unknown): string {
  const first = (value as { content?: Array<{ type: string; text?: string }> } | undefined)?.content?.[0];
  return first?.type === 'text' ? (first.text ?? '') : '';
}

/**
 * The agent machine: `running` (invokes `mcp`) → `asking` ⇄ results/errors → `done` | `gaveUp`.
 *
 * @example
 * const agent = createActor(embeddedAgentMachine, { input: { config, primary: 'a', fallback: 'b', tasks: ['x'], callTimeoutMs: 500, maxAttempts: 5 } });
 */
export const embeddedAgentMachine = setup({
  types: {
    input: {} as AgentInput,
    context: {} as AgentContext,
    events: {} as McpEvent,
    output: {} as { answers: AgentAnswer[]; log: string[] },
  },
  actors: { mcp: mcpRuntimeLogic },
  actions: {
    newRequest: assign({
      requestSeq: ({ context }) => context.requestSeq + 1,
      requestId: ({ context }) => `r${context.requestSeq + 1}`,
    }),
    askCurrentServer: sendTo('mcp', ({ context }) => ({
      type: 'mcp.callTool' as const,
      server: context.current,
      tool: 'echo',
      args: { text: context.tasks[context.next] ?? '' },
      requestId: context.requestId,
      timeoutMs: context.callTimeoutMs,
    })),
    recordAnswer: assign(({ context, event }) => ({
      answers: [
        ...context.answers,
        {
          task: context.tasks[context.next] ?? '',
          server: context.current,
          text: event.type === 'mcp.result' ? textOf(event.value) : '',
        },
      ],
      next: context.next + 1,
      attempts: 0,
    })),
    recordFailure: assign(({ context, event }) => ({
      attempts: context.attempts + 1,
      log: [...context.log, event.type === 'mcp.error' ? `error ${event.server}: ${event.code}` : 'error'],
    })),
    switchToFallback: assign(({ context, event }) => ({
      current: context.fallback,
      attempts: 0,
      log: [
        ...context.log,
        event.type === 'mcp.breaker' ? `breaker ${event.server}: ${event.from} -> ${event.to}` : 'breaker',
        `switched to ${context.fallback}`,
      ],
    })),
  },
  guards: {
    isCurrentRequest: ({ context, event }) =>
      (event.type === 'mcp.result' || event.type === 'mcp.error') && event.requestId === context.requestId,
    primaryBreakerOpened: ({ context, event }) =>
      event.type === 'mcp.breaker' &&
      event.server === context.primary &&
      event.to === 'open' &&
      context.current === context.primary,
    hasMoreTasks: ({ context }) => context.next < context.tasks.length,
    attemptsLeft: ({ context }) => context.attempts < context.maxAttempts,
  },
}).createMachine({
  id: 'embeddedAgent',
  context: ({ input }) => ({
    ...input,
    current: input.primary,
    next: 0,
    attempts: 0,
    requestSeq: 0,
    requestId: '',
    answers: [],
    log: [],
  }),
  initial: 'running',
  states: {
    running: {
      invoke: { id: 'mcp', src: 'mcp', input: ({ context }) => ({ config: context.config }) },
      initial: 'asking',
      on: {
        'mcp.breaker': {
          guard: 'primaryBreakerOpened',
          target: '.asking',
          reenter: true,
          actions: 'switchToFallback',
        },
      },
      states: {
        asking: {
          entry: ['newRequest', 'askCurrentServer'],
          on: {
            'mcp.result': { guard: 'isCurrentRequest', target: 'answered', actions: 'recordAnswer' },
            'mcp.error': { guard: 'isCurrentRequest', target: 'failedAttempt', actions: 'recordFailure' },
          },
        },
        answered: {
          always: [{ guard: 'hasMoreTasks', target: 'asking' }, { target: '#embeddedAgent.done' }],
        },
        failedAttempt: {
          always: [{ guard: 'attemptsLeft', target: 'asking' }, { target: '#embeddedAgent.gaveUp' }],
        },
      },
    },
    done: { type: 'final' },
    gaveUp: { type: 'final' },
  },
  output: ({ context }) => ({ answers: context.answers, log: context.log }),
});

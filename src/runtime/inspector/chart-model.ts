/**
 * A plain model of a statechart, read from an xstate machine: the state tree and every transition
 * with its event, guard, delay and actions BY NAME. The Mermaid, DOT and page renderers draw from
 * it, so they agree on what a machine looks like. Nothing from the machine's context is read.
 */
import type { AnyStateMachine, EventObject, MachineContext, StateNode } from 'xstate';

/** The kind of a state node. */
export type ChartStateType = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';

/** One state node. `id` is xstate's state node id (`connection.ready.waiting`). */
export interface ChartState {
  id: string;
  key: string;
  /** Keys from the root (the root's is empty). */
  path: string[];
  type: ChartStateType;
  /** Id of the initial child (compound states). */
  initial: string | undefined;
  children: ChartState[];
  entry: string[];
  exit: string[];
  /** Invoked actors, as `src` names. */
  invoke: string[];
  description: string | undefined;
}

/** One transition (one branch of a guarded list). */
export interface ChartTransition {
  /** Id of the state that declares it. */
  source: string;
  /** Target state ids; empty for a targetless (actions-only) transition. */
  targets: string[];
  /** The human form of the event: `CONNECT`, `after retryBackoff`, `done openTransport`, `always`. */
  event: string;
  guard: string | undefined;
  actions: string[];
  reenter: boolean;
}

/** A machine as plain data. */
export interface ChartModel {
  id: string;
  root: ChartState;
  transitions: ChartTransition[];
}

type AnyNode = StateNode<MachineContext, EventObject>;
interface TransitionLike {
  target?: readonly AnyNode[] | undefined;
  guard?: unknown;
  actions?: readonly unknown[];
  reenter?: boolean;
  eventType: string;
  delay?: unknown;
}

/** Name of an action, guard or actor reference: a string, `{ type }`, or a named function. */
export function implementationName(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && (typeof value === 'object' || typeof value === 'function')) {
    const v = value as { type?: unknown; name?: unknown; guards?: unknown };
    if (typeof v.type === 'string') return v.type;
    if (Array.isArray(v.guards) && typeof v.name === 'string') {
      return `${v.name}(${v.guards.map(implementationName).join(', ')})`;
    }
    if (typeof v.name === 'string' && v.name) return v.name;
  }
  return 'inline';
}

/** Names of actions as written in the config (so xstate's own timer actions stay out). */
function configActions(value: unknown): string[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map(implementationName);
}

/** The readable form of an event type. */
export function eventLabel(eventType: string, delay?: unknown): string {
  if (eventType === '') return 'always';
  if (eventType.startsWith('xstate.after.')) {
    const d = typeof delay === 'number' ? `${delay} ms` : String(delay ?? eventType.split('.')[2]);
    return `after ${d}`;
  }
  const done = /^xstate\.(done|error)\.actor\.(.+)$/.exec(eventType);
  if (done) return `${done[1]} ${done[2]}`;
  const doneState = /^xstate\.done\.state\.(.+)$/.exec(eventType);
  if (doneState) return `done ${doneState[1]}`;
  return eventType;
}

function readState(node: AnyNode, transitions: ChartTransition[]): ChartState {
  const children = Object.values(node.states as Record<string, AnyNode>).map((child) =>
    readState(child, transitions),
  );
  const initialTarget =
    node.type === 'compound' ? (node.initial.target as readonly AnyNode[])[0]?.id : undefined;
  const record = (t: TransitionLike): void => {
    transitions.push({
      source: node.id,
      targets: (t.target ?? []).map((n) => n.id),
      event: eventLabel(t.eventType, t.delay),
      guard: t.guard === undefined ? undefined : implementationName(t.guard),
      actions: (t.actions ?? []).map(implementationName),
      reenter: Boolean(t.reenter),
    });
  };
  for (const list of node.transitions.values()) for (const t of list) record(t as unknown as TransitionLike);
  for (const t of node.always ?? []) record(t as unknown as TransitionLike);
  return {
    id: node.id,
    key: node.key,
    path: node.path,
    type: node.type,
    initial: initialTarget,
    children,
    entry: configActions(node.config.entry),
    exit: configActions(node.config.exit),
    invoke: node.invoke.map((i) => implementationName(i.src)),
    description: node.description,
  };
}

/**
 * Reads a machine into a {@link ChartModel}. Deterministic: the order is the machine's own.
 *
 * @example
 * const model = chartModel(connectionMachine);
 * model.transitions.filter((t) => t.event === 'CONNECT');
 */
export function chartModel(machine: AnyStateMachine): ChartModel {
  const transitions: ChartTransition[] = [];
  const root = readState(machine.root as AnyNode, transitions);
  return { id: machine.id, root, transitions };
}

/** Every state of the model, depth first (the root first). */
export function allStates(model: ChartModel): ChartState[] {
  const out: ChartState[] = [];
  const walk = (s: ChartState): void => {
    out.push(s);
    for (const c of s.children) walk(c);
  };
  walk(model.root);
  return out;
}

/** `EVENT [guard] / a, b`: the label of a transition. */
export function transitionLabel(t: ChartTransition): string {
  return `${t.event}${t.guard ? ` [${t.guard}]` : ''}${t.actions.length ? ` / ${t.actions.join(', ')}` : ''}`;
}

/**
 * The ids of the active state nodes for a state value (root included), e.g.
 * `{ ready: 'waiting' }` → `['connection', 'connection.ready', 'connection.ready.waiting']`.
 */
export function activeStateIds(machine: AnyStateMachine, value: unknown): string[] {
  const ids: string[] = [machine.root.id];
  const walk = (node: AnyNode, v: unknown): void => {
    const states = node.states as Record<string, AnyNode>;
    if (typeof v === 'string') {
      const child = states[v];
      if (child) ids.push(child.id);
      return;
    }
    if (v && typeof v === 'object') {
      for (const [key, sub] of Object.entries(v as Record<string, unknown>)) {
        const child = states[key];
        if (!child) continue;
        ids.push(child.id);
        walk(child, sub);
      }
    }
  };
  walk(machine.root as AnyNode, value);
  return ids;
}

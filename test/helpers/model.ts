/**
 * Model-based testing helpers shared by every machine test: enumerate the transitions a machine
 * defines, record the ones a live actor takes (from xstate's `@xstate.microstep` inspection
 * events), and drive invoked promise actors from a test through deferreds.
 */
import { type AnyStateMachine, type AnyStateNode, fromPromise, type InspectionEvent } from 'xstate';

interface TransitionLike {
  source: AnyStateNode;
  target?: readonly AnyStateNode[] | undefined;
  eventType: string;
  guard?: unknown;
}

function guardName(guard: unknown): string {
  if (!guard) return '';
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'object' && guard !== null && 'type' in guard) return String(guard.type);
  return 'inline';
}

/** A stable key naming one transition: `source --event [guard]--> targets`. */
export function transitionKey(t: TransitionLike): string {
  const guard = guardName(t.guard);
  const targets = t.target && t.target.length > 0 ? t.target.map((n) => n.id).join(',') : '(self)';
  return `${t.source.id} --${t.eventType || 'always'}${guard ? ` [${guard}]` : ''}--> ${targets}`;
}

/** Every transition the machine defines (event, delayed, eventless), as keys. */
export function definedTransitions(machine: AnyStateMachine): Set<string> {
  const keys = new Set<string>();
  const walk = (node: AnyStateNode): void => {
    for (const list of node.transitions.values()) for (const t of list) keys.add(transitionKey(t));
    for (const t of node.always ?? []) keys.add(transitionKey(t));
    for (const child of Object.values(node.states)) walk(child);
  };
  walk(machine.root);
  return keys;
}

/** Every state node id of the machine. */
export function definedStates(machine: AnyStateMachine): Set<string> {
  const ids = new Set<string>();
  const walk = (node: AnyStateNode): void => {
    ids.add(node.id);
    for (const child of Object.values(node.states)) walk(child);
  };
  walk(machine.root);
  return ids;
}

/** An inspection observer that adds every taken transition's key to `taken`. */
export function recordTransitions(taken: Set<string>): (event: InspectionEvent) => void {
  return (event) => {
    if (event.type === '@xstate.microstep') {
      for (const t of (event as unknown as { _transitions: TransitionLike[] })._transitions)
        taken.add(transitionKey(t));
    }
  };
}

interface Deferred {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Promise actors whose settlement the test controls: each invocation of `name` parks a deferred;
 * `settle('xstate.done.actor.ID' | 'xstate.error.actor.ID', payload)` settles the newest one.
 */
export class PromiseActorDriver {
  private readonly pending = new Map<string, Deferred>();
  /** How many times each actor source was invoked. */
  readonly invocations = new Map<string, number>();

  /** A fromPromise actor parked under `name` until the test settles it. */
  actor<TOutput, TInput>(name: string) {
    return fromPromise<TOutput, TInput>(
      () =>
        new Promise<TOutput>((resolve, reject) => {
          this.invocations.set(name, (this.invocations.get(name) ?? 0) + 1);
          this.pending.set(name, { resolve: resolve as (v: unknown) => void, reject });
        }),
    );
  }

  /** Settles the parked invocation named by a done/error event type; returns false when it is not one. */
  settle(eventType: string, payload: { output?: unknown; error?: unknown }): boolean {
    const done = /^xstate\.done\.actor\.(.+)$/.exec(eventType);
    const failed = /^xstate\.error\.actor\.(.+)$/.exec(eventType);
    const name = done?.[1] ?? failed?.[1];
    if (!name) return false;
    const d = this.pending.get(name);
    if (!d) throw new Error(`No pending invocation of ${name}`);
    this.pending.delete(name);
    if (done) d.resolve(payload.output);
    else d.reject(payload.error);
    return true;
  }
}

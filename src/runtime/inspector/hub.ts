/**
 * The runtime's one xstate inspection observer. Every actor the runtime creates reports here; the
 * hub forwards to the application's own `inspect` option and to any live listener (the inspector
 * page), and remembers the running state-machine actors so a page that opens late still sees each
 * actor's current state. With no listener the cost is a function call per inspection event.
 */
import type { AnyActorRef, InspectionEvent } from 'xstate';

/** Receives inspection events. */
export type InspectionListener = (event: InspectionEvent) => void;

function isMachineActor(ref: AnyActorRef): boolean {
  const logic = (ref as { logic?: { root?: unknown; config?: unknown } }).logic;
  return !!logic?.root && !!logic.config;
}

/** Fans the runtime's inspection events out; tracks the live machine actors. */
export class InspectionHub {
  private readonly listeners = new Set<InspectionListener>();
  private readonly actors = new Map<string, AnyActorRef>();
  /** The server each actor was created for (by session id), when its creator said so. */
  private readonly servers = new Map<string, string>();
  private readonly perServer = new Map<string, InspectionListener>();

  constructor(private readonly forward?: InspectionListener) {}

  /** The observer to hand to `createActor({ inspect })`. */
  readonly observer = (event: InspectionEvent): void => {
    if (event.type === '@xstate.actor') {
      const ref = event.actorRef as AnyActorRef;
      if (isMachineActor(ref)) this.actors.set(ref.sessionId, ref);
    } else if (event.type === '@xstate.snapshot') {
      const status = (event.snapshot as { status?: string }).status;
      if (status !== 'active') {
        this.actors.delete(event.actorRef.sessionId);
        this.servers.delete(event.actorRef.sessionId);
      }
    }
    this.forward?.(event);
    for (const listener of this.listeners) listener(event);
  };

  /**
   * The observer for actors created on behalf of one server: a queue or breaker machine carries no
   * server in its context, so the inspector learns it here instead of showing it as runtime-wide.
   */
  observerFor(server: string): InspectionListener {
    let observer = this.perServer.get(server);
    if (!observer) {
      observer = (event) => {
        if (event.type === '@xstate.actor') this.servers.set(event.actorRef.sessionId, server);
        this.observer(event);
      };
      this.perServer.set(server, observer);
    }
    return observer;
  }

  /** The server an actor was created for, when known. */
  serverOf(ref: AnyActorRef): string | undefined {
    return this.servers.get(ref.sessionId);
  }

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: InspectionListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** The state-machine actors currently running (not the promise actors they invoke). */
  get machineActors(): AnyActorRef[] {
    return [...this.actors.values()];
  }
}

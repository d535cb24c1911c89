/**
 * Every connection is an actor under its server's supervisor (issue 17, heap per connection): the
 * connection actors of a pool live in the supervisor's actor system instead of each carrying one
 * of their own, the runtime's inspection observer still sees them, and close() stops them.
 */

import { describe, expect, it } from 'vitest';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { createRuntime } from '../../src/index.js';
import { createMockServer } from '../../src/testing/index.js';

const machineOf = (ref: AnyActorRef): string | undefined =>
  (ref as unknown as { logic?: { id?: string } }).logic?.id;

describe('connection actors share their supervisor’s actor system', () => {
  it('a pool of two: one system, inspected, stopped by close()', async () => {
    const actors: AnyActorRef[] = [];
    const readyActors = new Set<string>();
    let bothReady: () => void = () => {};
    const ready = new Promise<void>((resolve) => {
      bothReady = resolve;
    });
    const mock = createMockServer();
    mock.addTool('echo', ({ text }) => String(text));
    const rt = createRuntime(
      {
        servers: {
          s: {
            mock,
            pool: { min: 2, max: 2 },
            heartbeat: { intervalMs: 0 },
          },
        },
      },
      {
        inspect: (event: InspectionEvent) => {
          const ref = event.actorRef as AnyActorRef;
          if (event.type === '@xstate.actor') actors.push(ref);
          if (event.type === '@xstate.snapshot' && machineOf(ref) === 'connection') {
            const value = (event.snapshot as { value?: unknown }).value;
            // `ready` is compound (heartbeat substates): its value is `{ ready: ... }`.
            if (value === 'ready' || (typeof value === 'object' && value !== null && 'ready' in value))
              readyActors.add(ref.sessionId);
            if (readyActors.size === 2) bothReady();
          }
        },
      },
    );
    try {
      await rt.start();
      // Both members become ready, each seen through the runtime's one inspection observer.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        ready,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`ready connections seen: ${readyActors.size}`)), 10_000);
        }),
      ]).finally(() => clearTimeout(timer));
      const connections = actors.filter((a) => machineOf(a) === 'connection');
      const supervisor = actors.find((a) => machineOf(a) === 'supervisor');
      expect(connections).toHaveLength(2);
      expect(supervisor).toBeDefined();
      expect(connections[0]!.system).toBe(supervisor!.system);
      expect(connections[1]!.system).toBe(supervisor!.system);
      expect(await rt.callTool('s', 'echo', { text: 'hi' })).toMatchObject({
        content: [{ type: 'text', text: 'hi' }],
      });
    } finally {
      await rt.close();
    }
    // Under a parent an actor cannot be stopped from outside: close() ends it in its final state.
    const connections = actors.filter((a) => machineOf(a) === 'connection');
    expect(connections.map((a) => a.getSnapshot().status)).toEqual(['done', 'done']);
  });
});

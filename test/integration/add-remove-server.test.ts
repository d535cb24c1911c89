/**
 * Servers added and removed at run time (issue 16, item 15): `addServer` validates like
 * `createRuntime` (CONFIG naming the field, the runtime's defaults apply); `removeServer` closes the
 * server's connections and rejects its queued and in-flight calls with CLOSED.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoServerHandle, startDemoServer } from '../../src/demo/demo-server.js';
import { createRuntime, isMcpRuntimeError, type McpRuntime } from '../../src/index.js';

let demo: DemoServerHandle;

beforeAll(async () => {
  demo = await startDemoServer();
});

afterAll(async () => {
  await demo?.close();
});

describe('addServer / removeServer', () => {
  it('addServer validates like createRuntime, naming the field', async () => {
    const rt: McpRuntime = createRuntime({ servers: { a: { url: demo.wsUrl } } });
    try {
      const bad = (fn: () => void): unknown => {
        try {
          fn();
          return undefined;
        } catch (error) {
          return error;
        }
      };
      const negative = bad(() => rt.addServer('b', { url: demo.wsUrl, timeoutMs: -1 }));
      expect(isMcpRuntimeError(negative, 'CONFIG') && negative.issues[0]?.path).toBe('servers.b.timeoutMs');
      const dotted = bad(() => rt.addServer('b.c', { url: demo.wsUrl }));
      expect(isMcpRuntimeError(dotted, 'CONFIG') && dotted.issues[0]?.path).toBe('servers.b.c');
      const neither = bad(() => rt.addServer('b', {}));
      expect(neither).toMatchObject({ code: 'CONFIG' });
      const taken = bad(() => rt.addServer('a', { url: demo.httpUrl }));
      expect(taken).toMatchObject({ code: 'CONFIG', message: expect.stringContaining('already configured') });
      expect(rt.serverNames).toEqual(['a']);
    } finally {
      await rt.close();
    }
  });

  it('an added server connects, takes calls and gets the runtime defaults', async () => {
    const rt = createRuntime({ servers: {}, defaults: { timeoutMs: 4_321, queue: { concurrency: 3 } } });
    try {
      rt.addServer('late', { url: demo.httpUrl });
      expect(rt.serverNames).toEqual(['late']);
      await rt.start(['late']);
      expect(rt.tools('late').map((t) => t.name)).toContain('echo');
      const result = await rt.callTool('late', 'echo', { text: 'added' });
      expect(result.content).toEqual([{ type: 'text', text: 'added' }]);
      const late = rt.config.servers.get('late');
      expect(late?.timeoutMs).toBe(4_321);
      expect(late?.queue.concurrency).toBe(3);
    } finally {
      await rt.close();
    }
  });

  it('removeServer rejects in-flight and queued calls with CLOSED and forgets the server', async () => {
    const rt = createRuntime({
      servers: { keep: { url: demo.wsUrl }, gone: { url: demo.wsUrl, queue: { concurrency: 1 } } },
    });
    try {
      await rt.start();
      const inFlight = rt.callTool('gone', 'slow', { durationMs: 5_000, steps: 1 }).catch((e: unknown) => e);
      const queued = rt.callTool('gone', 'echo', { text: 'waits' }).catch((e: unknown) => e);
      expect(rt.snapshot().servers.gone?.queue).toMatchObject({ inFlight: 1, queued: 1 });
      const t0 = performance.now();
      await rt.removeServer('gone');
      expect(await inFlight).toMatchObject({ code: 'CLOSED', server: 'gone' });
      expect(await queued).toMatchObject({ code: 'CLOSED', server: 'gone' });
      expect(performance.now() - t0).toBeLessThan(2_000);
      expect(rt.serverNames).toEqual(['keep']);
      expect(rt.tools('gone')).toEqual([]);
      await expect(rt.callTool('gone', 'echo', { text: 'x' })).rejects.toMatchObject({ code: 'CONFIG' });
      await expect(rt.removeServer('gone')).rejects.toMatchObject({ code: 'CONFIG' });
      // The other server is untouched, and the name can be used again.
      expect((await rt.callTool('keep', 'echo', { text: 'still' })).content).toEqual([
        { type: 'text', text: 'still' },
      ]);
      rt.addServer('gone', { url: demo.httpUrl });
      expect((await rt.callTool('gone', 'echo', { text: 'back' })).content).toEqual([
        { type: 'text', text: 'back' },
      ]);
    } finally {
      await rt.close();
    }
  });
});

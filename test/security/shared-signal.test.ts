/**
 * Issue 15, item 5: a caller's AbortSignal shared by many calls. Each call holds at most its own
 * listeners while it runs and removes them when it settles, so 5,000 sequential calls leave none
 * behind, Node prints no MaxListenersExceededWarning, and a later `abort()` sends no
 * `notifications/cancelled` for requests long finished.
 */
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, type McpRuntime } from '../../src/index.js';
import { createMockServer } from '../../src/testing/index.js';

let rt: McpRuntime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

describe('a shared AbortSignal', () => {
  it('keeps no listener per finished call, and a late abort cancels nothing', async () => {
    const mock = createMockServer().addTool('echo', ({ text }) => String(text));
    rt = createRuntime({ servers: { m: { mock } } });
    const cancelled: unknown[] = [];
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w);
    };
    process.on('warning', onWarning);
    const controller = new AbortController();
    try {
      await rt.start();
      let maxListeners = 0;
      for (let i = 0; i < 5_000; i++) {
        const call = rt.callTool('m', 'echo', { text: 'x' }, { signal: controller.signal });
        maxListeners = Math.max(maxListeners, getEventListeners(controller.signal, 'abort').length);
        await call;
      }
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      // While a call runs it holds a bounded number of listeners (the runtime's and the SDK's).
      expect(maxListeners).toBeLessThanOrEqual(2);
      rt.on('error', (e) => cancelled.push(e));
      const before = mock.callsTo('notifications/cancelled').length;
      controller.abort();
      await new Promise((r) => setImmediate(r));
      expect(mock.callsTo('notifications/cancelled').length - before).toBe(0);
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
      expect(cancelled).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

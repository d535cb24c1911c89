/**
 * Tools and prompts are listed on connect (issue 16, item 8): `rt.tools()` is filled when
 * `start()` resolves, and a bad argument is VALIDATION from the first call (not the server's
 * -32602), with `start()` and without it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoServerHandle, startDemoServer } from '../../src/demo/demo-server.js';
import { createRuntime, type McpRuntime } from '../../src/index.js';
import { createMockServer } from '../../src/testing/index.js';
import { serveHostile } from '../property/hostile-server.js';

let demo: DemoServerHandle;

beforeAll(async () => {
  demo = await startDemoServer();
});

afterAll(async () => {
  await demo?.close();
});

// In process there is no `crash` tool (it would exit the test runner).
const DEMO_TOOLS = ['add', 'ask', 'counter', 'echo', 'fail', 'slow'];

describe('lists on connect', () => {
  for (const transport of ['ws', 'http'] as const) {
    it(`start() resolves with tools and prompts in the registry (${transport})`, async () => {
      const rt: McpRuntime = createRuntime({
        servers: { demo: { url: transport === 'ws' ? demo.wsUrl : demo.httpUrl } },
      });
      try {
        expect(rt.tools()).toEqual([]);
        await rt.start();
        expect(
          rt
            .tools('demo')
            .map((t) => t.name)
            .sort(),
        ).toEqual(DEMO_TOOLS);
        expect(rt.findTool('demo.echo')?.annotations?.readOnlyHint).toBe(true);
        expect(rt.prompts('demo').map((p) => p.name)).toEqual(['greet']);
        // The first call's arguments are checked before anything is sent.
        const bad = await rt.callTool('demo', 'echo', { text: 5 }).catch((e: unknown) => e);
        expect(bad).toMatchObject({ code: 'VALIDATION', server: 'demo' });
        expect((bad as Error).message).toMatch(/arguments\.text/);
        // Listing is part of connecting: no call was counted, and none was sent.
        expect(rt.snapshot().servers.demo?.stats.calls).toBe(0);
      } finally {
        await rt.close();
      }
    });
  }

  it('a first call without start() waits for the list and is validated too', async () => {
    const rt = createRuntime({ servers: { demo: { url: demo.wsUrl } } });
    try {
      const bad = await rt.callTool('demo', 'add', { a: 1, b: 'two' }).catch((e: unknown) => e);
      expect(bad).toMatchObject({ code: 'VALIDATION' });
      expect((bad as Error).message).toMatch(/arguments\.b/);
      const ok = await rt.callTool('demo', 'add', { a: 1, b: 2 });
      expect(ok.content).toEqual([{ type: 'text', text: '3' }]);
      expect(rt.snapshot().servers.demo?.stats).toMatchObject({ calls: 1, ok: 1 });
    } finally {
      await rt.close();
    }
  });

  it('an explicit listTools while connecting is not followed by a second tools/list', async () => {
    const mock = createMockServer().addTool('echo', ({ text }) => String(text));
    const rt = createRuntime({ servers: { m: { mock } } });
    try {
      await rt.listTools('m');
      await rt.callTool('m', 'echo', { text: 'hi' });
      expect(mock.callsTo('tools/list')).toHaveLength(1);
    } finally {
      await rt.close();
    }
  });

  it('a tools/list that never answers costs a first call at most half its deadline, not the listing timeout', async () => {
    // The server answers initialize and tools/call, never tools/list; the listing's own timeout
    // (initializeTimeoutMs) is a minute, so a call that waited for it could not settle in time.
    const silent = await serveHostile({
      onRequest: (s) => {
        if (s.request.method !== 'tools/list') s.reply('answered');
      },
    });
    const rt = createRuntime({ servers: { s: { url: silent.url, initializeTimeoutMs: 60_000 } } });
    rt.on('error', () => {});
    try {
      const startedMs = performance.now();
      const result = await rt.callTool('s', 'anything', {}, { timeoutMs: 1_000 });
      expect(result.content).toEqual([{ type: 'text', text: 'answered' }]);
      // Generous against a loaded machine; the listing's timeout is 60 s.
      expect(performance.now() - startedMs).toBeLessThan(10_000);
    } finally {
      await rt.close();
      await silent.close();
    }
  }, 20_000);
});

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { assign, createActor, type InspectionEvent, sendTo, setup, waitFor } from 'xstate';
import { startDemoServer } from '../../src/demo/demo-server.js';
import { createRuntime, type RuntimeConfig } from '../../src/index.js';
import { type McpRuntimeOutput, mcpRuntimeLogic } from '../../src/runtime/runtime-logic.js';

type Demo = Awaited<ReturnType<typeof startDemoServer>>;

/** A small application machine that embeds the runtime and reacts to its events. */
function appMachine() {
  return setup({
    types: {
      context: {} as { config: RuntimeConfig; results: unknown[]; errors: string[]; failed: string[] },
      events: {} as
        | McpRuntimeOutput
        | { type: 'ask'; text: string }
        | { type: 'askBad' }
        | { type: 'retryServer'; server: string },
      input: {} as { config: RuntimeConfig },
    },
    actors: { mcp: mcpRuntimeLogic },
    actions: {
      askEcho: sendTo('mcp', ({ event }) => ({
        type: 'mcp.callTool' as const,
        server: 'demo',
        tool: 'echo',
        args: { text: (event as { text: string }).text },
        requestId: 'r1',
      })),
      askMissing: sendTo('mcp', {
        type: 'mcp.callTool' as const,
        server: 'demo',
        tool: 'fail',
        args: { message: 'x' },
        requestId: 'r2',
      }),
      keepResult: assign({ results: ({ context, event }) => [...context.results, event] }),
      keepError: assign({
        errors: ({ context, event }) => [...context.errors, (event as { code: string }).code],
      }),
      keepFailure: assign({
        failed: ({ context, event }) => [...context.failed, (event as { server: string }).server],
      }),
      restartServer: sendTo('mcp', ({ event }) => ({
        type: 'mcp.restart' as const,
        server: (event as { server: string }).server,
      })),
    },
  }).createMachine({
    id: 'app',
    context: ({ input }) => ({ config: input.config, results: [], errors: [], failed: [] }),
    invoke: { id: 'mcp', src: 'mcp', input: ({ context }) => ({ config: context.config }) },
    initial: 'healthy',
    states: {
      healthy: {
        on: {
          'mcp.serverFailed': { target: 'degraded', actions: 'keepFailure' },
        },
      },
      degraded: {
        on: {
          retryServer: { actions: 'restartServer' },
          'mcp.connect': { target: 'healthy' },
        },
      },
    },
    on: {
      ask: { actions: 'askEcho' },
      askBad: { actions: 'askMissing' },
      'mcp.result': { actions: 'keepResult' },
      'mcp.error': { actions: 'keepError' },
    },
  });
}

describe('the runtime as an actor inside an application', () => {
  let demo: Demo;
  beforeAll(async () => {
    demo = await startDemoServer();
  });
  afterAll(async () => {
    await demo.close();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('requests and replies travel as events; errors carry their code', async () => {
    const seen: InspectionEvent[] = [];
    const app = createActor(appMachine(), {
      input: {
        config: { servers: { demo: { url: demo.wsUrl } }, defaults: { heartbeat: { intervalMs: 0 } } },
      },
      inspect: (e) => seen.push(e),
    }).start();
    app.send({ type: 'ask', text: 'from the app' });
    await waitFor(app, (s) => s.context.results.length === 1, { timeout: 5_000 });
    expect(app.getSnapshot().context.results[0]).toMatchObject({
      type: 'mcp.result',
      requestId: 'r1',
      server: 'demo',
      value: { content: [{ type: 'text', text: 'from the app' }] },
    });
    app.send({ type: 'askBad' });
    await waitFor(app, (s) => s.context.errors.length === 1, { timeout: 5_000 });
    expect(app.getSnapshot().context.errors).toEqual(['TOOL']);
    // One inspector sees the application and the runtime's own actors.
    const machineIds = new Set(
      seen
        .filter((e) => e.type === '@xstate.actor')
        .map((e) => (e.actorRef as unknown as { logic?: { id?: string } }).logic?.id)
        .filter(Boolean),
    );
    expect([...machineIds]).toEqual(expect.arrayContaining(['app', 'connection', 'queue', 'breaker']));
    app.stop();
  });

  it('a server the runtime gives up on escalates; the parent decides to restart it', async () => {
    const spare = await startDemoServer();
    const port = new URL(spare.wsUrl).port;
    await spare.close();
    const app = createActor(appMachine(), {
      input: {
        config: {
          servers: { demo: { url: `ws://127.0.0.1:${port}` } },
          defaults: {
            heartbeat: { intervalMs: 0 },
            reconnect: { initialDelayMs: 10, maxDelayMs: 20, maxAttempts: 2, jitter: false },
            pool: { replaceDelayMs: 20 },
            supervisor: { maxRestarts: 1, withinMs: 60_000 },
          },
        },
      },
    }).start();
    app.send({ type: 'ask', text: 'nobody home' });
    await waitFor(app, (s) => s.matches('degraded'), { timeout: 5_000 });
    expect(app.getSnapshot().context.failed).toEqual(['demo']);
    await waitFor(app, (s) => s.context.errors.length === 1, { timeout: 5_000 });
    expect(app.getSnapshot().context.errors[0]).toBe('SERVER_FAILED');
    const back = await startDemoServer({ wsPort: Number(port) });
    try {
      app.send({ type: 'retryServer', server: 'demo' });
      await waitFor(app, (s) => s.matches('healthy'), { timeout: 5_000 });
      app.send({ type: 'ask', text: 'welcome back' });
      await waitFor(app, (s) => s.context.results.length === 1, { timeout: 5_000 });
    } finally {
      app.stop();
      await back.close();
    }
  });
});

describe('persist and restore', () => {
  let demo: Demo;
  beforeAll(async () => {
    demo = await startDemoServer();
  });
  afterAll(async () => {
    await demo.close();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const config = (url: string): RuntimeConfig => ({
    servers: { s: { url } },
    defaults: { heartbeat: { intervalMs: 0 }, breaker: { failureThreshold: 1, resetTimeoutMs: 60_000 } },
  });

  it('an open breaker stays open across a restore until its deadline, then probes and closes', async () => {
    // Only Date is virtual: sockets and the server run for real; the breaker reads its deadline from Date.
    vi.useFakeTimers({ toFake: ['Date'] });
    const first = createRuntime(config(demo.wsUrl));
    await expect(
      first.callTool('s', 'slow', { durationMs: 2_000, steps: 1 }, { timeoutMs: 50 }),
    ).rejects.toMatchObject({
      code: 'TIMEOUT',
    });
    const saved = JSON.stringify(first.persist());
    await first.close();
    const parsed = JSON.parse(saved);
    expect(parsed).toMatchObject({ format: 'mcp-actors.persist', version: 1 });
    expect(parsed.servers.s.breakers['*']).toMatchObject({ circuit: 'open', openedCount: 1 });

    vi.setSystemTime(Date.now() + 30_000);
    await using second = createRuntime(config(demo.wsUrl), { restoreFrom: saved });
    const transitions: string[] = [];
    second.on('breaker', (e) => transitions.push(`${e.from}→${e.to}`));
    const refused = await second
      .callTool('s', 'echo', { text: 'x' })
      .catch((e: { code: string; retryAfterMs: number }) => e);
    expect(refused).toMatchObject({ code: 'BREAKER_OPEN' });
    expect((refused as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(29_000);
    expect((refused as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(30_000);

    vi.setSystemTime(Date.now() + 31_000);
    const probe = await second.callTool('s', 'echo', { text: 'probe' });
    expect(probe.content[0]).toMatchObject({ text: 'probe' });
    expect(transitions).toEqual(['open→halfOpen', 'halfOpen→closed']);
    expect(second.persist().servers.s!.breakers['*']).toMatchObject({ circuit: 'closed', openUntil: null });
  });

  it('cached list results survive a restore with their age', async () => {
    const first = createRuntime(config(demo.wsUrl));
    const templates = await first.listResourceTemplates('s');
    expect(templates.map((t) => t.uriTemplate)).toContain('demo://items/{id}');
    const saved = first.persist();
    await first.close();
    expect(saved.servers.s!.lists?.['list:templates']).toMatchObject({ value: templates });
    expect(saved.servers.s!.lists?.['list:templates']?.ageMs).toBeGreaterThanOrEqual(0);
    await using second = createRuntime(config(demo.wsUrl), { restoreFrom: JSON.stringify(saved) });
    expect(await second.listResourceTemplates('s')).toEqual(templates);
    // Served from the restored cache: no request, so the server was never even connected.
    expect(second.cache.stats('s')).toMatchObject({ hits: 1, misses: 0 });
    expect(second.snapshot().servers.s!.state).toBe('idle');
  });

  it('an incompatible or malformed snapshot is refused before anything starts', () => {
    const good = createRuntime(config(demo.wsUrl)).persist();
    expect(() => createRuntime(config(demo.wsUrl), { restoreFrom: { ...good, version: 99 } })).toThrow(
      expect.objectContaining({ code: 'CONFIG', message: expect.stringMatching(/restoreFrom\.version/) }),
    );
    expect(() => createRuntime(config(demo.wsUrl), { restoreFrom: '{not json' })).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    );
    const broken = { ...good, servers: { s: { breakers: { '*': { circuit: 'sideways' } } } } };
    expect(() => createRuntime(config(demo.wsUrl), { restoreFrom: broken as never })).toThrow(
      expect.objectContaining({ code: 'CONFIG', message: expect.stringMatching(/restoreFrom\.servers\.s/) }),
    );
  });
});

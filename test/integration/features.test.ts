import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDemoServer } from '../../src/demo/demo-server.js';
import { createRuntime, type McpRuntime, type RuntimeConfig } from '../../src/index.js';
import { type SessionHttpServer, startSessionHttpServer } from '../helpers/session-http-server.js';

const fast = {
  reconnect: { initialDelayMs: 20, factor: 2, maxDelayMs: 200, maxAttempts: 20, jitter: false },
  heartbeat: { intervalMs: 0 },
  timeoutMs: 8_000,
};

function textOf(result: { content?: Array<{ type: string; text?: string }> }): string | undefined {
  return result.content?.find((c) => c.type === 'text')?.text;
}

function noteText(r: { contents: ReadonlyArray<object> }): unknown {
  return (r.contents[0] as { text?: unknown } | undefined)?.text;
}

async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('features against the demo server (Streamable HTTP)', () => {
  let http: SessionHttpServer;
  let rt: McpRuntime;
  beforeAll(async () => {
    http = await startSessionHttpServer();
  });
  afterAll(async () => {
    await http.close();
  });
  afterEach(async () => {
    await rt?.close();
  });
  const make = (extra: Partial<RuntimeConfig> = {}): McpRuntime =>
    createRuntime({
      servers: { s: { url: http.url } },
      defaults: fast,
      context: { project: 'aichemist', environment: 'test' },
      ...extra,
    });

  it('cache: hit, miss, shared concurrent reads, invalidation by a real resources/updated, watch + unsubscribe', async () => {
    rt = make();
    await rt.callTool('s', 'set-note', { text: 'v1' });
    const [a, b] = await Promise.all([
      rt.readResource('s', 'demo://note'),
      rt.readResource('s', 'demo://note'),
    ]);
    expect(noteText(a)).toBe('v1');
    expect(b).toBe(a); // one request, shared
    expect(noteText(await rt.readResource('s', 'demo://note'))).toBe('v1');
    expect(rt.cache.stats()).toMatchObject({ misses: 1, hits: 2, size: 1 });
    // Not subscribed: a change is not seen until invalidated (that is what the cache is for).
    await rt.callTool('s', 'set-note', { text: 'v2' });
    expect(noteText(await rt.readResource('s', 'demo://note'))).toBe('v1');
    expect(noteText(await rt.readResource('s', 'demo://note', { cache: false }))).toBe('v2');

    const updates: unknown[] = [];
    const events: Array<{ uri: string; context: Record<string, unknown> }> = [];
    rt.on('resourceUpdated', (e) => events.push(e));
    const watching = (async () => {
      for await (const r of rt.watch('s', 'demo://note')) {
        updates.push(noteText(r));
        if (updates.length === 2) break;
      }
    })();
    await until(() => http.subscribes.filter((u) => u === 'demo://note').length >= 1, 'the subscription');
    await rt.callTool('s', 'set-note', { text: 'v3' });
    await until(() => updates.length === 1, 'first update');
    // After the event the cache already holds the fresh value.
    expect(rt.cache.has('s', 'resource:demo://note')).toBe(true);
    expect(noteText(await rt.readResource('s', 'demo://note'))).toBe('v3');
    await rt.callTool('s', 'set-note', { text: 'v4' });
    await watching;
    expect(updates).toEqual(['v3', 'v4']);
    expect(events[0]).toMatchObject({ uri: 'demo://note', context: { project: 'aichemist' } });
    expect(rt.snapshot().sessions.s?.subscriptions).toEqual([]);
    rt.cache.clear('s');
    expect(rt.cache.stats('s').size).toBe(0);
  });

  it('registry: qualified names, annotations, arguments validated before sending, list_changed refresh', async () => {
    rt = make();
    // The lists are loaded on connect: even the first call is checked before it is sent.
    await expect(rt.callTool('s', 'echo', { text: 1 as unknown as string })).rejects.toMatchObject({
      code: 'VALIDATION',
      path: 'arguments.text',
    });
    const tools = await rt.refreshTools();
    expect(tools.map((t) => t.qualifiedName)).toEqual(expect.arrayContaining(['s.echo', 's.set-note']));
    expect(rt.findTool('s.echo')?.annotations).toMatchObject({ readOnlyHint: true });
    expect(rt.prompts().map((p) => p.qualifiedName)).toContain('s.greet');
    const sentBefore = rt.health('s').requests;
    await expect(rt.callTool('s', 'echo', { text: 1 as unknown as string })).rejects.toMatchObject({
      code: 'VALIDATION',
      path: 'arguments.text',
    });
    await expect(rt.callTool('s', 'add', { a: 1 })).rejects.toMatchObject({
      code: 'VALIDATION',
      path: 'arguments.b',
    });
    expect(rt.health('s').requests).toBe(sentBefore); // nothing was sent
    const changed = new Promise<string[]>((resolve) =>
      rt.once('toolsChanged', (e) => resolve(e.tools.map((t) => t.qualifiedName))),
    );
    const added = textOf(await rt.callTool('s', 'add-tool'));
    expect(await changed).toContain(`s.${added}`);
    expect(rt.findTool(`s.${added}`)).toBeDefined();
    // Read-only results may be cached on request, keyed by canonical arguments.
    const r1 = await rt.callTool('s', 'echo', { text: 'x' }, { cache: true });
    const r2 = await rt.callTool('s', 'echo', { text: 'x' }, { cache: true });
    expect(r2).toBe(r1);
  });

  it('templates and completion: list, expand RFC 6570, bad variables rejected with the field', async () => {
    rt = make();
    const templates = await rt.listResourceTemplates('s');
    expect(templates.map((t) => t.uriTemplate)).toContain('demo://items/{id}');
    const item = await rt.readTemplate('s', 'demo://items/{id}', { id: 2 });
    expect(noteText(item)).toBe('Item 2');
    await expect(rt.readTemplate('s', 'demo://items/{id}', {})).rejects.toMatchObject({
      code: 'VALIDATION',
      path: 'vars.id',
    });
    await expect(rt.readTemplate('s', 'demo://items/{id}', { id: 1, nope: 2 })).rejects.toMatchObject({
      code: 'VALIDATION',
      path: 'vars.nope',
    });
  });

  it('context travels in _meta (overridable per call) and structuredContent is validated', async () => {
    rt = make();
    await rt.refreshTools(['s']);
    const who = await rt.callTool('s', 'whoami');
    expect(who.structuredContent).toMatchObject({
      meta: { 'mcp-actors/context': { project: 'aichemist', environment: 'test' } },
    });
    const over = await rt.callTool('s', 'whoami', {}, { context: { environment: 'staging', user: 'ada' } });
    expect(over.structuredContent).toMatchObject({
      meta: { 'mcp-actors/context': { project: 'aichemist', environment: 'staging', user: 'ada' } },
    });
  });

  it('logs: levels filter, events carry context; health shows latency and errors', async () => {
    rt = make();
    const logs: Array<{ level: string; data: unknown; context: Record<string, unknown> }> = [];
    rt.on('log', (e) => logs.push(e));
    await rt.setLogLevel('s', 'warning');
    await rt.callTool('s', 'log', { level: 'info', text: 'quiet' });
    await rt.callTool('s', 'log', { level: 'error', text: 'loud' });
    await until(() => logs.length >= 1, 'a log');
    expect(logs.map((l) => l.data)).toEqual(['loud']);
    expect(logs[0]).toMatchObject({ level: 'error', context: { project: 'aichemist' } });
    await expect(rt.setLogLevel('s', 'verbose' as never)).rejects.toBeDefined();
    await rt.callTool('s', 'fail', { message: 'x' }).catch(() => {});
    const h = rt.health('s');
    expect(h.latencyP50Ms).toBeGreaterThan(0);
    expect(h.latencyP99Ms).toBeGreaterThanOrEqual(h.latencyP50Ms!);
    expect(h.requests).toBeGreaterThanOrEqual(4);
    expect(h.errorRate).toBeGreaterThan(0);
  });
});

describe('rt.stream cancels on break (the server observes it)', () => {
  it('breaking out of the loop aborts the call on the server', async () => {
    let aborted = 0;
    const demo = await startDemoServer({ onSlowAborted: () => aborted++ });
    const rt = createRuntime({ servers: { d: { url: demo.wsUrl } }, defaults: fast });
    try {
      const seen: string[] = [];
      for await (const ev of rt.stream('d', { tool: 'slow', args: { durationMs: 4_000, steps: 40 } })) {
        seen.push(ev.type);
        if (ev.type === 'progress' && ev.progress >= 2) break;
      }
      expect(seen).toEqual(['progress', 'progress']);
      await until(() => aborted === 1, 'the server to see the cancellation');
      const all: string[] = [];
      for await (const ev of rt.stream('d', { tool: 'slow', args: { durationMs: 60, steps: 2 } }))
        all.push(ev.type);
      expect(all.at(-1)).toBe('result');
    } finally {
      await rt.close();
      await demo.close();
    }
  });
});

const EVERYTHING = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-everything/dist/index.js',
);

describe('server-everything over stdio', () => {
  let rt: McpRuntime;
  const requests: string[] = [];
  beforeAll(async () => {
    rt = createRuntime({
      servers: {
        e: {
          command: process.execPath,
          args: [EVERYTHING, 'stdio'],
          connectTimeoutMs: 15_000,
          initializeTimeoutMs: 15_000,
        },
      },
      defaults: fast,
      handlers: {
        sampling: async (params) => {
          requests.push('sampling');
          const first = params.messages[0]?.content as { text?: string };
          return {
            role: 'assistant',
            model: 'test-model',
            content: { type: 'text', text: `echo: ${first.text}` },
          };
        },
        elicitation: async () => {
          requests.push('elicitation');
          return { action: 'accept', content: { name: 'Ada' } };
        },
        roots: async () => {
          requests.push('roots');
          return [{ uri: 'file:///work/project', name: 'project' }];
        },
      },
    });
    await rt.start();
  });
  afterAll(async () => {
    await rt.close();
  });

  it('progress of trigger-long-running-operation arrives in order, then the result', async () => {
    const events: Array<{ type: string; progress?: number }> = [];
    for await (const ev of rt.stream('e', {
      tool: 'trigger-long-running-operation',
      args: { duration: 0.4, steps: 4 },
    })) {
      events.push(ev.type === 'progress' ? { type: 'progress', progress: ev.progress } : { type: ev.type });
    }
    const progress = events.filter((e) => e.type === 'progress').map((e) => e.progress);
    expect(progress.slice(0, 3)).toEqual([1, 2, 3]);
    expect(progress).toEqual([...progress].sort((x, y) => (x ?? 0) - (y ?? 0)));
    expect(events.at(-1)).toEqual({ type: 'result' });
  });

  it('conditional tools appear through tools/list_changed; sampling, elicitation and roots round-trip', async () => {
    await rt.refreshTools(['e']);
    await until(
      () => ['e.trigger-sampling-request', 'e.get-roots-list'].every((n) => rt.findTool(n) !== undefined),
      'the conditional tools via list_changed',
    );
    const sampled = textOf(
      await rt.callTool('e', 'trigger-sampling-request', { prompt: 'hello', maxTokens: 5 }),
    );
    expect(sampled).toContain('echo: ');
    expect(sampled).toContain('hello');
    const elicited = textOf(await rt.callTool('e', 'trigger-elicitation-request'));
    expect(elicited).toContain('User provided the requested information');
    const roots = textOf(await rt.callTool('e', 'get-roots-list'));
    expect(roots).toContain('file:///work/project');
    expect(requests).toEqual(expect.arrayContaining(['sampling', 'elicitation', 'roots']));
  });

  it('subscribe + toggle-subscriber-updates → resourceUpdated with the refreshed contents; info log seen', async () => {
    const logs: unknown[] = [];
    rt.on('log', (e) => logs.push(e.data));
    await rt.setLogLevel('e', 'info');
    const uri = 'demo://resource/dynamic/text/1';
    const updated = new Promise<{ uri: string; text: unknown }>((resolve) =>
      rt.once('resourceUpdated', (e) =>
        resolve({ uri: e.uri, text: (e.contents?.contents[0] as { text?: unknown } | undefined)?.text }),
      ),
    );
    await rt.subscribe('e', uri);
    await rt.callTool('e', 'toggle-subscriber-updates');
    const got = await updated;
    expect(got.uri).toBe(uri);
    expect(typeof got.text).toBe('string');
    expect(logs.some((d) => String(d).includes('Subscribe'))).toBe(true);
    await rt.callTool('e', 'toggle-subscriber-updates');
    await rt.unsubscribe('e', uri);
  });
});

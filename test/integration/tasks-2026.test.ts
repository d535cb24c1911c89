import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskStatusUpdate } from '../../src/index.js';
import { createRuntime, type McpRuntime } from '../../src/index.js';
import { startTaskServer, type TaskServer } from '../helpers/tasks-server.js';

function textOf(result: { content?: Array<{ type: string; text?: string }> }): string {
  return result.content?.find((c) => c.type === 'text')?.text ?? '';
}

async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const count = (log: string[], entry: string): number => log.filter((l) => l === entry).length;

// A real 2026-07-28-only server (SDK v2 McpServer) with the tasks extension, over WebSocket.
describe('tasks (2026-07-28, io.modelcontextprotocol/tasks)', () => {
  let server: TaskServer;
  let rt: McpRuntime;
  const elicited: string[] = [];
  beforeAll(async () => {
    server = await startTaskServer({ stepMs: 60, pollIntervalMs: 100 });
    rt = createRuntime({
      servers: { t: { url: server.url, reconnect: { initialDelayMs: 20, maxDelayMs: 200 } } },
      defaults: { timeoutMs: 10_000, heartbeat: { intervalMs: 0 } },
      handlers: {
        elicitation: async (params) => {
          elicited.push(params.message);
          return { action: 'accept', content: { format: 'pdf' } };
        },
      },
    });
    await rt.start();
  }, 20_000);
  afterAll(async () => {
    await rt.close();
    await server.close();
  });

  it('without task the tool runs at once (the call does not declare the extension)', async () => {
    const result = await rt.callTool('t', 'report', { topic: 'now' });
    expect(textOf(result)).toBe('report: now (at once)');
  });

  it('task: true resolves with the final result; stream() yields the status updates; polls follow pollIntervalMs', async () => {
    const statuses: TaskStatusUpdate[] = [];
    let result: unknown;
    for await (const ev of rt.stream(
      't',
      { tool: 'report', args: { topic: 'tides', steps: 4 } },
      { task: { maxPollIntervalMs: 400 } },
    )) {
      if (ev.type === 'status') statuses.push(ev);
      else if (ev.type === 'result') result = ev.value;
    }
    expect(textOf(result as { content: Array<{ type: string; text?: string }> })).toBe('report: tides');
    const taskId = statuses[0]?.taskId ?? '';
    expect(server.tasks.has(taskId)).toBe(true);
    expect(statuses[0]).toMatchObject({ status: 'working', statusMessage: 'queued', pollIntervalMs: 100 });
    expect(statuses.some((s) => /^step \d\/4$/.test(s.statusMessage ?? ''))).toBe(true);
    expect(statuses.at(-1)?.status).toBe('completed');
    // ~5 steps of 60 ms polled at >= 100 ms: a handful of polls, never a busy loop.
    const polls = count(server.log, `tasks/get ${taskId}`);
    expect(polls).toBeGreaterThanOrEqual(2);
    expect(polls).toBeLessThanOrEqual(12);
    expect(rt.tasks()).toEqual([]);
  }, 20_000);

  it('input_required: the elicitation handler answers through tasks/update, the task completes', async () => {
    const seen: TaskStatusUpdate[] = [];
    const result = await rt.callTool(
      't',
      'report',
      { topic: 'rome', ask: true },
      { task: true, onTaskStatus: (s) => seen.push(s) },
    );
    expect(textOf(result)).toBe('report: rome as pdf');
    expect(elicited).toEqual(['Which format for rome?']);
    expect(seen.map((s) => s.status)).toContain('input_required');
    const taskId = seen[0]?.taskId ?? '';
    expect(count(server.log, `tasks/update ${taskId}`)).toBe(1);
  }, 20_000);

  it("a failed task rejects with the server's JSON-RPC error as REMOTE", async () => {
    await expect(
      rt.callTool('t', 'report', { topic: 'x', steps: 1, fail: true }, { task: true }),
    ).rejects.toMatchObject({
      code: 'REMOTE',
      rpcCode: -32603,
      message: expect.stringMatching(/backend exploded/),
    });
  }, 20_000);

  it('an abort cancels the task on the server (tasks/cancel) and rejects with CANCELLED', async () => {
    const controller = new AbortController();
    const seen: TaskStatusUpdate[] = [];
    const call = rt.callTool(
      't',
      'report',
      { topic: 'abort me', hold: true },
      { task: true, signal: controller.signal, onTaskStatus: (s) => seen.push(s) },
    );
    await until(() => seen.length > 0, 'the first task status');
    controller.abort();
    await expect(call).rejects.toMatchObject({ code: 'CANCELLED' });
    const taskId = seen[0]?.taskId ?? '';
    expect(count(server.log, `tasks/cancel ${taskId}`)).toBe(1);
    expect(server.tasks.get(taskId)?.status).toBe('cancelled');
    expect(rt.tasks()).toEqual([]);
  }, 20_000);

  it("the call's timeout bounds the whole task, and the task is cancelled on the server", async () => {
    const seen: TaskStatusUpdate[] = [];
    const startedMs = Date.now();
    await expect(
      rt.callTool(
        't',
        'report',
        { topic: 'too slow', hold: true },
        { task: true, timeoutMs: 800, onTaskStatus: (s) => seen.push(s) },
      ),
    ).rejects.toMatchObject({ code: 'TIMEOUT', timeoutMs: 800 });
    expect(Date.now() - startedMs).toBeLessThan(800 + 1_000);
    const taskId = seen[0]?.taskId ?? '';
    expect(server.tasks.get(taskId)?.status).toBe('cancelled');
  }, 20_000);

  it('survives a reconnect: a poll the lost connection took is sent again on the new one', async () => {
    // No retry from the call path: the task loop itself must carry the poll over the reconnect.
    const solo = createRuntime({
      servers: { t: { url: server.url, reconnect: { initialDelayMs: 20, maxDelayMs: 200 } } },
      defaults: { timeoutMs: 10_000, heartbeat: { intervalMs: 0 }, retry: { maxAttempts: 1 } },
    });
    try {
      const seen: TaskStatusUpdate[] = [];
      const call = solo.callTool(
        't',
        'report',
        { topic: 'storm', steps: 1, hold: true },
        { task: true, onTaskStatus: (s) => seen.push(s) },
      );
      await until(() => seen.some((s) => s.statusMessage === 'step 1/1'), 'the task to be under way');
      const taskId = seen[0]?.taskId ?? '';
      const polls = (): number => count(server.log, `tasks/get ${taskId}`);
      server.stallGets = true;
      const stalledAt = polls();
      await until(() => polls() > stalledAt, 'a poll in flight');
      const reconnected = new Promise<void>((resolve) =>
        solo.on('connect', (e) => {
          if (e.reconnect) resolve();
        }),
      );
      server.dropConnections();
      server.stallGets = false;
      await reconnected;
      const before = polls();
      await until(() => polls() > before, 'a poll on the new connection');
      server.finish(taskId);
      expect(textOf(await call)).toBe('report: storm');
    } finally {
      server.stallGets = false;
      await solo.close();
    }
  }, 20_000);
});

describe('task status pushes (2026: notifications/tasks on subscriptions/listen)', () => {
  it('a pushed status moves the task on at once: it completes before the first poll is due', async () => {
    // The server asks for polls 60 s apart: only its pushes can carry the task to its end in time.
    const server = await startTaskServer({ stepMs: 30, pollIntervalMs: 60_000, pushes: true });
    const rt = createRuntime({
      servers: { t: { url: server.url } },
      defaults: { timeoutMs: 10_000, heartbeat: { intervalMs: 0 } },
      handlers: { elicitation: async () => ({ action: 'accept', content: { format: 'txt' } }) },
    });
    try {
      const statuses: TaskStatusUpdate[] = [];
      let result: unknown;
      for await (const ev of rt.stream(
        't',
        { tool: 'report', args: { topic: 'pushed', steps: 3, ask: true } },
        { task: true },
      )) {
        if (ev.type === 'status') statuses.push(ev);
        else if (ev.type === 'result') result = ev.value;
      }
      expect(textOf(result as { content: Array<{ type: string; text?: string }> })).toBe(
        'report: pushed as txt',
      );
      const taskId = statuses[0]?.taskId ?? '';
      expect(server.log).toContain(`subscriptions/listen ${taskId}`);
      expect(count(server.log, `tasks/get ${taskId}`)).toBe(0);
      // The input round was pushed too, and answered through tasks/update.
      expect(statuses.map((s) => s.status)).toContain('input_required');
      expect(count(server.log, `tasks/update ${taskId}`)).toBe(1);
      expect(statuses.at(-1)?.status).toBe('completed');
      expect(statuses.map((s) => s.statusMessage)).toContain('step 3/3');
      expect(rt.tasks()).toEqual([]);
    } finally {
      await rt.close();
      await server.close();
    }
  }, 20_000);
});

describe('task handles across a restart (persist / restoreFrom / resumeTask)', () => {
  it('persist() keeps an in-flight task; a new runtime restored from it resumes the task to its result', async () => {
    const server = await startTaskServer({ stepMs: 30, pollIntervalMs: 50 });
    const config = {
      servers: { t: { url: server.url } },
      defaults: { timeoutMs: 10_000, heartbeat: { intervalMs: 0 } },
    };
    const first = createRuntime(config);
    let second: McpRuntime | undefined;
    try {
      const seen: TaskStatusUpdate[] = [];
      const call = first.callTool(
        't',
        'report',
        { topic: 'ledger', steps: 1, hold: true },
        { task: true, onTaskStatus: (s) => seen.push(s) },
      );
      await until(() => seen.length > 0, 'the task to be created');
      const taskId = seen[0]?.taskId ?? '';
      expect(first.tasks()).toEqual([
        { server: 't', taskId, tool: 'report', era: 'modern', createdAtMs: expect.any(Number) },
      ]);
      // The process shuts down: its call ends with CLOSED, the task goes on on the server and its
      // handle stays for the persist() of the shutdown.
      await first.close();
      await expect(call).rejects.toMatchObject({ code: 'CLOSED' });
      expect(first.tasks().map((t) => t.taskId)).toEqual([taskId]);
      const saved = JSON.stringify(first.persist());
      expect(server.tasks.get(taskId)?.status).toBe('working');
      expect(server.log).not.toContain(`tasks/cancel ${taskId}`);

      second = createRuntime(config, { restoreFrom: saved });
      expect(second.tasks().map((t) => t.taskId)).toEqual([taskId]);
      const statuses: TaskStatusUpdate[] = [];
      const resumed = second.resumeTask('t', taskId, { onTaskStatus: (s) => statuses.push(s) });
      await until(() => statuses.length > 0, 'the resumed task status');
      server.finish(taskId);
      expect(textOf(await resumed)).toBe('report: ledger');
      expect(statuses.at(-1)?.status).toBe('completed');
      expect(second.tasks()).toEqual([]);
      expect(second.persist().tasks).toEqual([]);
    } finally {
      await first.close();
      await second?.close();
      await server.close();
    }
  }, 20_000);

  it('a task the server does not know is REMOTE -32602 and its handle is dropped', async () => {
    const server = await startTaskServer();
    const rt = createRuntime({
      servers: { t: { url: server.url } },
      defaults: { heartbeat: { intervalMs: 0 } },
    });
    try {
      await expect(rt.resumeTask('t', 'no-such-task')).rejects.toMatchObject({
        code: 'REMOTE',
        rpcCode: -32602,
      });
      expect(rt.tasks()).toEqual([]);
      await expect(rt.resumeTask('t', '')).rejects.toMatchObject({ code: 'VALIDATION', path: 'taskId' });
    } finally {
      await rt.close();
      await server.close();
    }
  }, 20_000);

  it('restoreFrom refuses malformed task handles with CONFIG naming the field', () => {
    const base = { format: 'mcp-actors.persist', version: 1, savedAt: Date.now(), servers: {} };
    const bad = (tasks: unknown) => () =>
      createRuntime(
        { servers: { t: { url: 'ws://127.0.0.1:1/' } } },
        { restoreFrom: { ...base, tasks } as never },
      );
    expect(bad([{ server: 't', taskId: '', tool: 'x', era: 'modern', createdAtMs: 1 }])).toThrow(
      /restoreFrom\.tasks\.0\.taskId/,
    );
    expect(bad([{ server: 't', taskId: 'a', tool: 'x', era: 'future', createdAtMs: 1 }])).toThrow(
      /restoreFrom\.tasks\.0\.era/,
    );
    expect(
      bad([{ server: 't', taskId: 'a', tool: 'x', era: 'modern', createdAtMs: Date.now() + 3_600_000 }]),
    ).toThrow(/restoreFrom\.tasks\.0\.createdAtMs: is in the future/);
  });
});

// The same server over Streamable HTTP, as strict as a 2026 server must be about the standard
// headers: a task's requests name it in Mcp-Name (SEP-2663), every request names its method.
describe('tasks (2026-07-28) over Streamable HTTP: Mcp-Method and Mcp-Name on every request', () => {
  let server: TaskServer;
  let rt: McpRuntime;
  beforeAll(async () => {
    server = await startTaskServer({ stepMs: 40, pollIntervalMs: 60 });
    rt = createRuntime({
      servers: { t: { url: server.httpUrl } },
      defaults: { timeoutMs: 10_000, heartbeat: { intervalMs: 0 } },
      handlers: { elicitation: async () => ({ action: 'accept', content: { format: 'html' } }) },
    });
    await rt.start();
  }, 20_000);
  afterAll(async () => {
    await rt.close();
    await server.close();
  });

  it('the server refuses a task request whose Mcp-Name is missing or wrong (-32020)', async () => {
    const post = (headers: Record<string, string>) =>
      fetch(server.httpUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2026-07-28',
          'mcp-method': 'tasks/get',
          ...headers,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tasks/get', params: { taskId: 'abc' } }),
      });
    for (const headers of [{}, { 'mcp-name': 'other' }] as Array<Record<string, string>>) {
      const res = await post(headers);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: -32020, message: /Mcp-Name/ } });
    }
  });

  it('task: true with an input round completes; tools/call, tasks/get and tasks/update carry the headers', async () => {
    const seen: TaskStatusUpdate[] = [];
    const from = server.httpLog.length;
    const result = await rt.callTool(
      't',
      'report',
      { topic: 'paris', ask: true },
      { task: true, onTaskStatus: (s) => seen.push(s) },
    );
    expect(textOf(result)).toBe('report: paris as html');
    const taskId = seen[0]?.taskId ?? '';
    expect(seen.map((s) => s.status)).toContain('input_required');
    expect(seen.at(-1)?.status).toBe('completed');
    // The listen for status pushes (task-pushes.ts) names no task in Mcp-Name: not one of the task's.
    const log = server.httpLog.slice(from).filter((l) => !l.startsWith('subscriptions/listen'));
    expect(log[0]).toBe('tools/call mcp-method=tools/call mcp-name=report');
    expect(log).toContain(`tasks/get mcp-method=tasks/get mcp-name=${taskId}`);
    expect(count(log, `tasks/update mcp-method=tasks/update mcp-name=${taskId}`)).toBe(1);
    // Every request after the creating call is one of the task's, naming its method and the task.
    for (const line of log.slice(1))
      expect(line).toMatch(new RegExp(`^(tasks/(get|update)) mcp-method=\\1 mcp-name=${taskId}$`));
    // None was refused: each reached the task store.
    expect(count(server.log, `tasks/get ${taskId}`)).toBe(
      log.filter((l) => l.startsWith('tasks/get')).length,
    );
  }, 20_000);

  it('an abort sends tasks/cancel with the headers; the task is cancelled on the server', async () => {
    const controller = new AbortController();
    const seen: TaskStatusUpdate[] = [];
    const call = rt.callTool(
      't',
      'report',
      { topic: 'stop', hold: true },
      { task: true, signal: controller.signal, onTaskStatus: (s) => seen.push(s) },
    );
    await until(() => seen.length > 0, 'the first task status');
    controller.abort();
    await expect(call).rejects.toMatchObject({ code: 'CANCELLED' });
    const taskId = seen[0]?.taskId ?? '';
    expect(server.httpLog).toContain(`tasks/cancel mcp-method=tasks/cancel mcp-name=${taskId}`);
    expect(server.tasks.get(taskId)?.status).toBe('cancelled');
  }, 20_000);
});

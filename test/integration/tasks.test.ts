import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoServer } from '../../src/demo/demo-server.js';
import type { TaskStatusUpdate } from '../../src/index.js';
import { createRuntime, type McpRuntime } from '../../src/index.js';

const EVERYTHING = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-everything/dist/index.js',
);
const TEE = fileURLToPath(new URL('../helpers/stdio-tee.mjs', import.meta.url));

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

// server-everything's simulate-research-query: four stages of 1 s each, pollInterval 1 000 ms.
describe('tasks (2025-11-25) against server-everything over stdio', () => {
  let rt: McpRuntime;
  let wire = '';
  const elicited: string[] = [];
  beforeAll(async () => {
    rt = createRuntime({
      servers: {
        e: {
          command: process.execPath,
          args: [TEE, process.execPath, EVERYTHING, 'stdio'],
          connectTimeoutMs: 15_000,
          initializeTimeoutMs: 15_000,
        },
      },
      defaults: { timeoutMs: 15_000, heartbeat: { intervalMs: 0 } },
      handlers: {
        elicitation: async (params) => {
          elicited.push(params.message);
          return { action: 'accept', content: { interpretation: 'historical' } };
        },
      },
    });
    rt.on('stderr', (e) => {
      wire += e.text;
    });
    await rt.start();
  }, 20_000);
  afterAll(async () => {
    await rt.close();
  });

  it('without task augmentation the tool is refused by the server', async () => {
    await expect(rt.callTool('e', 'simulate-research-query', { topic: 'tides' })).rejects.toMatchObject({
      code: 'TOOL',
      message: expect.stringMatching(/task augmentation/),
    });
  });

  it('bad task options are a VALIDATION error naming the field, before anything is sent', async () => {
    const before = wire;
    await expect(
      rt.callTool('e', 'simulate-research-query', { topic: 'x' }, { task: { ttlMs: -5 } }),
    ).rejects.toMatchObject({ code: 'VALIDATION', path: 'task.ttlMs' });
    await expect(
      rt.callTool(
        'e',
        'simulate-research-query',
        { topic: 'x' },
        { task: { maxPollIntervalMs: Number.NaN } },
      ),
    ).rejects.toMatchObject({ code: 'VALIDATION', path: 'task.maxPollIntervalMs' });
    expect(wire.slice(before.length)).not.toContain('TEE > tools/call');
  });

  it('task: true resolves with the final result; stream() yields the status updates', async () => {
    const statuses: TaskStatusUpdate[] = [];
    let result: unknown;
    for await (const ev of rt.stream(
      'e',
      { tool: 'simulate-research-query', args: { topic: 'tides' } },
      { task: { ttlMs: 60_000, maxPollIntervalMs: 1_000 } },
    )) {
      if (ev.type === 'status') statuses.push(ev);
      else if (ev.type === 'result') result = ev.value;
    }
    expect(textOf(result as { content: Array<{ type: string; text?: string }> })).toMatch(
      /# Research Report: tides/,
    );
    const taskId = statuses[0]?.taskId ?? '';
    expect(taskId).not.toBe('');
    expect(statuses.every((s) => s.taskId === taskId)).toBe(true);
    // The server's stages as it reported them between polls (not every one: polls are 1 s apart).
    expect(statuses.some((s) => s.status === 'working' && /\.\.\.$/.test(s.statusMessage ?? ''))).toBe(true);
    expect(statuses.at(-1)?.status).toBe('completed');
    expect(statuses.length).toBeGreaterThanOrEqual(3);
    // Polls honour the server's pollInterval: 4 s of work at 1 s apart is a handful, not hundreds.
    const polls = wire.split('\n').filter((l) => l === `TEE > tasks/get ${taskId}`).length;
    expect(polls).toBeGreaterThanOrEqual(2);
    expect(polls).toBeLessThanOrEqual(6);
    expect(wire).toContain(`TEE > tasks/result ${taskId}`);
  }, 20_000);

  it('input_required: the server asks through tasks/result, the elicitation handler answers, the task completes', async () => {
    const seen: TaskStatusUpdate[] = [];
    let result: unknown;
    // stream() too: it yields what onTaskStatus gets.
    for await (const ev of rt.stream(
      'e',
      { tool: 'simulate-research-query', args: { topic: 'rome', ambiguous: true } },
      { task: { maxPollIntervalMs: 1_000 } },
    )) {
      if (ev.type === 'status') seen.push(ev);
      else if (ev.type === 'result') result = ev.value;
    }
    expect(elicited).toEqual([expect.stringMatching(/"rome" could have multiple interpretations/)]);
    expect(textOf(result as { content: Array<{ type: string; text?: string }> })).toMatch(
      /# Research Report: rome \(historical\)/,
    );
    // The statuses after the answer are reported too, through to the terminal one: the server
    // works on for two stages of 1 s after the answer, polled at its 1 s pollInterval.
    const asked = seen.findIndex((s) => s.status === 'input_required');
    expect(asked).toBeGreaterThanOrEqual(0);
    const after = seen.slice(asked + 1);
    expect(
      after.some((s) => s.status === 'working' && /^Continuing|^Generating/.test(s.statusMessage ?? '')),
    ).toBe(true);
    expect(after.at(-1)?.status).toBe('completed');
    // One tasks/result, sent when the task asked (it carried the elicitation).
    const taskId = seen[0]?.taskId ?? '';
    expect(wire.split('\n').filter((l) => l === `TEE > tasks/result ${taskId}`)).toHaveLength(1);
  }, 20_000);

  it('an abort cancels the task on the server (tasks/cancel) and rejects with CANCELLED', async () => {
    const controller = new AbortController();
    const seen: TaskStatusUpdate[] = [];
    const call = rt.callTool(
      'e',
      'simulate-research-query',
      { topic: 'abort me' },
      { task: true, signal: controller.signal, onTaskStatus: (s) => seen.push(s) },
    );
    await until(() => seen.length > 0, 'the first task status');
    controller.abort();
    await expect(call).rejects.toMatchObject({ code: 'CANCELLED' });
    const taskId = seen[0]?.taskId ?? '';
    expect(taskId).not.toBe('');
    // The tee child logs what it relays through its own pipe: the line may come after the rejection.
    await until(() => wire.includes(`TEE > tasks/cancel ${taskId}`), 'tasks/cancel on the wire');
    await until(() => wire.includes(`TEE < ${taskId} cancelled`), 'the server to confirm the cancellation');
  }, 20_000);

  it("the call's timeout bounds the whole task, and the task is cancelled on the server", async () => {
    const seen: TaskStatusUpdate[] = [];
    const startedMs = Date.now();
    await expect(
      rt.callTool(
        'e',
        'simulate-research-query',
        { topic: 'too slow' },
        { task: true, timeoutMs: 1_500, onTaskStatus: (s) => seen.push(s) },
      ),
    ).rejects.toMatchObject({ code: 'TIMEOUT', timeoutMs: 1_500 });
    expect(Date.now() - startedMs).toBeLessThan(1_500 + 1_000);
    const taskId = seen[0]?.taskId ?? '';
    expect(taskId).not.toBe('');
    await until(() => wire.includes(`TEE > tasks/cancel ${taskId}`), 'tasks/cancel on the wire');
  }, 20_000);
});

describe('tasks on a 2026-07-28 server without the extension', () => {
  it('the call declares the extension; the server runs the tool at once and the result comes back as is', async () => {
    const demo = await startDemoServer({ eras: '2026-07-28' });
    const rt = createRuntime({
      servers: { m: { url: demo.wsUrl } },
      defaults: { heartbeat: { intervalMs: 0 } },
    });
    try {
      await rt.start();
      expect(rt.health('m').protocol.era).toBe('modern');
      const seen: TaskStatusUpdate[] = [];
      const result = await rt.callTool(
        'm',
        'echo',
        { text: 'hi' },
        { task: true, onTaskStatus: (s) => seen.push(s) },
      );
      expect(textOf(result)).toBe('hi');
      expect(seen).toEqual([]);
      expect(rt.tasks()).toEqual([]);
    } finally {
      await rt.close();
      await demo.close();
    }
  }, 20_000);
});

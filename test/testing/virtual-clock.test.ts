import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, type McpRuntime } from '../../src/index.js';
import { createMockServer, createVirtualClock, type VirtualClock } from '../../src/testing/index.js';

let clock: VirtualClock | undefined;
let rt: McpRuntime | undefined;

afterEach(async () => {
  await rt?.close();
  rt = undefined;
  clock?.uninstall();
  clock = undefined;
});

describe('createVirtualClock', () => {
  it('fires timers in due order, intervals repeatedly, and never the cleared ones', async () => {
    clock = createVirtualClock({ startMs: 1_000_000 }).install();
    const fired: string[] = [];
    setTimeout(() => fired.push('b@200'), 200);
    setTimeout(() => fired.push('a@100'), 100);
    const cleared = setTimeout(() => fired.push('never'), 150);
    clearTimeout(cleared);
    const every = setInterval(() => fired.push(`tick@${Date.now() - 1_000_000}`), 120);
    await clock.advance(250);
    expect(fired).toEqual(['a@100', 'tick@120', 'b@200', 'tick@240']);
    clearInterval(every);
    expect(clock.pending).toBe(0);
    expect(Date.now()).toBe(1_000_250);
    // biome-ignore lint/complexity/useDateNow: the virtual `new Date()` is what is under test
    expect(new Date().getTime()).toBe(1_000_250);
    expect(new Date(5).getTime()).toBe(5);
  });

  it('lets promise chains started by a timer finish within the same advance', async () => {
    clock = createVirtualClock().install();
    const steps: number[] = [];
    setTimeout(async () => {
      steps.push(1);
      await Promise.resolve();
      await new Promise<void>((resolve) => setTimeout(resolve, 10));
      steps.push(2);
    }, 5);
    await clock.advance(15);
    expect(steps).toEqual([1, 2]);
    expect(await clock.runAll()).toBe(0);
  });

  it('puts the real functions back on uninstall', () => {
    const realSetTimeout = setTimeout;
    const realNow = Date.now;
    clock = createVirtualClock({ startMs: 0 }).install();
    expect(Date.now()).toBe(0);
    clock.uninstall();
    expect(setTimeout).toBe(realSetTimeout);
    expect(Date.now).toBe(realNow);
    expect(Date.now()).toBeGreaterThan(1_600_000_000_000);
  });

  it('rejects a negative advance', async () => {
    clock = createVirtualClock().install();
    await expect(clock.advance(-1)).rejects.toThrow(RangeError);
  });

  it('drives a runtime call timeout without waiting', async () => {
    clock = createVirtualClock().install();
    const mock = createMockServer().addTool('slow', () => 'late');
    mock.delay(60_000, { tool: 'slow' });
    rt = createRuntime({ servers: { m: { mock } } });
    await rt.start();
    const started = performance.now();
    const call = rt.callTool('m', 'slow', {}, { timeoutMs: 5_000, retry: false });
    const settled = call.then(
      () => 'resolved',
      (e: { code: string }) => e.code,
    );
    await clock.advance(4_999);
    expect(await Promise.race([settled, Promise.resolve('pending')])).toBe('pending');
    await clock.advance(1);
    expect(await settled).toBe('TIMEOUT');
    expect(performance.now() - started).toBe(5_000);
    expect(mock.callsTo('slow')).toHaveLength(1);
  });

  it('drives the heartbeat: a peer that stops answering pings is detected after interval x missed', async () => {
    clock = createVirtualClock().install();
    const mock = createMockServer().addTool('t', () => 'ok');
    rt = createRuntime({
      // MCP ping is the 2025 era's liveness probe (2026 has none over in-memory): pin the era.
      servers: {
        m: { mock, protocol: '2025-11-25', heartbeat: { intervalMs: 1_000, timeoutMs: 500, maxMissed: 2 } },
      },
    });
    const states: string[] = [];
    rt.on('state', (e) => states.push(`${e.from}->${e.to}`));
    await rt.start();
    mock.failNext(100, 'hang', { method: 'ping' });
    await clock.advance(1_000 + 500 + 1_000 + 500 + 100);
    // The whole story in the message: a failure here once showed only its first state.
    const story = `${states.join(', ')}; pings: ${mock.callsTo('ping').length}`;
    expect(mock.callsTo('ping').length, story).toBeGreaterThanOrEqual(2);
    expect(states, story).toContain('ready->reconnecting');
  });
});

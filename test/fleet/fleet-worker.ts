/**
 * One process of the fleet test (test/fleet/fleet.test.ts): a runtime joined to the fleet on
 * Redis, talking to the shared demo server; driven by its parent over IPC. Every command's work
 * is bounded in count and time.
 */
import { createRuntime, type McpRuntimeError } from '../../src/index.js';
import { Fleet } from '../../src/runtime/fleet/fleet.js';
import { refreshGrant } from '../helpers/token-endpoint.js';

const env = process.env;
const send = (m: unknown): void => {
  process.send?.(m);
};

const rt = createRuntime({
  servers: {
    demo: {
      url: env.DEMO_WS_URL as string,
      timeoutMs: 400,
      connectTimeoutMs: 300,
      breaker: { failureThreshold: Number(env.THRESHOLD), resetTimeoutMs: Number(env.RESET_MS) },
      retry: { maxAttempts: 1 },
      reconnect: { initialDelayMs: 20, maxDelayMs: 100, maxAttempts: 1_000, jitter: true },
    },
  },
  // Store timeout 1 s: four workers, Redis and the demo server share 2 loaded cores; a shorter bound
  // degrades the store (local fallback, no longer exact counting) on scheduling delays alone.
  fleet: { redis: { url: env.REDIS_URL as string }, namespace: env.NS as string, timeoutMs: 1_000 },
});
const breakerLog: { from: string; to: string; reason: string; at: number }[] = [];
const fleetLog: string[] = [];
rt.on('breaker', (e) => breakerLog.push({ from: e.from, to: e.to, reason: e.reason, at: Date.now() }));
rt.on('fleet', (e) => fleetLog.push(e.state));
rt.on('error', () => {});

type Command =
  | { cmd: 'start' }
  | { cmd: 'untilOpen'; max: number }
  | { cmd: 'untilServed'; max: number; limitMs: number }
  | { cmd: 'counterLoad'; durationMs: number }
  | { cmd: 'tokens'; tokenUrl: string; key: string; seed?: unknown; calls: number }
  | { cmd: 'report' }
  | { cmd: 'close' };

async function call(tool: string): Promise<{ ok: boolean; code?: string; text?: string; ms: number }> {
  const t0 = Date.now();
  try {
    const r = (await rt.callTool('demo', tool, tool === 'echo' ? { text: 'x' } : {})) as {
      content?: { text?: string }[];
    };
    return { ok: true, text: r.content?.[0]?.text ?? '', ms: Date.now() - t0 };
  } catch (e) {
    return { ok: false, code: (e as McpRuntimeError).code, ms: Date.now() - t0 };
  }
}

function breakerState(): string | undefined {
  return (rt.snapshot().servers?.demo as { breakers?: Record<string, { state: string }> } | undefined)
    ?.breakers?.['*']?.state;
}

// The parent is gone (a failed or interrupted run): leave, never linger as an orphan.
process.on('disconnect', () => process.exit(1));

process.on('message', async (m: Command) => {
  switch (m.cmd) {
    case 'start': {
      await rt.start();
      send({ ok: (await call('echo')).ok });
      return;
    }
    case 'untilOpen': {
      // Sequential calls (one in flight) until the breaker answers BREAKER_OPEN.
      const codes: string[] = [];
      let refused = 0;
      const deadline = Date.now() + 8_000;
      for (let i = 0; i < m.max && Date.now() < deadline; i++) {
        const r = await call('echo');
        // BREAKER_OPEN also answers a call the fleet refused a failure slot (shared-breaker.ts):
        // done only once this process's own breaker is open.
        if (r.code === 'BREAKER_OPEN' && breakerState() === 'open')
          return send({ codes, refused, open: true });
        if (r.code === 'BREAKER_OPEN') refused++;
        else if (!r.ok) codes.push(r.code ?? '?');
        // A call refused at once (connection down) would spin: pace the loop.
        if (r.ms < 10) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return send({ codes, refused, open: false });
    }
    case 'untilServed': {
      // Calls until one succeeds (after the reset timeout, the fleet's probe closes the breaker).
      const deadline = Date.now() + m.limitMs;
      for (let i = 0; i < m.max && Date.now() < deadline; i++) {
        const r = await call('echo');
        if (r.ok) return send({ served: true });
        await new Promise((resolve) => setTimeout(resolve, 20)); // pacing between attempts, not a wait for a timer
      }
      return send({ served: false });
    }
    case 'counterLoad': {
      // Non-idempotent calls (never retried by the runtime) for durationMs, 4 in flight.
      const results: { ok: boolean; code?: string; text?: string; ms: number; at: number }[] = [];
      const end = Date.now() + m.durationMs;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let i = 0; i < 2_000 && Date.now() < end; i++) {
            const r = await call('counter');
            results.push({ ...r, at: Date.now() });
            // A refused call returns at once: pace so refusals do not spin the loop.
            if (!r.ok) await new Promise((resolve) => setTimeout(resolve, 10));
          }
        }),
      );
      return send({ results });
    }
    case 'tokens': {
      const fleet = await Fleet.create(
        { redis: { url: env.REDIS_URL as string }, namespace: `${env.NS}-tok`, key: m.key, timeoutMs: 100 },
        () => {},
      );
      const tokens = await fleet.tokens('demo', {
        refresh: (t, signal) => refreshGrant(m.tokenUrl, t.refreshToken ?? '', signal),
        skewMs: 0,
        waitMs: 5_000,
        pollMs: 50,
      });
      if (m.seed) await tokens.seed(m.seed as Parameters<typeof tokens.seed>[0]);
      const got = await Promise.all(
        Array.from({ length: m.calls }, () => tokens.getToken().catch((e: Error) => `error:${e.message}`)),
      );
      await fleet.close();
      return send({ tokens: got, refreshes: tokens.refreshes });
    }
    case 'report':
      return send({ breakerLog, fleetLog, snapshot: rt.snapshot().servers?.demo?.stats ?? null });
    case 'close':
      await rt.close();
      send({ closed: true });
      process.exit(0);
  }
});
send({ booted: true });

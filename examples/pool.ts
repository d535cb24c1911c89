/**
 * A pool of sessions per server: `min` connections kept open, more opened (up to `max`) while
 * every member is busy, idle extras closed after `maxIdleMs`; each call goes to the least-loaded
 * ready member, and a failed member is replaced. Run: npx tsx examples/pool.ts [ws://host:port]
 */
import { createRuntime } from '../src/index.js';
import { demoTarget } from './demo-target.js';

const demo = await demoTarget();
try {
  await using rt = createRuntime({
    servers: { demo: { url: demo.url, pool: { min: 2, max: 4, growAfterBusyMs: 20, maxIdleMs: 60_000 } } },
  });
  await rt.start(); // resolves when the first member is ready; wait for the second too
  for (let i = 0; i < 100 && (rt.snapshot().servers.demo?.pool?.ready ?? 0) < 2; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  console.log(`pool at start: ${rt.snapshot().servers.demo?.pool?.size} members`);
  // Keep every member busy for a while: the pool grows toward max.
  const slow = Array.from({ length: 8 }, () => rt.callTool('demo', 'slow', { durationMs: 600, steps: 1 }));
  await new Promise((r) => setTimeout(r, 300));
  const busy = rt.snapshot().servers.demo?.pool;
  console.log(
    `pool under load: ${busy?.size} members, in flight per member: ${busy?.members.map((m) => m.inFlight).join('/')}`,
  );
  await Promise.all(slow);
  const calls = await Promise.all(
    Array.from({ length: 100 }, (_, i) => rt.callTool('demo', 'echo', { text: `${i}` })),
  );
  console.log(`pool: ${calls.length} calls spread over ${rt.snapshot().servers.demo?.pool?.size} members`);
} finally {
  await demo.close();
}

/**
 * Basic set-up: one runtime, one server, a shared context sent with every request (in `_meta`),
 * a few calls, a snapshot, and close. Run: npx tsx examples/basic-setup.ts [ws://host:port]
 */
import { createRuntime } from '../src/index.js';
import { demoTarget, textOf } from './demo-target.js';

const demo = await demoTarget();
try {
  await using rt = createRuntime({
    servers: { demo: { url: demo.url } },
    defaults: { timeoutMs: 10_000, retry: { maxAttempts: 3 } },
    // Context travels with every request in `_meta` and in every event payload.
    context: { project: 'aichemist', environment: 'development' },
  });
  rt.on('connect', ({ server, context }) =>
    console.log(`connected to ${server} (${JSON.stringify(context)})`),
  );

  await rt.start(); // optional: calls connect lazily; start() fails early instead
  const tools = await rt.listTools('demo');
  console.log(`tools: ${tools.map((t) => t.name).join(', ')}`);

  console.log(`echo: ${textOf(await rt.callTool('demo', 'echo', { text: 'hi' }))}`);
  console.log(`add: ${textOf(await rt.callTool('demo', 'add', { a: 2, b: 3 }))}`);
  // Per-call context is merged over the configured one.
  await rt.callTool('demo', 'echo', { text: 'tagged' }, { context: { requestId: 'r-1' } });

  const snap = rt.snapshot();
  console.log(`state: ${snap.servers.demo?.state}, calls: ${snap.servers.demo?.stats.calls}`);
} finally {
  await demo.close();
}

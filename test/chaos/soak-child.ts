/**
 * The heap soak of the chaos suite, run in a child process with `--expose-gc` (so the heap can be
 * measured after a full collection): N calls over the in-memory `mock` transport at a fixed
 * concurrency, heap measured after a warm-up and after the soak, then close() and the open
 * handles. Prints one JSON line.
 *
 *   node --expose-gc --import tsx test/chaos/soak-child.ts [calls]
 */
import { createRuntime } from '../../src/index.js';
import { createMockServer } from '../../src/testing/index.js';
import { activeResources, waitForBaseline } from './chaos-harness.js';

const CALLS = Number(process.argv[2] ?? 50_000);
const WARMUP = 5_000;
const IN_FLIGHT = 64;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

async function collect(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    gc!();
  }
  return process.memoryUsage().heapUsed;
}

const baseline = activeResources();
const mock = createMockServer().addTool('echo', ({ text }) => String(text), {
  annotations: { readOnlyHint: true },
});
const rt = createRuntime({ servers: { x: { mock, heartbeat: { intervalMs: 0 } } } });
await rt.start();
let ok = 0;
let failed = 0;
let settled = 0;
async function run(n: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < n) {
        const i = next++;
        await rt.callTool('x', 'echo', { text: `m${i}` }).then(
          (r) => {
            if ((r.content[0] as { text?: string }).text === `m${i}`) ok++;
            else failed++;
          },
          () => failed++,
        );
        settled++;
      }
    }),
  );
}
await run(WARMUP);
mock.clearCalls();
const heapStartBytes = await collect();
const started = performance.now();
await run(CALLS);
const elapsedMs = Math.round(performance.now() - started);
mock.clearCalls(); // the mock's call log is the test's, not the runtime's
const heapEndBytes = await collect();
const stats = rt.snapshot().servers.x!.stats;
await rt.close();
await mock.close();
const leaked = await waitForBaseline(baseline);
process.stdout.write(
  `${JSON.stringify({ calls: WARMUP + CALLS, settled, ok, failed, heapStartBytes, heapEndBytes, elapsedMs, pathCalls: stats.calls, pathOk: stats.ok, leaked })}\n`,
);

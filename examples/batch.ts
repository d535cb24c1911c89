/**
 * Batches: several calls (across servers) run together, outcomes in the order added; one failure
 * does not reject the others unless `failFast`. Run: npx tsx examples/batch.ts [ws://host:port]
 */
import { createRuntime } from '../src/index.js';
import { demoTarget, textOf } from './demo-target.js';

const demo = await demoTarget();
try {
  await using rt = createRuntime({ servers: { demo: { url: demo.url } } });
  const b = rt.batch({ concurrency: 4 });
  b.add('demo', 'echo', { text: 'a' });
  b.add('demo', 'add', { a: 20, b: 22 });
  b.add('demo', 'fail', { message: 'on purpose' });
  b.add('demo', 'echo', { text: 'b' });
  const outcomes = await b.execute();
  for (const [i, o] of outcomes.entries()) {
    console.log(
      `#${i}: ${o.ok ? `ok ${textOf(o.value as { content?: unknown })}` : `${o.error.code} ${o.error.message}`}`,
    );
  }
  console.log(
    `batch: ${outcomes.filter((o) => o.ok).length} ok, ${outcomes.filter((o) => !o.ok).length} failed`,
  );
} finally {
  await demo.close();
}

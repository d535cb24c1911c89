/**
 * Streaming: `rt.stream` runs a tool as an async iterator of progress events and then its result;
 * progress extends the timeout; breaking out of the loop cancels the call on the server.
 * Run: npx tsx examples/streaming.ts [ws://host:port]
 */
import { createRuntime } from '../src/index.js';
import { demoTarget, textOf } from './demo-target.js';

const demo = await demoTarget();
try {
  await using rt = createRuntime({ servers: { demo: { url: demo.url } } });
  for await (const ev of rt.stream('demo', { tool: 'slow', args: { durationMs: 400, steps: 4 } })) {
    if (ev.type === 'progress') console.log(`progress ${ev.progress}/${ev.total}: ${ev.message}`);
    else if (ev.type === 'result') console.log(`result: ${textOf(ev.value)}`);
  }
  // Leaving the loop early cancels the request (the server receives notifications/cancelled).
  for await (const ev of rt.stream('demo', { tool: 'slow', args: { durationMs: 5_000, steps: 50 } })) {
    if (ev.type === 'progress') {
      console.log(`first progress of a long call (${ev.progress}/${ev.total}); cancelling`);
      break;
    }
  }
  console.log('stream cancelled');
} finally {
  await demo.close();
}

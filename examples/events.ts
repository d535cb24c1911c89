/**
 * Events: connect, disconnect, state (every actor's transitions), breaker, error; each payload
 * names its server and carries the context, never a secret. Here the server is stopped under the
 * runtime to show a disconnect and the reconnect attempts. Run: npx tsx examples/events.ts
 */
import { startDemoServer } from '../src/demo/demo-server.js';
import { createRuntime } from '../src/index.js';

const demo = await startDemoServer();
const port = Number(new URL(demo.wsUrl).port);
await using rt = createRuntime({
  servers: { demo: { url: demo.wsUrl, reconnect: { initialDelayMs: 50, maxDelayMs: 200, jitter: false } } },
  context: { app: 'events-example' },
});
rt.on('connect', ({ server, reconnect }) =>
  console.log(`connect ${server}${reconnect ? ' (reconnect)' : ''}`),
);
rt.on('disconnect', ({ server, reason }) => console.log(`disconnect ${server}: ${reason?.code ?? 'closed'}`));
rt.on('state', ({ actor, from, to }) => {
  if (actor === 'connection') console.log(`state ${actor}: ${from} -> ${to}`);
});
rt.on('error', ({ error }) => console.log(`error ${error.code}`));

await rt.start();
await demo.close(); // the server goes away: disconnect, reconnecting
await new Promise((r) => setTimeout(r, 300));
const again = await startDemoServer({ wsPort: port }); // back on the same port: reconnect
const reconnected = new Promise<void>((resolve) => rt.once('connect', () => resolve()));
await reconnected;
console.log('events: reconnected');
await rt.close();
await again.close();

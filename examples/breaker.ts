/**
 * The circuit breaker: after `failureThreshold` consecutive failures the breaker opens and calls
 * fail fast with BREAKER_OPEN (and `retryAfterMs`); after `resetTimeoutMs` one probe goes through
 * and a success closes it. The `breaker` event reports every transition.
 * Run: npx tsx examples/breaker.ts
 */
import { BreakerOpenError, createRuntime } from '../src/index.js';
import { createMockServer } from '../src/testing/index.js';

const mock = createMockServer().addTool('quote', () => '42 EUR', { annotations: { readOnlyHint: true } });
await using rt = createRuntime({
  servers: {
    prices: { mock, breaker: { failureThreshold: 3, resetTimeoutMs: 300 }, retry: { maxAttempts: 1 } },
  },
});
rt.on('breaker', ({ from, to, reason }) => console.log(`breaker ${from} -> ${to} (${reason})`));

mock.failNext(3, { code: -32603, message: 'backend down' }, { tool: 'quote' });
for (let i = 0; i < 3; i++) await rt.callTool('prices', 'quote').catch(() => {});
try {
  await rt.callTool('prices', 'quote');
} catch (error) {
  if (error instanceof BreakerOpenError)
    console.log(`fails fast: BREAKER_OPEN, retry after ${error.retryAfterMs} ms`);
}
await new Promise((r) => setTimeout(r, 350)); // the reset timeout passes
const probe = await rt.callTool('prices', 'quote'); // the probe succeeds: closed again
console.log(
  `probe: ${(probe.content[0] as { text: string }).text}; breaker ${rt.snapshot().servers.prices?.breakers['*']?.state}`,
);
await mock.close();

/**
 * Retries: safe calls (ping, list, read, get, tools annotated readOnlyHint/idempotentHint) are
 * retried on transient failures with exponential backoff and jitter, within the call's deadline
 * and a retry budget; a non-idempotent tool is never retried unless the call says `retry: true`.
 * A mock server fails the first attempts on purpose. Run: npx tsx examples/retry.ts
 */
import { createRuntime, isMcpRuntimeError } from '../src/index.js';
import { createMockServer } from '../src/testing/index.js';

const mock = createMockServer()
  .addTool('lookup', ({ key }) => `value of ${String(key)}`, { annotations: { readOnlyHint: true } })
  .addTool('charge', () => 'charged');
await using rt = createRuntime({
  servers: {
    shop: {
      mock,
      // budgetRatio: retries allowed per call in the window (default 0.2, so a storm of failures
      // cannot multiply the load); 1 here because this example makes only a handful of calls.
      retry: { maxAttempts: 4, initialDelayMs: 20, backoffFactor: 2, maxBackoffMs: 200, budgetRatio: 1 },
    },
  },
});
await rt.listTools('shop'); // learn the annotations

// A read-only tool: two transient failures (-32603), then success on the third attempt.
mock.failNext(2, { code: -32603, message: 'temporarily unavailable' }, { tool: 'lookup' });
const value = await rt.callTool('shop', 'lookup', { key: 'a' });
console.log(
  `lookup succeeded after ${mock.callsTo('lookup').length} attempts: ${(value.content[0] as { text: string }).text}`,
);

// A tool with side effects: failed once, not retried by itself.
mock.failNext(1, { code: -32603, message: 'temporarily unavailable' }, { tool: 'charge' });
await rt.callTool('shop', 'charge').catch((error: unknown) => {
  if (isMcpRuntimeError(error))
    console.log(
      `charge failed with ${error.code} after ${mock.callsTo('charge').length} attempt (not retried)`,
    );
});
// The caller knows it is safe: retry: true.
mock.failNext(1, { code: -32603, message: 'temporarily unavailable' }, { tool: 'charge' });
await rt.callTool('shop', 'charge', {}, { retry: true });
console.log(
  `charge with retry: true succeeded; retries so far: ${rt.snapshot().servers.shop?.stats.retries}`,
);
await mock.close();

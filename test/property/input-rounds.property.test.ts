/**
 * Invariants of input rounds (2026 MRTR) driven by the call path, under arbitrary leg outcomes,
 * handler timings, caller aborts and a close at any point: every promise settles exactly once;
 * a call that is not retry-safe sends each leg at most once (a lost leg is not sent again); a
 * handler answers each round once, and the next leg carries that answer and the round's
 * `requestState`; legs are bounded by `maxInputRounds`; nothing is left answering after close.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ServerConnection } from '../../src/actors/server-connection.js';
import { ConnectionLostError, ToolError } from '../../src/errors/index.js';
import { CallPath, type CallPathDeps } from '../../src/runtime/call-path.js';
import { withInputLeg } from '../../src/runtime/input-rounds.js';

type Leg = 'input' | 'ok' | 'lost' | 'toolError';
interface Plan {
  safe: boolean;
  legs: Leg[];
  abortAt: number | undefined;
}

const MAX_ROUNDS = 3;
const planArb: fc.Arbitrary<Plan> = fc.record({
  safe: fc.boolean(),
  legs: fc.array(fc.constantFrom<Leg>('input', 'input', 'ok', 'lost', 'toolError'), {
    minLength: 1,
    maxLength: 6,
  }),
  abortAt: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }),
});

describe('input rounds driven by the call path', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('settle once, answer each round once, never resend an unsafe leg, bound the rounds, end on close', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(planArb, { minLength: 1, maxLength: 8 }),
        fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
        fc.scheduler(),
        async (plans, closeAtStep, s) => {
          const answered = plans.map(() => 0);
          const sent: Array<Array<{ state?: unknown; answer?: unknown }>> = plans.map(() => []);
          const settled = plans.map(() => 0);
          // Set the moment a call is given up (its abort, or close()): from then on no leg of it may
          // be sent and no handler asked for it.
          const givenUp = plans.map(() => false);
          const late: string[] = [];
          const handler = (request: { params?: { call?: number } }): Promise<unknown> => {
            const i = request.params?.call as number;
            if (givenUp[i]) late.push(`call ${i}: handler asked after it was given up`);
            answered[i]!++;
            return s.schedule(
              Promise.resolve({ action: 'accept', content: { n: answered[i] } }),
              `answer ${i}`,
            );
          };
          const conn = {
            isReady: true,
            client: { _getRequestHandler: () => handler },
          } as unknown as ServerConnection;
          const deps: CallPathDeps = {
            server: 'prop',
            timeoutMs: 60_000,
            retry: {
              maxAttempts: 3,
              backoffFactor: 2,
              initialDelayMs: 10,
              maxBackoffMs: 100,
              budgetRatio: 1,
              budgetWindowMs: 10_000,
              budgetMinRetries: 10,
            },
            breaker: { failureThreshold: 100, resetTimeoutMs: 1_000, halfOpenProbes: 1 },
            perToolBreakers: false,
            queue: { concurrency: 4, maxQueued: 1_000 },
            acquire: () => conn,
            release: () => {},
            toolHints: (tool) => (tool.startsWith('safe') ? { idempotentHint: true } : undefined),
            onBreaker: () => {},
            maxInputRounds: MAX_ROUNDS,
            seed: 7,
          };
          const path = new CallPath(deps);
          const aborts = plans.map(() => new AbortController());
          const promises = plans.map((plan, i) => {
            const tool = plan.safe ? `safe-${i}` : `plain-${i}`;
            return path
              .submit({
                operation: `tools/call ${tool}`,
                kind: 'tool',
                tool,
                options: { signal: aborts[i]!.signal },
                arg: { name: tool },
                withInput: withInputLeg,
                run: (_client, _opts, arg) => {
                  if (givenUp[i]) late.push(`call ${i}: leg sent after it was given up`);
                  const a = arg as { requestState?: unknown; inputResponses?: { q?: unknown } };
                  const n = sent[i]!.push({ state: a.requestState, answer: a.inputResponses?.q }) - 1;
                  const leg = plan.legs[Math.min(n, plan.legs.length - 1)]!;
                  return s.schedule(Promise.resolve(leg), `call ${i} leg ${n}: ${leg}`).then((l) => {
                    if (l === 'lost') throw new ConnectionLostError('gone', { server: 'prop' });
                    if (l === 'toolError') throw new ToolError('no', tool, {}, { server: 'prop' });
                    if (l === 'input')
                      return {
                        resultType: 'input_required',
                        inputRequests: { q: { method: 'elicitation/create', params: { call: i } } },
                        requestState: `s${n}`,
                      };
                    return { done: i };
                  });
                },
              })
              .then(
                () => settled[i]!++,
                () => settled[i]!++,
              );
          });
          for (let step = 0; step < 600 && settled.some((n) => n === 0); step++) {
            plans.forEach((plan, i) => {
              if (plan.abortAt === step) {
                givenUp[i] = true;
                aborts[i]!.abort(new Error('user left'));
              }
            });
            if (closeAtStep === step) {
              givenUp.fill(true);
              path.close();
            }
            if (s.count() > 0) await s.waitOne();
            else await vi.advanceTimersByTimeAsync(50);
          }
          expect(settled, JSON.stringify({ plans, closeAtStep, sent, answered })).toEqual(plans.map(() => 1));
          await Promise.all(promises);
          expect(late).toEqual([]);
          plans.forEach((plan, i) => {
            const legs = sent[i]!;
            // Each leg after the first carries the answer of its round and the state it echoes.
            for (let k = 1; k < legs.length; k++) {
              const first = legs.findIndex((l) => l.state === legs[k]!.state);
              if (legs[k]!.state !== undefined) expect(legs[k]!.answer).toBeDefined();
              if (!plan.safe) expect(first).toBe(k); // an unsafe leg is never sent twice
            }
            // A round is answered once: no more answers than rounds the server asked for.
            expect(answered[i]).toBeLessThanOrEqual(
              legs.filter((_, k) => plan.legs[Math.min(k, plan.legs.length - 1)] === 'input').length,
            );
            expect(answered[i]).toBeLessThanOrEqual(MAX_ROUNDS);
          });
          path.close();
        },
      ),
      { numRuns: 120, timeout: 5_000 },
    );
  });
});

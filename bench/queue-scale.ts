/**
 * Queue scale: per-request cost of the queue machine with 1k / 10k / 100k requests queued at
 * once, and the ratio to 1k. Target (issue 5): the 100k cost <= 1.5x the 1k cost.
 *
 * Each run: a window of 16 is filled, N more requests are ENQUEUEd (a third high priority, a
 * third with a deadline far ahead, so the deadline heap works too), 10% of them are ABORTed while
 * queued, then SETTLE is sent for each in-flight request until everything has run. Every output
 * box is taken, as the runtime would. Part of `npm run bench`; alone:
 * `node --expose-gc --import tsx bench/queue-scale.ts` (gc between rounds when exposed).
 */
import { fileURLToPath } from 'node:url';
import { createActor } from 'xstate';
import { queueMachine, takeQueueOutput } from '../src/machines/queue.js';

const WINDOW = 16;

/** Queue sizes measured. */
export const QUEUE_SIZES = [1_000, 10_000, 100_000] as const;

/** µs per request for one run with `n` queued. */
function run(n: number): number {
  const actor = createActor(queueMachine, { input: { concurrency: WINDOW, maxQueued: n } }).start();
  const ctx = () => actor.getSnapshot().context;
  const inFlight: string[] = [];
  const take = () => {
    for (const o of takeQueueOutput(ctx())) if (o.kind === 'dispatch') inFlight.push(o.id);
  };
  const started = process.hrtime.bigint();
  const total = n + WINDOW;
  for (let i = 0; i < total; i++) {
    const priority = i % 3 === 0 ? 'high' : 'normal';
    const deadlineAt = i % 3 === 1 ? 1e12 + i : undefined;
    actor.send({ type: 'ENQUEUE', id: `r${i}`, nowMs: 1, priority, deadlineAt });
    take();
  }
  for (let i = WINDOW; i < total; i += 10) {
    actor.send({ type: 'ABORT', id: `r${i}`, nowMs: 2 });
    take();
  }
  let settled = 0;
  while (inFlight.length > 0) {
    const id = inFlight.pop() as string;
    actor.send({ type: 'SETTLE', id, nowMs: 3 });
    take();
    settled++;
  }
  const elapsedNs = Number(process.hrtime.bigint() - started);
  actor.stop();
  if (settled + Math.ceil(n / 10) < total - 1)
    throw new Error(`lost requests: ${settled} settled of ${total}`);
  return elapsedNs / total / 1000;
}

/**
 * Per-request cost (µs) at each size, for each round. Rounds interleave the sizes so load from
 * other processes hits them alike; each round of a size queues `requestsPerRound` requests in total
 * (1k runs requestsPerRound/1k times).
 */
export function queueScale(
  rounds: number,
  requestsPerRound = 100_000,
  sizes: readonly number[] = QUEUE_SIZES,
): Map<number, number[]> {
  const gc = (globalThis as { gc?: () => void }).gc;
  run(Math.min(20_000, requestsPerRound)); // warm-up (JIT)
  const results = new Map<number, number[]>(sizes.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    for (const n of sizes) {
      gc?.();
      const reps = Math.max(1, Math.round(requestsPerRound / n));
      let sum = 0;
      for (let r = 0; r < reps; r++) sum += run(n);
      results.get(n)?.push(sum / reps);
    }
  }
  return results;
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const results = queueScale(5);
  const base = median(results.get(1_000) ?? []);
  console.log('queued      us/request   ratio to 1k');
  for (const n of QUEUE_SIZES) {
    const us = median(results.get(n) ?? []);
    console.log(
      `${String(n).padStart(7)}   ${us.toFixed(3).padStart(10)}   ${(us / base).toFixed(2).padStart(10)}x`,
    );
  }
}

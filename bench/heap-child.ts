/**
 * (f) Heap per connection, measured in a child process run with --expose-gc:
 *
 *   node --expose-gc --import tsx bench/heap-child.ts <ws-url> <sdk|sdkv1|pooled|server> <count> <rounds>
 *
 * the variants of bench/heap-open.ts (`sdk`, `sdkv1`, `pooled`, `server`), each connected with one
 * echo call before the heap is read. Prints one JSON line with the bytes per connection of each
 * measured round (each round adds `count` more, the earlier ones stay open; a first, warm-up round
 * is not reported).
 */

import { closeHost, type Opened, openOne, openServers } from './heap-open.js';

const [url = '', variant = 'sdk', countArg = '50', roundsArg = '3'] = process.argv.slice(2);
const count = Number(countArg);
const rounds = Number(roundsArg);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

function heapUsed(): number {
  for (let i = 0; i < 4; i++) gc?.();
  return process.memoryUsage().heapUsed;
}

async function openMany(): Promise<Opened[]> {
  if (variant === 'server') return [await openServers(url, count)];
  const out: Opened[] = [];
  for (let i = 0; i < count; i++) out.push(await openOne(url, variant));
  return out;
}

// Warm-up: load and compile everything once, so the rounds measure only what each connection holds.
await (await openOne(url, variant)).close();

// Rounds add `count` more each and keep the earlier ones open: memory released by a close is not
// returned at once, so closing between rounds would understate the next round. The first round is
// not recorded: V8 is still compiling and optimising the connect path then (code, feedback, deopt
// data: per connection it came out 2-4x the later rounds, and the second one still up to 1.5x with
// 15 a round), which is no connection's heap.
const WARM_ROUNDS = 1;
const perConnectionBytes: number[] = [];
const opened: Opened[] = [];
for (let r = 0; r < WARM_ROUNDS + rounds; r++) {
  const before = heapUsed();
  opened.push(...(await openMany()));
  const after = heapUsed();
  if (r >= WARM_ROUNDS) perConnectionBytes.push((after - before) / count);
}
for (const o of opened) await o.close();
await closeHost();
process.stdout.write(`${JSON.stringify({ variant, count, perConnectionBytes })}\n`);
process.exit(0);

/**
 * A tiny seeded PRNG (mulberry32) whose whole state is one 32-bit integer, so machines can keep
 * it in context: jitter stays reproducible from a seed and survives a snapshot.
 */

/** Returns a number in [0, 1) and the next PRNG state. */
export function nextRandom(state: number): [value: number, nextState: number] {
  const next = (state + 0x6d2b79f5) >>> 0;
  let t = next;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return [((t ^ (t >>> 14)) >>> 0) / 4294967296, next];
}

/**
 * `rt.stream()` and `rt.watch()` with a slow consumer (issue 15, item 14): what waits unread is
 * bounded. Progress events not yet read are coalesced (the newest wins), resource updates too;
 * the result is never lost, and a consumer that keeps up still sees every event in order.
 */
import { describe, expect, it } from 'vitest';
import { progressStream, type StreamEvent, subscriptionStream } from '../../src/runtime/streams.js';

const FLOOD = 300_000;

describe('stream backpressure', () => {
  it('300k progress events before the consumer reads: one progress (the last) and the result', async () => {
    const stream = progressStream<string>(async (_signal, onProgress) => {
      for (let i = 1; i <= FLOOD; i++) onProgress({ progress: i, total: FLOOD, message: `step ${i}` });
      return 'done';
    });
    // Let the producer run to the end before the first read.
    const first = stream.next();
    await new Promise((resolve) => setImmediate(resolve));
    const events: StreamEvent<string>[] = [(await first).value as StreamEvent<string>];
    for await (const e of stream) events.push(e);
    expect(events.length).toBeLessThanOrEqual(3);
    expect(events.at(-2)).toEqual({
      type: 'progress',
      progress: FLOOD,
      total: FLOOD,
      message: `step ${FLOOD}`,
    });
    expect(events.at(-1)).toEqual({ type: 'result', value: 'done' });
  });

  it('a consumer that keeps up sees every progress event, in order', async () => {
    let report!: (n: number) => void;
    let finish!: () => void;
    const stream = progressStream<string>(
      (_signal, onProgress) =>
        new Promise<string>((resolve) => {
          report = (n) => onProgress({ progress: n });
          finish = () => resolve('done');
        }),
    );
    const seen: number[] = [];
    for (let i = 1; i <= 5; i++) {
      const next = stream.next();
      report(i);
      seen.push(((await next).value as { progress: number }).progress);
    }
    const last = stream.next();
    finish();
    expect((await last).value).toEqual({ type: 'result', value: 'done' });
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });

  it('watch: 300k updates before the consumer reads leave only the newest waiting', async () => {
    let push!: (v: number) => void;
    const stream = subscriptionStream<number>(async (p) => {
      push = p;
      return () => {};
    });
    const first = stream.next();
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 1; i <= FLOOD; i++) push(i);
    expect((await first).value).toBe(FLOOD);
    push(FLOOD + 1);
    expect((await stream.next()).value).toBe(FLOOD + 1);
    await stream.return();
  });
});

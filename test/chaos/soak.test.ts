/**
 * Chaos: a bounded soak of 50,000 calls over the in-memory `mock` transport. The heap after the
 * soak (after a full GC) stays within a fixed margin of the heap after the warm-up, every call
 * settles with the right answer, and close() leaves no handle behind. Runs in a child process
 * started with `--expose-gc` (vitest's workers have no `gc`).
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const CALLS = 50_000;
const WARMUP = 5_000;
/** 2 MiB over 50,000 calls: a leak of 40 bytes per call fails the test. */
const HEAP_MARGIN_BYTES = 2 * 1024 * 1024;
const CHILD = fileURLToPath(new URL('./soak-child.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

interface SoakResult {
  calls: number;
  settled: number;
  ok: number;
  failed: number;
  heapStartBytes: number;
  heapEndBytes: number;
  elapsedMs: number;
  pathCalls: number;
  pathOk: number;
  leaked: Record<string, number>;
}

describe('chaos: heap soak over the mock transport', () => {
  it(`${CALLS} calls keep the heap within ${HEAP_MARGIN_BYTES / 1024 / 1024} MiB and leak no handle`, {
    timeout: 60_000,
  }, async () => {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--expose-gc', '--import', TSX, CHILD, String(CALLS)],
        { timeout: 50_000, maxBuffer: 1024 * 1024 },
        (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)),
      );
    });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as SoakResult;
    const checks = [
      () => expect(r.settled, 'every call settled once').toBe(CALLS + WARMUP),
      () => expect(r.ok, 'every call answered right').toBe(CALLS + WARMUP),
      () => expect(r.pathCalls, 'the call path saw each call once').toBe(CALLS + WARMUP),
      () => expect(r.pathOk).toBe(CALLS + WARMUP),
      () => expect(r.heapEndBytes - r.heapStartBytes, 'heap growth').toBeLessThan(HEAP_MARGIN_BYTES),
      () => expect(r.leaked, 'handles after close()').toEqual({}),
    ];
    for (const c of checks) c();
    console.log(
      `chaos soak: ${r.calls} calls over mock in ${r.elapsedMs} ms (${r.ok} ok), heap ${(r.heapStartBytes / 1e6).toFixed(1)} MB -> ` +
        `${(r.heapEndBytes / 1e6).toFixed(1)} MB (${((r.heapEndBytes - r.heapStartBytes) / 1024).toFixed(0)} KiB, margin ` +
        `${HEAP_MARGIN_BYTES / 1024} KiB); ${checks.length} invariants checked`,
    );
  });
});

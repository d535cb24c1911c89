/**
 * Bounds how many conformance clients run at once. The suite's runner starts every scenario of a
 * `--requirements` set in parallel (39 clients for 2026-07-28); on a 2-core machine that load
 * alone makes clients late. The runner starts this gate instead of the client: it waits for one
 * of `slots` slot directories (mkdir is atomic), runs the client with its own deadline, and frees
 * the slot when the client ends. scripts/conformance.ts bundles it and empties the slots per run.
 *
 *   node gate.mjs <slotsDir> <slots> <timeoutMs> <command...> <serverUrl>
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

const [slotsDir, slotsText, timeoutText, ...command] = process.argv.slice(2);
const slots = Number(slotsText);
const timeoutMs = Number(timeoutText);
/** A slot is waited for at most this long (then the client is run anyway and says so). */
const MAX_WAIT_MS = 10 * 60_000;
// ~120 gates can be waiting at once (3 clients × 39 scenarios): poll gently.
const POLL_MS = 100;

function take(): string | undefined {
  for (let i = 0; i < slots; i++) {
    const dir = join(slotsDir as string, String(i));
    try {
      mkdirSync(dir);
      return dir;
    } catch {
      // taken
    }
  }
  return undefined;
}

async function main(): Promise<number> {
  if (!slotsDir || !(slots > 0) || !(timeoutMs > 0) || command.length < 2) {
    console.error('usage: gate <slotsDir> <slots> <timeoutMs> <command...> <serverUrl>');
    return 2;
  }
  const waitStarted = Date.now();
  let slot = take();
  for (let polls = 0; slot === undefined && polls < MAX_WAIT_MS / POLL_MS; polls++) {
    await delay(POLL_MS);
    slot = take();
  }
  if (slot === undefined) console.error(`gate: no free slot after ${MAX_WAIT_MS} ms, running anyway`);
  const release = (): void => {
    if (slot !== undefined) rmdirSync(slot);
    slot = undefined;
  };
  process.stderr.write(`gate: waited ${Date.now() - waitStarted} ms for a slot\n`);
  const child = spawn(command[0] as string, command.slice(1), { stdio: 'inherit' });
  const deadline = setTimeout(() => {
    console.error(`gate: client still running after ${timeoutMs} ms, killed`);
    child.kill('SIGKILL');
  }, timeoutMs);
  // The runner's own timeout kills the gate: take the client with it.
  process.on('SIGTERM', () => {
    child.kill('SIGKILL');
    release();
    process.exit(143);
  });
  return new Promise<number>((resolve) => {
    child.on('error', (error) => {
      console.error(`gate: ${error.message}`);
      resolve(1);
    });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  }).finally(() => {
    clearTimeout(deadline);
    release();
  });
}

main().then((code) => process.exit(code));

/**
 * The stdio transport: an MCP server as a child process speaking newline-delimited JSON-RPC on its
 * stdin and stdout. The SDK's own transport closes with EOF, SIGTERM and SIGKILL to the child
 * alone, and resolves without waiting for the SIGKILL to land; a grandchild (a server started by
 * `npx`, a helper it spawned) is left running. Here the child leads a process group of its own and
 * `close()` resolves only when the whole group has exited: EOF, then SIGTERM, then SIGKILL to the
 * group, each followed by a bounded wait. A child that exits on its own takes its group with it the
 * same way, and a process that exits without closing the runtime SIGKILLs what is left.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import {
  type JSONRPCMessage,
  ReadBuffer,
  SdkError,
  SdkErrorCode,
  serializeMessage,
  type Transport,
} from '@modelcontextprotocol/client';

/** What to run. */
export interface StdioCommand {
  command: string;
  args: string[];
  /** The child's whole environment. */
  env: Record<string, string>;
  cwd?: string | undefined;
  /** How long each step of the close (EOF, SIGTERM, SIGKILL) waits for the group. Default 2 s. */
  closeStepMs?: number | undefined;
}

/** The default wait after each close step. */
export const STDIO_CLOSE_STEP_MS = 2_000;
/** Process groups are POSIX; on Windows the child alone is signalled. */
const GROUPS = process.platform !== 'win32';
const POLL_FIRST_MS = 5;
const POLL_MAX_MS = 50;

/** Process groups this process started and has not yet seen empty: SIGKILLed if the process exits first. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function killLiveGroupsOnExit(): void {
  for (const pgid of liveGroups) signalGroup(pgid, 'SIGKILL');
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(GROUPS ? -pid : pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * True while any process of the group led by `pgid` runs. On Linux a zombie does not count: an
 * orphan re-parented to a pid 1 that does not reap stays one, yet it has exited.
 */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(GROUPS ? -pgid : pgid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  try {
    for (const entry of readdirSync('/proc')) {
      if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      } catch {
        continue; // exited meanwhile
      }
      // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
    }
    return false;
  } catch {
    return true;
  }
}

/** An SDK `Transport` over a child process's stdio. */
export class StdioClientTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T) => void;
  private child: ChildProcess | undefined;
  private readonly readBuffer = new ReadBuffer();
  private readonly stderrStream = new PassThrough();
  private closing: Promise<void> | undefined;

  constructor(private readonly spec: StdioCommand) {}

  /** The child's stderr, available before `start()` so no early output is lost. */
  get stderr(): PassThrough {
    return this.stderrStream;
  }

  /** The child's pid (also its process group id), once started. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Spawns the child; resolves once it runs, rejects when it cannot be spawned (ENOENT, EACCES). */
  start(): Promise<void> {
    if (this.child) return Promise.reject(new Error('StdioClientTransport already started'));
    return new Promise((resolve, reject) => {
      const child = spawn(this.spec.command, this.spec.args, {
        env: this.spec.env,
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: GROUPS,
        windowsHide: true,
        ...(this.spec.cwd ? { cwd: this.spec.cwd } : {}),
      });
      this.child = child;
      child.once('error', (error) => {
        reject(error);
        this.onerror?.(error);
      });
      child.once('spawn', () => {
        if (child.pid !== undefined) {
          liveGroups.add(child.pid);
          if (!exitHookInstalled) {
            exitHookInstalled = true;
            process.on('exit', killLiveGroupsOnExit);
          }
        }
        resolve();
      });
      // The child exited on its own: what it left in its group goes too (the same bounded steps).
      child.once('exit', () => void this.close());
      child.once('close', () => this.onclose?.());
      child.stdin?.on('error', (error) => this.onerror?.(error));
      child.stdout?.on('error', (error) => this.onerror?.(error));
      child.stdout?.on('data', (chunk: Buffer) => {
        try {
          this.readBuffer.append(chunk);
        } catch (error) {
          // Past the read buffer's bound: the stream cannot be trusted any more.
          this.onerror?.(error as Error);
          void this.close();
          return;
        }
        this.drain();
      });
      child.stderr?.pipe(this.stderrStream);
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (!stdin || this.closing)
      return Promise.reject(new SdkError(SdkErrorCode.NotConnected, 'Not connected'));
    return new Promise((resolve) => {
      if (stdin.write(serializeMessage(message))) resolve();
      else stdin.once('drain', resolve);
    });
  }

  /** Resolves when the child and every process of its group have exited (within 3 bounded steps). Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.terminate();
    return this.closing;
  }

  private drain(): void {
    for (;;) {
      let message: JSONRPCMessage | null;
      try {
        message = this.readBuffer.readMessage();
      } catch (error) {
        this.onerror?.(error as Error);
        continue;
      }
      if (message === null) return;
      this.onmessage?.(message);
    }
  }

  private async terminate(): Promise<void> {
    const child = this.child;
    const pid = child?.pid;
    if (child && pid !== undefined) {
      const stepMs = this.spec.closeStepMs ?? STDIO_CLOSE_STEP_MS;
      const gone = (): boolean => child.exitCode !== null || child.signalCode !== null;
      const allGone = (): boolean => gone() && !groupAlive(pid);
      try {
        child.stdin?.end();
      } catch {
        // A broken pipe: the next steps still apply.
      }
      if (!(await waitUntil(allGone, stepMs))) {
        signalGroup(pid, 'SIGTERM');
        if (!(await waitUntil(allGone, stepMs))) {
          signalGroup(pid, 'SIGKILL');
          await waitUntil(allGone, stepMs);
        }
      }
      liveGroups.delete(pid);
    }
    // Destroying the pipes lets the child's 'close' (and so `onclose`) come even if a dead
    // grandchild's pipe end lingers.
    child?.stdin?.destroy();
    child?.stdout?.destroy();
    child?.stderr?.destroy();
    this.readBuffer.clear();
  }
}

/** Polls `done` (5 ms, doubling to 50 ms) until it holds or `ms` passed; true when it held. */
async function waitUntil(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  let pollMs = POLL_FIRST_MS;
  while (!done()) {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, left)));
    pollMs = Math.min(POLL_MAX_MS, pollMs * 2);
  }
  return true;
}

/**
 * The pool machine's mutable side: the per-member load (requests in flight, last activity) and
 * the output box of instructions for the runtime.
 *
 * Why mutable: the load changes on every call, and the hot path must not cost an event per call.
 * The runtime changes it synchronously through `acquireMember` / `releaseMember` (pool.ts); the
 * machine only reads it (least-loaded pick, idle trimming) and forgets members it removed. The
 * member TABLE (states, primary, deadlines) is plain immutable context, changed only by events.
 * Consequences, all deliberate (the same as the queue's store):
 * - every snapshot of one actor shares the one ledger;
 * - `JSON.stringify` shows loads and the number of pending instructions, not the box itself;
 * - a tool that explores transitions from one snapshot twice (xstate/graph) sees instructions of
 *   every explored branch appended to the one box: it must not read the box (tests use live actors).
 */

/** Why the pool asks for a member to be closed. */
export type PoolCloseReason = 'idle' | 'failed' | 'shutdown';

/**
 * What the pool tells the runtime to do:
 * - `open`: create a connection for a new member `memberId` and connect it; report MEMBER_READY
 *   or MEMBER_FAILED.
 * - `close`: close member `memberId`'s connection; report MEMBER_CLOSED when it is gone (ignored
 *   for `failed` members, which the pool removes by itself when it replaces them).
 * - `primary`: resource subscriptions now live on `memberId` (null: no ready member); they were
 *   on `previousId` (null: nowhere). The previous member may be failing or closing: subscribe
 *   afresh on the new one rather than rely on the old one.
 */
export type PoolOutput =
  | { readonly kind: 'open'; readonly memberId: string }
  | { readonly kind: 'close'; readonly memberId: string; readonly reason: PoolCloseReason }
  | { readonly kind: 'primary'; readonly memberId: string | null; readonly previousId: string | null };

/** The load of one member. */
export interface PoolLoad {
  /** Requests in flight on the member. */
  inFlight: number;
  /** When a request last started or finished on it (epoch ms). */
  lastActiveAtMs: number;
  /** The machine removed the member while requests were in flight: drop the entry at zero. */
  gone: boolean;
}

/** The mutable ledger (see the file comment for the rules). */
export class PoolLedger {
  private readonly loads = new Map<string, PoolLoad>();
  private out: PoolOutput[] = [];

  /** Requests in flight on `memberId` (0 when unknown). */
  inFlight(memberId: string): number {
    return this.loads.get(memberId)?.inFlight ?? 0;
  }

  /** When `memberId` last started or finished a request, or undefined when it never did. */
  lastActiveAtMs(memberId: string): number | undefined {
    return this.loads.get(memberId)?.lastActiveAtMs;
  }

  /** One more request on `memberId`. */
  acquire(memberId: string, nowMs: number): void {
    const load = this.loads.get(memberId);
    if (load === undefined) this.loads.set(memberId, { inFlight: 1, lastActiveAtMs: nowMs, gone: false });
    else {
      load.inFlight++;
      load.lastActiveAtMs = Math.max(load.lastActiveAtMs, nowMs);
    }
  }

  /** One request fewer on `memberId`; returns false when none was in flight there. */
  release(memberId: string, nowMs: number): boolean {
    const load = this.loads.get(memberId);
    if (load === undefined || load.inFlight === 0) return false;
    load.inFlight--;
    load.lastActiveAtMs = Math.max(load.lastActiveAtMs, nowMs);
    if (load.inFlight === 0 && load.gone) this.loads.delete(memberId);
    return true;
  }

  /** The machine removed `memberId`: drop its entry now, or when its last request finishes. */
  forget(memberId: string): void {
    const load = this.loads.get(memberId);
    if (load === undefined) return;
    if (load.inFlight === 0) this.loads.delete(memberId);
    else load.gone = true;
  }

  /** Adds an instruction to the output box. */
  output(item: PoolOutput): void {
    this.out.push(item);
  }

  /** Takes everything in the output box, in order, and empties it. */
  takeOutput(): PoolOutput[] {
    if (this.out.length === 0) return [];
    const taken = this.out;
    this.out = [];
    return taken;
  }

  /** Snapshots show loads per member and how many instructions wait in the box. */
  toJSON(): { loads: Record<string, number>; pendingOutput: number } {
    const loads: Record<string, number> = {};
    for (const [id, load] of this.loads) loads[id] = load.inFlight;
    return { loads, pendingOutput: this.out.length };
  }
}

/**
 * Pure functions over the pool's member table (plus the ledger's loads): counts, the
 * least-loaded pick, the primary choice and the idle-trim plan. The machine's guards and actions
 * and the runtime's hot path share them, so both always agree.
 */
import type { PoolLedger } from './pool-ledger.js';

/** A member's lifecycle as the pool sees it. `busy` is not a state: it is the ledger's load. */
export type PoolMemberState = 'starting' | 'ready' | 'closing' | 'failed';

/** One pool member (its connection actor lives in the runtime, keyed by `id`). */
export interface PoolMember {
  readonly id: string;
  readonly state: PoolMemberState;
  /** When the member entered its current state (epoch ms). */
  readonly sinceMs: number;
}

/** Members that count toward `min`: starting or ready. */
export function liveCount(members: readonly PoolMember[]): number {
  let n = 0;
  for (const m of members) if (m.state === 'starting' || m.state === 'ready') n++;
  return n;
}

/** Whether any member is in `state`. */
export function hasMemberIn(members: readonly PoolMember[], state: PoolMemberState): boolean {
  for (const m of members) if (m.state === state) return true;
  return false;
}

/** The member with `id`, if any. */
export function findMember(members: readonly PoolMember[], id: unknown): PoolMember | undefined {
  if (typeof id !== 'string') return undefined;
  for (const m of members) if (m.id === id) return m;
  return undefined;
}

/**
 * The least-loaded ready member (ties: the oldest member), or undefined when none is ready.
 * `prefer` wins ties when it is among the least loaded (keeps the primary stable).
 */
export function leastLoadedReady(
  members: readonly PoolMember[],
  ledger: PoolLedger,
  prefer: string | null = null,
): PoolMember | undefined {
  let best: PoolMember | undefined;
  let bestLoad = Number.POSITIVE_INFINITY;
  for (const m of members) {
    if (m.state !== 'ready') continue;
    const load = ledger.inFlight(m.id);
    if (load < bestLoad || (load === bestLoad && m.id === prefer)) {
      best = m;
      bestLoad = load;
    }
  }
  return best;
}

/** True when at least one member is ready and every ready member has `busyAtInFlight` or more in flight. */
export function allReadyBusy(
  members: readonly PoolMember[],
  ledger: PoolLedger,
  busyAtInFlight: number,
): boolean {
  let ready = 0;
  for (const m of members) {
    if (m.state !== 'ready') continue;
    if (ledger.inFlight(m.id) < busyAtInFlight) return false;
    ready++;
  }
  return ready > 0;
}

/** The primary after a change: the current one while it is ready, else the least-loaded ready member. */
export function choosePrimary(
  members: readonly PoolMember[],
  ledger: PoolLedger,
  current: string | null,
): string | null {
  if (current !== null && findMember(members, current)?.state === 'ready') return current;
  return leastLoadedReady(members, ledger)?.id ?? null;
}

/** A ready member that may be closed for idleness, and when (epoch ms). */
export interface TrimCandidate {
  readonly id: string;
  readonly dueAtMs: number;
}

/**
 * Ready members with nothing in flight that may be closed for idleness, earliest due first:
 * only while more than `min` members are live, never the primary unless it is the only live one.
 */
export function trimCandidates(
  members: readonly PoolMember[],
  ledger: PoolLedger,
  primaryId: string | null,
  min: number,
  maxIdleMs: number,
): TrimCandidate[] {
  const live = liveCount(members);
  if (live <= min) return [];
  const out: TrimCandidate[] = [];
  for (const m of members) {
    if (m.state !== 'ready' || ledger.inFlight(m.id) > 0) continue;
    if (m.id === primaryId && live > 1) continue;
    const idleSince = Math.max(m.sinceMs, ledger.lastActiveAtMs(m.id) ?? Number.NEGATIVE_INFINITY);
    out.push({ id: m.id, dueAtMs: idleSince + maxIdleMs });
  }
  return out.sort((a, b) => a.dueAtMs - b.dueAtMs);
}

/** The earliest time a failed member is due for replacement, or null. */
export function nextReplaceAt(members: readonly PoolMember[], replaceDelayMs: number): number | null {
  let at: number | null = null;
  for (const m of members) {
    if (m.state === 'failed' && (at === null || m.sinceMs + replaceDelayMs < at))
      at = m.sinceMs + replaceDelayMs;
  }
  return at;
}

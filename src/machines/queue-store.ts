/**
 * The queue machine's entry store: three FIFO lanes (high, normal, low), a Map id -> entry of the
 * live queued entries, the set of ids in flight, a deadline heap and the output box.
 *
 * Why it is mutated in place: an immutable copy of the queue per event is O(n), which makes a
 * queue of n requests cost O(n^2) in total (100,000 queued would take minutes). xstate's context
 * holds this store by reference; only the machine's named `assign` actions (which run
 * synchronously inside the transition) and the two documented fast-path helpers of queue.ts
 * mutate it. Consequences, all deliberate:
 * - every snapshot of one actor shares the one store, so old snapshots do not show old entries;
 * - `JSON.stringify` of the context shows counts, not entries (`toJSON`);
 * - a tool that explores transitions from the same snapshot twice (xstate/graph) must clone the
 *   store first ({@link QueueStore.clone}).
 *
 * Removal by id (abort, expiry) is O(1): the entry leaves the Map and is skipped lazily when its
 * lane or the heap reaches it; lanes and heap are compacted when dead items outnumber live ones,
 * so memory stays O(live) and the cost stays amortised O(1) (O(log n) for deadlines).
 */
import { MinHeap, RingDeque } from './queue-deque.js';

/** Request priorities; dispatch order is high, normal, low, FIFO within each. */
export type QueuePriority = 'high' | 'normal' | 'low';

/** The priorities in dispatch order. */
export const QUEUE_PRIORITIES: readonly QueuePriority[] = ['high', 'normal', 'low'];

/** One queued request (the request itself stays with the runtime, keyed by `id`). */
export interface QueueEntry {
  readonly id: string;
  readonly priority: QueuePriority;
  /** Absolute deadline (epoch ms) after which a still-queued entry is expired. */
  readonly deadlineAt: number | undefined;
  readonly enqueuedAtMs: number;
  /** Arrival order, ties deadlines. */
  readonly seq: number;
}

/** Why the queue settled an entry itself instead of dispatching it. */
export type QueueRejectReason = 'full' | 'closed' | 'aborted' | 'expired' | 'duplicate' | 'invalid';

/** What the queue tells its caller to do: start a request, or fail it with a reason. */
export type QueueOutput =
  | { readonly kind: 'dispatch'; readonly id: string }
  | { readonly kind: 'reject'; readonly id: string; readonly reason: QueueRejectReason };

/** Counts a snapshot shows. */
export interface QueueCounts {
  readonly queued: number;
  readonly inFlight: number;
  readonly high: number;
  readonly normal: number;
  readonly low: number;
}

const COMPACT_MIN_DEAD = 64;

const LANE: Readonly<Record<QueuePriority, 0 | 1 | 2>> = { high: 0, normal: 1, low: 2 };

function byDeadline(a: QueueEntry, b: QueueEntry): boolean {
  const da = a.deadlineAt ?? Number.POSITIVE_INFINITY;
  const db = b.deadlineAt ?? Number.POSITIVE_INFINITY;
  return da < db || (da === db && a.seq < b.seq);
}

/** The mutable entry store (see the file comment for the rules). */
export class QueueStore {
  /** Ids of requests in flight. */
  readonly inFlight: Set<string> = new Set();
  /** Whether the machine is in `accepting` (set by its entry/exit actions; read by the fast path). */
  acceptingFast = false;
  private readonly lanes: [RingDeque<QueueEntry>, RingDeque<QueueEntry>, RingDeque<QueueEntry>] = [
    new RingDeque(),
    new RingDeque(),
    new RingDeque(),
  ];
  private readonly laneLive: [number, number, number] = [0, 0, 0];
  private readonly queued: Map<string, QueueEntry> = new Map();
  private deadlines: MinHeap<QueueEntry> = new MinHeap(byDeadline);
  /** Live queued entries that have a deadline (the heap's live part). */
  private withDeadline = 0;
  private seq = 0;
  private out: QueueOutput[] = [];

  /** Live queued entries. */
  get queuedCount(): number {
    return this.queued.size;
  }

  /** Whether `id` is queued or in flight. */
  has(id: string): boolean {
    return this.queued.has(id) || this.inFlight.has(id);
  }

  /** Whether `id` is queued (not in flight). */
  isQueued(id: string): boolean {
    return this.queued.has(id);
  }

  /** Queues a new entry at the tail of its lane. */
  enqueue(id: string, priority: QueuePriority, deadlineAt: number | undefined, nowMs: number): void {
    const entry: QueueEntry = { id, priority, deadlineAt, enqueuedAtMs: nowMs, seq: this.seq++ };
    const lane = LANE[priority];
    this.queued.set(id, entry);
    this.lanes[lane].push(entry);
    this.laneLive[lane]++;
    if (deadlineAt !== undefined) {
      this.deadlines.push(entry);
      this.withDeadline++;
    }
  }

  /** Removes a queued entry by id in O(1) (its lane slot is skipped later). */
  remove(id: string): QueueEntry | undefined {
    const entry = this.queued.get(id);
    if (entry === undefined) return undefined;
    this.queued.delete(id);
    const lane = LANE[entry.priority];
    this.laneLive[lane]--;
    this.left(entry);
    this.compactLane(lane);
    return entry;
  }

  /** Removes and returns the next entry to dispatch (highest priority, oldest first). */
  shift(): QueueEntry | undefined {
    for (const lane of [0, 1, 2] as const) {
      if (this.laneLive[lane] === 0) continue;
      const deque = this.lanes[lane];
      for (let e = deque.shift(); e !== undefined; e = deque.shift()) {
        if (this.queued.get(e.id) === e) {
          this.queued.delete(e.id);
          this.laneLive[lane]--;
          this.left(e);
          return e;
        }
      }
    }
    return undefined;
  }

  /** The earliest deadline of a live queued entry, or null. Drops dead heap tops (not observable). */
  nextDeadline(): number | null {
    for (let top = this.deadlines.peek(); top !== undefined; top = this.deadlines.peek()) {
      if (this.queued.get(top.id) === top) return top.deadlineAt ?? null;
      this.deadlines.pop();
    }
    return null;
  }

  /** Removes every queued entry whose deadline is <= `nowMs`; returns them in deadline order. */
  expire(nowMs: number): QueueEntry[] {
    const expired: QueueEntry[] = [];
    for (let at = this.nextDeadline(); at !== null && at <= nowMs; at = this.nextDeadline()) {
      const top = this.deadlines.pop() as QueueEntry;
      this.remove(top.id);
      expired.push(top);
    }
    return expired;
  }

  /** Adds an instruction to the output box. */
  output(item: QueueOutput): void {
    this.out.push(item);
  }

  /** Whether the output box holds instructions not taken yet. */
  get hasOutput(): boolean {
    return this.out.length !== 0;
  }

  /** Takes everything in the output box, in order, and empties it. */
  takeOutput(): QueueOutput[] {
    if (this.out.length === 0) return [];
    const taken = this.out;
    this.out = [];
    return taken;
  }

  /** The live queued entries in dispatch order (O(n): for inspection and tests, not the hot path). */
  entries(): QueueEntry[] {
    return [...this.queued.values()].sort((a, b) => LANE[a.priority] - LANE[b.priority] || a.seq - b.seq);
  }

  /** Counts for snapshots. */
  counts(): QueueCounts {
    return {
      queued: this.queued.size,
      inFlight: this.inFlight.size,
      high: this.laneLive[0],
      normal: this.laneLive[1],
      low: this.laneLive[2],
    };
  }

  /** Snapshots show counts, never entries. */
  toJSON(): QueueCounts {
    return this.counts();
  }

  /** A deep copy (entries are immutable and shared). For graph exploration and tests. */
  clone(): QueueStore {
    const copy = new QueueStore();
    for (const id of this.inFlight) copy.inFlight.add(id);
    copy.acceptingFast = this.acceptingFast;
    for (const l of [0, 1, 2] as const) {
      copy.lanes[l] = this.lanes[l].clone();
      copy.laneLive[l] = this.laneLive[l];
    }
    for (const [id, e] of this.queued) copy.queued.set(id, e);
    copy.deadlines = this.deadlines.clone();
    copy.withDeadline = this.withDeadline;
    copy.seq = this.seq;
    copy.out = this.out.slice();
    return copy;
  }

  /** Bookkeeping for an entry that left the queue (dispatched, aborted or expired). */
  private left(entry: QueueEntry): void {
    if (entry.deadlineAt === undefined) return;
    this.withDeadline--;
    const heapDead = this.deadlines.size - this.withDeadline;
    if (heapDead >= COMPACT_MIN_DEAD && heapDead > this.withDeadline) {
      this.deadlines.retain((e) => this.queued.get(e.id) === e);
    }
  }

  /** Rebuilds a lane once its dead slots outnumber its live ones (amortised O(1)). */
  private compactLane(lane: 0 | 1 | 2): void {
    const deque = this.lanes[lane];
    const dead = deque.length - this.laneLive[lane];
    if (dead >= COMPACT_MIN_DEAD && dead > this.laneLive[lane]) {
      deque.retain((e) => this.queued.get(e.id) === e);
    }
  }
}

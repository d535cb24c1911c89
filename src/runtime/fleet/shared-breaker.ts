/**
 * The fleet's view of one server's breakers. Each process keeps its own breaker machine; this
 * file shares what must be shared so the fleet behaves as one breaker:
 *
 * - failures are counted fleet-wide (an atomic counter with a window); the process whose failure
 *   reaches `failureThreshold` trips its breaker (`onFleetTrip`), so the fleet opens after
 *   `failureThreshold` failures in all, not one threshold per process;
 * - while the fleet has un-reset failures for a key (an "episode": this process counted one, or
 *   heard the fleet's `suspect` message sent on the first), each call first reserves a slot (one
 *   atomic script): failures + calls at risk never exceed the threshold. A success resets the
 *   count; the next reservation that finds it zero drops the guard;
 * - the calls a process sent before it learned of the episode hold no slot: on learning it, the
 *   process declares them (a slot each, whatever the count) and only then acknowledges the
 *   episode. No slot is granted before every live member of the server's fleet (a heartbeat
 *   lease) acknowledged it, so the slots always cover every call in flight: the fleet sees at
 *   most `failureThreshold` failures, or the calls in flight fleet-wide at the first failure when
 *   there were more (those were sent on the free path and cannot be recalled). A member that
 *   does not acknowledge (cut off, stalled) blocks grants until its lease lapses: guarded calls
 *   are refused meanwhile, never sent at risk;
 * - an open is published; the others apply it (`onRemoteOpen`) from the message, within one
 *   pub/sub hop (well under 50 ms on a LAN); the open record (SET NX) gives the phase a fleet
 *   generation, so concurrent openers agree on one;
 * - the half-open probe is admitted to one process of the fleet (SET NX PX on the generation's
 *   probe key; a prober that dies loses it when the lease expires);
 * - a close (the probe succeeded) is published; the others close (`onRemoteClose`).
 *
 * Hot path: a healthy call touches none of this but {@link SharedBreakers.guarded} and
 * {@link SharedBreakers.recordSuccess}, two field reads. Everything else happens on failures and state changes, fire-and-forget: a store failure
 * leaves the local breaker deciding alone (advisory; the store reports `degraded`).
 */
import type { FleetContext } from './fleet-context.js';
import type { FleetSlotKeys, FleetSlotReply } from './store.js';

/** Knobs of the shared breaker (from the server's breaker config plus the fleet's). */
export interface SharedBreakerOptions {
  failureThreshold: number;
  /** Failures older than this stop counting toward the fleet threshold (default 60 s). */
  failureWindowMs?: number;
  /** How long one process holds the fleet's half-open probe before others may try (default 30 s). */
  probeLeaseMs?: number;
  /** Lease of this process's membership, renewed every third of it (default 3 s). */
  memberLeaseMs?: number;
  /** How long a guarded call waits for every member to acknowledge the episode before it is refused (default 250 ms). */
  ackWaitMs?: number;
}

/** What the fleet asks of the local breakers (the runtime's wiring turns these into machine events). */
export interface SharedBreakerHooks {
  /** The fleet's failure count for `key` reached the threshold here: open the local breaker. */
  onFleetTrip(key: string): void;
  /** Another process opened `key`'s breaker: open the local one for `openForMs` (unless already open longer). */
  onRemoteOpen(key: string, openForMs: number): void;
  /** Another process closed `key`'s breaker (its probe succeeded): close the local one. */
  onRemoteClose(key: string): void;
  /** Calls on `key` must now hold slots: declare the ones already in flight ({@link SharedBreakers.declare}). */
  onGuard?(key: string): void;
}

interface OpenMessage {
  kind: 'open';
  key: string;
  gen: number;
  openForMs: number;
  from: string;
}
interface SuspectMessage {
  kind: 'suspect';
  key: string;
  /** The episode to acknowledge. */
  episode: number;
  from: string;
}
interface CloseMessage {
  kind: 'close';
  key: string;
  gen: number;
  from: string;
}
type BreakerMessage = OpenMessage | CloseMessage | SuspectMessage;

/**
 * What a guarded call may do: `go` (with `slot` when one is held: settle it with
 * {@link SharedBreakers.settle}), `full` (the fleet's remaining failures are taken by calls in
 * flight: refuse), `over` (the fleet reached the threshold: open the local breaker).
 */
export type SlotDecision = { kind: 'go'; slot: string | undefined } | { kind: 'full' } | { kind: 'over' };

interface OpenRecord {
  gen: number;
  openUntilMs: number;
}

interface KeyView {
  /** Whether this process counted a failure since the last reset it knows of (a success must reset). */
  failuresPending: boolean;
  /** The fleet has un-reset failures for this key (as far as this process knows): calls reserve slots. */
  guarded: boolean;
  /** Generation of the current open phase, when known. */
  gen: number | undefined;
  /** Probe key this process holds, when it is the fleet's prober. */
  probe: string | undefined;
  /** One more each time this process learns of an episode: a `clear` answer older than that is stale. */
  warnings: number;
}

/** Pause between reservations waiting for the fleet's acknowledgements. */
const ACK_POLL_MS = 20;

/**
 * The shared breaker view of one server.
 *
 * @example
 * const shared = new SharedBreakers(ctx, 'demo', { failureThreshold: 5 }, hooks);
 * await shared.start();
 * shared.recordFailure('*');                  // counted fleet-wide
 * shared.localTransition('*', 'open', 30_000); // published; the others open too
 */
export class SharedBreakers {
  private readonly views = new Map<string, KeyView>();
  private readonly failureWindowMs: number;
  private readonly probeLeaseMs: number;
  private readonly memberLeaseMs: number;
  private readonly ackWaitMs: number;
  private readonly channel: string;
  private readonly membersKey: string;
  private nextSlot = 0;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopStateWatch: (() => void) | undefined;

  constructor(
    private readonly ctx: FleetContext,
    private readonly server: string,
    private readonly options: SharedBreakerOptions,
    private readonly hooks: SharedBreakerHooks,
  ) {
    this.failureWindowMs = options.failureWindowMs ?? 60_000;
    this.probeLeaseMs = options.probeLeaseMs ?? 30_000;
    this.memberLeaseMs = options.memberLeaseMs ?? 3_000;
    this.ackWaitMs = options.ackWaitMs ?? 250;
    this.channel = ctx.key('brk', server);
    this.membersKey = ctx.key('brk', server, 'members');
  }

  /** Subscribes to the fleet's breaker messages and adopts an open phase already in the store. */
  async start(): Promise<void> {
    this.unsubscribe = await this.ctx.store.subscribe(this.channel, (m) => this.onMessage(m));
    // Messages sent while this process was cut off are lost: re-read the open records on rejoin.
    this.stopStateWatch = this.ctx.store.onStateChange((c) => {
      if (c.state !== 'rejoined') return;
      this.ctx.background(this.heartbeat());
      void this.sync();
    });
    // A member from here on: no slot is granted in an episode this process has not acknowledged.
    this.heartbeatTimer = setInterval(
      () => this.ctx.background(this.heartbeat()),
      Math.max(1, Math.floor(this.memberLeaseMs / 3)),
    );
    this.heartbeatTimer.unref?.();
    await this.heartbeat().catch(() => {});
    await this.sync();
  }

  /** Hot path: a success. Costs a field read unless this process counted failures since the last reset. */
  recordSuccess(key: string): void {
    const v = this.views.get(key);
    if (!v?.failuresPending) return;
    v.failuresPending = false;
    this.ctx.background(this.resetCount(key));
  }

  /** A failure counted by the local breaker (closed circuit, no slot held): counted fleet-wide too. */
  recordFailure(key: string): void {
    this.settle(key, undefined, 'failure');
  }

  /** Hot path: whether calls on `key` must reserve a slot first (a field read). */
  guarded(key: string): boolean {
    return this.views.get(key)?.guarded === true;
  }

  /**
   * Reserves one of the fleet's remaining failures for a call about to run (guarded keys only),
   * held at most `leaseMs` (a process that dies holding it loses it then). While a member has not
   * acknowledged the episode, waits for it (re-sending the warning once), at most `ackWaitMs`,
   * then answers `full`. When the store fails, the local breaker decides alone (`go`, no slot).
   */
  async reserve(key: string, leaseMs: number): Promise<SlotDecision> {
    const v = this.view(key);
    const slot = this.slotId();
    const options = { limit: this.options.failureThreshold, leaseMs: Math.max(1, Math.ceil(leaseMs)) };
    const deadline = Date.now() + this.ackWaitMs;
    let warnings = v.warnings;
    let rewarned = false;
    for (let round = 0; round < 32; round++) {
      let reply: FleetSlotReply;
      try {
        reply = await this.ctx.store.reserveSlot(this.slotKeys(key), slot, options);
      } catch {
        return { kind: 'go', slot: undefined };
      }
      if (reply === 'clear') {
        // Warned of an episode while this answer travelled: it is stale, ask again.
        if (v.warnings !== warnings) {
          warnings = v.warnings;
          continue;
        }
        v.guarded = false; // the fleet's count was reset: back to the free path
        return { kind: 'go', slot: undefined };
      }
      if (reply === 'reserved') return { kind: 'go', slot };
      if (typeof reply === 'string') return { kind: reply };
      if (!rewarned) {
        // A member missed the warning (it joined late, or the message was lost): warn again, and
        // acknowledge for this process (guarded, so its calls in flight hold slots or are declared).
        rewarned = true;
        this.warned(v, key);
        warnings = v.warnings;
        const store = this.ctx.store;
        this.ctx.background(
          store.ackEpisode(this.slotKeys(key), this.ctx.processId, reply.unacked, this.failureWindowMs),
        );
        const m: SuspectMessage = { kind: 'suspect', key, episode: reply.unacked, from: this.ctx.processId };
        this.ctx.background(store.publish(this.channel, JSON.stringify(m)));
      }
      if (Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, ACK_POLL_MS).unref?.());
    }
    return { kind: 'full' };
  }

  /**
   * A call already in flight when this process learned of the fleet's failures: it takes a slot
   * whatever the count (it cannot be stopped), so the others reserve around it. Returns the slot.
   */
  declare(key: string, leaseMs: number): string {
    const slot = this.slotId();
    this.ctx.background(
      this.ctx.store.reserveSlot(this.slotKeys(key), slot, {
        limit: this.options.failureThreshold,
        leaseMs: Math.max(1, Math.ceil(leaseMs)),
        force: true,
      }),
    );
    return slot;
  }

  /**
   * The outcome of a call that held `slot` (or of a free-path call's failure, `slot` undefined):
   * releases the slot; a failure is counted fleet-wide and acknowledges its episode, so this
   * process first becomes guarded and declares its calls in flight (sent before the count).
   */
  settle(key: string, slot: string | undefined, outcome: 'success' | 'failure' | 'ignored'): void {
    const v = this.view(key);
    const failed = outcome === 'failure';
    if (failed) {
      v.failuresPending = true;
      this.warned(v, key);
    }
    if (outcome === 'success') {
      v.failuresPending = false;
      v.guarded = false;
    }
    if (slot === undefined && !failed) return;
    const store = this.ctx.store;
    this.ctx.background(
      store
        .settleSlot(this.slotKeys(key), slot, {
          failed,
          memberId: this.ctx.processId,
          windowMs: this.failureWindowMs,
        })
        .then(async (r) => {
          if (failed) this.counted(key, r.count, r.episode);
          else if (outcome === 'success') await this.resetCount(key);
        }),
    );
  }

  /**
   * The local breaker changed state (by itself, or on {@link SharedBreakerHooks.onFleetTrip}).
   * Transitions applied from a fleet message must NOT be reported back (they would echo).
   */
  localTransition(key: string, to: 'open' | 'closed' | 'halfOpen', openForMs = 0): void {
    const v = this.view(key);
    if (to === 'open') {
      v.failuresPending = false;
      v.guarded = false;
      this.ctx.background(this.publishOpen(key, openForMs));
    } else if (to === 'closed') {
      const gen = v.gen ?? 0;
      const probe = v.probe;
      v.guarded = false;
      v.gen = undefined;
      v.probe = undefined;
      this.ctx.background(
        (async () => {
          const store = this.ctx.store;
          await this.resetCount(key);
          await store.del(this.openKey(key));
          await store.publish(
            this.channel,
            JSON.stringify({ kind: 'close', key, gen, from: this.ctx.processId }),
          );
          if (probe) await store.deleteIf(probe, this.ctx.processId);
        })(),
      );
    }
  }

  /**
   * May this process run the half-open probe of `key`? One process of the fleet gets `true` per
   * open phase (until its lease expires). When the store fails, the local breaker decides (`true`).
   */
  async acquireProbe(key: string): Promise<boolean> {
    const v = this.view(key);
    const probeKey = this.ctx.key('brk', this.server, key, 'probe', String(v.gen ?? 'local'));
    try {
      const won = await this.ctx.store.set(probeKey, this.ctx.processId, {
        ttlMs: this.probeLeaseMs,
        onlyIfAbsent: true,
      });
      if (won) v.probe = probeKey;
      return won;
    } catch {
      return true;
    }
  }

  /** Stops listening. */
  close(): void {
    this.unsubscribe?.();
    this.stopStateWatch?.();
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.ctx.background(this.ctx.store.heartbeat(this.membersKey, this.ctx.processId, 0)); // leaves
  }

  /** The fleet's failure count after one of ours: the first warns the fleet, the threshold trips. */
  private counted(key: string, count: number, episode: number): void {
    if (count === 1)
      this.ctx.background(
        this.ctx.store.publish(
          this.channel,
          JSON.stringify({
            kind: 'suspect',
            key,
            episode,
            from: this.ctx.processId,
          } satisfies SuspectMessage),
        ),
      );
    if (count === this.options.failureThreshold) this.hooks.onFleetTrip(key);
  }

  private async publishOpen(key: string, openForMs: number): Promise<void> {
    const store = this.ctx.store;
    const v = this.view(key);
    const probe = v.probe;
    v.probe = undefined;
    const gen = await store.incr(this.ctx.key('brk', 'gen'));
    const record: OpenRecord = { gen, openUntilMs: Date.now() + openForMs };
    // The first opener of a phase names its generation; a concurrent opener adopts it. A prober
    // whose probe failed reopens: it overwrites, starting the next phase.
    const ttlMs = openForMs + this.probeLeaseMs;
    const first = probe
      ? await store.set(this.openKey(key), JSON.stringify(record), { ttlMs })
      : await store.set(this.openKey(key), JSON.stringify(record), { ttlMs, onlyIfAbsent: true });
    if (probe) await store.deleteIf(probe, this.ctx.processId);
    if (!first) {
      const existing = parseOpen(await store.get(this.openKey(key)));
      v.gen = existing?.gen ?? gen;
      return; // someone else opened this phase and published it
    }
    v.gen = gen;
    const message: OpenMessage = { kind: 'open', key, gen, openForMs, from: this.ctx.processId };
    await store.publish(this.channel, JSON.stringify(message));
  }

  private onMessage(raw: string): void {
    let m: BreakerMessage;
    try {
      m = JSON.parse(raw) as BreakerMessage;
    } catch {
      return;
    }
    if (m.from === this.ctx.processId || typeof m.key !== 'string') return;
    const v = this.view(m.key);
    if (m.kind === 'suspect') {
      // Declares this process's calls in flight, then acknowledges (in this order, on one connection).
      this.warned(v, m.key);
      if (typeof m.episode === 'number')
        this.ctx.background(
          this.ctx.store.ackEpisode(
            this.slotKeys(m.key),
            this.ctx.processId,
            m.episode,
            this.failureWindowMs,
          ),
        );
    } else if (m.kind === 'open') {
      v.gen = m.gen;
      v.failuresPending = false;
      v.guarded = false;
      this.hooks.onRemoteOpen(m.key, m.openForMs);
    } else if (m.kind === 'close') {
      v.gen = undefined;
      v.failuresPending = false;
      v.guarded = false;
      this.hooks.onRemoteClose(m.key);
    }
  }

  /** Adopts the open phases recorded in the store for the keys this process knows. */
  private async sync(): Promise<void> {
    const keys = new Set(['*', ...this.views.keys()]);
    for (const key of keys) {
      try {
        const open = parseOpen(await this.ctx.store.get(this.openKey(key)));
        const remainingMs = open ? open.openUntilMs - Date.now() : 0;
        if (open && remainingMs > 0) {
          this.view(key).gen = open.gen;
          this.hooks.onRemoteOpen(key, remainingMs);
        }
      } catch {
        return; // degraded: the next rejoin syncs again
      }
    }
  }

  private view(key: string): KeyView {
    let v = this.views.get(key);
    if (!v) {
      v = { failuresPending: false, guarded: false, gen: undefined, probe: undefined, warnings: 0 };
      this.views.set(key, v);
    }
    return v;
  }

  private failuresKey(key: string): string {
    return this.ctx.key('brk', this.server, key, 'failures');
  }

  private slotKeys(key: string): FleetSlotKeys {
    return {
      count: this.failuresKey(key),
      slots: this.ctx.key('brk', this.server, key, 'slots'),
      episode: this.ctx.key('brk', this.server, key, 'episode'),
      acks: this.ctx.key('brk', this.server, key, 'acks'),
      members: this.membersKey,
    };
  }

  /** Renews this process's membership of the server's fleet (a lease: a dead process drops out). */
  private heartbeat(): Promise<void> {
    return this.ctx.store.heartbeat(this.membersKey, this.ctx.processId, this.memberLeaseMs);
  }

  private slotId(): string {
    return `${this.ctx.processId}:${++this.nextSlot}`;
  }

  /** Forgets the fleet's failure count of `key` (a success, a close): a new episode starts at zero. */
  private async resetCount(key: string): Promise<void> {
    await this.ctx.store.del(this.failuresKey(key));
  }

  /**
   * Learned of an episode: guarded from now on, and every call in flight on `key` without a slot
   * declares one (hook; idempotent), before any acknowledgement this process sends.
   */
  private warned(v: KeyView, key: string): void {
    v.guarded = true;
    v.warnings++;
    this.hooks.onGuard?.(key);
  }

  private openKey(key: string): string {
    return this.ctx.key('brk', this.server, key, 'open');
  }
}

function parseOpen(raw: string | undefined): OpenRecord | undefined {
  if (!raw) return undefined;
  try {
    const r = JSON.parse(raw) as OpenRecord;
    return typeof r.gen === 'number' && typeof r.openUntilMs === 'number' ? r : undefined;
  } catch {
    return undefined;
  }
}

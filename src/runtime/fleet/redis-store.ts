/**
 * The Redis {@link FleetStore}, on ioredis (an optional peer dependency, imported only here and
 * only when a fleet is configured: a runtime without `fleet` never loads it).
 *
 * Why ioredis (bench/redis-clients.ts, docs/fleet.md): its per-command timeout fires on a hung
 * Redis (SIGSTOP) after `commandTimeout`; node-redis 6.4's did not within 1 s.
 *
 * Faults: the offline queue is off, so a command while disconnected rejects at once; a hung
 * Redis rejects after `timeoutMs`. The first failure turns the store `degraded`; from then on
 * operations reject without a round trip, and a PING every `probeIntervalMs` (or the
 * connection's `ready`) brings it back to `ok` (`rejoined`). Channels are re-subscribed on every
 * reconnect by this file (not by ioredis), so a subscription made while Redis was down still
 * takes effect when it returns.
 */
import type { Redis as RedisClient, RedisOptions } from 'ioredis';
import { ConfigError } from '../../errors/index.js';
import {
  type FleetGuard,
  type FleetSetOptions,
  type FleetSettleOptions,
  type FleetSlotKeys,
  type FleetSlotOptions,
  type FleetSlotReply,
  type FleetStore,
  FleetStoreError,
  type FleetStoreState,
  type FleetStoreStateChange,
} from './store.js';

/** Options of {@link createRedisFleetStore}. */
export interface RedisFleetStoreOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). Never logged. */
  url: string;
  /** Bound on every operation (default 100 ms). */
  timeoutMs?: number;
  /** While degraded, how often to PING for a rejoin (default 250 ms). */
  probeIntervalMs?: number;
}

interface ScriptCommands {
  fleetSetIf(
    guardKey: string,
    key: string,
    guardValue: string,
    value: string,
    ttlMs: number,
  ): Promise<number>;
  fleetDeleteIf(key: string, expected: string): Promise<number>;
  fleetExpireIf(key: string, expected: string, ttlMs: number): Promise<number>;
  fleetIncr(key: string, by: number, ttlMs: number): Promise<number>;
  fleetReserveSlot(
    countKey: string,
    slotsKey: string,
    episodeKey: string,
    acksKey: string,
    membersKey: string,
    slotId: string,
    limit: number,
    leaseMs: number,
    force: number,
  ): Promise<[number, number]>;
  fleetSettleSlot(
    countKey: string,
    slotsKey: string,
    episodeKey: string,
    acksKey: string,
    slotId: string,
    failed: number,
    memberId: string,
    ttlMs: number,
  ): Promise<[number, number]>;
  fleetAck(acksKey: string, memberId: string, episode: number, ttlMs: number): Promise<number>;
  fleetHeartbeat(membersKey: string, memberId: string, leaseMs: number): Promise<number>;
}

const SLOT_REPLIES = ['clear', 'reserved', 'full', 'over'] as const;

const SCRIPTS = {
  fleetSetIf: {
    numberOfKeys: 2,
    lua: `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
else redis.call('SET', KEYS[2], ARGV[2]) end
return 1`,
  },
  fleetDeleteIf: {
    numberOfKeys: 1,
    lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`,
  },
  fleetExpireIf: {
    numberOfKeys: 1,
    lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`,
  },
  fleetIncr: {
    numberOfKeys: 1,
    lua: `local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v`,
  },
  // Slots and members are sorted sets scored by their expiry on Redis's own clock (TIME): a
  // process that dies holding one loses it after its lease, with no clock shared between processes.
  // No slot is granted in an episode before every live member acknowledged it (fleetAck, or
  // counting a failure in it): a member acknowledges only after declaring its calls in flight.
  fleetReserveSlot: {
    numberOfKeys: 5,
    lua: `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[3])
local function take()
  redis.call('ZADD', KEYS[2], now + lease, ARGV[1])
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl < lease then redis.call('PEXPIRE', KEYS[2], lease) end
end
if ARGV[4] == '1' then take() return {1, 0} end
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count == 0 then return {0, 0} end
if count >= tonumber(ARGV[2]) then return {3, 0} end
local ep = tonumber(redis.call('GET', KEYS[3]) or '0')
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
for _, m in ipairs(redis.call('ZRANGE', KEYS[5], 0, -1)) do
  if tonumber(redis.call('HGET', KEYS[4], m) or '0') < ep then return {4, ep} end
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if count + redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then return {2, 0} end
take()
return {1, 0}`,
  },
  fleetSettleSlot: {
    numberOfKeys: 4,
    lua: `if ARGV[1] ~= '' then redis.call('ZREM', KEYS[2], ARGV[1]) end
if ARGV[2] ~= '1' then return {tonumber(redis.call('GET', KEYS[1]) or '0'), 0} end
local c = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
local ep
if c == 1 then ep = redis.call('INCR', KEYS[3]) else ep = tonumber(redis.call('GET', KEYS[3]) or '0') end
if tonumber(redis.call('HGET', KEYS[4], ARGV[3]) or '0') < ep then redis.call('HSET', KEYS[4], ARGV[3], ep) end
redis.call('PEXPIRE', KEYS[4], tonumber(ARGV[4]))
return {c, ep}`,
  },
  fleetAck: {
    numberOfKeys: 1,
    lua: `if tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') < tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
end
return 1`,
  },
  fleetHeartbeat: {
    numberOfKeys: 1,
    lua: `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
if lease <= 0 then return redis.call('ZREM', KEYS[1], ARGV[1]) end
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PEXPIRE', KEYS[1], lease * 2)
return 1`,
  },
} as const;

/**
 * Connects to Redis (bounded by `timeoutMs`; an unreachable Redis yields a `degraded` store that
 * rejoins later, never a rejection) and returns the store.
 *
 * @example
 * const store = await createRedisFleetStore({ url: 'redis://127.0.0.1:6379', timeoutMs: 100 });
 * store.onStateChange((c) => console.log('fleet', c.state));
 */
export async function createRedisFleetStore(options: RedisFleetStoreOptions): Promise<FleetStore> {
  let Redis: typeof RedisClient;
  try {
    ({ Redis } = await import('ioredis'));
  } catch (cause) {
    throw new ConfigError(
      [{ path: 'fleet.redis', message: 'needs the optional peer dependency ioredis (npm install ioredis)' }],
      { cause },
    );
  }
  const store = new RedisFleetStore(Redis, options);
  await store.connect();
  return store;
}

class RedisFleetStore implements FleetStore {
  readonly kind = 'redis';
  private readonly cmd: RedisClient & ScriptCommands;
  private readonly sub: RedisClient;
  private readonly timeoutMs: number;
  private readonly probeIntervalMs: number;
  private readonly channels = new Map<string, Set<(message: string) => void>>();
  private readonly stateListeners = new Set<(change: FleetStoreStateChange) => void>();
  private current: FleetStoreState = 'ok';
  private probeTimer: ReturnType<typeof setInterval> | undefined;
  private closed = false;

  constructor(Redis: typeof RedisClient, options: RedisFleetStoreOptions) {
    this.timeoutMs = options.timeoutMs ?? 100;
    this.probeIntervalMs = options.probeIntervalMs ?? 250;
    const redisOptions: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      commandTimeout: this.timeoutMs,
      connectTimeout: Math.max(this.timeoutMs, 200),
      maxRetriesPerRequest: 0,
      autoResubscribe: false,
      // Reconnect for ever (the fleet rejoins when Redis returns), backing off to 500 ms.
      retryStrategy: (times) => Math.min(50 * times, 500),
    };
    this.cmd = new Redis(options.url, redisOptions) as RedisClient & ScriptCommands;
    this.sub = new Redis(options.url, redisOptions);
    for (const [name, s] of Object.entries(SCRIPTS)) this.cmd.defineCommand(name, s);
    // ioredis reports socket errors as events; they are reflected in `state`, never thrown.
    this.cmd.on('error', (e: Error) => this.degrade(reasonOf(e)));
    this.sub.on('error', () => {});
    this.cmd.on('close', () => this.degrade('connection closed'));
    this.cmd.on('ready', () => this.rejoin());
    this.sub.on('ready', () => this.resubscribe());
    this.sub.on('message', (channel: string, message: string) => {
      for (const l of [...(this.channels.get(channel) ?? [])]) l(message);
    });
  }

  get state(): FleetStoreState {
    return this.current;
  }

  /** First connection, bounded; failure leaves the store degraded (it keeps trying). */
  async connect(): Promise<void> {
    const bounded = (c: RedisClient) =>
      withTimeout(c.connect(), Math.max(this.timeoutMs, 200)).catch((e: unknown) => {
        this.degrade(reasonOf(e));
      });
    await Promise.all([bounded(this.cmd), bounded(this.sub)]);
  }

  get(key: string): Promise<string | undefined> {
    return this.run(async () => (await this.cmd.get(key)) ?? undefined);
  }

  getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return this.run(async () => (await this.cmd.mget(...keys)).map((v) => v ?? undefined));
  }

  set(key: string, value: string, options: FleetSetOptions = {}): Promise<boolean> {
    return this.run(async () => {
      const { ttlMs, onlyIfAbsent } = options;
      let reply: string | null;
      if (ttlMs !== undefined && onlyIfAbsent) reply = await this.cmd.set(key, value, 'PX', ttlMs, 'NX');
      else if (ttlMs !== undefined) reply = await this.cmd.set(key, value, 'PX', ttlMs);
      else if (onlyIfAbsent) reply = await this.cmd.set(key, value, 'NX');
      else reply = await this.cmd.set(key, value);
      return reply === 'OK';
    });
  }

  del(key: string): Promise<void> {
    return this.run(async () => {
      await this.cmd.del(key);
    });
  }

  incr(key: string, by = 1, ttlMs?: number): Promise<number> {
    return this.run(() => this.cmd.fleetIncr(key, by, ttlMs ?? 0));
  }

  setIf(guard: FleetGuard, key: string, value: string, ttlMs?: number): Promise<boolean> {
    return this.run(
      async () => (await this.cmd.fleetSetIf(guard.key, key, guard.equals, value, ttlMs ?? 0)) === 1,
    );
  }

  deleteIf(key: string, expected: string): Promise<boolean> {
    return this.run(async () => (await this.cmd.fleetDeleteIf(key, expected)) === 1);
  }

  expireIf(key: string, expected: string, ttlMs: number): Promise<boolean> {
    return this.run(async () => (await this.cmd.fleetExpireIf(key, expected, ttlMs)) === 1);
  }

  reserveSlot(keys: FleetSlotKeys, slotId: string, o: FleetSlotOptions): Promise<FleetSlotReply> {
    return this.run(async () => {
      const [code, episode] = await this.cmd.fleetReserveSlot(
        keys.count,
        keys.slots,
        keys.episode,
        keys.acks,
        keys.members,
        slotId,
        o.limit,
        o.leaseMs,
        o.force ? 1 : 0,
      );
      return code === 4 ? { unacked: episode } : (SLOT_REPLIES[code] ?? 'clear');
    });
  }

  settleSlot(
    keys: FleetSlotKeys,
    slotId: string | undefined,
    o: FleetSettleOptions,
  ): Promise<{ count: number; episode: number }> {
    return this.run(async () => {
      const [count, episode] = await this.cmd.fleetSettleSlot(
        keys.count,
        keys.slots,
        keys.episode,
        keys.acks,
        slotId ?? '',
        o.failed ? 1 : 0,
        o.memberId,
        o.windowMs,
      );
      return { count, episode };
    });
  }

  ackEpisode(keys: FleetSlotKeys, memberId: string, episode: number, ttlMs: number): Promise<void> {
    return this.run(async () => {
      await this.cmd.fleetAck(keys.acks, memberId, episode, ttlMs);
    });
  }

  heartbeat(membersKey: string, memberId: string, leaseMs: number): Promise<void> {
    return this.run(async () => {
      await this.cmd.fleetHeartbeat(membersKey, memberId, leaseMs);
    });
  }

  publish(channel: string, message: string): Promise<void> {
    return this.run(async () => {
      await this.cmd.publish(channel, message);
    });
  }

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<() => void> {
    let set = this.channels.get(channel);
    if (!set) {
      set = new Set();
      this.channels.set(channel, set);
      // While Redis is down the channel is subscribed on the next `ready` (resubscribe).
      if (this.sub.status === 'ready') await this.sub.subscribe(channel).catch(() => {});
    }
    set.add(onMessage);
    return () => {
      set.delete(onMessage);
      if (set.size === 0 && this.channels.get(channel) === set) {
        this.channels.delete(channel);
        if (this.sub.status === 'ready') this.sub.unsubscribe(channel).catch(() => {});
      }
    };
  }

  onStateChange(listener: (change: FleetStoreStateChange) => void): () => void {
    this.stateListeners.add(listener);
    return () => {
      this.stateListeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopProbe();
    this.channels.clear();
    this.stateListeners.clear();
    this.cmd.disconnect();
    this.sub.disconnect();
  }

  /** One bounded operation: fails fast while degraded or closed; a failure degrades the store. */
  private async run<T>(op: () => Promise<T>): Promise<T> {
    if (this.closed) throw new FleetStoreError('closed', 'the fleet store is closed');
    if (this.current === 'degraded')
      throw new FleetStoreError('unavailable', 'the fleet store is degraded; using local state');
    try {
      // ioredis bounds the command (commandTimeout); the outer bound also covers its own queueing.
      return await withTimeout(op(), this.timeoutMs + 20);
    } catch (e) {
      const reason = reasonOf(e);
      this.degrade(reason);
      throw new FleetStoreError(
        reason.includes('timed out') ? 'timeout' : 'unavailable',
        `fleet store: ${reason}`,
        { cause: e },
      );
    }
  }

  private degrade(reason: string): void {
    if (this.closed || this.current === 'degraded') return;
    this.current = 'degraded';
    this.emit({ state: 'degraded', atMs: Date.now(), reason });
    this.probeTimer = setInterval(() => this.probe(), this.probeIntervalMs);
    this.probeTimer.unref?.();
  }

  /** While degraded: a bounded PING; an answer means Redis is back (also covers a hung, then resumed, Redis). */
  private probe(): void {
    if (this.cmd.status !== 'ready') return; // the reconnect's `ready` will rejoin
    withTimeout(this.cmd.ping(), this.timeoutMs).then(
      () => this.rejoin(),
      () => {},
    );
  }

  private rejoin(): void {
    if (this.closed || this.current === 'ok') return;
    this.current = 'ok';
    this.stopProbe();
    this.emit({ state: 'rejoined', atMs: Date.now() });
  }

  private resubscribe(): void {
    const channels = [...this.channels.keys()];
    if (channels.length > 0) this.sub.subscribe(...channels).catch(() => {});
  }

  private stopProbe(): void {
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  private emit(change: FleetStoreStateChange): void {
    for (const l of [...this.stateListeners]) l(change);
  }
}

/** The error's code or message (ioredis messages carry host:port at most, never the password). */
function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.message : String(error);
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * The pool's options: validation and defaults (the machine calls {@link resolvePoolConfig} on its input).
 */
import { ConfigError, type ConfigIssue } from '../errors/index.js';

/** The longest delay a JS timer honours (2^31 - 1 ms); longer durations are refused. */
export const MAX_DELAY_MS = 2_147_483_647;

/** Options of one server's pool. */
export interface PoolConfig {
  /** Members kept live (integer >= 0). */
  min: number;
  /** Members at most, whatever their state (integer >= 1, >= min). */
  max: number;
  /** An idle member above `min` is closed after this long without a request. */
  maxIdleMs: number;
  /** Every ready member busy for this long opens one more member (default 100). */
  growAfterBusyMs?: number;
  /** A failed member is replaced after this long (default 1_000). */
  replaceDelayMs?: number;
  /** A member counts as busy from this many requests in flight (default 1). */
  busyAtInFlight?: number;
}

/** A pool configuration with defaults applied. */
export type ResolvedPoolConfig = Required<PoolConfig>;

function wholeAtLeast(issues: ConfigIssue[], path: string, value: unknown, least: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < least) {
    issues.push({ path, message: `must be a whole number >= ${least}, got ${String(value)}` });
  }
}

function duration(issues: ConfigIssue[], path: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_DELAY_MS) {
    issues.push({
      path,
      message: `must be a duration in ms within [0, ${MAX_DELAY_MS}], got ${String(value)}`,
    });
  }
}

/**
 * Validates a pool configuration and applies defaults.
 *
 * @throws {ConfigError} naming every bad field.
 * @example
 * resolvePoolConfig({ min: 1, max: 4, maxIdleMs: 300_000 }); // growAfterBusyMs 100, replaceDelayMs 1000, busyAtInFlight 1
 */
export function resolvePoolConfig(config: PoolConfig, path = 'pool'): ResolvedPoolConfig {
  if (config === null || typeof config !== 'object')
    throw new ConfigError([{ path, message: 'must be an object' }]);
  const resolved: ResolvedPoolConfig = {
    min: config.min,
    max: config.max,
    maxIdleMs: config.maxIdleMs,
    growAfterBusyMs: config.growAfterBusyMs ?? 100,
    replaceDelayMs: config.replaceDelayMs ?? 1_000,
    busyAtInFlight: config.busyAtInFlight ?? 1,
  };
  const issues: ConfigIssue[] = [];
  wholeAtLeast(issues, `${path}.min`, resolved.min, 0);
  wholeAtLeast(issues, `${path}.max`, resolved.max, 1);
  if (issues.length === 0 && resolved.min > resolved.max) {
    issues.push({ path: `${path}.min`, message: `must be <= max (${resolved.max}), got ${resolved.min}` });
  }
  duration(issues, `${path}.maxIdleMs`, resolved.maxIdleMs);
  duration(issues, `${path}.growAfterBusyMs`, resolved.growAfterBusyMs);
  duration(issues, `${path}.replaceDelayMs`, resolved.replaceDelayMs);
  wholeAtLeast(issues, `${path}.busyAtInFlight`, resolved.busyAtInFlight, 1);
  if (issues.length > 0) throw new ConfigError(issues);
  return resolved;
}

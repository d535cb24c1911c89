/**
 * Breaker configuration: the options a user gives, their defaults, and validation that names the
 * offending field (a {@link ConfigError} before anything runs).
 */
import { ConfigError, type ConfigIssue } from '../errors/index.js';

/** The longest delay a JS timer honours (2^31 - 1 ms): the bound of every reset timeout. */
export const MAX_TIMER_MS = 2_147_483_647;

/** Options of one circuit breaker. */
export interface BreakerConfig {
  /** Counted failures in a row that open the circuit (integer >= 1). */
  failureThreshold: number;
  /** How long the circuit stays open before probing (ms, >= 0). */
  resetTimeoutMs: number;
  /** Probes admitted per half-open phase; all must succeed to close (integer >= 1, default 1). */
  halfOpenProbes?: number;
  /** Factor applied to the reset timeout each time a probe fails (>= 1, default 1: no growth). */
  resetBackoffFactor?: number;
  /** Cap of the growing reset timeout (ms, default 10 x `resetTimeoutMs`, at most {@link MAX_TIMER_MS}). */
  maxResetTimeoutMs?: number;
  /** Also open when this share of calls in the window failed ((0, 1]; off when absent). */
  rateThreshold?: number;
  /** Length of the rate window (ms, default 60_000). */
  windowMs?: number;
  /** Calls the window must hold before the rate can open the circuit (default 10). */
  minimumCalls?: number;
  /** Fixed buckets the window is cut into (default 10). */
  bucketCount?: number;
}

/** A validated breaker configuration with every default filled in. */
export interface ResolvedBreakerConfig {
  readonly failureThreshold: number;
  readonly resetTimeoutMs: number;
  readonly halfOpenProbes: number;
  readonly resetBackoffFactor: number;
  readonly maxResetTimeoutMs: number;
  readonly rate: {
    readonly rateThreshold: number;
    readonly windowMs: number;
    readonly minimumCalls: number;
    readonly bucketCount: number;
  } | null;
}

function checkNumber(
  issues: ConfigIssue[],
  path: string,
  value: unknown,
  rule: { min: number; max?: number; integer?: boolean; exclusiveMin?: boolean },
): void {
  const bad =
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    (rule.integer === true && !Number.isInteger(value)) ||
    (rule.exclusiveMin === true ? value <= rule.min : value < rule.min) ||
    (rule.max !== undefined && value > rule.max);
  if (bad) {
    const range = `${rule.exclusiveMin ? '>' : '>='} ${rule.min}${rule.max === undefined ? '' : ` and <= ${rule.max}`}`;
    issues.push({
      path,
      message: `must be a ${rule.integer ? 'whole ' : ''}number ${range}, got ${String(value)}`,
    });
  }
}

/**
 * Validates `config` and fills in defaults.
 *
 * @throws {ConfigError} naming every bad field (paths are prefixed with `path`).
 * @example
 * resolveBreakerConfig({ failureThreshold: 5, resetTimeoutMs: 60_000 }).halfOpenProbes; // 1
 */
export function resolveBreakerConfig(config: BreakerConfig, path = 'breaker'): ResolvedBreakerConfig {
  const issues: ConfigIssue[] = [];
  if (config === null || typeof config !== 'object') {
    throw new ConfigError([{ path, message: 'must be an object' }]);
  }
  checkNumber(issues, `${path}.failureThreshold`, config.failureThreshold, { min: 1, integer: true });
  checkNumber(issues, `${path}.resetTimeoutMs`, config.resetTimeoutMs, { min: 0, max: MAX_TIMER_MS });
  const halfOpenProbes = config.halfOpenProbes ?? 1;
  checkNumber(issues, `${path}.halfOpenProbes`, halfOpenProbes, { min: 1, integer: true });
  const resetBackoffFactor = config.resetBackoffFactor ?? 1;
  checkNumber(issues, `${path}.resetBackoffFactor`, resetBackoffFactor, { min: 1 });
  const maxResetTimeoutMs =
    config.maxResetTimeoutMs ??
    Math.min(MAX_TIMER_MS, Math.max(config.resetTimeoutMs, config.resetTimeoutMs * 10));
  checkNumber(issues, `${path}.maxResetTimeoutMs`, maxResetTimeoutMs, { min: 0, max: MAX_TIMER_MS });
  if (issues.length === 0 && maxResetTimeoutMs < config.resetTimeoutMs) {
    issues.push({ path: `${path}.maxResetTimeoutMs`, message: 'must be >= resetTimeoutMs' });
  }
  let rate: ResolvedBreakerConfig['rate'] = null;
  if (config.rateThreshold !== undefined) {
    const windowMs = config.windowMs ?? 60_000;
    const minimumCalls = config.minimumCalls ?? 10;
    const bucketCount = config.bucketCount ?? 10;
    checkNumber(issues, `${path}.rateThreshold`, config.rateThreshold, {
      min: 0,
      max: 1,
      exclusiveMin: true,
    });
    checkNumber(issues, `${path}.windowMs`, windowMs, { min: 1 });
    checkNumber(issues, `${path}.minimumCalls`, minimumCalls, { min: 1, integer: true });
    checkNumber(issues, `${path}.bucketCount`, bucketCount, { min: 1, max: 1000, integer: true });
    rate = { rateThreshold: config.rateThreshold, windowMs, minimumCalls, bucketCount };
  } else if (config.windowMs !== undefined || config.minimumCalls !== undefined) {
    issues.push({
      path: `${path}.rateThreshold`,
      message: 'is required when windowMs or minimumCalls is set',
    });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return {
    failureThreshold: config.failureThreshold,
    resetTimeoutMs: config.resetTimeoutMs,
    halfOpenProbes,
    resetBackoffFactor,
    maxResetTimeoutMs,
    rate,
  };
}

/**
 * The errors are a union discriminated by `code`. The `expectTypeOf` lines are checked by
 * `tsc --noEmit` (part of `npm test`); the runtime lines check that the guards agree.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type AnyMcpRuntimeError,
  BreakerOpenError,
  type ErrorCode,
  isMcpRuntimeError,
  type McpRuntimeErrorByCode,
  RemoteError,
  TimeoutError,
  ValidationError,
} from '../../src/errors/index.js';
import type { McpRuntimeOutput } from '../../src/runtime/runtime-logic.js';

/** What a caller writes: a switch on `code` reaching each subclass's own fields. */
function describeError(e: AnyMcpRuntimeError): string {
  switch (e.code) {
    case 'VALIDATION':
      expectTypeOf(e).toEqualTypeOf<ValidationError>();
      return `bad field ${e.path}`;
    case 'REMOTE':
      expectTypeOf(e).toEqualTypeOf<RemoteError>();
      return `rpc ${e.rpcCode} retry ${e.retryAfterMs ?? '-'}`;
    case 'BREAKER_OPEN':
      return `retry in ${e.retryAfterMs}`;
    case 'TIMEOUT':
      return `after ${e.timeoutMs} ms`;
    case 'TOOL':
      return `tool ${e.tool}`;
    case 'AUTH':
      return `status ${e.status ?? '-'}`;
    default:
      expectTypeOf(e.code).toEqualTypeOf<
        'CONFIG' | 'CANCELLED' | 'CONNECTION_LOST' | 'QUEUE_FULL' | 'CLOSED' | 'PROTOCOL' | 'SERVER_FAILED'
      >();
      return e.code;
  }
}

describe('error narrowing', () => {
  it('switch (e.code) reaches the fields of each code', () => {
    const errors: unknown[] = [
      new ValidationError('bad', 'args.text'),
      new RemoteError('no', -32602, null, { retryAfterMs: 5 }),
      new BreakerOpenError('open', 250),
      new TimeoutError('late', 1_000),
    ];
    const seen = errors.map((e) => (isMcpRuntimeError(e) ? describeError(e) : 'other'));
    expect(seen).toEqual(['bad field args.text', 'rpc -32602 retry 5', 'retry in 250', 'after 1000 ms']);
  });

  it('isMcpRuntimeError(e, code) narrows to that code’s class and checks the code', () => {
    const e: unknown = new ValidationError('bad', 'args.n');
    if (isMcpRuntimeError(e, 'VALIDATION')) {
      expectTypeOf(e).toEqualTypeOf<ValidationError>();
      expect(e.path).toBe('args.n');
    } else expect.unreachable('a ValidationError is a VALIDATION error');
    expect(isMcpRuntimeError(e, 'REMOTE')).toBe(false);
    expect(isMcpRuntimeError(new Error('plain'))).toBe(false);
    const other: unknown = new TimeoutError('late', 5);
    if (isMcpRuntimeError(other)) expectTypeOf(other).toEqualTypeOf<AnyMcpRuntimeError>();
  });

  it('every code has its class, and each class carries its own code as a literal type', () => {
    expectTypeOf<keyof McpRuntimeErrorByCode>().toEqualTypeOf<ErrorCode>();
    expectTypeOf<RemoteError['code']>().toEqualTypeOf<'REMOTE'>();
    expectTypeOf<AnyMcpRuntimeError['code']>().toEqualTypeOf<ErrorCode>();
    expect(new RemoteError('x', 1, null).toJSON().code).toBe('REMOTE');
  });

  it('the embedding reports a code of the union, not any string', () => {
    type ErrorOutput = Extract<McpRuntimeOutput, { type: 'mcp.error' }>;
    expectTypeOf<ErrorOutput['code']>().toEqualTypeOf<ErrorCode | 'UNKNOWN'>();
    expect(true).toBe(true);
  });
});

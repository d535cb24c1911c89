/**
 * How raw failures from the SDK and the platform become runtime errors: the cases whose code
 * decides a retry.
 */
import { describe, expect, it } from 'vitest';
import { toRuntimeError } from '../../src/actors/map-error.js';

const ctx = { server: 's', operation: 'tools/call t' };

describe('toRuntimeError', () => {
  it("the SDK's bare 'Not connected' (a request after the transport closed, never sent) is CONNECTION_LOST", () => {
    const error = toRuntimeError(new Error('Not connected'), ctx);
    expect(error).toMatchObject({ code: 'CONNECTION_LOST', server: 's' });
    expect(error.message).toBe('tools/call t on s: not connected');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('any other bare Error stays PROTOCOL, with its message', () => {
    expect(toRuntimeError(new Error('Not connected yet?'), ctx)).toMatchObject({ code: 'PROTOCOL' });
  });
});

/**
 * The importable definition of a machine: its `createMachine` config as JSON, with every
 * implementation by name (the Stately editor and `createMachine` read it back). Functions that
 * compute data (`context`, `input`, `output`) are dropped, so nothing from a context, and no secret,
 * can end up in the file.
 */
import type { AnyStateMachine } from 'xstate';
import { implementationName } from './chart-model.js';

/** Config keys whose functions compute data; they are left out of the definition. */
const DATA_KEYS = new Set(['context', 'input', 'output']);

/**
 * The machine's config as plain JSON-compatible data, keys in the machine's own order.
 *
 * @example
 * const json = JSON.stringify(machineDefinition(connectionMachine), null, 2);
 * createMachine(JSON.parse(json)); // the same chart, implementations by name
 */
export function machineDefinition(machine: AnyStateMachine): Record<string, unknown> {
  const convert = (value: unknown, key: string): unknown => {
    if (DATA_KEYS.has(key)) return undefined;
    if (typeof value === 'function') return implementationName(value);
    if (Array.isArray(value)) return value.map((v) => convert(v, ''));
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const converted = convert(v, k);
        if (converted !== undefined) out[k] = converted;
      }
      return out;
    }
    return value;
  };
  return convert(machine.config, '') as Record<string, unknown>;
}

import { describe, expect, it } from 'vitest';
import { ToolRegistry, withoutOptionalNulls } from '../../src/runtime/tool-registry.js';

const schema = {
  type: 'object' as const,
  properties: { name: { type: 'string' }, verbose: { type: 'boolean' } },
  required: ['name'],
};

function registry(): ToolRegistry {
  const r = new ToolRegistry({ list: async () => [], onChanged: () => {}, onError: () => {}, debounceMs: 0 });
  r.ingest('s', 'tools', [{ name: 'greet', inputSchema: schema }]);
  return r;
}

describe('tool argument validation', () => {
  it('lets null through for an optional property, sending the caller its arguments unchanged', () => {
    const args = { name: 'ada', verbose: null };
    expect(() => registry().validateArguments('s', 'greet', args)).not.toThrow();
    expect(args).toEqual({ name: 'ada', verbose: null });
    expect(withoutOptionalNulls(schema, args)).toEqual({ name: 'ada' });
  });

  it('still refuses null for a required property and wrong types, naming the field', () => {
    const r = registry();
    expect(() => r.validateArguments('s', 'greet', { name: null })).toThrow(
      expect.objectContaining({
        code: 'VALIDATION',
        path: 'arguments.name',
        message: expect.stringContaining('arguments.name must be string'),
      }),
    );
    expect(() => r.validateArguments('s', 'greet', { name: 'ada', verbose: 'yes' })).toThrow(
      expect.objectContaining({ code: 'VALIDATION', path: 'arguments.verbose' }),
    );
    expect(() => r.validateArguments('s', 'greet', { verbose: null })).toThrow(
      expect.objectContaining({ code: 'VALIDATION', path: 'arguments.name' }),
    );
  });

  it('leaves arguments that are not an object to the schema', () => {
    expect(withoutOptionalNulls(schema, null)).toBeNull();
    expect(() => registry().validateArguments('s', 'greet', null)).toThrow(
      expect.objectContaining({ code: 'VALIDATION' }),
    );
  });
});

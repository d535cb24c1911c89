/**
 * Issue 15, item 1, as properties: no pattern or value a server supplies may block the event loop
 * for more than 50 ms. (The known catastrophic patterns are in redos-patterns.test.ts, its own
 * process, so that this file's garbage is not collected during their timing.) Each check times the synchronous validate call itself, in CPU time (`process.cpuUsage`
 * around it): on a shared machine (load above 20 on 2 cores) wall time also counts the time the
 * process waited for a core, which is not what the code costs. Between cases the test yields one
 * turn (`setImmediate`), as a real server's frames do, so every case gets the fresh per-turn budget
 * the engine grants.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { isMcpRuntimeError } from '../../src/errors/index.js';
import { sharedJsonSchemaValidator, validateAgainstSchema } from '../../src/runtime/schema.js';

const BLOCK_LIMIT_MS = 50;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** CPU milliseconds `run` takes (user + system). */
function cpuMs(run: () => void): number {
  const before = process.cpuUsage();
  run();
  const { user, system } = process.cpuUsage(before);
  return (user + system) / 1000;
}

/** Validates through the registry's path; returns the CPU time taken and whether the value passed. */
function timedValidate(schema: object, value: unknown): { ms: number; valid: boolean } {
  let valid = true;
  const ms = cpuMs(() => {
    try {
      validateAgainstSchema(schema, value, 'arguments', 'hostile on test');
    } catch (error) {
      if (!isMcpRuntimeError(error, 'VALIDATION')) throw error;
      valid = false;
    }
  });
  return { ms, valid };
}

beforeAll(() => {
  // One-time costs (Ajv's first code generation, re2js's tables) are not a server's doing.
  timedValidate({ type: 'string', pattern: '^[^a]\\s\\w.$' }, 'b a.');
});

/** Regex sources from a small grammar of atoms, sequences, alternations and quantifiers. */
const grammarArb: fc.Arbitrary<string> = fc
  .letrec<{ re: string }>((tie) => ({
    re: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constantFrom('a', 'b', 'aa', '.', '\\w', '\\s', '\\d', '[a-c]', '[^a]', 'x'),
      fc.tuple(tie('re'), tie('re')).map(([x, y]) => `${x}${y}`),
      fc.tuple(tie('re'), tie('re')).map(([x, y]) => `(${x}|${y})`),
      fc
        .tuple(tie('re'), fc.constantFrom('*', '+', '?', '{1,3}', '{2,}', '*?', '+?'))
        .map(([x, q]) => `(?:${x})${q}`),
    ),
  }))
  .re.chain((core) =>
    fc.tuple(fc.boolean(), fc.boolean()).map(([a, z]) => `${a ? '^' : ''}${core}${z ? '$' : ''}`),
  );

/** The catastrophic shape: a quantified group of overlapping alternatives, quantified again. */
const nestedArb = fc
  .tuple(
    fc.array(fc.constantFrom('a', 'aa', 'a?', '\\w', '[a-c]', '.', 'a+', 'a*'), {
      minLength: 1,
      maxLength: 3,
    }),
    fc.constantFrom('+', '*', '{1,}'),
    fc.constantFrom('+', '*'),
    fc.boolean(),
  )
  .map(
    ([alts, inner, outer, anchored]) => `${anchored ? '^' : ''}(?:(?:${alts.join('|')})${inner})${outer}$`,
  );

const patternArb = fc.oneof(grammarArb, nestedArb);

/** Hostile-looking values: a repeated unit then a spoiler, up to 10k characters. */
const valueArb = fc
  .tuple(
    fc.constantFrom('a', 'aa', 'ab', 'a ', 'x', 'a1'),
    fc.integer({ min: 0, max: 5_000 }),
    fc.constantFrom('', '!', 'b', ' ', 'y'),
  )
  .map(([unit, n, end]) => `${unit.repeat(n)}${end}`.slice(0, 10_000));

describe('ReDoS: schema patterns, properties (issue 15 #1)', () => {
  it('property: no generated pattern and value blocks validation for more than 50 ms', async () => {
    let worstMs = 0;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(patternArb, valueArb, async (pattern, value) => {
        await nextTurn();
        const schema = { type: 'object', properties: { s: { type: 'string', pattern } } };
        const { ms } = timedValidate(schema, { s: value });
        await nextTurn();
        const v1Ms = cpuMs(() => sharedJsonSchemaValidator.getValidator(schema as never)({ s: value }));
        runs++;
        worstMs = Math.max(worstMs, ms, v1Ms);
        expect(ms).toBeLessThan(BLOCK_LIMIT_MS);
        expect(v1Ms).toBeLessThan(BLOCK_LIMIT_MS);
      }),
      { numRuns: 300 },
    );
    console.info(`redos property: ${runs} runs, worst validate ${worstMs.toFixed(1)} ms`);
  }, 120_000);

  it('property: on short values the linear engine agrees with ECMAScript (meaning is kept)', async () => {
    let compared = 0;
    await fc.assert(
      fc.asyncProperty(
        patternArb,
        fc.string({
          unit: fc.constantFrom('a', 'b', 'x', '1', ' ', '\t', '\u00a0', '\r', '\n', '!'),
          maxLength: 8,
        }),
        async (pattern, value) => {
          await nextTurn();
          const native = new RegExp(pattern, 'u').test(value);
          const { valid } = timedValidate({ type: 'string', pattern }, value);
          compared++;
          expect(valid).toBe(native);
        },
      ),
      { numRuns: 300 },
    );
    console.info(`redos differential: ${compared} runs`);
  }, 120_000);
});

/**
 * The regex engine the runtime's Ajv uses for `pattern` and `patternProperties` in schemas a
 * server supplies (issue 15, item 1: `^(a+)+$` against 27 `a` and a `!` blocked the event loop for
 * 6.4 s with the native, backtracking engine).
 *
 * - **Linear time.** Patterns run on `re2js` (a pure-JS port of RE2: no backtracking, time linear
 *   in the input). Pure JS rather than the `re2` addon: no native build, no install script, any
 *   Node version (measured in `bench/redos-regexp.ts`).
 * - **Bounded cost.** Linear is not enough: RE2's time is (input length) x (program size), and
 *   compiling costs time per instruction, so `(?:a|ab|b){1000}x` on 100k characters still took 18 s.
 *   Each pattern's program size is estimated from its syntax tree (`@eslint-community/regexpp`);
 *   compiling and every test are charged against a budget of {@link PATTERN_BUDGET}.`turnMs` of
 *   worst-case engine time per turn of the event loop (reset on the next `setImmediate`).
 * - **Never fatal, never silent.** A pattern that cannot be checked safely is **not enforced** (the
 *   `pattern` keyword passes) and reported once, as a process warning with code
 *   {@link PATTERN_WARNING_CODE}: backreferences and lookaround (no linear engine has them), syntax
 *   RE2 lacks (`\p{Script=…}`), invalid syntax, a program over `maxInstructions`, or, for one
 *   value, a test over the turn's remaining budget. Tools stay callable; every other keyword of the
 *   schema is still enforced.
 * - **ECMAScript meaning kept** where RE2 differs: `\s` and `.` are rewritten to their ECMAScript
 *   sets (Unicode spaces; `.` excludes `\r`, U+2028, U+2029). `\S` inside a class keeps RE2's
 *   ASCII meaning.
 */
import { type AST, RegExpParser } from '@eslint-community/regexpp';
import { RE2JS } from 're2js';

/** Cost model of the budget, measured on `re2js` 2.10 (worst cases, see `bench/redos-regexp.ts`). */
export const PATTERN_BUDGET = {
  /** Worst-case engine time allowed per turn of the event loop. */
  turnMs: 25,
  /** Compile time per program instruction (worst measured: 25 µs). */
  compileNsPerInstruction: 25_000,
  /** Test time per (input character x instruction) (worst measured: 31 ns). */
  testNsPerStep: 40,
  /** Longest pattern source parsed at all. */
  maxPatternLength: 4096,
  /** Largest program compiled at all: one that alone would take the turn's budget to compile. */
  maxInstructions: 1000,
} as const;

/** `process.emitWarning` code of the one report per pattern that is not (or not always) enforced. */
export const PATTERN_WARNING_CODE = 'MCP_ACTORS_PATTERN_NOT_ENFORCED';

const TURN_BUDGET_NS = PATTERN_BUDGET.turnMs * 1e6;
/** Distinct patterns remembered as reported (bounded: a server can send endless new ones). */
const MAX_REPORTED = 1000;
/** ECMAScript `\s` (WhiteSpace and LineTerminator), as a class body. */
const JS_SPACE = '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';

let spentNs = 0;
const reported = new Set<string>();

/** Charges `costNs` to this turn's budget; false (nothing charged) when it does not fit. */
function charge(costNs: number): boolean {
  if (spentNs + costNs > TURN_BUDGET_NS) return false;
  if (spentNs === 0) setImmediate(() => (spentNs = 0)).unref();
  spentNs += costNs;
  return true;
}

function report(pattern: string, reason: string): void {
  if (reported.has(pattern) || reported.size >= MAX_REPORTED) return;
  reported.add(pattern);
  // JSON.stringify escapes control characters: the pattern is server text bound for a terminal.
  const shown = JSON.stringify(pattern.length > 120 ? `${pattern.slice(0, 120)}…` : pattern);
  process.emitWarning(`schema pattern ${shown} is not enforced: ${reason}`, { code: PATTERN_WARNING_CODE });
}

/** What a pattern's syntax tree says: its RE2 source, estimated program size, or why it is unsupported. */
interface Analysis {
  source: string;
  instructions: number;
  unsupported?: string;
}

function analyse(pattern: string, unicode: boolean): Analysis {
  const tree = new RegExpParser().parsePattern(pattern, 0, pattern.length, { unicode });
  const edits: Array<{ start: number; end: number; text: string }> = [];
  let unsupported: string | undefined;

  const size = (node: AST.Node): number => {
    switch (node.type) {
      case 'Pattern':
      case 'Group':
      case 'CapturingGroup':
        return node.alternatives.reduce((n, a) => n + size(a) + 1, 1);
      case 'Alternative':
        return node.elements.reduce((n, e) => n + size(e), 0);
      case 'Quantifier': {
        const inner = size(node.element);
        const copies = node.max === Number.POSITIVE_INFINITY ? node.min + 1 : node.max;
        return inner * Math.max(copies, 1) + 1;
      }
      case 'Backreference':
        unsupported ??= 'backreferences have no linear-time engine';
        return 1;
      case 'Assertion':
        if (node.kind === 'lookahead' || node.kind === 'lookbehind') {
          unsupported ??= 'lookaround has no linear-time engine';
        }
        return 1;
      case 'CharacterSet':
        if (node.kind === 'any') edits.push({ ...node, text: '[^\\n\\r\\u2028\\u2029]' });
        else if (node.kind === 'space' && node.parent.type !== 'CharacterClass') {
          edits.push({ ...node, text: `[${node.negate ? '^' : ''}${JS_SPACE}]` });
        } else if (node.kind === 'space' && !node.negate) edits.push({ ...node, text: JS_SPACE });
        return 1;
      default:
        return 1;
    }
  };
  const instructions = size(tree);
  let source = pattern;
  for (const e of edits.sort((a, b) => b.start - a.start)) {
    source = source.slice(0, e.start) + e.text + source.slice(e.end);
  }
  return unsupported ? { source, instructions, unsupported } : { source, instructions };
}

/** A compiled pattern as Ajv sees it: `test` and a `toString` Ajv uses as the cache key. */
class LinearPattern {
  private compiled: RE2JS | undefined;
  private refused: string | undefined;
  private analysis: Analysis | undefined;

  constructor(
    private readonly pattern: string,
    private readonly flags: string,
  ) {
    this.refused = this.refusal();
    if (this.refused) report(pattern, this.refused);
  }

  /** Why the pattern is never enforced, decided once from its source (undefined: it is). */
  private refusal(): string | undefined {
    if (this.pattern.length > PATTERN_BUDGET.maxPatternLength) {
      return `longer than ${PATTERN_BUDGET.maxPatternLength} characters`;
    }
    try {
      this.analysis = analyse(this.pattern, this.flags.includes('u'));
    } catch (error) {
      return `invalid ECMAScript regex (${(error as Error).message})`;
    }
    if (this.analysis.unsupported) return this.analysis.unsupported;
    if (this.analysis.instructions > PATTERN_BUDGET.maxInstructions) {
      return `about ${this.analysis.instructions} instructions, over ${PATTERN_BUDGET.maxInstructions}`;
    }
    return undefined;
  }

  test(input: string): boolean {
    const analysis = this.analysis;
    if (this.refused || !analysis) return true;
    if (!this.compiled) {
      if (!charge(analysis.instructions * PATTERN_BUDGET.compileNsPerInstruction)) return this.skip(input);
      try {
        this.compiled = RE2JS.compile(RE2JS.translateRegExp(analysis.source));
      } catch (error) {
        this.refused = `not supported by RE2 (${(error as Error).message})`;
        report(this.pattern, this.refused);
        return true;
      }
    }
    if (!charge((input.length + 1) * analysis.instructions * PATTERN_BUDGET.testNsPerStep)) {
      return this.skip(input);
    }
    return this.compiled.test(input);
  }

  private skip(input: string): true {
    report(
      this.pattern,
      `checking a ${input.length}-character value would pass this turn's ${PATTERN_BUDGET.turnMs} ms budget (this value only)`,
    );
    return true;
  }

  toString(): string {
    return `/${this.pattern}/${this.flags}`;
  }
}

/**
 * Ajv's `code.regExp` engine: linear-time, budgeted, never throws (see the module comment).
 *
 * @example
 * const ajv = new Ajv({ code: { regExp: linearRegExp } });
 * ajv.validate({ type: 'string', pattern: '^(a+)+$' }, `${'a'.repeat(40)}!`); // false, in µs
 */
export const linearRegExp = Object.assign(
  (pattern: string, flags: string): { test(input: string): boolean } => new LinearPattern(pattern, flags),
  { code: 'linearRegExp' },
);

/**
 * Measures the regex engines considered for schema `pattern` checks (issue 15, item 1) and the
 * ajv-formats validators on hostile values. Not part of `npm run bench`: run it alone.
 *
 *   npx tsx bench/redos-regexp.ts                       # native RegExp vs re2js, formats
 *   RE2_MODULE=/path/to/node_modules/re2 npx tsx bench/redos-regexp.ts   # also the `re2` addon
 *
 * Every figure is the slowest of 3 runs, in ms. The native engine is only run on inputs short
 * enough to finish (its time doubles per extra character).
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { RE2JS } from 're2js';

type Tester = (pattern: string) => { test(s: string): boolean };

const engines: Record<string, Tester> = {
  re2js: (p) => RE2JS.compile(RE2JS.translateRegExp(p)),
};
if (process.env.RE2_MODULE) {
  const RE2 = createRequire(import.meta.url)(process.env.RE2_MODULE) as new (
    p: string,
    f: string,
  ) => {
    test(s: string): boolean;
  };
  engines.re2 = (p) => new RE2(p, 'u');
}

function worstMs(run: () => unknown, times = 3): number {
  let worst = 0;
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    run();
    worst = Math.max(worst, performance.now() - t0);
  }
  return worst;
}

const fmt = (ms: number) => ms.toFixed(ms < 10 ? 3 : 1).padStart(9);

console.log('## Native RegExp (backtracking) on ^(a+)+$ against a*n + "!"');
for (const n of [16, 18, 20, 22, 24]) {
  const re = /^(a+)+$/u;
  const s = `${'a'.repeat(n)}!`;
  console.log(`n=${n}`.padEnd(8), fmt(worstMs(() => re.test(s), 1)));
}

const catastrophic: Array<[string, (n: number) => string]> = [
  ['^(a+)+$', (n) => `${'a'.repeat(n)}!`],
  ['(a|aa)+$', (n) => `${'a'.repeat(n)}!`],
  ['(a|a?)+$', (n) => `${'a'.repeat(n)}!`],
  ['^(\\w+\\s?)*$', (n) => `${'ab '.repeat(n / 3)}!`],
  ['(x+x+)+y', (n) => 'x'.repeat(n)],
  ['^([a-zA-Z0-9_.+-])+@(([a-zA-Z0-9-])+\\.)+([a-zA-Z0-9]{2,4})+$', (n) => `${'a'.repeat(n)}@`],
  ['^(([a-z])+.)+[A-Z]([a-z])+$', (n) => 'a'.repeat(n)],
  ['(.*a){20}', (n) => 'a'.repeat(n)],
  ['[a-z]{1000}$', (n) => 'a'.repeat(n)],
  ['(?:(?:a{1,30}){1,30}){1,30}$', (n) => `${'a'.repeat(n)}!`],
  ['[a-z]{1000}[0-9]{1000}$', (n) => 'a'.repeat(n)],
];

for (const [name, make] of Object.entries(engines)) {
  console.log(`\n## ${name}: compile, then test on hostile inputs (ms)`);
  console.log('pattern'.padEnd(62), 'compile'.padStart(9), '10k'.padStart(9), '1M'.padStart(9));
  for (const [pattern, input] of catastrophic) {
    let re: { test(s: string): boolean } | undefined;
    let compileMs: number;
    try {
      compileMs = worstMs(() => {
        re = make(pattern);
      });
    } catch (e) {
      console.log(pattern.slice(0, 62).padEnd(62), `refused: ${(e as Error).message.split('\n')[0]}`);
      continue;
    }
    const s10k = input(10_000);
    const s1m = input(1_000_000);
    const r = re as { test(s: string): boolean };
    console.log(
      pattern.slice(0, 62).padEnd(62),
      fmt(compileMs),
      fmt(worstMs(() => r.test(s10k))),
      fmt(worstMs(() => r.test(s1m))),
    );
  }
  console.log('unsupported syntax:');
  for (const pattern of ['^(a)\\1$', '^(?=a)a$', '(?<=a)b', '(?<!a)b', '^(?!x).*$']) {
    try {
      make(pattern);
      console.log(`  ${pattern.padEnd(14)} compiles`);
    } catch (e) {
      console.log(`  ${pattern.padEnd(14)} refused: ${(e as Error).message.split('\n')[0]}`);
    }
  }
}

console.log('\n## ajv-formats (full mode, native RegExp) on hostile values: worst ms, 10k and 1M chars');
const ajv = new Ajv({ strict: false, validateFormats: true, allErrors: true });
(addFormatsModule as unknown as (a: Ajv) => void)(ajv);
const hostile: Array<(n: number) => string> = [
  (n) => 'a'.repeat(n),
  (n) => `${'a'.repeat(n)}!`,
  (n) => `${'a.'.repeat(n / 2)}!`,
  (n) => `${'a@'.repeat(n / 2)}`,
  (n) => `${'a-'.repeat(n / 2)}.`,
  (n) => `${'1'.repeat(n)}:`,
  (n) => `${'1:'.repeat(n / 2)}x`,
  (n) => `${'%'.repeat(n)}`,
  (n) => `http://${'a'.repeat(n)}!`,
  (n) => `http://a/${'%aa'.repeat(n / 3)}%`,
  (n) => `${'{a}'.repeat(n / 3)}{`,
  (n) => `P${'1Y'.repeat(n / 2)}!`,
  (n) => `2020-01-01T00:00:00${'0'.repeat(n)}`,
  (n) => `${'/a'.repeat(n / 2)}~`,
  (n) => `0${'/a'.repeat(n / 2)}~`,
  (n) => `${'a'.repeat(n)}@${'a.'.repeat(n / 2)}`,
  (n) => `${'(a+)+'.repeat(n / 5)}`,
];
const formats = [
  'date',
  'time',
  'date-time',
  'iso-time',
  'iso-date-time',
  'duration',
  'uri',
  'uri-reference',
  'uri-template',
  'url',
  'email',
  'hostname',
  'ipv4',
  'ipv6',
  'regex',
  'uuid',
  'json-pointer',
  'json-pointer-uri-fragment',
  'relative-json-pointer',
  'byte',
];
const rows: Array<[string, number, number]> = [];
for (const format of formats) {
  const validate = ajv.compile({ type: 'string', format });
  let w10k = 0;
  let w1m = 0;
  for (const make of hostile) {
    const a = make(10_000);
    const b = make(1_000_000);
    w10k = Math.max(
      w10k,
      worstMs(() => validate(a)),
    );
    w1m = Math.max(
      w1m,
      worstMs(() => validate(b)),
    );
  }
  rows.push([format, w10k, w1m]);
}
rows.sort((x, y) => y[2] - x[2]);
for (const [format, a, b] of rows) console.log(format.padEnd(28), fmt(a), fmt(b));

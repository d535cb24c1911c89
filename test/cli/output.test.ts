/**
 * What a server sends cannot drive the terminal: `sanitize` strips escape sequences (CSI, OSC
 * incl. OSC 52, DCS...) and C0/C1 controls but newline and tab; `jsonForTerminal` escapes what
 * JSON.stringify leaves raw. Property: no control character survives any input.
 */
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonForTerminal, Output, sanitize } from '../../src/cli/output.js';
import { CONTROL, HOSTILE } from '../helpers/hostile-text.js';

describe('sanitize', () => {
  it('strips every control sequence and character of a hostile description, keeping the text', () => {
    expect(sanitize(HOSTILE)).toBe('beforehiddenafter\n\tnext');
  });

  it('an unterminated OSC is cut to the end, so it cannot swallow what the CLI prints next', () => {
    expect(sanitize('name\x1b]52;c;AAAA')).toBe('name');
  });

  it('leaves plain text, Unicode and emoji alone', () => {
    expect(sanitize('héllo wörld ✓ 🚀 — 100%')).toBe('héllo wörld ✓ 🚀 — 100%');
  });

  it('no control character but newline and tab survives any input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        expect(sanitize(s)).not.toMatch(CONTROL);
      }),
      { numRuns: 500 },
    );
  });
});

describe('Output', () => {
  function capture(json: boolean): { out: Output; text: () => string } {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let text = '';
    for (const s of [stdout, stderr]) s.on('data', (c: Buffer) => (text += c.toString('utf8')));
    const out = new Output(
      { json },
      stdout as unknown as NodeJS.WriteStream,
      stderr as unknown as NodeJS.WriteStream,
    );
    return { out, text: () => text };
  }

  it('line, note, progress and fail strip what a server sent', () => {
    const { out, text } = capture(false);
    out.line(`tool  ${out.paint(36, HOSTILE)}`);
    out.note(HOSTILE);
    out.progress({ progress: 1, total: 2, message: HOSTILE });
    out.fail(new Error(HOSTILE));
    expect(text()).not.toMatch(CONTROL);
    expect(text()).toContain('beforehiddenafter');
  });

  it('JSON output escapes C1 controls too and parses back to the same value', () => {
    const value = { description: HOSTILE };
    expect(jsonForTerminal(value)).not.toMatch(CONTROL);
    expect(JSON.parse(jsonForTerminal(value))).toEqual(value);
    const { out, text } = capture(true);
    out.data(value);
    expect(text().replace(/\n/g, '')).not.toMatch(CONTROL);
  });
});

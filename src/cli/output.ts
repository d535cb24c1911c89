/**
 * What the CLI prints: human text (colour only on a TTY without NO_COLOR) or, with `--json`, one
 * JSON document on stdout. Progress and diagnostics go to stderr so stdout stays parseable.
 */
import { isMcpRuntimeError } from '../errors/index.js';

/**
 * Terminal control sequences: CSI (7- and 8-bit), OSC / DCS / SOS / PM / APC strings up to their
 * terminator (BEL or ST) or the end of the text (OSC 52 writes the clipboard, OSC 0 the title),
 * and any other escape sequence. strip-ansi's pattern leaves OSC payloads such as base64 behind.
 */
const CONTROL_SEQUENCE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /\x1b\[[0-?]*[ -/]*[@-~]?|\x9b[0-?]*[ -/]*[@-~]?|(?:\x1b[\]PX^_]|[\x90\x98\x9d-\x9f])[\s\S]*?(?:\x07|\x1b\\|\x9c|$)|\x1b[ -/]*[0-~]?/g;
/** C0 controls but newline and tab, DEL, and C1 controls. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARACTER = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
/** The colour codes {@link Output.paint} writes; nothing else passes {@link Output.line}. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const OWN_COLOUR = /\x1b\[(?:0|1|2|31|32|33|36)m/g;

/**
 * `text` without terminal control sequences or control characters (newline and tab stay), so what
 * a server sends (names, descriptions, results, errors) cannot move the cursor, rewrite the screen,
 * set the title or write the clipboard.
 */
export function sanitize(text: string): string {
  return text.replace(CONTROL_SEQUENCE, '').replace(CONTROL_CHARACTER, '');
}

/** Like {@link sanitize}, but keeps the colour codes of {@link Output.paint}. */
function sanitizeKeepingColour(text: string): string {
  const parts = text.split(OWN_COLOUR);
  const codes = text.match(OWN_COLOUR) ?? [];
  return parts.map((part, i) => sanitize(part) + (codes[i] ?? '')).join('');
}

/** A usage mistake: exit code 2 with the command's usage. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** JSON with DEL and C1 controls escaped as `\\u00XX` (JSON.stringify escapes only C0). */
export function jsonForTerminal(value: unknown, indent = 2): string {
  return JSON.stringify(value, null, indent).replace(
    /[\x7f-\x9f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Exit codes of `mcp-actors`. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Streams and switches of one command run. */
export class Output {
  readonly json: boolean;
  readonly colour: boolean;
  private progressShown = false;

  constructor(
    options: { json: boolean },
    readonly stdout: NodeJS.WriteStream = process.stdout,
    readonly stderr: NodeJS.WriteStream = process.stderr,
  ) {
    this.json = options.json;
    this.colour = Boolean(stdout.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
  }

  /** `text` in an ANSI colour (bold 1, red 31, green 32, yellow 33, cyan 36, dim 2) on a TTY. */
  paint(code: 0 | 1 | 2 | 31 | 32 | 33 | 36, text: string): string {
    return this.colour ? `\x1b[${code}m${sanitize(text)}\x1b[0m` : text;
  }

  /** A line on stdout (human mode); control sequences are stripped, but for {@link paint}'s colours. */
  line(text = ''): void {
    this.clearProgress();
    this.stdout.write(`${this.colour ? sanitizeKeepingColour(text) : sanitize(text)}\n`);
  }

  /**
   * The JSON document of a `--json` run. JSON escapes C0 controls; C1 controls (8-bit CSI, OSC)
   * are escaped here too, so the document is inert on a terminal and parses to the same value.
   */
  data(value: unknown): void {
    this.clearProgress();
    this.stdout.write(`${jsonForTerminal(value)}\n`);
  }

  /** A diagnostic on stderr (control sequences stripped). */
  note(text: string): void {
    this.clearProgress();
    this.stderr.write(`${sanitize(text)}\n`);
  }

  /** Progress of a long call, on stderr (one updating line on a TTY). */
  progress(p: { progress: number; total?: number; message?: string }): void {
    const pct = p.total ? ` ${Math.round((100 * p.progress) / p.total)}%` : '';
    const text = sanitize(
      `progress ${p.progress}${p.total !== undefined ? `/${p.total}` : ''}${pct}${p.message ? ` ${p.message}` : ''}`,
    );
    if (this.stderr.isTTY) {
      this.stderr.write(`\r\x1b[2K${text}`);
      this.progressShown = true;
    } else {
      this.stderr.write(`${text}\n`);
    }
  }

  /** Reports an error; returns its exit code (2 for usage and config, 1 otherwise). */
  fail(error: unknown): number {
    this.clearProgress();
    if (error instanceof UsageError) {
      this.stderr.write(`${this.paint(31, 'error:')} ${sanitize(error.message)}\n`);
      if (error.usage) this.stderr.write(`\n${error.usage}\n`);
      return EXIT.usage;
    }
    const code = isMcpRuntimeError(error) ? error.code : 'ERROR';
    const exit = code === 'CONFIG' ? EXIT.usage : EXIT.failed;
    if (this.json) {
      const body = isMcpRuntimeError(error)
        ? error.toJSON()
        : { name: 'Error', code, message: (error as Error)?.message ?? String(error) };
      this.stdout.write(`${jsonForTerminal({ ok: false, error: body })}\n`);
    } else {
      this.stderr.write(
        `${this.paint(31, `error ${code}:`)} ${sanitize((error as Error)?.message ?? String(error))}\n`,
      );
    }
    return exit;
  }

  private clearProgress(): void {
    if (this.progressShown) {
      this.stderr.write('\r\x1b[2K');
      this.progressShown = false;
    }
  }
}

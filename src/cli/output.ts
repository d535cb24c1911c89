/**
 * What the CLI prints: human text (colour only on a TTY without NO_COLOR) or, with `--json`, one
 * JSON document on stdout. Progress and diagnostics go to stderr so stdout stays parseable.
 */
import { isMcpRuntimeError } from '../errors/index.js';

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
  paint(code: number, text: string): string {
    return this.colour ? `\x1b[${code}m${text}\x1b[0m` : text;
  }

  /** A line on stdout (human mode). */
  line(text = ''): void {
    this.clearProgress();
    this.stdout.write(`${text}\n`);
  }

  /** The JSON document of a `--json` run. */
  data(value: unknown): void {
    this.clearProgress();
    this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** A diagnostic on stderr. */
  note(text: string): void {
    this.clearProgress();
    this.stderr.write(`${text}\n`);
  }

  /** Progress of a long call, on stderr (one updating line on a TTY). */
  progress(p: { progress: number; total?: number; message?: string }): void {
    const pct = p.total ? ` ${Math.round((100 * p.progress) / p.total)}%` : '';
    const text = `progress ${p.progress}${p.total !== undefined ? `/${p.total}` : ''}${pct}${p.message ? ` ${p.message}` : ''}`;
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
      this.stderr.write(`${this.paint(31, 'error:')} ${error.message}\n`);
      if (error.usage) this.stderr.write(`\n${error.usage}\n`);
      return EXIT.usage;
    }
    const code = isMcpRuntimeError(error) ? error.code : 'ERROR';
    const exit = code === 'CONFIG' ? EXIT.usage : EXIT.failed;
    if (this.json) {
      const body = isMcpRuntimeError(error)
        ? error.toJSON()
        : { name: 'Error', code, message: (error as Error)?.message ?? String(error) };
      this.stdout.write(`${JSON.stringify({ ok: false, error: body }, null, 2)}\n`);
    } else {
      this.stderr.write(
        `${this.paint(31, `error ${code}:`)} ${(error as Error)?.message ?? String(error)}\n`,
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

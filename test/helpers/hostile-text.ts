/** Text a hostile MCP server sends to drive the terminal of whoever prints it. */

/** Any control character but newline and tab: nothing of it may reach a terminal. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters is the point
export const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

/** A tool description as a hostile server would write it; sanitised it reads "beforehiddenafter", newline, tab, "next". */
export const HOSTILE =
  'before' +
  '\x1b]52;c;SGVsbG8gd29ybGQ=\x07' + // OSC 52: write the clipboard
  '\x1b]0;pwned\x1b\\' + // OSC 0: set the title, ST-terminated
  '\x1b[2J\x1b[H' + // clear the screen, cursor home
  '\x1b[8mhidden\x1b[0m' + // conceal
  '\x9b31m' + // 8-bit CSI
  '\x9d8;;http://evil\x9c' + // 8-bit OSC 8 hyperlink
  '\x1bPdcs\x1b\\' + // DCS string
  '\x1b7\x1bc' + // save cursor, full reset
  '\r\x07\x08\x00\x7f' + // CR, BEL, BS, NUL, DEL
  'after\n\tnext';

/*
 * What the CLI prints may come from the database (server names) or from a URL (a signed
 * destination): a control character in it would reach the operator's terminal, where ESC
 * starts sequences that move the cursor, recolour or clear the screen, and BEL rings. Each is
 * printed as a visible \u escape instead (the form JSON uses, so JSON output stays valid).
 */

const CONTROL_CHARACTERS = /\p{Cc}/gu;
const CONTROL_CHARACTERS_BUT_LINE_BREAKS_AND_TABS = /(?![\n\t])\p{Cc}/gu;

const escapeCharacter = (character: string): string => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** One value on one line: every control character escaped, line breaks and tabs included. */
export const printable = (text: string): string => text.replace(CONTROL_CHARACTERS, escapeCharacter);

/** A whole output: its own line breaks and tabs kept, every other control character escaped. */
export const terminalSafe = (text: string): string => text.replace(CONTROL_CHARACTERS_BUT_LINE_BREAKS_AND_TABS, escapeCharacter);

/** Each row on a line of its own (a row never spans two). */
export const lines = (rows: string[]): string => rows.map((row) => `${printable(row)}\n`).join('');

/** Columns padded to their widest cell, so the list reads in a terminal and splits on whitespace. */
export function table(header: string[], rows: string[][]): string {
  const cells = rows.map((row) => row.map(printable));
  const widths = header.map((title, i) => Math.max(title.length, ...cells.map((row) => row[i].length)));
  return lines([header, ...cells].map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()));
}

/** `--json` output: JSON.stringify escapes C0 controls itself; DEL and C1 get the same \u form. */
export const jsonOutput = (value: unknown): string => `${terminalSafe(JSON.stringify(value, null, 2))}\n`;

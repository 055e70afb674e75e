/** Each row on a line of its own. */
export const lines = (rows: string[]): string => rows.map((row) => `${row}\n`).join('');

/** Columns padded to their widest cell, so the list reads in a terminal and splits on whitespace. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i].length)));
  return lines([header, ...rows].map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()));
}

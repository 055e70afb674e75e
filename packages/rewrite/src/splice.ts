/** A replacement of source[start, end) by text. */
export interface Splice {
  start: number;
  end: number;
  text: string;
}

/** Applies non-overlapping splices (in any order) to a string, leaving every other character as it was. */
export function applySplices(source: string, splices: Splice[]): string {
  if (splices.length === 0) return source;
  const sorted = [...splices].sort((a, b) => a.start - b.start);
  const out: string[] = [];
  let at = 0;
  for (const { start, end, text } of sorted) {
    if (start < at) throw new Error('overlapping splices');
    out.push(source.slice(at, start), text);
    at = end;
  }
  out.push(source.slice(at));
  return out.join('');
}

/**
 * The largest n in [0, upTo] for which `fits(n)` holds, where fits is true up to some n and
 * false from there on (e.g. "a destination of n characters still gets a tracking URL"): the
 * input just under a limit is n, the one just over it n + 1. Throws when not even 0 fits.
 */
export async function largestFitting(fits: (n: number) => boolean | Promise<boolean>, upTo: number): Promise<number> {
  if (!(await fits(0))) throw new Error('largestFitting: not even 0 fits');
  let low = 0; // fits
  let high = upTo + 1; // assumed not to fit
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (await fits(middle)) low = middle;
    else high = middle;
  }
  return low;
}

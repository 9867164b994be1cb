/**
 * Linear-time checks for tests: how much longer an input four times the size takes. A ratio, not a bound on speed:
 * linear work gives about 4, quadratic about 16. Used by tests only.
 */

/** The ratio under which work counts as linear. */
export const LINEAR = 8;

/** Wall-clock ms of `reps` runs of `run`. */
function timeOf(run: () => unknown, reps: number): number {
  const t = performance.now();
  for (let r = 0; r < reps; r++) run();
  return performance.now() - t;
}

/**
 * Time of `make(4n)()` over time of `make(n)()`. Each is repeated until the small one takes 30 ms (timer
 * resolution and noise must not decide), the two are timed alternately, best of three; when the ratio is not
 * under {@link LINEAR}, it is measured again, up to three times (a collection pause can spoil one measurement,
 * never make quadratic work look linear). A large run that takes seconds is timed once.
 */
export function growth(make: (n: number) => () => unknown, n: number): number {
  const small = make(n);
  const large = make(4 * n);
  small();
  small();
  let reps = 1;
  while (reps < 1 << 16 && timeOf(small, reps) < 30) reps *= 2;
  let ratio = Infinity;
  for (let attempt = 0; attempt < 3 && ratio >= LINEAR; attempt++) {
    let s = Infinity;
    let l = Infinity;
    for (let k = 0; k < 3 && (k === 0 || l < 2_000); k++) {
      s = Math.min(s, timeOf(small, reps));
      l = Math.min(l, timeOf(large, reps));
    }
    ratio = Math.min(ratio, l / s);
    if (l >= 2_000) break;
  }
  return ratio;
}

/** Helpers of the linear-time scanner tests: random inputs from pieces, and wall time. */
import { performance } from 'node:perf_hooks';

/** A string of `count` pieces drawn from `pieces` by a seeded generator's next() in [0, 1). */
export function randomOfPieces(next: () => number, pieces: readonly string[], count: number): string {
  let s = '';
  for (let i = 0; i < count; i++) s += pieces[Math.floor(next() * pieces.length)];
  return s;
}

/** Wall time of `fn` in milliseconds. */
export function timedMs(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

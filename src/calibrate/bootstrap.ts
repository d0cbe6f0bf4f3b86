import { InputError } from '../shared/errors.js';
import { seededRng, type Rng } from '../shared/random.js';

/** A calibrated quantity: the estimate from all the data and its bootstrap percentile interval. */
export interface Interval {
  value: number;
  low: number;
  high: number;
  /** Resamples that gave an estimate (the interval is read from these). */
  resamples: number;
}

export interface BootstrapOptions {
  seed: number;
  /** Resamples (default 1000). */
  resamples?: number;
  /** Consecutive items per block (default ⌈n^(1/3)⌉; 1 resamples items independently). */
  blockLength?: number;
  /** Coverage of the interval (default 0.95). */
  level?: number;
}

/** An estimator of named quantities (NaN or absent: not estimable from this resample; ±Infinity counts). */
export type Estimator<T> = (items: readonly T[]) => Record<string, number>;

/**
 * Moving-block bootstrap (Künsch 1989, "The jackknife and the bootstrap for general stationary
 * observations", Ann. Statist. 17(3)): each resample concatenates blocks of `blockLength`
 * consecutive items starting at uniform positions until it holds n items, so the autocorrelation of
 * neighbouring windows survives inside each block. Default block length n^(1/3) (Hall, Horowitz &
 * Jing 1995). The interval is the percentile interval (Efron & Tibshirani 1993, §13.3) of the
 * resampled estimates, widened to hold `value` (the estimate from all the items) when a skewed
 * estimator's percentiles leave it out.
 */
export function blockBootstrap<T>(
  items: readonly T[],
  estimator: Estimator<T>,
  options: BootstrapOptions,
): Record<string, Interval> {
  const n = items.length;
  if (n === 0) throw new InputError('bootstrap: no windows (or points) to resample');
  const resamples = options.resamples ?? 1000;
  const level = options.level ?? 0.95;
  if (!(level > 0 && level < 1)) throw new InputError(`bootstrap: level must be in (0, 1), got ${level}`);
  const blockLength = Math.min(n, Math.max(1, Math.round(options.blockLength ?? Math.ceil(Math.cbrt(n)))));
  const point = estimator(items);
  const draws = new Map<string, number[]>(Object.keys(point).map((k) => [k, []]));
  const rng = seededRng(options.seed);
  for (let r = 0; r < resamples; r++) {
    const estimate = estimator(resampleBlocks(items, blockLength, rng));
    for (const [name, list] of draws) {
      const v = estimate[name];
      if (v !== undefined && !Number.isNaN(v)) list.push(v);
    }
  }
  const out: Record<string, Interval> = {};
  for (const [name, list] of draws) {
    list.sort((a, b) => a - b);
    const value = point[name]!;
    out[name] = {
      value,
      low: list.length > 0 ? Math.min(value, quantileSorted(list, (1 - level) / 2)) : value,
      high: list.length > 0 ? Math.max(value, quantileSorted(list, (1 + level) / 2)) : value,
      resamples: list.length,
    };
  }
  return out;
}

/** One moving-block resample of n items. */
export function resampleBlocks<T>(items: readonly T[], blockLength: number, rng: Rng): T[] {
  const n = items.length;
  const out: T[] = [];
  const starts = n - blockLength + 1;
  while (out.length < n) {
    const start = Math.floor(rng.next() * starts);
    for (let i = 0; i < blockLength && out.length < n; i++) out.push(items[start + i]!);
  }
  return out;
}

/** The p-quantile of sorted values, interpolated between order statistics (Hyndman & Fan 1996, type 7). */
function quantileSorted(sorted: readonly number[], p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(sorted.length - 1, lo + 1);
  if (h === lo || sorted[lo] === sorted[hi]) return sorted[lo]!; // no 0 × Infinity
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * Confidence intervals of the change between two runs by the moving-block bootstrap (calibration's
 * resampleBlocks: Künsch 1989, blocks of ⌈n^(1/3)⌉ windows, Hall, Horowitz & Jing 1995) over time
 * windows, paired: both runs offered the same schedule, so one resample draws window positions and takes
 * those windows of both runs (a step-load run's light and heavy steps stay matched, and the interval
 * measures the noise, not the schedule). The statistic is computed on both resamples and the
 * candidate's minus the base's collected; the interval is the percentile interval of those differences
 * (Efron & Tibshirani 1993, §13.3). Windows are the unit because requests within a run are not
 * independent: resampling requests would give intervals far too narrow and call noise a regression.
 */
import { quantileSorted } from 'simple-statistics';
import { resampleBlocks } from '../calibrate/bootstrap.js';
import { seededRng } from '../shared/random.js';

export interface BootstrapSettings {
  seed: number;
  resamples: number;
  /** Coverage of the intervals, e.g. 0.95. */
  level: number;
}

/** A statistic of both runs and the interval of its change. */
export interface Change {
  base: number;
  candidate: number;
  /** candidate − base, in the statistic's unit, and its interval. */
  difference: number;
  low: number;
  high: number;
  /** candidate / base (Infinity when only the base is 0; 1 when both are) and the interval of ratio − 1. */
  ratio: number;
  relativeLow: number;
  relativeHigh: number;
  /** Resample pairs in which the statistic was defined on both sides. */
  resamples: number;
}

/** Named statistics of a set of windows (NaN: not defined on these windows). */
export type Statistics<T> = (windows: readonly T[]) => Record<string, number>;

/**
 * The change of every statistic from base to candidate, with block-bootstrap intervals. The runs'
 * windows come by position since the run's start; undefined where a run has none (a gap in the samples,
 * a shorter run).
 */
export function bootstrapChanges<T>(
  base: readonly (T | undefined)[],
  candidate: readonly (T | undefined)[],
  statistics: Statistics<T>,
  settings: BootstrapSettings,
): Record<string, Change> {
  const defined = (slots: readonly (T | undefined)[]) => slots.filter((w): w is T => w !== undefined);
  const pointBase = statistics(defined(base));
  const pointCandidate = statistics(defined(candidate));
  const names = Object.keys(pointBase).filter((k) => Number.isFinite(pointCandidate[k]));
  const differences = new Map(names.map((k) => [k, [] as number[]]));
  const relatives = new Map(names.map((k) => [k, [] as number[]]));
  const rng = seededRng(settings.seed);
  const positions = Array.from({ length: Math.max(base.length, candidate.length) }, (_, i) => i);
  const blockLength = Math.min(positions.length, Math.ceil(Math.cbrt(positions.length)));
  const take = (slots: readonly (T | undefined)[], drawn: readonly number[]) =>
    drawn.flatMap((i) => (slots[i] === undefined ? [] : [slots[i]]));
  for (let r = 0; r < settings.resamples && positions.length > 0; r++) {
    const drawn = resampleBlocks(positions, blockLength, rng);
    const b = statistics(take(base, drawn));
    const c = statistics(take(candidate, drawn));
    for (const name of names) {
      const [vb, vc] = [b[name]!, c[name]!];
      if (!Number.isFinite(vb) || !Number.isFinite(vc)) continue;
      differences.get(name)!.push(vc - vb);
      relatives.get(name)!.push(ratioOf(vb, vc) - 1);
    }
  }
  const out: Record<string, Change> = {};
  const tail = (1 - settings.level) / 2;
  for (const name of names) {
    const [vb, vc] = [pointBase[name]!, pointCandidate[name]!];
    if (!Number.isFinite(vb)) continue;
    const d = differences.get(name)!.sort((x, y) => x - y);
    const rel = relatives.get(name)!.sort((x, y) => x - y);
    const at = (list: number[], p: number, fallback: number) =>
      list.length > 0 ? quantileOf(list, p) : fallback;
    const ratio = ratioOf(vb, vc);
    out[name] = {
      base: vb,
      candidate: vc,
      difference: vc - vb,
      low: at(d, tail, vc - vb),
      high: at(d, 1 - tail, vc - vb),
      ratio,
      relativeLow: at(rel, tail, ratio - 1),
      relativeHigh: at(rel, 1 - tail, ratio - 1),
      resamples: d.length,
    };
  }
  return out;
}

/** candidate / base, with 0 / 0 = 1 (nothing changed) and x / 0 = Infinity. */
export function ratioOf(base: number, candidate: number): number {
  if (base === 0) return candidate === 0 ? 1 : Number.POSITIVE_INFINITY;
  return candidate / base;
}

/** simple-statistics' type-7 quantile, without 0 × Infinity when the list holds infinite ratios. */
function quantileOf(sorted: number[], p: number): number {
  const h = (sorted.length - 1) * p;
  const [lo, hi] = [sorted[Math.floor(h)]!, sorted[Math.ceil(h)]!];
  return lo === hi || !Number.isFinite(lo) || !Number.isFinite(hi)
    ? h - Math.floor(h) < 0.5
      ? lo
      : hi
    : quantileSorted(sorted, p);
}

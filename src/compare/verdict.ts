/**
 * The verdict on one row: a change is a regression only when it is large (beyond the threshold), real
 * (its bootstrap interval excludes zero) and, where a rank test applies, unlikely under "same
 * distribution" (p below alpha). Any one of the three alone calls noise a regression: a long run makes
 * a 1 % shift significant, a short one makes a 30 % jump of one slow second look large.
 */
import type { Change } from './bootstrapChange.js';

/** Which way is worse: latency and CPU up, throughput down. */
export type Worse = 'higher' | 'lower';
export type Verdict = 'regressed' | 'improved' | 'unchanged';

export interface VerdictRule {
  /** Smallest relative change that matters, e.g. 0.1 for 10 %. */
  threshold: number;
  /** Largest p-value of the rank test that counts as a difference, e.g. 0.05. */
  alpha: number;
}

/** The verdict of a change given the direction that is worse and the rank test's p (null when none applies). */
export function verdictOf(change: Change, worse: Worse, pValue: number | null, rule: VerdictRule): Verdict {
  const sign = worse === 'higher' ? 1 : -1;
  const relative = (change.ratio - 1) * sign;
  const significant = pValue === null || pValue < rule.alpha;
  if (!significant) return 'unchanged';
  const [worseLow, worseHigh] = sign > 0 ? [change.low, change.high] : [-change.high, -change.low];
  if (relative > rule.threshold && worseLow > 0) return 'regressed';
  if (relative < -rule.threshold && worseHigh < 0) return 'improved';
  return 'unchanged';
}

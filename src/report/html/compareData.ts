/**
 * The data behind the comparison page's charts, from the Comparison that `--format json`
 * writes: each endpoint class's latency percentiles in both runs side by side, and every
 * row's relative change with its interval (the verdict's evidence).
 */
import type { Comparison, Row } from '../../compare/comparison.js';

export interface PercentilePoint {
  subject: string;
  metric: string;
  run: 'base' | 'candidate';
  ms: number;
}

const LATENCY = /^p\d+$/;

/** Latency percentiles (p50, p95, p99…) of each endpoint class, base and candidate. */
export function latencyProfiles(c: Comparison): PercentilePoint[] {
  return c.rows
    .filter((r) => r.section === 'endpoint class' && r.unit === 'ms' && LATENCY.test(r.metric))
    .flatMap((r) => [
      { subject: r.subject, metric: r.metric, run: 'base' as const, ms: r.change.base },
      { subject: r.subject, metric: r.metric, run: 'candidate' as const, ms: r.change.candidate },
    ]);
}

export interface ChangePoint {
  label: string;
  verdict: Row['verdict'];
  /** candidate / base − 1 and its interval; rows without a finite ratio (a share, from 0) are left out. */
  relative: number;
  low: number;
  high: number;
}

/** Each row's relative change and interval, regressions first, then by section as the JSON has them. */
export function relativeChanges(c: Comparison): ChangePoint[] {
  const rank = (r: Row) => (r.verdict === 'regressed' ? 0 : r.verdict === 'improved' ? 1 : 2);
  return c.rows
    .filter((r) => r.unit !== 'share' && r.change.base !== 0 && Number.isFinite(r.change.ratio))
    .map((r, i) => ({ r, i }))
    .sort((a, b) => rank(a.r) - rank(b.r) || a.i - b.i)
    .map(({ r }) => ({
      label: `${r.section === 'endpoint class' ? '' : `${r.section} `}${r.subject} ${r.metric}`,
      verdict: r.verdict,
      relative: r.change.ratio - 1,
      low: r.change.relativeLow,
      high: r.change.relativeHigh,
    }));
}

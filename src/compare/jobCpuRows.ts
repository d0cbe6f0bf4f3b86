/**
 * Per-job CPU of each Sidekiq job class in both runs, through each run's calibration: the regression of
 * the Sidekiq processes' CPU on the classes' completion rates (per pool when the processes are named
 * `sidekiq-QUEUES-N`), with its moving-block bootstrap interval over that run's windows
 * (calibrate/calibrateRuns.ts). The value is the regression's coefficient, Sidekiq's own per-job cost
 * included: the same in both runs, it cancels in the difference.
 *
 * The runs are independent; the interval of the difference is the widest the two runs' intervals
 * allow, [cL − bH, cH − bL] for estimates b, c with intervals [bL, bH], [cL, cH]: the change is outside
 * the noise only when the two intervals do not overlap. That is conservative on purpose (for equal
 * standard errors two 95 % intervals fail to overlap about 0.6 % of the time under no change, Schenker
 * & Gentleman 2001, Am. Stat. 55(3)): a regression's percentile intervals from one short steady run
 * measure too narrow. Of the 20 rows of 10 synthetic A/A pairs of 3-minute runs, the tighter MOVER
 * combination (Zou & Donner 2008: the two intervals' half widths in quadrature) alarmed on 2,
 * non-overlap on 1 (test/src/compare/jobCpuRows.test.ts).
 * A row regresses as every row does (verdict.ts): worse by more than the threshold and that interval
 * above zero; no rank test applies (pValue null): the estimate is one regression per run.
 */
import { jobDemandsWithIntervals, poolsByName } from '../calibrate/calibrateRuns.js';
import type { CalibrationWindow } from '../calibrate/windows.js';
import { type BootstrapSettings, type Change, ratioOf } from './bootstrapChange.js';
import type { Row } from './comparison.js';
import { type VerdictRule, verdictOf } from './verdict.js';

/** Fewer jobs than this in a run leave a class's coefficient to its neighbours': not compared. */
export const MIN_JOBS_PER_RUN = 30;

interface Estimate {
  value: number;
  low: number;
  high: number;
}

/** CPU per job (seconds) with its interval, by class, of one run's windows; empty without Sidekiq CPU. */
function perJobCpu(windows: readonly CalibrationWindow[], settings: BootstrapSettings) {
  const out = new Map<string, Estimate & { jobs: number }>();
  const sidekiqCpu = windows.some((w) =>
    Object.keys(w.processCpuSecPerSec).some((n) => n.startsWith('sidekiq')),
  );
  if (!sidekiqCpu) return out;
  const bootstrap = { seed: settings.seed, resamples: settings.resamples, level: settings.level };
  const demands = jobDemandsWithIntervals(windows, bootstrap, poolsByName(windows));
  if (!demands) return out;
  for (const job of demands.estimate.jobClasses) {
    const interval = demands.intervals[`totalCpuSec:${job}`];
    if (!interval || !Number.isFinite(interval.value)) continue;
    out.set(job, { ...interval, jobs: demands.estimate.completions[job] ?? 0 });
  }
  return out;
}

/** The change from base to candidate and the widest interval their intervals allow (module comment). */
export function changeOfEstimates(base: Estimate, candidate: Estimate): Change {
  const [b, c] = [base.value, candidate.value];
  const [low, high] = [candidate.low - base.high, candidate.high - base.low];
  const ratio = ratioOf(b, c);
  // Relative to the base's estimate: the base's own uncertainty is in the difference's interval already.
  const relative = (x: number) => (b > 0 ? x / b : x > 0 ? Number.POSITIVE_INFINITY : 0);
  return {
    base: b,
    candidate: c,
    difference: c - b,
    low,
    high,
    ratio,
    relativeLow: relative(low),
    relativeHigh: relative(high),
    resamples: 0,
  };
}

/** A `CPU per job` row for each class with enough jobs in both runs. */
export function jobCpuRows(
  base: readonly CalibrationWindow[],
  candidate: readonly CalibrationWindow[],
  settings: BootstrapSettings & VerdictRule,
): Row[] {
  const [b, c] = [perJobCpu(base, settings), perJobCpu(candidate, settings)];
  const ms = (e: Estimate): Estimate => ({ value: e.value * 1000, low: e.low * 1000, high: e.high * 1000 });
  const rows: Row[] = [];
  for (const [job, inBase] of [...b].sort(([x], [y]) => x.localeCompare(y))) {
    const inCandidate = c.get(job);
    if (!inCandidate || Math.min(inBase.jobs, inCandidate.jobs) < MIN_JOBS_PER_RUN) continue;
    const change = changeOfEstimates(ms(inBase), ms(inCandidate));
    rows.push({
      section: 'Sidekiq job class',
      subject: job,
      metric: 'CPU per job',
      unit: 'ms',
      worse: 'higher',
      change,
      pValue: null,
      rankedOver: null,
      verdict: verdictOf(change, 'higher', null, settings),
    });
  }
  return rows;
}

import { SIDEKIQ_FRAMEWORK_CPU_SEC } from '../mastodon/sidekiqCosts.js';
import { InputError } from '../shared/errors.js';
import { nonNegativeLeastSquares } from './nnls.js';
import type { CalibrationWindow } from './windows.js';

/**
 * Per Sidekiq job class: Ruby CPU per job from the processes' CPU and the classes' completion rates,
 * wall time per job from the exporter's duration sums, I/O wait as the rest; and Redis CPU per job.
 * The derivation and what is (and is not) identifiable are in docs/calibration.md.
 */

/**
 * How Sidekiq's own CPU per job (fetch, JSON, middleware, acknowledgement) is told apart from the
 * class's: the regression measures only their sum per class (see `estimateJobDemands`).
 * - `fixed`: a figure measured elsewhere (default: SIDEKIQ_FRAMEWORK_CPU_SEC, `npm run bench:sidekiq`);
 * - `noop-class`: a job class that does nothing, run in the same load, whose whole CPU is Sidekiq's.
 */
export type FrameworkSplit = { kind: 'fixed'; cpuSec: number } | { kind: 'noop-class'; jobClass: string };

export interface JobDemandOptions {
  /** Which processes are Sidekiq's (default: names starting with `sidekiq`). */
  isSidekiqProcess?: (name: string) => boolean;
  framework?: FrameworkSplit;
  /** Classes to estimate (default: every class that completed a job in some window). */
  jobClasses?: readonly string[];
  /**
   * The wall time per job is read from windows whose mean CPU per Sidekiq process is at most this
   * (default 0.3 cores), where waiting for the interpreter lock adds little; from all when none is.
   */
  maxProcessCpuForWall?: number;
}

export interface JobDemandEstimate {
  jobClasses: string[];
  /** The regression's coefficient: CPU per job including Sidekiq's framework CPU. */
  totalCpuSec: Record<string, number>;
  /** The class's own Ruby CPU per job: totalCpuSec − frameworkCpuSec, at least 0. */
  cpuSec: Record<string, number>;
  frameworkCpuSec: number;
  /** True when frameworkCpuSec came from a no-op class of this data, false when it was fixed. */
  frameworkMeasured: boolean;
  /** The intercept: CPU per second of the processes with no job running (timers, heartbeats). */
  idleCpuSecPerSec: number;
  /** Mean duration per job as the exporter measures it (around the job's perform). */
  wallSec: Record<string, number>;
  /** wallSec − cpuSec, at least 0: I/O the thread waits for with the lock released. */
  waitSec: Record<string, number>;
  completions: Record<string, number>;
  windows: number;
  wallWindows: number;
  rmsResidualCpuSecPerSec: number;
}

/** Every class with completions in some window, sorted. */
export function jobClassesIn(windows: readonly CalibrationWindow[]): string[] {
  const names = new Set<string>();
  for (const w of windows)
    for (const [name, j] of Object.entries(w.jobs)) if (j.completions > 0) names.add(name);
  return [...names].sort();
}

/**
 * Per-job seconds of any per-window rate (CPU seconds per second of a process, Redis, PostgreSQL):
 * non-negative least squares (Lawson & Hanson 1974) of rate_w = Σ_j d_j · completionsPerSec_{j,w} + c
 * across windows (the utilization law U = Σ X_j·D_j, Lazowska et al. 1984, §3.2, plus an idle term c).
 * A class without completions in these windows gets NaN.
 */
export function regressOnJobRates(
  windows: readonly CalibrationWindow[],
  jobClasses: readonly string[],
  response: (w: CalibrationWindow) => number,
) {
  const rows = windows.map((w) => jobClasses.map((j) => w.jobs[j]?.completionsPerSec ?? 0));
  const fit = nonNegativeLeastSquares(rows, windows.map(response));
  const perJobSec = Object.fromEntries(jobClasses.map((j, i) => [j, fit.coefficients[i]!]));
  return { perJobSec, interceptPerSec: fit.intercept, rmsResidual: fit.rmsResidual };
}

/**
 * Ruby CPU, wall and I/O wait per job of each class. The Sidekiq processes' summed CPU rate is
 * regressed on the classes' completion rates by NNLS (Lawson & Hanson 1974): cpuRate_w =
 * Σ_j (cpu_j + f)·rate_{j,w} + idle. The framework cost f is shared by every job, so it is
 * confounded with each class's own cpu_j (only the sums b_j = cpu_j + f are identifiable); it is
 * fixed from `options.framework` and cpu_j = b_j − f. Wait: the exporter times the job's perform,
 * which holds the class's CPU, its I/O and any wait for the interpreter lock; at low load the lock
 * wait is small, so wait_j = wall_j − cpu_j (the model adds the lock wait back from contention).
 */
export function estimateJobDemands(
  windows: readonly CalibrationWindow[],
  options: JobDemandOptions = {},
): JobDemandEstimate {
  if (windows.length === 0) throw new InputError('calibration: no windows of samples to regress on');
  const isSidekiq = options.isSidekiqProcess ?? ((name: string) => name.startsWith('sidekiq'));
  const jobClasses = [...(options.jobClasses ?? jobClassesIn(windows))];
  const sidekiqCpu = (w: CalibrationWindow) =>
    Object.entries(w.processCpuSecPerSec).reduce((a, [name, rate]) => a + (isSidekiq(name) ? rate : 0), 0);
  const fit = regressOnJobRates(windows, jobClasses, sidekiqCpu);
  const frameworkCpuSec = frameworkOf(options.framework, fit.perJobSec);
  const processes = Math.max(1, countProcesses(windows, isSidekiq));
  const lowLoad = windows.filter((w) => sidekiqCpu(w) / processes <= (options.maxProcessCpuForWall ?? 0.3));
  const wallFrom = lowLoad.length > 0 ? lowLoad : windows;
  const out: JobDemandEstimate = {
    jobClasses,
    totalCpuSec: fit.perJobSec,
    cpuSec: {},
    frameworkCpuSec,
    frameworkMeasured: options.framework?.kind === 'noop-class',
    idleCpuSecPerSec: fit.interceptPerSec,
    wallSec: {},
    waitSec: {},
    completions: {},
    windows: windows.length,
    wallWindows: lowLoad.length,
    rmsResidualCpuSecPerSec: fit.rmsResidual,
  };
  for (const j of jobClasses) {
    const total = fit.perJobSec[j]!;
    out.cpuSec[j] = Number.isNaN(total) ? Number.NaN : Math.max(0, total - frameworkCpuSec);
    out.completions[j] = windows.reduce((a, w) => a + (w.jobs[j]?.completions ?? 0), 0);
    const sum = wallFrom.reduce((a, w) => a + (w.jobs[j]?.durationSumSec ?? 0), 0);
    const count = wallFrom.reduce((a, w) => a + (w.jobs[j]?.durationCount ?? 0), 0);
    out.wallSec[j] = count > 0 ? sum / count : Number.NaN;
    out.waitSec[j] = Math.max(0, out.wallSec[j]! - out.cpuSec[j]!);
  }
  return out;
}

function frameworkOf(split: FrameworkSplit | undefined, perJobSec: Record<string, number>): number {
  if (!split) return SIDEKIQ_FRAMEWORK_CPU_SEC;
  if (split.kind === 'fixed') return split.cpuSec;
  const noop = perJobSec[split.jobClass];
  if (noop === undefined || Number.isNaN(noop))
    throw new InputError(
      `calibration: the no-op class "${split.jobClass}" completed no job in these windows`,
    );
  return noop;
}

function countProcesses(windows: readonly CalibrationWindow[], isSidekiq: (name: string) => boolean): number {
  const names = new Set<string>();
  for (const w of windows)
    for (const name of Object.keys(w.processCpuSecPerSec)) if (isSidekiq(name)) names.add(name);
  return names.size;
}

/** The job estimate as named numbers for the bootstrap: `cpuSec:CLASS`, `waitSec:CLASS`, …. */
export function jobDemandQuantities(e: JobDemandEstimate): Record<string, number> {
  const out: Record<string, number> = {
    frameworkCpuSec: e.frameworkCpuSec,
    idleCpuSecPerSec: e.idleCpuSecPerSec,
  };
  for (const j of e.jobClasses) {
    out[`cpuSec:${j}`] = e.cpuSec[j]!;
    out[`totalCpuSec:${j}`] = e.totalCpuSec[j]!;
    out[`waitSec:${j}`] = e.waitSec[j]!;
    out[`wallSec:${j}`] = e.wallSec[j]!;
  }
  return out;
}

export interface RedisCpuEstimate {
  cpuSecPerJob: number;
  /** Present when a request rate was given. */
  cpuSecPerRequest?: number;
  idleCpuSecPerSec: number;
  windows: number;
}

/**
 * Redis CPU per Sidekiq job (and per web request when `requestsPerSec` gives each window's rate):
 * NNLS (Lawson & Hanson 1974) of Redis's CPU rate on the total job rate (and the request rate) with an
 * idle intercept. Only windows where Redis was sampled count.
 */
export function estimateRedisCpu(
  windows: readonly CalibrationWindow[],
  requestsPerSec?: (w: CalibrationWindow) => number,
): RedisCpuEstimate {
  const sampled = windows.filter((w) => w.redisCpuSecPerSec !== undefined);
  if (sampled.length === 0) throw new InputError('calibration: Redis CPU was not sampled in any window');
  const rows = sampled.map((w) => {
    const jobs = Object.values(w.jobs).reduce((a, j) => a + j.completionsPerSec, 0);
    return requestsPerSec ? [jobs, requestsPerSec(w)] : [jobs];
  });
  const fit = nonNegativeLeastSquares(
    rows,
    sampled.map((w) => w.redisCpuSecPerSec!),
  );
  return {
    cpuSecPerJob: fit.coefficients[0]!,
    ...(requestsPerSec ? { cpuSecPerRequest: fit.coefficients[1]! } : {}),
    idleCpuSecPerSec: fit.intercept,
    windows: sampled.length,
  };
}

/**
 * The model's predictions for a measured configuration, from src/model/sidekiqNetwork (each process a
 * closed network of its threads, the lock holders sharing the host's cores with Redis) and a
 * the queue latency before a job starts (src/model/sidekiqLatency: waiting for a thread, then for
 * the lock of its process). Two predictions:
 * - a priori: the job's nominal CPU plus the framework CPU per job measured over no-op jobs, as the
 *   calculator (`fedicap queue sidekiq`) predicts before anything runs;
 * - calibrated: the pool's CPU per job measured at the lighter latency step, as a calibration on a
 *   running instance measures it, predicting the saturated drain and the heavier step.
 * Both take the host's wakeup and handoff times from the platform pools (hostCosts), and fixed
 * lock times (the synthetic job burns a fixed CPU time).
 */
import { sidekiqQueueLatency } from '../../src/model/sidekiqLatency.js';
import { sidekiqPoolCapacity, type SidekiqPoolShape } from '../../src/model/sidekiqNetwork.js';
import type { Configuration } from './grid.js';
import type { CoresUsed } from './hostCpu.js';
import type { FrameworkCpu, QueueWaits } from './measure.js';
import type { Measured, PlatformRun, PlatformRuns } from './run.js';

/** What the benchmark measured once per run, besides the grid. */
export interface Calibration {
  framework: FrameworkCpu;
  /** Queue latency of no-op jobs on an idle pool: the pickup. */
  pickup: QueueWaits;
  platform: PlatformRuns;
  cores: number;
}

export interface HostCosts {
  wakeupSec: number;
  handoffSec: number;
}

export interface Prediction {
  aprioriPerSec: number;
  /** (predicted − measured) / measured. */
  aprioriError: number;
  calibratedPerSec: number;
  calibratedError: number;
  /** p95 queue wait at each measured offered rate, ms (calibrated). */
  p95Ms: number[];
}

const FIXED_TIMES = 0;
/** Cores used by neither the pool nor Redis: this benchmark and whatever else runs on the host. */
const backgroundOf = (cores: CoresUsed) => cores.bench + cores.others;

function shapeOf(
  c: Configuration,
  cpuMs: number,
  frameworkMs: number,
  calibration: Calibration,
  costs: HostCosts,
  backgroundCores: number,
): SidekiqPoolShape {
  return {
    processes: c.processes,
    threads: c.threads,
    jobCpuSec: cpuMs / 1e3,
    jobWaitSec: c.waitMs / 1e3,
    frameworkCpuSec: frameworkMs / 1e3,
    hostCores: calibration.cores,
    redisCpuSecPerJob: calibration.framework.redisCpuMsPerJob / 1e3,
    timeScv: FIXED_TIMES,
    ...costs,
    backgroundCores,
  };
}

/** The platform pool's drain as the model sees it, its demand being the CPU per job it measured. */
function platformModel(run: PlatformRun, calibration: Calibration, costs: HostCosts): number {
  const { configuration: c, drain } = run;
  const shape = shapeOf(c, drain.poolCpuMsPerJob, 0, calibration, costs, backgroundOf(drain.cores));
  return sidekiqPoolCapacity(shape).maxThroughputPerSec;
}

/** The cost in [0, 50 ms] at which the model's throughput, decreasing in it, meets the measured one. */
function solveCost(throughputAt: (costSec: number) => number, measuredPerSec: number): number {
  let low = 0;
  let high = 0.05;
  if (throughputAt(low) <= measuredPerSec) return 0;
  for (let i = 0; i < 60; i++) {
    const mid = (low + high) / 2;
    if (throughputAt(mid) > measuredPerSec) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}

/**
 * The wakeup time that reproduces the sleeping single thread (its lock is never contended), then
 * the handoff time that reproduces one CPU-bound process per core.
 */
export function hostCosts(calibration: Calibration): HostCosts {
  const { wakeup, handoff } = calibration.platform;
  const wakeupSec = solveCost(
    (w) => platformModel(wakeup, calibration, { wakeupSec: w, handoffSec: 0 }),
    wakeup.drain.ratePerSec,
  );
  const handoffSec = solveCost(
    (h) => platformModel(handoff, calibration, { wakeupSec, handoffSec: h }),
    handoff.drain.ratePerSec,
  );
  return { wakeupSec, handoffSec };
}

export function predict(m: Measured, calibration: Calibration, costs: HostCosts): Prediction {
  const c = m.configuration;
  const apriori = sidekiqPoolCapacity(
    shapeOf(c, c.cpuMs, calibration.framework.sidekiqCpuMsPerJob, calibration, costs, 0),
  );
  const light = m.latency[0]!;
  const calibratedShape = shapeOf(c, light.poolCpuMsPerJob, 0, calibration, costs, backgroundOf(light.cores));
  const calibrated = sidekiqPoolCapacity(calibratedShape);
  const measuredPerSec = m.drain.ratePerSec;
  return {
    aprioriPerSec: apriori.maxThroughputPerSec,
    aprioriError: apriori.maxThroughputPerSec / measuredPerSec - 1,
    calibratedPerSec: calibrated.maxThroughputPerSec,
    calibratedError: calibrated.maxThroughputPerSec / measuredPerSec - 1,
    p95Ms: m.latency.map(
      (l) =>
        sidekiqQueueLatency(
          { ...calibratedShape, pickupSec: calibration.pickup.meanMs / 1e3 },
          calibrated,
          l.offeredPerSec,
        ).percentileWaitSec(95) * 1e3,
    ),
  };
}

/** Mean and worst absolute relative error of a set of predictions. */
export function errorSummary(errors: readonly number[]): { mean: number; worst: number } {
  const absolute = errors.map(Math.abs);
  return { mean: absolute.reduce((a, e) => a + e, 0) / absolute.length, worst: Math.max(...absolute) };
}

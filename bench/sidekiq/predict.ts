/**
 * The model's prediction for a measured configuration: src/model/sidekiqNetwork (each process a
 * closed network of its threads, the lock holders sharing the host's cores with Redis) with the
 * framework and Redis CPU per job measured in the same run, and the queue wait from a
 * flow-equivalent server on its throughput curve at the offered rates that were measured.
 */
import { flowEquivalentMetrics, flowEquivalentWaitPercentileSec } from '../../src/model/flowEquivalent.js';
import { sidekiqPoolCapacity } from '../../src/model/sidekiqNetwork.js';
import type { Configuration } from './grid.js';
import type { FrameworkCpu } from './measure.js';
import type { Measured } from './run.js';

export interface Prediction {
  drainPerSec: number;
  /** Relative error of the prediction against the measured drain: (predicted − measured) / measured. */
  drainError: number;
  /** p95 queue wait at each measured offered rate, ms. */
  p95Ms: number[];
}

export function predict(m: Measured, framework: FrameworkCpu, cores: number): Prediction {
  const c: Configuration = m.configuration;
  const pool = sidekiqPoolCapacity({
    processes: c.processes,
    threads: c.threads,
    jobCpuSec: c.cpuMs / 1e3,
    jobWaitSec: c.waitMs / 1e3,
    frameworkCpuSec: framework.sidekiqCpuMsPerJob / 1e3,
    hostCores: cores,
    redisCpuSecPerJob: framework.redisCpuMsPerJob / 1e3,
  });
  return {
    drainPerSec: pool.maxThroughputPerSec,
    drainError: pool.maxThroughputPerSec / m.drain.ratePerSec - 1,
    p95Ms: m.latency.map(
      (l) =>
        flowEquivalentWaitPercentileSec(flowEquivalentMetrics(pool.throughputAt, l.offeredPerSec), 95) * 1e3,
    ),
  };
}

/** Mean and worst absolute relative error of the drain predictions. */
export function drainErrors(predictions: readonly Prediction[]): { mean: number; worst: number } {
  const errors = predictions.map((p) => Math.abs(p.drainError));
  return { mean: errors.reduce((a, e) => a + e, 0) / errors.length, worst: Math.max(...errors) };
}

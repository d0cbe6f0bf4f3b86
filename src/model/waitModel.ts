import { tailPercentileSec } from './queueing.js';
import type { FlowEquivalentMetrics } from './flowEquivalent.js';
import { flowPooledMetrics, pooledMetricsAt, sharedPoolWaits, type WeightedQueueLoad } from './sidekiq.js';
import { simulatePool } from './simulate.js';
import type { Rng } from '../shared/random.js';

export interface QueueWait {
  queue: string;
  /** Waiting time at the requested percentile. */
  percentileWaitSec: number;
}

export interface PoolWaits {
  /** Thread utilization of the pool. */
  utilization: number;
  /** Mean jobs waiting (Little's law), for Redis backlog memory. */
  meanQueueLength: number;
  perQueue: QueueWait[];
}

/**
 * How a pool of threads serving weighted queues turns load into waiting: analytic or simulated. `pool`, when
 * given, is the pool as a whole already solved (the flow-equivalent server of its closed network,
 * sidekiqNetwork.ts); the queues' service times are then those at its operating point.
 */
export type WaitModel = (
  queues: WeightedQueueLoad[],
  threads: number,
  percentile: number,
  pool?: FlowEquivalentMetrics,
) => PoolWaits;

/**
 * The pool's P(wait) and mean wait — from `pool` when given, else Erlang C —
 * apportioned to queues by Sidekiq's weighted fetch (sidekiq.ts). Every queue
 * keeps the pool's probability of waiting, so when that is below the
 * percentile's tail all percentiles are 0 and the costlier split is skipped
 * (most months of most Monte Carlo draws).
 */
export const analyticWaits: WaitModel = (queues, threads, percentile, flow) => {
  if (queues.length === 0) return { utilization: 0, meanQueueLength: 0, perQueue: [] };
  const pool = flow ? flowPooledMetrics(queues, threads, flow) : pooledMetricsAt(queues, threads);
  const uniform = (sec: number) => queues.map((q) => ({ queue: q.queue, percentileWaitSec: sec }));
  const utilization = flow ? flow.meanBusyThreads / threads : pool.utilization;
  const base = { utilization, meanQueueLength: pool.meanQueueLength };
  if (!pool.stable) return { ...base, perQueue: uniform(Infinity) };
  if (pool.probabilityOfWait <= 1 - percentile / 100) return { ...base, perQueue: uniform(0) };
  const { perQueue } = sharedPoolWaits(queues, threads, pool);
  return {
    ...base,
    perQueue: perQueue.map((q) => ({
      queue: q.queue,
      percentileWaitSec: tailPercentileSec(q.meanWaitSec, pool.probabilityOfWait, percentile),
    })),
  };
};

/**
 * The discrete-event simulation of the same pool (`--method simulate`):
 * Sidekiq's weighted random fetch, Poisson arrivals, a bounded number of jobs.
 * An overloaded pool is reported as unbounded rather than simulated forever.
 * It simulates threads only: a solved `pool` is ignored, and the interpreter
 * lock and shared cores enter through the queues' service times (those at the
 * network's operating point).
 */
export function simulatedWaits(rng: Rng, jobs = 20_000): WaitModel {
  return (queues, threads, percentile) => {
    if (queues.length === 0) return { utilization: 0, meanQueueLength: 0, perQueue: [] };
    const offered = queues.reduce((a, q) => a + q.arrivalRatePerSec * q.serviceTimeSec, 0);
    const utilization = offered / threads;
    if (utilization >= 1) {
      return {
        utilization,
        meanQueueLength: Infinity,
        perQueue: queues.map((q) => ({ queue: q.queue, percentileWaitSec: Infinity })),
      };
    }
    const result = simulatePool({ threads, queues, jobs, warmupJobs: Math.floor(jobs / 10), rng });
    const totalRate = queues.reduce((a, q) => a + q.arrivalRatePerSec, 0);
    return {
      utilization: result.utilization,
      meanQueueLength: totalRate * result.meanWaitSec,
      perQueue: result.perQueue.map((q) => ({
        queue: q.queue,
        percentileWaitSec: percentile >= 99 ? q.p99WaitSec : percentile >= 95 ? q.p95WaitSec : q.p50WaitSec,
      })),
    };
  };
}

import { describe, expect, it } from 'vitest';
import { solveMva } from '../../../src/model/closedNetwork.js';
import { flowEquivalentMetrics, flowEquivalentWaitPercentileSec } from '../../../src/model/flowEquivalent.js';
import { metricsAt } from '../../../src/model/queueing.js';
import { flowPooledMetrics, pooledServiceScv } from '../../../src/model/sidekiq.js';
import { simulatePool } from '../../../src/model/simulate.js';
import { analyticWaits, simulatedWaits } from '../../../src/model/waitModel.js';
import { seededRng } from '../../../src/shared/random.js';

const push = (arrivalRatePerSec: number, serviceTimeSec = 0.5) => ({
  queue: 'push',
  weight: 1,
  arrivalRatePerSec,
  serviceTimeSec,
});

describe('analyticWaits', () => {
  it('one queue is M/M/c: Erlang C and an exponential tail (worked example, λ = 10/s, S = 0.5 s, c = 7)', () => {
    // Offered load A = λS = 5 Erlangs, ρ = 5/7 = 0.7143.
    // Erlang B by Jagerman's recursion B(n) = A·B(n−1) / (n + A·B(n−1)), B(0) = 1:
    //   0.8333, 0.6757, 0.5297, 0.3983, 0.2849, 0.1918, B(7) = 0.12052.
    // Erlang C = B / (1 − ρ(1 − B)) = 0.12052 / 0.37180 = 0.32415.
    // Mean wait Wq = C·S / (c − A) = 0.32415 × 0.5 / 2 = 0.08104 s; Lq = λ·Wq = 0.8104 jobs.
    // Tail P(W > t) = C·exp(−t(c − A)/S) = 0.32415·e^(−4t); p95: t = ln(0.32415 / 0.05) / 4 = 0.4673 s.
    const waits = analyticWaits([push(10)], 7, 95);
    expect(waits.utilization).toBeCloseTo(5 / 7, 12);
    expect(waits.meanQueueLength).toBeCloseTo(0.8104, 4);
    expect(waits.perQueue).toHaveLength(1);
    expect(waits.perQueue[0]!.queue).toBe('push');
    expect(waits.perQueue[0]!.percentileWaitSec).toBeCloseTo(0.4673, 4);
    // the same station through the one-station calculator
    const mmc = metricsAt({ arrivalRatePerSec: 10, serviceTimeSec: 0.5, servers: 7 });
    expect(mmc.probabilityOfWait).toBeCloseTo(0.32415, 5);
    expect(waits.meanQueueLength).toBeCloseTo(mmc.meanQueueLength, 12);
  });

  it('answers 0 when fewer jobs wait than the percentile’s tail (λ = 1/s: C ≈ 1e-7 < 5%)', () => {
    // A = 0.5 Erlangs on 7 threads: almost nobody waits, so the p95 wait is 0, not a tiny number.
    const waits = analyticWaits([push(1)], 7, 95);
    expect(waits.utilization).toBeCloseTo(0.5 / 7, 12);
    expect(waits.meanQueueLength).toBeGreaterThan(0);
    expect(waits.meanQueueLength).toBeLessThan(1e-6);
    expect(waits.perQueue).toEqual([{ queue: 'push', percentileWaitSec: 0 }]);
  });

  it('an overloaded pool waits without bound (λS = 10 Erlangs on 7 threads)', () => {
    const waits = analyticWaits([push(20), { ...push(1), queue: 'pull' }], 7, 95);
    expect(waits.utilization).toBeCloseTo(10.5 / 7, 12);
    expect(waits.perQueue).toEqual([
      { queue: 'push', percentileWaitSec: Infinity },
      { queue: 'pull', percentileWaitSec: Infinity },
    ]);
  });

  it('no queues: nothing to wait for', () => {
    expect(analyticWaits([], 5, 95)).toEqual({ utilization: 0, meanQueueLength: 0, perQueue: [] });
  });

  it('shared queues: the low-weight one waits longer, and the conservation law holds', () => {
    // default (weight 8) and pull (weight 1), 6 jobs/s each at 0.5 s on 7 threads: A = 6, ρ = 6/7.
    // Each queue keeps the pool's C and an exponential tail, so its mean wait is
    // W_i = p95_i · C / ln(C / 0.05); Kleinrock's law with equal S: (W_default + W_pull) / 2 = W_pool.
    const queues = [
      { queue: 'default', weight: 8, arrivalRatePerSec: 6, serviceTimeSec: 0.5 },
      { queue: 'pull', weight: 1, arrivalRatePerSec: 6, serviceTimeSec: 0.5 },
    ];
    const waits = analyticWaits(queues, 7, 95);
    const pool = metricsAt({ arrivalRatePerSec: 12, serviceTimeSec: 0.5, servers: 7 });
    expect(waits.utilization).toBeCloseTo(6 / 7, 12);
    const [fast, slow] = waits.perQueue;
    expect(fast!.queue).toBe('default');
    expect(slow!.percentileWaitSec).toBeGreaterThan(3 * fast!.percentileWaitSec);
    const C = pool.probabilityOfWait;
    const mean = (p95: number) => (p95 * C) / Math.log(C / 0.05);
    expect((mean(fast!.percentileWaitSec) + mean(slow!.percentileWaitSec)) / 2).toBeCloseTo(
      pool.meanWaitSec,
      9,
    );
  });
});

describe('analyticWaits on a solved pool (the flow-equivalent server of its closed network)', () => {
  // One process, 10 threads; 4 ms of Ruby CPU under the lock and 16 ms of I/O per job: X(10) ≈ 245/s.
  const curve = solveMva(
    [
      { name: 'lock', kind: 'queueing', demandSec: 0.004 },
      { name: 'io', kind: 'delay', demandSec: 0.016 },
    ],
    10,
  ).map((s) => s.throughputPerSec);

  it('one queue: P(wait), busy threads and the p95 wait are the flow-equivalent server’s', () => {
    const flow = flowEquivalentMetrics(curve, 200);
    // The job holds a thread n̄/λ at this load: what the stations hand the wait model.
    const waits = analyticWaits([push(200, flow.meanBusyThreads / 200)], 10, 95, flow);
    expect(waits.utilization).toBeCloseTo(flow.meanBusyThreads / 10, 12);
    expect(waits.meanQueueLength).toBeCloseTo(200 * flow.meanWaitSec, 12);
    expect(waits.perQueue[0]!.percentileWaitSec).toBeCloseTo(flowEquivalentWaitPercentileSec(flow, 95), 12);
    // The lock queues jobs: more of them wait than Erlang C of 10 threads at n̄/λ would say.
    expect(flow.probabilityOfWait).toBeGreaterThan(
      metricsAt({ arrivalRatePerSec: 200, serviceTimeSec: flow.meanBusyThreads / 200, servers: 10 })
        .probabilityOfWait,
    );
  });

  it('mixed queues: the mean wait takes the Allen–Cunneen factor, split by weight as for M/M/c', () => {
    const flow = flowEquivalentMetrics(curve, 200);
    const queues = [
      { queue: 'default', weight: 8, arrivalRatePerSec: 150, serviceTimeSec: 0.02 },
      { queue: 'push', weight: 1, arrivalRatePerSec: 50, serviceTimeSec: 0.2 },
    ];
    const pool = flowPooledMetrics(queues, 10, flow);
    expect(pool.probabilityOfWait).toBe(flow.probabilityOfWait);
    expect(pool.utilization).toBe(flow.utilization);
    expect(pool.meanWaitSec).toBeCloseTo((flow.meanWaitSec * (1 + pooledServiceScv(queues))) / 2, 12);
    const waits = analyticWaits(queues, 10, 95, flow);
    expect(waits.perQueue[1]!.percentileWaitSec).toBeGreaterThan(waits.perQueue[0]!.percentileWaitSec);
    // Kleinrock's conservation law levels the split at the pool's mean wait.
    const C = flow.probabilityOfWait;
    const mean = (p95: number) => (p95 * C) / Math.log(C / 0.05);
    const [d, p] = waits.perQueue.map((q) => mean(q.percentileWaitSec));
    expect((150 * 0.02 * d! + 50 * 0.2 * p!) / (150 * 0.02 + 50 * 0.2)).toBeCloseTo(pool.meanWaitSec, 9);
  });

  it('an overloaded pool waits without bound', () => {
    const flow = flowEquivalentMetrics(curve, 300);
    expect(flow.stable).toBe(false);
    expect(analyticWaits([push(300, 0.05)], 10, 95, flow).perQueue[0]!.percentileWaitSec).toBe(Infinity);
  });
});

describe('simulatedWaits', () => {
  it('reports an overloaded pool as unbounded without simulating it', () => {
    const rng = seededRng(1);
    let draws = 0;
    const counting = {
      next: () => {
        draws++;
        return rng.next();
      },
    };
    const waits = simulatedWaits(counting, 1000)([push(20)], 7, 95);
    expect(waits.utilization).toBeCloseTo(10 / 7, 12);
    expect(waits.meanQueueLength).toBe(Infinity);
    expect(waits.perQueue).toEqual([{ queue: 'push', percentileWaitSec: Infinity }]);
    expect(draws).toBe(0);
  });

  it('reads the simulation’s percentile that matches the SLO’s (p99, p95, else the median)', () => {
    const queues = [push(10)];
    const run = () => simulatePool({ threads: 7, queues, jobs: 5000, warmupJobs: 500, rng: seededRng(4) });
    const expected = run();
    const at = (percentile: number) => simulatedWaits(seededRng(4), 5000)(queues, 7, percentile);
    expect(at(99).perQueue[0]!.percentileWaitSec).toBe(expected.perQueue[0]!.p99WaitSec);
    expect(at(95).perQueue[0]!.percentileWaitSec).toBe(expected.perQueue[0]!.p95WaitSec);
    expect(at(90).perQueue[0]!.percentileWaitSec).toBe(expected.perQueue[0]!.p50WaitSec);
    // Little's law over the simulated waits: Lq = λ·W.
    expect(at(95).meanQueueLength).toBeCloseTo(10 * expected.meanWaitSec, 12);
    expect(at(95).utilization).toBe(expected.utilization);
  });

  it('agrees with the analytic model on an M/M/c station (p95 0.467 s, within sampling error)', () => {
    const simulated = simulatedWaits(seededRng(9), 40_000)([push(10)], 7, 95);
    expect(simulated.utilization).toBeGreaterThan(0.68);
    expect(simulated.utilization).toBeLessThan(0.75);
    expect(simulated.perQueue[0]!.percentileWaitSec).toBeGreaterThan(0.467 * 0.8);
    expect(simulated.perQueue[0]!.percentileWaitSec).toBeLessThan(0.467 * 1.2);
  });
});

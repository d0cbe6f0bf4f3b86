import { describe, expect, it } from 'vitest';
import {
  erlangMixtureTail,
  jobsAhead,
  meanBatchSize,
  plusExponentialTail,
} from '../../../src/model/batchArrivals.js';
import { flowEquivalentStates } from '../../../src/model/flowEquivalent.js';
import { sidekiqQueueLatency } from '../../../src/model/sidekiqLatency.js';
import { sidekiqPoolCapacity, type SidekiqPoolShape } from '../../../src/model/sidekiqNetwork.js';
import { seededRng } from '../../../src/shared/random.js';

/** M/M/c as a flow-equivalent curve: X(n) = n/S. */
const mmc = (c: number, serviceSec: number) => Array.from({ length: c }, (_, i) => (i + 1) / serviceSec);

/** P(W > t) of M^X/M/c from the analysis: a job with a ≥ c ahead waits for a − c + 1 completions at c/S. */
function analyticTail(c: number, serviceSec: number, rate: number, sizes: number[], t: number): number {
  const { ahead } = jobsAhead(mmc(c, serviceSec), rate, { share: 1, sizes })!;
  return erlangMixtureTail([0, ...ahead.slice(c)], c / serviceSec, t);
}

/**
 * A seeded FCFS simulation of M^X/M/c: batches of `size` at Poisson times, c servers, exponential
 * service. The share of jobs (after a warm-up) whose wait exceeds each t.
 */
function simulatedTails(c: number, serviceSec: number, rate: number, size: number, ts: number[]): number[] {
  const rng = seededRng(7);
  const exp = (mean: number) => -mean * Math.log(1 - rng.next());
  const free = new Array<number>(c).fill(0);
  const over = ts.map(() => 0);
  let now = 0;
  let counted = 0;
  for (let batch = 0; batch < 200_000; batch++) {
    now += exp(size / rate);
    for (let j = 0; j < size; j++) {
      let k = 0;
      for (let i = 1; i < c; i++) if (free[i]! < free[k]!) k = i;
      const start = Math.max(now, free[k]!);
      free[k] = start + exp(serviceSec);
      if (batch < 1000) continue;
      counted++;
      ts.forEach((t, i) => {
        if (start - now > t) over[i]!++;
      });
    }
  }
  return over.map((n) => n / counted);
}

describe('batch arrivals on a flow-equivalent server', () => {
  it('with single jobs only, the jobs ahead are the birth–death distribution of flowEquivalent.ts', () => {
    const curve = [10, 18, 24, 27, 28];
    const { ahead } = jobsAhead(curve, 20, { share: 1, sizes: [1] })!;
    const states = flowEquivalentStates(curve, 20)!;
    for (let n = 0; n < 5; n++) expect(ahead[n]).toBeCloseTo(states.below[n]!, 9);
    expect(ahead.slice(5).reduce((a, p) => a + p, 0)).toBeCloseTo(states.probabilityOfWait, 8);
  });

  it('is unstable when the jobs come faster than the pool completes them', () => {
    expect(jobsAhead(mmc(2, 0.1), 20, { share: 0.5, sizes: [0, 0, 1] })).toBeUndefined();
  });

  it('matches a simulation of M^X/M/c: batches of 8 on 5 threads at 30 % and 70 %', () => {
    for (const load of [0.3, 0.7]) {
      const c = 5;
      const s = 0.05;
      const rate = (load * c) / s;
      const sizes = [0, 0, 0, 0, 0, 0, 0, 1];
      const ts = [0.01, 0.05, 0.1, 0.2];
      const simulated = simulatedTails(c, s, rate, 8, ts);
      ts.forEach((t, i) => {
        const predicted = analyticTail(c, s, rate, sizes, t);
        // sampling error of the simulation's shares is under 0.003 at these counts
        expect(Math.abs(predicted - simulated[i]!), `load ${load}, t ${t}`).toBeLessThan(
          0.01 + 0.05 * simulated[i]!,
        );
      });
    }
  });

  it('sums Erlang tails as Poisson sums: one completion is an exponential, two an Erlang-2', () => {
    expect(erlangMixtureTail([0, 1], 10, 0.1)).toBeCloseTo(Math.exp(-1), 12);
    expect(erlangMixtureTail([0, 0, 1], 10, 0.1)).toBeCloseTo(2 * Math.exp(-1), 12);
    expect(erlangMixtureTail([0, 0.25, 0.5], 10, 0)).toBeCloseTo(0.75, 12);
  });

  it('adds an exponential: exponential + exponential of equal means is an Erlang-2', () => {
    const tail = (t: number) => 0.4 * Math.exp(-t / 0.02);
    // 0.4·P(Erlang(2, 50) > t) = 0.4·e^{−50t}(1 + 50t)
    for (const t of [0.005, 0.02, 0.08])
      expect(plusExponentialTail(tail, 0.02, t)).toBeCloseTo(0.4 * Math.exp(-50 * t) * (1 + 50 * t), 5);
  });

  it('fan-out batches lengthen the p95 wait of a Sidekiq pool far beyond Poisson arrivals at the same rate', () => {
    const shape: SidekiqPoolShape = {
      processes: 1,
      threads: 5,
      jobCpuSec: 0.002,
      jobWaitSec: 0.026,
      frameworkCpuSec: 0.0003,
      hostCores: 2,
      redisCpuSecPerJob: 0,
    };
    const pool = sidekiqPoolCapacity(shape);
    const rate = 0.1 * pool.maxThroughputPerSec;
    const poisson = sidekiqQueueLatency(shape, pool, rate).percentileWaitSec(95);
    // a quarter of the jobs in batches of 20 (a post fanned out to 20 followers)
    const sizes = Array.from({ length: 20 }, (_, i) => (i === 19 ? 1 : 0));
    expect(meanBatchSize(sizes)).toBe(20);
    const batched = sidekiqQueueLatency(shape, pool, rate, { share: 0.25, sizes });
    // positions 6…20 of a batch wait for the 5 threads: up to 15 completions of ~6 ms at 10 % load
    expect(batched.percentileWaitSec(95)).toBeGreaterThan(5 * poisson);
    expect(batched.percentileWaitSec(95)).toBeLessThan(0.2);
    // and a batch of one is a single arrival
    const ones = sidekiqQueueLatency(shape, pool, rate, { share: 1, sizes: [1] });
    expect(ones.percentileWaitSec(95)).toBe(poisson);
  });
});

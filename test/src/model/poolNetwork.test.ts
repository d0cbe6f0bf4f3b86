import { describe, expect, it } from 'vitest';
import { flowEquivalentMetrics } from '../../../src/model/flowEquivalent.js';
import { poolNetworkOf, poolOperatingPoint } from '../../../src/model/poolNetwork.js';
import { sidekiqPoolCapacity, type SidekiqPoolShape } from '../../../src/model/sidekiqNetwork.js';

const shape = (over: Partial<SidekiqPoolShape> = {}): SidekiqPoolShape => ({
  processes: 1,
  threads: 10,
  jobCpuSec: 0.004,
  jobWaitSec: 0.016,
  frameworkCpuSec: 0.0002,
  hostCores: 8,
  redisCpuSecPerJob: 0,
  ...over,
});

describe('a pool of Sidekiq units', () => {
  it('one unit is its own network', () => {
    const one = shape({ processes: 3, threads: 7 });
    const solved = sidekiqPoolCapacity(one);
    expect(poolNetworkOf([one])).toEqual({
      throughputAt: solved.throughputAt,
      maxThroughputPerSec: solved.maxThroughputPerSec,
      bottleneck: solved.bottleneck,
    });
  });

  it('two one-process units on free hosts are one two-process unit: jobs spread by threads', () => {
    const single = shape();
    const pair = poolNetworkOf([single, single]);
    const together = sidekiqPoolCapacity(shape({ processes: 2 }));
    expect(pair.throughputAt).toHaveLength(20);
    for (const [i, x] of pair.throughputAt.entries()) expect(x).toBeCloseTo(together.throughputAt[i]!, 9);
  });

  it('unequal units: each holds its share n·N_u/N of the jobs in service; at full load the sum of theirs', () => {
    // -c 5 and -c 15: at n = 4 of 20 the first holds 1 job and the second 3.
    const small = shape({ threads: 5 });
    const large = shape({ threads: 15, jobCpuSec: 0.004 });
    const pool = poolNetworkOf([small, large]);
    const [xs, xl] = [sidekiqPoolCapacity(small), sidekiqPoolCapacity(large)];
    expect(pool.throughputAt[3]).toBeCloseTo(xs.throughputAt[0]! + xl.throughputAt[2]!, 12);
    // n = 1: a quarter of a job on the first, three quarters on the second (linear from X(0) = 0)
    expect(pool.throughputAt[0]).toBeCloseTo(0.25 * xs.throughputAt[0]! + 0.75 * xl.throughputAt[0]!, 12);
    expect(pool.maxThroughputPerSec).toBeCloseTo(xs.maxThroughputPerSec + xl.maxThroughputPerSec, 9);
    expect(() => poolNetworkOf([])).toThrow(/at least one unit/);
  });
});

describe('the operating point', () => {
  it('a job holds a thread n̄/λ (Little); its CPU is what the network stretches, not its I/O', () => {
    const network = poolNetworkOf([shape({ jobCpuSec: 0.01, threads: 5 })]);
    const mix = { cpuSec: 0.0102, waitSec: 0.016 };
    const rate = 0.7 * network.maxThroughputPerSec;
    const point = poolOperatingPoint(network, rate, mix);
    expect(point.flow).toEqual(flowEquivalentMetrics(network.throughputAt, rate));
    expect(point.serviceSec).toBeCloseTo(point.flow.meanBusyThreads / rate, 12);
    expect(point.serviceSec).toBeCloseTo(mix.cpuSec * point.cpuStretch + mix.waitSec, 12);
    // At 70% of a lock-bound process's capacity the lock queues jobs: their CPU takes longer than it costs.
    expect(point.cpuStretch).toBeGreaterThan(1.5);
    // An idle pool: one job alone, X(1) = 1 / (CPU + wait), no stretch.
    const idle = poolOperatingPoint(network, 0, mix);
    expect(idle.serviceSec).toBeCloseTo(mix.cpuSec + mix.waitSec, 12);
    expect(idle.cpuStretch).toBeCloseTo(1, 12);
    // Overloaded: every thread busy, each job holds one N / X(N).
    const over = poolOperatingPoint(network, 2 * network.maxThroughputPerSec, mix);
    expect(over.flow.stable).toBe(false);
    expect(over.serviceSec).toBeCloseTo(5 / network.maxThroughputPerSec, 12);
  });
});

import { describe, expect, it } from 'vitest';
import { solveMva } from '../../../src/model/closedNetwork.js';
import { sidekiqPoolCapacity, type SidekiqPoolShape } from '../../../src/model/sidekiqNetwork.js';

const shape = (over: Partial<SidekiqPoolShape>): SidekiqPoolShape => ({
  processes: 1,
  threads: 10,
  jobCpuSec: 0.004,
  jobWaitSec: 0.016,
  frameworkCpuSec: 0,
  hostCores: 2,
  redisCpuSecPerJob: 0,
  ...over,
});

describe('a pool of Sidekiq processes as closed networks', () => {
  it('one process on a free host is exact MVA of its lock and its I/O', () => {
    const pool = sidekiqPoolCapacity(shape({}));
    const mva = solveMva(
      [
        { name: 'lock', kind: 'queueing', demandSec: 0.004 },
        { name: 'io', kind: 'delay', demandSec: 0.016 },
      ],
      10,
    );
    expect(pool.cpuStretch).toBe(1);
    for (const [i, x] of pool.throughputAt.entries()) expect(x).toBeCloseTo(mva[i]!.throughputPerSec, 9);
    expect(pool.bottleneck).toBe('interpreter-lock');
  });

  it('the capacity barely depends on -c once the lock binds (20 % CPU: -c 5 within 20 % of -c 25)', () => {
    const c5 = sidekiqPoolCapacity(shape({ threads: 5 })).maxThroughputPerSec;
    const c25 = sidekiqPoolCapacity(shape({ threads: 25 })).maxThroughputPerSec;
    expect(c25).toBeLessThanOrEqual(250);
    expect(c5 / c25).toBeGreaterThan(0.8);
  });

  it('CPU-bound jobs: one process gives one core, three processes share two cores', () => {
    const one = sidekiqPoolCapacity(shape({ jobCpuSec: 0.01, jobWaitSec: 0, threads: 5 }));
    expect(one.maxThroughputPerSec).toBeCloseTo(100, 6);
    const three = sidekiqPoolCapacity(shape({ processes: 3, jobCpuSec: 0.01, jobWaitSec: 0, threads: 5 }));
    // Each lock is always held; three bursts on two cores run at 2/3 speed: 3 × 100/1.5 = 200/s = cores / CPU.
    expect(three.cpuStretch).toBeCloseTo(1.5, 3);
    expect(three.maxThroughputPerSec).toBeCloseTo(200, 1);
    expect(three.bottleneck).toBe('host-cores');
  });

  it('I/O-bound jobs on few threads are bound by threads; Redis on the host takes its share', () => {
    const ioBound = sidekiqPoolCapacity(shape({ jobCpuSec: 0.001, jobWaitSec: 0.2, threads: 2 }));
    expect(ioBound.bottleneck).toBe('threads');
    expect(ioBound.maxThroughputPerSec).toBeLessThanOrEqual(2 / 0.201 + 1e-9);
    const withRedis = sidekiqPoolCapacity(
      shape({ processes: 2, jobCpuSec: 0.01, jobWaitSec: 0, redisCpuSecPerJob: 0.002 }),
    );
    const without = sidekiqPoolCapacity(shape({ processes: 2, jobCpuSec: 0.01, jobWaitSec: 0 }));
    expect(withRedis.maxThroughputPerSec).toBeLessThan(without.maxThroughputPerSec);
  });

  it('framework CPU is Ruby CPU too: it binds fast jobs on many threads', () => {
    const bare = sidekiqPoolCapacity(shape({ jobCpuSec: 0.0005, jobWaitSec: 0.005, threads: 25 }));
    const framework = sidekiqPoolCapacity(
      shape({ jobCpuSec: 0.0005, jobWaitSec: 0.005, threads: 25, frameworkCpuSec: 0.001 }),
    );
    expect(framework.maxThroughputPerSec).toBeLessThan(bare.maxThroughputPerSec * 0.4);
    expect(framework.bottleneck).toBe('interpreter-lock');
  });
});

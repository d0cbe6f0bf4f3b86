import { describe, expect, it } from 'vitest';
import { metricsAt } from '../../../src/model/queueing.js';
import {
  type SidekiqSimOptions,
  type SidekiqSimQueue,
  simulateSidekiqPool,
} from '../../../src/model/simulateSidekiqPool.js';
import { type Rng, seededRng } from '../../../src/shared/random.js';

const job = (
  jobCpuSec: number,
  jobWaitSec: number,
  over: Partial<SidekiqSimQueue> = {},
): SidekiqSimQueue => ({
  queue: 'default',
  weight: 1,
  arrivalRatePerSec: 1,
  jobCpuSec,
  jobWaitSec,
  ...over,
});

const drain = (over: Partial<SidekiqSimOptions>, jobs = 2000): SidekiqSimOptions => ({
  processes: 1,
  threads: 1,
  hostCores: 2,
  queues: [job(0.01, 0.01)],
  load: { kind: 'drain', jobs },
  rng: seededRng(1),
  ...over,
});

describe('simulateSidekiqPool: the physics, on cases with exact answers', () => {
  it('one thread with fixed times: a job every cpu + wait, the lock held cpu/(cpu + wait) of the time', () => {
    const r = simulateSidekiqPool(drain({ times: 'deterministic', queues: [job(0.006, 0.014)] }, 1000));
    expect(r.throughputPerSec).toBeCloseTo(50, 9);
    expect(r.lockUtilization[0]).toBeCloseTo(0.3, 9);
    expect(r.coreUtilization).toBeCloseTo(0.15, 9); // one of two cores, 30 % of the time
    expect(r.cpuStretch).toBeCloseTo(1, 9);
    expect(r.meanBusyThreads).toBeCloseTo(1, 9);
    // the window runs from the 101st job finished to the 900th: 799 jobs at 20 ms
    expect(r.windowSec).toBeCloseTo(15.98, 9);
    expect(r.perQueue[0]!.completed).toBe(1000);
  });

  it('the lock admits one burst at a time: two threads with fixed times interleave, five queue for it', () => {
    // cpu = wait: two threads alternate perfectly (100/s); more threads only queue for the lock.
    for (const threads of [2, 5]) {
      const r = simulateSidekiqPool(drain({ threads, times: 'deterministic' }));
      expect(r.throughputPerSec, `-c ${threads}`).toBeCloseTo(100, 6);
      expect(r.lockUtilization[0]).toBeCloseTo(1, 6);
    }
  });

  it('lock holders share the cores: three CPU-bound processes on two cores run at 2/3 speed', () => {
    for (const times of ['exponential', 'deterministic'] as const) {
      const r = simulateSidekiqPool(
        drain({ processes: 3, threads: 5, times, queues: [job(0.01, 0)], rng: seededRng(2) }, 20_000),
      );
      expect(r.cpuStretch, times).toBeCloseTo(1.5, 6);
      expect(r.coreUtilization).toBeCloseTo(1, 6);
      for (const u of r.lockUtilization) expect(u).toBeCloseTo(1, 6);
      // cores / cpu = 200/s; exponential bursts: within the run's noise
      expect(Math.abs(r.throughputPerSec / 200 - 1), times).toBeLessThan(
        times === 'exponential' ? 0.02 : 1e-9,
      );
    }
  });

  it('a background load takes its share of a core first when it can have it', () => {
    // One CPU-bound process on one core with Redis wanting half a core: fair shares are 1/2 each.
    const half = simulateSidekiqPool(
      drain({ hostCores: 1, backgroundCoreShare: 0.5, times: 'deterministic', queues: [job(0.01, 0)] }),
    );
    expect(half.throughputPerSec).toBeCloseTo(50, 6);
    expect(half.cpuStretch).toBeCloseTo(2, 6);
    expect(half.coreUtilization).toBeCloseTo(1, 6);
    // 20 % of a core on two cores: the one holder still has a whole core.
    const spare = simulateSidekiqPool(
      drain({ backgroundCoreShare: 0.2, times: 'deterministic', queues: [job(0.01, 0)] }),
    );
    expect(spare.throughputPerSec).toBeCloseTo(100, 6);
    expect(spare.coreUtilization).toBeCloseTo(0.6, 6);
  });

  it('framework CPU is Ruby CPU too, and phases split a job without changing its totals', () => {
    const framework = simulateSidekiqPool(
      drain({ times: 'deterministic', frameworkCpuSec: 0.002, queues: [job(0.008, 0.01, { phases: 4 })] }),
    );
    expect(framework.throughputPerSec).toBeCloseTo(50, 6);
    expect(framework.lockUtilization[0]).toBeCloseTo(0.5, 6);
    // Fixed times, -c 2: one phase interleaves perfectly; with 3 phases the threads still alternate.
    const phased = simulateSidekiqPool(
      drain({ threads: 2, times: 'deterministic', queues: [job(0.01, 0.01, { phases: 3 })] }),
    );
    // (the two threads finish 3.3 ms apart, and the window may start on one and end on the other)
    expect(Math.abs(phased.throughputPerSec / 100 - 1)).toBeLessThan(1e-3);
  });

  it('with no CPU the threads are c exponential servers: Poisson arrivals wait as Erlang C says', () => {
    // 2 processes × 3 threads, S = 10 ms, ρ = 0.8. Observed: mean wait −1.3 % from M/M/6 over 8 runs.
    const station = { arrivalRatePerSec: 480, serviceTimeSec: 0.01, servers: 6 };
    const analytic = metricsAt(station);
    const runs = Array.from({ length: 8 }, (_, r) =>
      simulateSidekiqPool({
        processes: 2,
        threads: 3,
        hostCores: 1,
        queues: [job(0, 0.01, { arrivalRatePerSec: 480 })],
        load: { kind: 'poisson', jobs: 40_000, warmupJobs: 4_000 },
        rng: seededRng(10 + r),
      }),
    );
    const mean = (f: (r: (typeof runs)[number]) => number) =>
      runs.reduce((a, r) => a + f(r), 0) / runs.length;
    expect(Math.abs(mean((r) => r.meanWaitSec) / analytic.meanWaitSec - 1)).toBeLessThan(0.05);
    expect(Math.abs(mean((r) => r.probabilityOfWait) - analytic.probabilityOfWait)).toBeLessThan(0.02);
    expect(Math.abs(mean((r) => r.meanBusyThreads) - analytic.offeredLoadErlangs)).toBeLessThan(0.05);
    expect(Math.abs(mean((r) => r.throughputPerSec) / 480 - 1)).toBeLessThan(0.01);
    expect(mean((r) => r.coreUtilization)).toBe(0);
  });

  it('drains several queues with Sidekiq’s weighted fetch: jobs split by rate, the heavy weight first', () => {
    const r = simulateSidekiqPool(
      drain(
        {
          threads: 5,
          queues: [
            job(0.002, 0.008, { queue: 'default', weight: 8, arrivalRatePerSec: 3 }),
            job(0.002, 0.008, { queue: 'pull', weight: 1, arrivalRatePerSec: 1 }),
          ],
        },
        4000,
      ),
    );
    expect(r.perQueue.map((q) => q.completed)).toEqual([3000, 1000]);
    expect(r.perQueue[1]!.meanWaitSec).toBeGreaterThan(1.5 * r.perQueue[0]!.meanWaitSec);
  });
});

describe('simulateSidekiqPool: bounds, determinism and input checks', () => {
  it('stops at maxSimTimeSec when overloaded, and is a pure function of its options and seed', () => {
    const over = (rng: Rng): SidekiqSimOptions => ({
      processes: 2,
      threads: 2,
      hostCores: 1,
      queues: [job(0.01, 0.01, { arrivalRatePerSec: 500 }), job(0.001, 0.05, { queue: 'pull', weight: 2 })],
      load: { kind: 'poisson', jobs: 1_000_000, warmupJobs: 10 },
      maxSimTimeSec: 20,
      rng,
    });
    const r = simulateSidekiqPool(over(seededRng(5)));
    expect(r.simulatedSec).toBeLessThanOrEqual(20);
    expect(r.events).toBeLessThan(40_000);
    for (const u of r.lockUtilization) expect(u).toBeGreaterThan(0.9);
    expect(simulateSidekiqPool(over(seededRng(5)))).toEqual(r);
  });

  it('throws RangeError naming the option', () => {
    const ok = drain({});
    const bad = (over: Partial<SidekiqSimOptions>) => () => simulateSidekiqPool({ ...ok, ...over });
    expect(bad({ processes: 0 })).toThrow(/processes/);
    expect(bad({ threads: 1.5 })).toThrow(/threads/);
    expect(bad({ hostCores: 0 })).toThrow(/hostCores/);
    expect(bad({ frameworkCpuSec: -1 })).toThrow(/frameworkCpuSec/);
    expect(bad({ backgroundCoreShare: 1.5 })).toThrow(/backgroundCoreShare/);
    expect(bad({ times: 'gamma' as 'exponential' })).toThrow(/times/);
    expect(bad({ timeJitter: 0.1 })).toThrow(/timeJitter/); // exponential times
    expect(bad({ times: 'deterministic', timeJitter: 1 })).toThrow(/timeJitter/);
    expect(bad({ maxSimTimeSec: 0 })).toThrow(/maxSimTimeSec/);
    expect(bad({ load: { kind: 'drain', jobs: 9 } })).toThrow(/load\.jobs/);
    expect(bad({ load: { kind: 'poisson', jobs: 10, warmupJobs: 10 } })).toThrow(/warmupJobs/);
    expect(bad({ load: { kind: 'open' } as unknown as SidekiqSimOptions['load'] })).toThrow(/load\.kind/);
    expect(bad({ queues: [] })).toThrow(/queues/);
    expect(bad({ queues: [job(0.01, 0.01, { weight: 0 })] })).toThrow(/queues\[0\]\.weight/);
    expect(bad({ queues: [job(-0.01, 0.01)] })).toThrow(/queues\[0\]\.jobCpuSec/);
    expect(bad({ queues: [job(0.01, Number.NaN)] })).toThrow(/queues\[0\]\.jobWaitSec/);
    expect(bad({ queues: [job(0, 0)] })).toThrow(/queues\[0\]/);
    expect(bad({ queues: [job(0.01, 0.01, { phases: 0 })] })).toThrow(/queues\[0\]\.phases/);
    expect(bad({ queues: [job(0.01, 0.01, { arrivalRatePerSec: 0 })] })).toThrow(/arrivalRatePerSec > 0/);
    expect(bad({ rng: undefined as unknown as Rng })).toThrow(/rng/);
  });
});

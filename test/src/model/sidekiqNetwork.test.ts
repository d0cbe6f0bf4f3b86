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

  it('fewer jobs than processes: the idle processes leave their cores, so two jobs on two cores run unstretched', () => {
    const three = sidekiqPoolCapacity(shape({ processes: 3, jobCpuSec: 0.01, jobWaitSec: 0, threads: 5 }));
    // One job, then two, each alone in its process with a core to itself: 100/s each.
    expect(three.throughputAt[0]).toBeCloseTo(100, 3);
    expect(three.throughputAt[1]).toBeCloseTo(200, 3);
    expect(three.lockSecInService[1]).toBeCloseTo(0.01, 6);
    // Three or more: every lock held, three bursts on two cores.
    expect(three.lockSecInService[2]).toBeCloseTo(0.015, 4);
    expect(three.lockSecInService.at(-1)).toBeCloseTo(0.015, 4);
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

  it('a thread is woken at its fetch and after each wait: the wakeup is latency off the lock', () => {
    // One thread never waits for the lock: a cycle is CPU + wait + two wakeups (fetch, then the wait).
    const one = sidekiqPoolCapacity(shape({ threads: 1, wakeupSec: 0.001 }));
    expect(one.maxThroughputPerSec).toBeCloseTo(1 / (0.004 + 0.016 + 0.002), 9);
    const phases = sidekiqPoolCapacity(shape({ threads: 1, wakeupSec: 0.001, ioPhases: 3 }));
    expect(phases.maxThroughputPerSec).toBeCloseTo(1 / (0.004 + 0.016 + 0.004), 9);
    // A job that never waits is woken once, at its fetch.
    const cpuOnly = sidekiqPoolCapacity(shape({ threads: 1, jobWaitSec: 0, wakeupSec: 0.001 }));
    expect(cpuOnly.maxThroughputPerSec).toBeCloseTo(1 / 0.005, 9);
    expect(one.lockDeadSec).toBe(0);
  });

  it('a contended lock passes slowly only when no core is free to run the next holder', () => {
    const cpuBound = { jobCpuSec: 0.01, jobWaitSec: 0, threads: 2, handoffSec: 0.001 };
    // One process on two idle cores: the waiter runs on the other core at once.
    const alone = sidekiqPoolCapacity(shape(cpuBound));
    expect(alone.lockDeadSec).toBe(0);
    expect(alone.maxThroughputPerSec).toBeCloseTo(100, 6);
    // One process per core: a handoff waits for a core whenever the other process is burning CPU,
    // d = 1 ms × 10/(10 + d) ms of its lock cycle, so the lock is idle 0.916 ms per job.
    const perCore = sidekiqPoolCapacity(shape({ ...cpuBound, processes: 2 }));
    const dead = (Math.sqrt(0.01 ** 2 + 4 * 0.001 * 0.01) - 0.01) / 2;
    expect(perCore.lockDeadSec).toBeCloseTo(dead, 7);
    expect(perCore.maxThroughputPerSec).toBeCloseTo(2 / (0.01 + dead), 3);
    // Background work on the host makes a free core rarer for one process too.
    const busyHost = sidekiqPoolCapacity(shape({ ...cpuBound, backgroundCores: 0.5 }));
    expect(busyHost.lockDeadSec).toBeGreaterThan(0.0004);
    expect(busyHost.lockDeadSec).toBeLessThan(0.0006);
  });

  it('fixed job times queue less at the lock than exponential ones, between MVA and the bound', () => {
    const exponential = sidekiqPoolCapacity(shape({ threads: 5 })).maxThroughputPerSec;
    const fixed = sidekiqPoolCapacity(shape({ threads: 5, timeScv: 0 })).maxThroughputPerSec;
    expect(fixed).toBeGreaterThan(exponential * 1.05);
    expect(fixed).toBeLessThanOrEqual(Math.min(5 / 0.02, 1 / 0.004));
  });
});

import { describe, expect, it } from 'vitest';
import { sidekiqQueueLatency } from '../../../src/model/sidekiqLatency.js';
import { sidekiqPoolCapacity, type SidekiqPoolShape } from '../../../src/model/sidekiqNetwork.js';

const shape = (over: Partial<SidekiqPoolShape>): SidekiqPoolShape => ({
  processes: 1,
  threads: 1,
  jobCpuSec: 0.01,
  jobWaitSec: 0.01,
  frameworkCpuSec: 0,
  hostCores: 4,
  redisCpuSecPerJob: 0,
  ...over,
});
const latency = (s: SidekiqPoolShape, rate: number) => sidekiqQueueLatency(s, sidekiqPoolCapacity(s), rate);

describe('queue latency of a Sidekiq pool', () => {
  it('one thread of CPU only is M/M/1: P(wait) = ρ, mean ρ/(μ − λ), p95 ln(ρ/0.05)/(μ − λ)', () => {
    const s = shape({ jobWaitSec: 0 });
    const mu = 1 / 0.01;
    for (const rho of [0.3, 0.6, 0.9]) {
      const l = latency(s, rho * mu);
      expect(l.probabilityOfWait).toBeCloseTo(rho, 9);
      expect(l.meanWaitSec).toBeCloseTo(rho / (mu - rho * mu), 9);
      expect(l.percentileWaitSec(95)).toBeCloseTo(Math.log(rho / 0.05) / (mu - rho * mu), 6);
    }
  });

  it('one thread of CPU then I/O is M/G/1: the mean is Pollaczek–Khinchine’s, c² = (D² + Z²)/(D + Z)²', () => {
    // 10 ms of exponential CPU then 10 ms of exponential wait: c² = 0.5, W = ρ·S·(1 + c²)/2 / (1 − ρ).
    const s = shape({});
    for (const rho of [0.3, 0.6, 0.9]) {
      const l = latency(s, rho * 50);
      const mean = (rho * 0.02 * 0.75) / (1 - rho);
      expect(l.meanWaitSec).toBeCloseTo(mean, 9);
      expect(l.percentileWaitSec(95)).toBeCloseTo((mean / rho) * Math.log(rho / 0.05), 6);
    }
  });

  it('CPU-bound jobs on many threads wait for the lock, not for a thread: M/M/1 of the lock', () => {
    // 25 threads, never all busy at ρ ≤ 0.8; the lock (10 ms) is the one server.
    const s = shape({ threads: 25, jobWaitSec: 0 });
    for (const rho of [0.5, 0.8]) {
      const l = latency(s, rho * 100);
      expect(l.meanWaitSec / ((rho * 0.01) / (1 - rho))).toBeCloseTo(1, 2);
      expect(l.probabilityOfWait).toBeCloseTo(rho, 2);
    }
  });

  it('fixed job times halve the waiting (Allen–Cunneen), the wakeup after a fetch adds to every job', () => {
    // CPU-bound jobs on the same capacity curve (fixed times also raise the capacity: closedNetwork.ts).
    const pool = sidekiqPoolCapacity(shape({ threads: 5, jobWaitSec: 0 }));
    const exponential = sidekiqQueueLatency(shape({ threads: 5, jobWaitSec: 0 }), pool, 60);
    const fixed = sidekiqQueueLatency(shape({ threads: 5, jobWaitSec: 0, timeScv: 0 }), pool, 60);
    expect(fixed.meanWaitSec).toBeCloseTo(exponential.meanWaitSec / 2, 9);
    expect(fixed.percentileWaitSec(95)).toBeCloseTo(exponential.percentileWaitSec(95) / 2, 6);
    expect(latency(shape({ threads: 5, jobWaitSec: 0, timeScv: 0 }), 60).meanWaitSec).toBeLessThanOrEqual(
      fixed.meanWaitSec,
    );
    const woken = latency(shape({ threads: 5, wakeupSec: 0.001 }), 60);
    // The wakeup lengthens the cycle (a little less capacity, a little more waiting) and is paid by all.
    expect(woken.percentileWaitSec(50)).toBeGreaterThanOrEqual(0.001);
    expect(woken.meanWaitSec).toBeGreaterThan(latency(shape({ threads: 5 }), 60).meanWaitSec + 0.001);
  });

  it('more threads cut the wait of I/O-bound jobs; more processes cut the wait of CPU-bound ones', () => {
    const ioBound = { jobCpuSec: 0.002, jobWaitSec: 0.05 };
    expect(latency(shape({ ...ioBound, threads: 10 }), 150).percentileWaitSec(95)).toBeLessThan(
      latency(shape({ ...ioBound, threads: 8 }), 150).percentileWaitSec(95) / 2,
    );
    const cpuBound = { jobCpuSec: 0.01, jobWaitSec: 0.002 };
    const one = latency(shape({ ...cpuBound, threads: 10 }), 80).percentileWaitSec(95);
    expect(latency(shape({ ...cpuBound, threads: 20 }), 80).percentileWaitSec(95)).toBeGreaterThan(one * 0.9);
    expect(latency(shape({ ...cpuBound, threads: 5, processes: 2 }), 80).percentileWaitSec(95)).toBeLessThan(
      one / 2,
    );
  });

  it('a job that finds a thread idle waits for the pickup; one that waited for a thread only for its wakeup', () => {
    // One thread of 10 ms CPU (and the 0.5 ms wakeup of its fetch) at ρ = 0.5: half the jobs find it
    // idle and pay the 2 ms pickup, the other half wait (M/G/1: 1/(μ − λ) times Allen–Cunneen's
    // (1 + c²)/2 for a thread held 10 + 0.5 ms) and then the 0.5 ms wakeup.
    const s = shape({ jobWaitSec: 0, pickupSec: 0.002, wakeupSec: 0.0005 });
    const l = latency(s, 50 * (0.01 / 0.0105));
    const pool = sidekiqPoolCapacity(s);
    const rho = (50 * (0.01 / 0.0105)) / pool.maxThroughputPerSec;
    const mu = pool.maxThroughputPerSec;
    const factor = (1 + (0.01 ** 2 + 0.0005 ** 2) / 0.0105 ** 2) / 2;
    expect(l.meanWaitSec).toBeCloseTo((1 - rho) * 0.002 + rho * (0.0005 + factor / (mu - rho * mu)), 9);
    expect(l.percentileWaitSec(40)).toBeCloseTo(0.002, 6); // the idle half: exactly the pickup
    // Without a pickup of its own, a job finding a thread idle pays the wakeup, as before.
    const same = latency(shape({ jobWaitSec: 0, wakeupSec: 0.0005 }), 50 * (0.01 / 0.0105));
    expect(same.percentileWaitSec(40)).toBeCloseTo(0.0005, 6);
  });

  it('an overloaded pool has no finite wait', () => {
    const l = latency(shape({ threads: 2 }), 1000);
    expect(l.stable).toBe(false);
    expect(l.meanWaitSec).toBe(Infinity);
    expect(l.percentileWaitSec(95)).toBe(Infinity);
  });
});

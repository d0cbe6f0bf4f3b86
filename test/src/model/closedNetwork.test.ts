import { describe, expect, it } from 'vitest';
import {
  lockAndDelayThroughput,
  multiServerStations,
  solveMva,
  solveSchweitzer,
  throughputBound,
  type Station,
} from '../../../src/model/closedNetwork.js';

/**
 * The finite-source M/M/1//N queue (the machine-repairman model) in closed form
 * [Gross & Harris §2.7]: p0 = 1 / Σ_{k=0..N} N!/(N−k)!·(D/Z)^k, X = (1 − p0)/D.
 * A product-form network, so exact MVA must reproduce it to rounding.
 */
function machineRepairmanThroughput(demandSec: number, thinkSec: number, population: number): number {
  let sum = 0;
  let term = 1;
  for (let k = 0; k <= population; k++) {
    if (k > 0) term *= (population - k + 1) * (demandSec / thinkSec);
    sum += term;
  }
  return (1 - 1 / sum) / demandSec;
}

const lock = (demandSec: number): Station => ({ name: 'Ruby CPU', kind: 'queueing', demandSec });
const io = (demandSec: number): Station => ({ name: 'I/O wait', kind: 'delay', demandSec });

describe('exact MVA', () => {
  it('worked by hand: one lock of 1 s and 1 s of I/O, two threads', () => {
    // n = 1: R = 1 + 1 = 2 s, X = 0.5/s, Q_lock = 0.5.
    // n = 2: R_lock = 1·(1 + 0.5) = 1.5 s, R = 2.5 s, X = 2/2.5 = 0.8/s.
    const [one, two] = solveMva([lock(1), io(1)], 2);
    expect(one!.throughputPerSec).toBeCloseTo(0.5, 12);
    expect(one!.queueLength[0]).toBeCloseTo(0.5, 12);
    expect(two!.cycleSec).toBeCloseTo(2.5, 12);
    expect(two!.throughputPerSec).toBeCloseTo(0.8, 12);
  });

  it('reproduces the machine-repairman closed form at every population', () => {
    for (const [d, z] of [
      [0.2, 1],
      [0.004, 0.016],
      [0.05, 0.01],
    ] as const) {
      const curve = solveMva([lock(d)], 30, z);
      for (const s of curve) {
        expect(s.throughputPerSec / machineRepairmanThroughput(d, z, s.population)).toBeCloseTo(1, 10);
      }
    }
  });

  it('stays within the asymptotic bounds and reaches 1/D_max with many threads', () => {
    const stations = [
      lock(0.004),
      io(0.016),
      { name: 'PostgreSQL', kind: 'queueing', demandSec: 0.001 } as Station,
    ];
    const curve = solveMva(stations, 200);
    for (const s of curve)
      expect(s.throughputPerSec).toBeLessThanOrEqual(throughputBound(stations, s.population) + 1e-9);
    // Throughput never falls as threads are added, and the lock (4 ms) caps it at 250/s.
    for (let n = 1; n < curve.length; n++) {
      expect(curve[n]!.throughputPerSec).toBeGreaterThanOrEqual(curve[n - 1]!.throughputPerSec - 1e-9);
    }
    expect(curve[199]!.throughputPerSec).toBeGreaterThan(249);
    expect(throughputBound(stations, 200)).toBeCloseTo(250, 9);
  });

  it('fixed service times (scv 0): the job in service has half its time left, so less queueing', () => {
    // n = 1: X = 1/(1 + 1) = 0.5/s, U = 0.5, Q = 0.5.
    // n = 2: R_lock = 1·(1 + 0.5 + 0.5·(0 − 1)/2) = 1.25 s, X = 2/2.25 = 0.889/s (exponential: 0.8/s).
    const fixed = solveMva([{ ...lock(1), scv: 0 }, io(1)], 2);
    expect(fixed[0]!.throughputPerSec).toBeCloseTo(0.5, 12);
    expect(fixed[1]!.residenceSec[0]).toBeCloseTo(1.25, 12);
    expect(fixed[1]!.throughputPerSec).toBeCloseTo(2 / 2.25, 12);
    // scv 1 is the product form; more variable service queues more; every curve stays under the bounds.
    const exponential = solveMva([lock(0.004), io(0.016)], 25);
    const explicit = solveMva([{ ...lock(0.004), scv: 1 }, io(0.016)], 25);
    const bursty = solveMva([{ ...lock(0.004), scv: 4 }, io(0.016)], 25);
    const steady = solveMva([{ ...lock(0.004), scv: 0 }, io(0.016)], 25);
    for (let n = 0; n < 25; n++) {
      expect(explicit[n]!.throughputPerSec).toBe(exponential[n]!.throughputPerSec);
      expect(bursty[n]!.throughputPerSec).toBeLessThanOrEqual(exponential[n]!.throughputPerSec);
      expect(steady[n]!.throughputPerSec).toBeGreaterThanOrEqual(exponential[n]!.throughputPerSec);
      expect(steady[n]!.throughputPerSec).toBeLessThanOrEqual(
        throughputBound([lock(0.004), io(0.016)], n + 1),
      );
    }
  });

  it('lockAndDelayThroughput is the same recursion on a lock and a delay, at any variability', () => {
    for (const scv of [0, 0.5, 1, 3])
      for (const [d, z] of [
        [0.01, 0.01],
        [0.004, 0.016],
        [0.02, 0],
      ] as const) {
        const curve = solveMva([{ ...lock(d), scv }, io(z)], 30);
        for (const s of curve)
          expect(lockAndDelayThroughput(d, z, s.population, scv)).toBeCloseTo(s.throughputPerSec, 9);
      }
  });

  it('refuses what is not a network', () => {
    expect(() => solveMva([{ ...lock(1), scv: -1 }], 1)).toThrow(/Ruby CPU: scv/);
    expect(() => solveMva([lock(1)], 0)).toThrow(/population/);
    expect(() => solveMva([lock(-1)], 1)).toThrow(/Ruby CPU: demand/);
    expect(() => solveMva([lock(0)], 1)).toThrow(/all demands are 0/);
  });
});

describe('Bard–Schweitzer approximate MVA', () => {
  it('is exact for one job and errs low, by at most 7 %, for one class of many', () => {
    const stations = [lock(0.01), io(0.03)];
    const exact = solveMva(stations, 10);
    const demands = stations.map((s) => s.demandSec);
    const one = solveSchweitzer(stations, [{ population: 1, demandSec: demands }]);
    expect(one.throughputPerSec[0]).toBeCloseTo(exact[0]!.throughputPerSec, 9);
    // Pessimistic, most near the knee (N ≈ ΣD / D_max = 4): 1.2 % low at 2 threads, 6.8 % at 6, 3.8 % at 10.
    for (const n of [2, 4, 6, 10]) {
      const error =
        solveSchweitzer(stations, [{ population: n, demandSec: demands }]).throughputPerSec[0]! /
          exact[n - 1]!.throughputPerSec -
        1;
      expect(error).toBeLessThanOrEqual(0);
      expect(error).toBeGreaterThan(-0.07);
    }
  });

  it('two processes with their own locks sharing one host core: each is held back by the other', () => {
    // Stations: lock of process A, lock of process B, the shared core, I/O.
    const kinds: Pick<Station, 'kind'>[] = [
      { kind: 'queueing' },
      { kind: 'queueing' },
      { kind: 'queueing' },
      { kind: 'delay' },
    ];
    const a = { population: 5, demandSec: [0.01, 0, 0.01, 0.02] };
    const b = { population: 5, demandSec: [0, 0.01, 0.01, 0.02] };
    const both = solveSchweitzer(kinds, [a, b]);
    const alone = solveSchweitzer(kinds, [a]);
    const total = both.throughputPerSec[0]! + both.throughputPerSec[1]!;
    // The shared core (10 ms per job) caps the pair at 100 jobs/s, not the 2 × 100/s of two locks.
    expect(total).toBeLessThanOrEqual(100 + 1e-6);
    expect(total).toBeGreaterThan(90);
    expect(both.throughputPerSec[0]!).toBeCloseTo(both.throughputPerSec[1]!, 9);
    expect(alone.throughputPerSec[0]!).toBeGreaterThan(both.throughputPerSec[0]!);
  });
});

describe('multi-server stations (Seidmann)', () => {
  it('one server is a plain queueing station; m servers saturate at m/D', () => {
    const [q, d] = multiServerStations('cores', 0.01, 1);
    expect(q).toEqual({ name: 'cores', kind: 'queueing', demandSec: 0.01 });
    expect(d!.demandSec).toBe(0);
    const twoCores = solveMva(multiServerStations('cores', 0.01, 2), 400);
    expect(twoCores[399]!.throughputPerSec).toBeGreaterThan(199);
    expect(twoCores[399]!.throughputPerSec).toBeLessThanOrEqual(200 + 1e-9);
    // With one job there is no contention: X(1) = 1/D.
    expect(twoCores[0]!.throughputPerSec).toBeCloseTo(100, 9);
  });
});

import { describe, expect, it } from 'vitest';
import {
  erlangB,
  erlangC,
  maxArrivalRateForMeanWait,
  metricsAt,
  serversForMeanWait,
  serversForWaitPercentile,
  waitPercentileSec,
  type Station,
} from '../../../src/model/queueing.js';
import {
  MAX_WEIGHTED_QUEUES,
  pooledMetricsAt,
  pooledServiceScv,
  sharedPoolWaits,
  waitFactorsAt,
  type WeightedQueueLoad,
} from '../../../src/model/sidekiq.js';

/** Relative difference, for assertions that read as "within x %". */
const rel = (actual: number, expected: number): number => Math.abs(actual / expected - 1);

/** Erlang B straight from its definition (A^c/c!)/Σ_k A^k/k!, fine for small c. */
function erlangBByDefinition(c: number, a: number): number {
  let term = 1;
  let sum = 1;
  for (let k = 1; k <= c; k++) {
    term *= a / k;
    sum += term;
  }
  return term / sum;
}

describe('erlangB', () => {
  it('matches the Erlang B traffic tables', () => {
    // erlang.com calculator manual, "How much traffic can a trunk group handle?":
    // 15 lines at 1 % blocking carry 8.108 Erlangs.
    expect(erlangB(15, 8.108)).toBeCloseTo(0.01, 5);
    // erlang.com forum (Trunk Engineering, 2001): 1200 calls/h of 100 s = 33.33 E
    // needs 45 lines for 1 % blocking — so 45 lines block ≤ 1 % and 44 do not.
    expect(erlangB(45, 100 / 3)).toBeLessThanOrEqual(0.01);
    expect(erlangB(44, 100 / 3)).toBeGreaterThan(0.01);
    // Classic table entry: 10 Erlangs on 10 circuits block 21.46 %.
    expect(erlangB(10, 10)).toBeCloseTo(0.2146, 4);
  });

  it('agrees with the definition it replaces', () => {
    for (const c of [1, 2, 5, 12, 20]) {
      for (const a of [0.1, 1, 4.5, 17]) {
        expect(rel(erlangB(c, a), erlangBByDefinition(c, a))).toBeLessThan(1e-12);
      }
    }
  });

  it('stays finite for thousands of servers, where A^c/c! overflows', () => {
    const b = erlangB(10_000, 9_000);
    expect(Number.isFinite(b)).toBe(true);
    expect(b).toBeGreaterThan(0);
    expect(b).toBeLessThan(1e-20);
    expect(erlangB(3, 0)).toBe(0);
  });
});

describe('erlangC', () => {
  it('matches the Call Centre Helper worked example', () => {
    // "Erlang C Formula – Made Simple With an Easy Worked Example"
    // (callcentrehelper.com): 100 calls per 30 min, 180 s handling time
    // = 10 Erlangs; with 11 agents the probability of waiting is 68.21 %.
    expect(erlangC(11, 10)).toBeCloseTo(0.6821, 4);
    // Its average speed of answer is Wq = C·AHT/(N − A) = 122.8 s.
    const m = metricsAt({ arrivalRatePerSec: 100 / 1800, serviceTimeSec: 180, servers: 11 });
    expect(m.meanWaitSec).toBeCloseTo(122.8, 1);
  });

  it('reduces to the M/M/1 and M/M/2 closed forms', () => {
    // Gross & Harris §2.2: M/M/1 waits with probability ρ.
    // §2.3 with c = 2: C = 2ρ²/(1 + ρ).
    for (const rho of [0.1, 0.5, 0.75, 0.99]) {
      expect(erlangC(1, rho)).toBeCloseTo(rho, 12);
      expect(erlangC(2, 2 * rho)).toBeCloseTo((2 * rho * rho) / (1 + rho), 12);
    }
    expect(erlangC(2, 1.5)).toBeCloseTo(0.642857, 6);
  });

  it('matches the Halfin–Whitt limit for thousands of servers', () => {
    // Halfin & Whitt, "Heavy-traffic limits for queues with many exponential
    // servers", Operations Research 29(3), 1981: with c = A + β√A,
    // C → 1 / (1 + β·Φ(β)/φ(β)); for β = 1 that is 0.22336.
    const c = erlangC(4970, 4900);
    expect(Number.isFinite(c)).toBe(true);
    expect(rel(c, 0.22336)).toBeLessThan(0.02);
  });

  it('is 1 when the station cannot keep up, 0 with no load', () => {
    expect(erlangC(4, 4)).toBe(1);
    expect(erlangC(4, 9)).toBe(1);
    expect(erlangC(4, 0)).toBe(0);
  });
});

describe('metricsAt', () => {
  it('gives the M/M/1 closed forms', () => {
    // Kleinrock Vol. 1 ch. 3 / Gross & Harris §2.2, μ = 1/S:
    // Wq = ρ/(μ − λ), Lq = ρ²/(1 − ρ), R = 1/(μ − λ).
    const serviceTimeSec = 0.2;
    const mu = 1 / serviceTimeSec;
    for (const lambda of [0.5, 2.5, 4, 4.9]) {
      const rho = lambda / mu;
      const m = metricsAt({ arrivalRatePerSec: lambda, serviceTimeSec, servers: 1 });
      expect(m.utilization).toBeCloseTo(rho, 12);
      expect(m.offeredLoadErlangs).toBeCloseTo(rho, 12);
      expect(m.probabilityOfWait).toBeCloseTo(rho, 12);
      expect(rel(m.meanWaitSec, rho / (mu - lambda))).toBeLessThan(1e-12);
      expect(rel(m.meanQueueLength, (rho * rho) / (1 - rho))).toBeLessThan(1e-12);
      expect(rel(m.meanResponseSec, 1 / (mu - lambda))).toBeLessThan(1e-12);
      expect(m.stable).toBe(true);
    }
  });

  it('gives the M/M/2 closed form Wq = ρ²/(μ(1 − ρ²))', () => {
    const m = metricsAt({ arrivalRatePerSec: 1.2, serviceTimeSec: 1, servers: 2 });
    expect(rel(m.meanWaitSec, 0.36 / (1 - 0.36))).toBeLessThan(1e-12);
  });

  it('has zero waits with no arrivals', () => {
    const m = metricsAt({ arrivalRatePerSec: 0, serviceTimeSec: 3, servers: 2 });
    expect(m).toMatchObject({ utilization: 0, probabilityOfWait: 0, meanWaitSec: 0, meanQueueLength: 0 });
    expect(m.meanResponseSec).toBe(3);
  });

  it('reports an overloaded station as unstable with unbounded waits', () => {
    const m = metricsAt({ arrivalRatePerSec: 30, serviceTimeSec: 1, servers: 25 });
    expect(m.stable).toBe(false);
    expect(m.utilization).toBeCloseTo(1.2, 12);
    expect(m.probabilityOfWait).toBe(1);
    expect(m.meanWaitSec).toBe(Infinity);
    expect(m.meanResponseSec).toBe(Infinity);
    expect(m.meanQueueLength).toBe(Infinity);
  });
});

describe('waitPercentileSec', () => {
  it('inverts P(Wq > t) = C·e^{−(cμ−λ)t}', () => {
    // M/M/1, ρ = 0.8, S = 1: 0.8·e^{−0.2t} = 0.1 → t = ln 8 / 0.2.
    const mm1: Station = { arrivalRatePerSec: 0.8, serviceTimeSec: 1, servers: 1 };
    expect(waitPercentileSec(mm1, 90)).toBeCloseTo(Math.log(8) / 0.2, 10);
    // Call Centre Helper example: 11 agents answer 38.96 % of calls within 20 s
    // (service level = 1 − C·e^{−(N − A)·20/180}).
    const centre: Station = { arrivalRatePerSec: 100 / 1800, serviceTimeSec: 180, servers: 11 };
    const serviceLevel = 1 - erlangC(11, 10) * Math.exp(-20 / 180);
    expect(serviceLevel).toBeCloseTo(0.3896, 4);
    expect(waitPercentileSec(centre, 100 * serviceLevel)).toBeCloseTo(20, 8);
  });

  it('is 0 when at least that share of jobs does not wait, Infinity when unstable', () => {
    const station: Station = { arrivalRatePerSec: 2.5, serviceTimeSec: 1, servers: 6 }; // C ≈ 0.047
    expect(waitPercentileSec(station, 90)).toBe(0);
    expect(waitPercentileSec(station, 99)).toBeGreaterThan(0);
    expect(waitPercentileSec({ ...station, arrivalRatePerSec: 7 }, 50)).toBe(Infinity);
    expect(waitPercentileSec({ ...station, arrivalRatePerSec: 0 }, 99)).toBe(0);
  });
});

describe('sizing', () => {
  const lambda = 100 / 1800; // Call Centre Helper example: 10 Erlangs of 180 s calls
  const aht = 180;

  it('finds the fewest agents for a mean wait', () => {
    // ASA: 12 agents → 40.4 s, 13 agents → 17.1 s.
    expect(serversForMeanWait(lambda, aht, 20)).toBe(13);
  });

  it('finds the fewest agents for the classic 80/20 service level', () => {
    // 13 agents answer 79.6 % within 20 s, 14 agents 88.8 %.
    expect(serversForWaitPercentile(lambda, aht, 20, 80)).toBe(14);
    // Wolfram Language ErlangC documentation, "Applications": 30 calls/h of
    // 5 min, 90 % of calls not delayed at all → C(5, 2.5) = 0.130 > 0.1, C(6, 2.5) = 0.047.
    expect(serversForWaitPercentile(30 / 3600, 300, 0, 90)).toBe(6);
  });

  it('returns a pool that meets the target while one server fewer does not', () => {
    for (const load of [0.3, 2, 9.5, 40, 250]) {
      for (const target of [0.01, 0.1, 1]) {
        const serviceTimeSec = 1;
        const arrivalRatePerSec = load / serviceTimeSec;
        const c = serversForMeanWait(arrivalRatePerSec, serviceTimeSec, target);
        expect(metricsAt({ arrivalRatePerSec, serviceTimeSec, servers: c }).meanWaitSec).toBeLessThanOrEqual(
          target,
        );
        if (c > 1) {
          expect(
            metricsAt({ arrivalRatePerSec, serviceTimeSec, servers: c - 1 }).meanWaitSec,
          ).toBeGreaterThan(target);
        }
        const c99 = serversForWaitPercentile(arrivalRatePerSec, serviceTimeSec, target, 99);
        expect(
          waitPercentileSec({ arrivalRatePerSec, serviceTimeSec, servers: c99 }, 99),
        ).toBeLessThanOrEqual(target);
        if (c99 > 1) {
          expect(
            waitPercentileSec({ arrivalRatePerSec, serviceTimeSec, servers: c99 - 1 }, 99),
          ).toBeGreaterThan(target);
        }
      }
    }
    expect(serversForMeanWait(0, 1, 0.1)).toBe(1);
  });

  it('sizes pools of thousands of servers quickly', () => {
    const c = serversForMeanWait(5000, 1, 0.001);
    expect(c).toBeGreaterThan(5000);
    expect(
      metricsAt({ arrivalRatePerSec: 5000, serviceTimeSec: 1, servers: c }).meanWaitSec,
    ).toBeLessThanOrEqual(0.001);
  });

  it('finds the throughput a pool sustains within a wait target', () => {
    // M/M/1: Wq = S·ρ/(1 − ρ) = target ⇒ λ = target / (S·(S + target)).
    expect(maxArrivalRateForMeanWait(1, 1, 4)).toBeCloseTo(0.8, 9);
    for (const servers of [1, 5, 25, 400]) {
      const rate = maxArrivalRateForMeanWait(0.5, servers, 0.05);
      expect(rate).toBeLessThan(servers / 0.5);
      const wait = metricsAt({ arrivalRatePerSec: rate, serviceTimeSec: 0.5, servers }).meanWaitSec;
      expect(wait).toBeLessThanOrEqual(0.05);
      expect(rel(wait, 0.05)).toBeLessThan(1e-6);
      expect(serversForMeanWait(rate, 0.5, 0.05)).toBe(servers);
    }
    expect(maxArrivalRateForMeanWait(1, 3, 0)).toBe(0);
    expect(maxArrivalRateForMeanWait(2, 3, Infinity)).toBe(1.5);
  });
});

describe('properties', () => {
  it('more servers never raise waits', () => {
    for (const load of [0.5, 5, 50, 500]) {
      let previous = metricsAt({ arrivalRatePerSec: load, serviceTimeSec: 1, servers: Math.floor(load) + 1 });
      let previousP99 = waitPercentileSec(
        { arrivalRatePerSec: load, serviceTimeSec: 1, servers: Math.floor(load) + 1 },
        99,
      );
      for (let c = Math.floor(load) + 2; c < load + 40; c++) {
        const station = { arrivalRatePerSec: load, serviceTimeSec: 1, servers: c };
        const m = metricsAt(station);
        const p99 = waitPercentileSec(station, 99);
        expect(m.probabilityOfWait).toBeLessThanOrEqual(previous.probabilityOfWait);
        expect(m.meanWaitSec).toBeLessThanOrEqual(previous.meanWaitSec);
        expect(p99).toBeLessThanOrEqual(previousP99);
        previous = m;
        previousP99 = p99;
      }
    }
  });

  it('waits grow without bound as ρ → 1', () => {
    for (const servers of [1, 8, 100]) {
      let previous = 0;
      for (const gap of [1e-1, 1e-2, 1e-3, 1e-4, 1e-6]) {
        const wait = metricsAt({
          arrivalRatePerSec: servers * (1 - gap),
          serviceTimeSec: 1,
          servers,
        }).meanWaitSec;
        expect(wait).toBeGreaterThan(previous);
        previous = wait;
      }
      // Wq ≈ C·S/(c(1 − ρ)) with C → 1.
      expect(previous).toBeGreaterThan(0.5 / (servers * 1e-6));
    }
  });
});

describe('bad input', () => {
  const ok: Station = { arrivalRatePerSec: 1, serviceTimeSec: 1, servers: 2 };

  it('throws RangeError naming the parameter', () => {
    expect(() => metricsAt({ ...ok, arrivalRatePerSec: -1 })).toThrow(/arrivalRatePerSec/);
    expect(() => metricsAt({ ...ok, arrivalRatePerSec: NaN })).toThrow(RangeError);
    expect(() => metricsAt({ ...ok, serviceTimeSec: 0 })).toThrow(/serviceTimeSec/);
    expect(() => metricsAt({ ...ok, servers: 0 })).toThrow(/servers must be an integer >= 1/);
    expect(() => metricsAt({ ...ok, servers: 2.5 })).toThrow(RangeError);
    expect(() => erlangC(3, -0.1)).toThrow(/offeredLoadErlangs/);
    expect(() => erlangB(0, 1)).toThrow(/servers/);
    expect(() => waitPercentileSec(ok, 101)).toThrow(/percentile/);
    expect(() => serversForMeanWait(1, 1, 0)).toThrow(/targetMeanWaitSec/);
    expect(() => serversForWaitPercentile(1, 1, -1, 95)).toThrow(/targetWaitSec/);
    expect(() => serversForWaitPercentile(1, 1, 1, 100)).toThrow(/percentile/);
    expect(() => maxArrivalRateForMeanWait(1, 1.5, 1)).toThrow(/servers/);
    expect(() => maxArrivalRateForMeanWait(-1, 1, 1)).toThrow(/serviceTimeSec/);
  });
});

describe('sharedPoolWaits (analytic side; the DES comparison is in simulate.test.ts)', () => {
  const q = (
    queue: string,
    weight: number,
    arrivalRatePerSec: number,
    serviceTimeSec = 1,
  ): WeightedQueueLoad => ({
    queue,
    weight,
    arrivalRatePerSec,
    serviceTimeSec,
  });

  it('is the M/M/c station for a single queue', () => {
    const station: Station = { arrivalRatePerSec: 20, serviceTimeSec: 1, servers: 25 };
    const result = sharedPoolWaits([q('default', 1, 20)], 25);
    expect(result.pool).toEqual(metricsAt(station));
    const [only] = result.perQueue;
    expect(rel(only!.meanWaitSec, result.pool.meanWaitSec)).toBeLessThan(1e-12);
    expect(rel(only!.p95WaitSec, waitPercentileSec(station, 95))).toBeLessThan(1e-12);
    expect(rel(only!.p99WaitSec, waitPercentileSec(station, 99))).toBeLessThan(1e-12);
  });

  it('keeps Kleinrock’s conservation law Σρ_i·W_i = ρ·W_pool', () => {
    const queues = [
      q('default', 8, 6, 0.4),
      q('push', 6, 12, 0.5),
      q('ingress', 4, 8, 1),
      q('pull', 1, 4, 1),
    ];
    const { pool, perQueue } = sharedPoolWaits(queues, 25);
    const weighted = queues.reduce(
      (s, x, i) => s + x.arrivalRatePerSec * x.serviceTimeSec * perQueue[i]!.meanWaitSec,
      0,
    );
    const total = queues.reduce((s, x) => s + x.arrivalRatePerSec * x.serviceTimeSec, 0);
    expect(rel(weighted, total * pool.meanWaitSec)).toBeLessThan(1e-9);
  });

  it('gives identical queues identical waits, and light traffic FCFS-like waits', () => {
    const same = sharedPoolWaits([q('a', 3, 2), q('b', 3, 2)], 5).perQueue;
    expect(rel(same[0]!.meanWaitSec, same[1]!.meanWaitSec)).toBeLessThan(1e-9);
    // ρ → 0: queues are almost never both non-empty, so weights stop mattering.
    expect(waitFactorsAt([0.5, 0.5], [8, 1], 1e-4).map((f) => f.toFixed(3))).toEqual(['1.000', '1.000']);
  });

  it('puts the waiting on the queue whose traffic exceeds its weight share', () => {
    // 8:1 weights, equal traffic, ρ = 0.95: the low-weight queue waits.
    const [hi, lo] = waitFactorsAt([0.5, 0.5], [8, 1], 0.95);
    expect(lo!).toBeGreaterThan(10 * hi!);
    // 2:1 weights but 90 % of the traffic on the heavy-weight queue: its share
    // of fetches (2/3) is below its share of jobs, so *it* waits.
    const [busy, quiet] = waitFactorsAt([0.9, 0.1], [2, 1], 0.95);
    expect(busy!).toBeGreaterThan(quiet!);
  });

  it('corrects the pool for mixed service times (Allen–Cunneen)', () => {
    const queues = [q('push', 6, 20, 0.25), q('ingress', 4, 5, 2)];
    // mixture of exponentials: c_s² = 2·Σp·S²/S̄² − 1
    const p = [0.8, 0.2];
    const mean = p[0]! * 0.25 + p[1]! * 2;
    expect(pooledServiceScv(queues)).toBeCloseTo((2 * (p[0]! * 0.0625 + p[1]! * 4)) / (mean * mean) - 1, 12);
    const mmc = metricsAt({ arrivalRatePerSec: 25, serviceTimeSec: mean, servers: 15 });
    const pool = pooledMetricsAt(queues, 15);
    expect(pool.probabilityOfWait).toBe(mmc.probabilityOfWait);
    expect(pool.meanWaitSec).toBeCloseTo((mmc.meanWaitSec * (1 + pooledServiceScv(queues))) / 2, 12);
    expect(pooledServiceScv([q('a', 1, 3, 2), q('b', 1, 1, 2)])).toBeCloseTo(1, 12);
  });

  it('handles idle queues, no traffic and overload', () => {
    const idle = sharedPoolWaits([q('default', 8, 20), q('pull', 1, 0)], 25).perQueue;
    expect(idle[1]!.meanWaitSec).toBeGreaterThan(0);
    expect(Number.isFinite(idle[1]!.meanWaitSec)).toBe(true);
    expect(sharedPoolWaits([q('a', 1, 0), q('b', 2, 0)], 3).perQueue.every((x) => x.meanWaitSec === 0)).toBe(
      true,
    );
    const over = sharedPoolWaits([q('a', 1, 20), q('b', 2, 20)], 25);
    expect(over.pool.stable).toBe(false);
    expect(over.perQueue.every((x) => x.meanWaitSec === Infinity && x.p99WaitSec === Infinity)).toBe(true);
  });

  it('throws RangeError naming the parameter', () => {
    expect(() => sharedPoolWaits([q('a', 0, 1)], 2)).toThrow(/queues\[0\]\.weight/);
    expect(() => sharedPoolWaits([q('a', 1, -1)], 2)).toThrow(/queues\[0\]\.arrivalRatePerSec/);
    expect(() => sharedPoolWaits([q('a', 1, 1, 0)], 2)).toThrow(/queues\[0\]\.serviceTimeSec/);
    expect(() => sharedPoolWaits([q('a', 1, 1)], 0)).toThrow(/threads/);
    expect(() => sharedPoolWaits([], 2)).toThrow(/queues/);
    const many = Array.from({ length: MAX_WEIGHTED_QUEUES + 1 }, (_, i) => q(`q${i}`, 1, 0.1));
    expect(() => sharedPoolWaits(many, 2)).toThrow(/simulatePool/);
    expect(() => waitFactorsAt([0.5, 0.5], [1, 1], 1)).toThrow(/lineRatio/);
    expect(() => waitFactorsAt([1, 0], [1, 1], 0.5)).toThrow(/arrivalShares\[1\]/);
    expect(() => waitFactorsAt([0.5, 0.5], [1, -2], 0.5)).toThrow(/weights\[1\]/);
  });
});

import { describe, expect, it } from 'vitest';
import {
  concurrencyByLittle,
  fitUsl,
  fitUslWithIntervals,
  latencyAtConcurrency,
  maxConcurrency,
  maxThroughput,
  throughputAtConcurrency,
  type UslModel,
  type UslPoint,
} from '../../../src/calibrate/usl.js';
import { InputError } from '../../../src/shared/errors.js';
import { seededRng, standardNormal } from '../../../src/shared/random.js';

const TRUTH: UslModel = { sigma: 0.05, kappa: 0.001, lambda: 100 };
const LEVELS = [1, 2, 4, 8, 12, 16, 24, 32, 40, 48, 64];

/** Two measured steps per level, throughput with a relative noise of `cv`. */
function stepLoad(seed: number, truth: UslModel, cv: number): UslPoint[] {
  const rng = seededRng(seed);
  return LEVELS.flatMap((n) =>
    [0, 1].map(() => ({
      concurrency: n,
      throughputPerSec: throughputAtConcurrency(truth, n) * (1 + cv * standardNormal(rng)),
    })),
  );
}

describe('the USL model', () => {
  it('answers the questions usl4j asks, with Gunther’s closed forms', () => {
    expect(throughputAtConcurrency(TRUTH, 1)).toBe(100);
    // N* = √(0.95 / 0.001) ≈ 30.82; X(N*) = 100·N* / (1 + 0.05(N* − 1) + 0.001·N*(N* − 1)) = 3082.2 / 3.410.
    expect(maxConcurrency(TRUTH)).toBeCloseTo(30.822, 3);
    expect(maxThroughput(TRUTH)).toBeCloseTo(903.8, 1);
    expect(latencyAtConcurrency(TRUTH, 10)).toBeCloseTo(10 / throughputAtConcurrency(TRUTH, 10), 12);
    // κ = 0 is Amdahl's law: no peak, throughput tends to λ/σ.
    expect(maxConcurrency({ ...TRUTH, kappa: 0 })).toBe(Infinity);
    expect(maxThroughput({ ...TRUTH, kappa: 0 })).toBeCloseTo(2000, 9);
    // Little's law: 250 requests/s at 80 ms each keep 20 in the system.
    expect(concurrencyByLittle(250, 0.08)).toBeCloseTo(20, 12);
  });
});

describe('fitUsl', () => {
  it('recovers σ, κ and λ exactly from noiseless points', () => {
    const m = fitUsl(
      LEVELS.map((n) => ({ concurrency: n, throughputPerSec: throughputAtConcurrency(TRUTH, n) })),
    );
    expect(m.sigma).toBeCloseTo(0.05, 6);
    expect(m.kappa).toBeCloseTo(0.001, 8);
    expect(m.lambda).toBeCloseTo(100, 4);
  });

  it('recovers them from noisy steps, and its bootstrap intervals cover the truth', () => {
    const points = stepLoad(21, TRUTH, 0.03);
    const m = fitUsl(points);
    expect(Math.abs(m.sigma - 0.05)).toBeLessThan(0.015);
    expect(Math.abs(m.kappa / 0.001 - 1)).toBeLessThan(0.25);
    expect(Math.abs(m.lambda / 100 - 1)).toBeLessThan(0.05);
    const fit = fitUslWithIntervals(points, { seed: 4, resamples: 200 });
    expect(fit.points).toBe(22);
    expect(fit.sigma.value).toBeCloseTo(m.sigma, 12);
    for (const [name, truth] of [
      ['sigma', 0.05],
      ['kappa', 0.001],
      ['lambda', 100],
      ['maxConcurrency', maxConcurrency(TRUTH)],
      ['maxThroughputPerSec', maxThroughput(TRUTH)],
    ] as const) {
      expect(fit[name].low, name).toBeLessThanOrEqual(truth);
      expect(fit[name].high, name).toBeGreaterThanOrEqual(truth);
    }
    // X_max is what the points constrain best: within ±5 %.
    expect(fit.maxThroughputPerSec.high / fit.maxThroughputPerSec.low).toBeLessThan(1.1);
  });

  it('keeps the parameters non-negative when the data show no coherency penalty', () => {
    // Linear scaling with a little noise: the unconstrained fit would give κ < 0.
    const rng = seededRng(8);
    const points = LEVELS.map((n) => ({
      concurrency: n,
      throughputPerSec: 50 * n * (1 + 0.01 * standardNormal(rng)),
    }));
    const m = fitUsl(points);
    expect(m.sigma).toBeGreaterThanOrEqual(0);
    expect(m.kappa).toBeGreaterThanOrEqual(0);
    expect(m.kappa).toBeLessThan(1e-4);
    expect(m.lambda / 50).toBeCloseTo(1, 1);
  });

  it('recovers a contention-bound system (κ = 0) and says its N* is unbounded', () => {
    const amdahl = { sigma: 0.1, kappa: 0, lambda: 20 };
    const m = fitUsl(
      LEVELS.map((n) => ({ concurrency: n, throughputPerSec: throughputAtConcurrency(amdahl, n) })),
    );
    expect(m.sigma).toBeCloseTo(0.1, 5);
    expect(m.kappa).toBeLessThan(1e-8);
    expect(maxConcurrency(m)).toBeGreaterThan(1000);
    expect(maxThroughput(m) / 200).toBeCloseTo(1, 2);
  });

  it('refuses fewer than three loaded points', () => {
    expect(() =>
      fitUsl([
        { concurrency: 1, throughputPerSec: 10 },
        { concurrency: 2, throughputPerSec: 19 },
        { concurrency: 0, throughputPerSec: 0 },
      ]),
    ).toThrow(new InputError('USL fit: needs at least 3 points with load, got 2'));
  });

  it('keeps the linear start when Levenberg–Marquardt meets singular normal equations (points below one in service)', () => {
    // Light-load windows with scattered throughputs: this set made ml-levenberg-marquardt's inverse throw.
    const points = [
      { concurrency: 1.5095132326285883, throughputPerSec: 9.732519717050026 },
      { concurrency: 0.2555553783921317, throughputPerSec: 27.991115913941115 },
      { concurrency: 1.1446066243316078, throughputPerSec: 35.09837853329646 },
      { concurrency: 1.2151203645463662, throughputPerSec: 13.209173269420477 },
    ];
    const m = fitUsl(points);
    for (const v of [m.sigma, m.kappa, m.lambda]) expect(Number.isFinite(v)).toBe(true);
    expect(m.sigma).toBeGreaterThanOrEqual(0);
    expect(m.sigma).toBeLessThanOrEqual(1);
    expect(m.kappa).toBeGreaterThanOrEqual(0);
    expect(m.lambda).toBeGreaterThan(0);
  });
});

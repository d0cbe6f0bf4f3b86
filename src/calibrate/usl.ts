import { levenbergMarquardt } from 'ml-levenberg-marquardt';
import { InputError } from '../shared/errors.js';
import { blockBootstrap, type Interval } from './bootstrap.js';
import { nonNegativeLeastSquares } from './nnls.js';

/**
 * The Universal Scalability Law (Gunther 2007, *Guerrilla Capacity Planning*, ch. 4–6):
 * X(N) = λN / (1 + σ(N − 1) + κN(N − 1)), fitted to the (concurrency, throughput) points of a
 * step-load run. Named after usl4j's Model (codahale/usl4j).
 */
export interface UslModel {
  /** Contention (serial fraction), 0 ≤ σ ≤ 1. */
  sigma: number;
  /** Coherency (crosstalk) penalty, κ ≥ 0. */
  kappa: number;
  /** Throughput of one unit of concurrency without contention, per second. */
  lambda: number;
}

export interface UslPoint {
  concurrency: number;
  throughputPerSec: number;
}

/** X(N), Gunther 2007 eq. 4.31 (with λ = X(1)). */
export function throughputAtConcurrency(m: UslModel, n: number): number {
  return (m.lambda * n) / (1 + m.sigma * (n - 1) + m.kappa * n * (n - 1));
}

/** R(N) = N / X(N), by Little's law (usl4j's latencyAtConcurrency). */
export function latencyAtConcurrency(m: UslModel, n: number): number {
  return n / throughputAtConcurrency(m, n);
}

/** N* = √((1 − σ)/κ), where X(N) peaks (Gunther 2007 eq. 4.33); Infinity when κ = 0. */
export function maxConcurrency(m: UslModel): number {
  return m.kappa > 0 ? Math.sqrt(Math.max(0, 1 - m.sigma) / m.kappa) : Infinity;
}

/** X(N*), the most the system delivers; λ/σ (the Amdahl ceiling) when κ = 0, Infinity when σ = κ = 0. */
export function maxThroughput(m: UslModel): number {
  const n = maxConcurrency(m);
  if (Number.isFinite(n)) return throughputAtConcurrency(m, Math.max(1, n));
  return m.sigma > 0 ? m.lambda / m.sigma : Infinity;
}

/** Concurrency from throughput and response time, N = X·R (Little 1961), for steps that measured only those. */
export function concurrencyByLittle(throughputPerSec: number, responseSec: number): number {
  return throughputPerSec * responseSec;
}

/**
 * Least-squares fit of the USL to the points, with σ ∈ [0, 1], κ ≥ 0, λ > 0. The start comes from the
 * linear form N/X = 1/λ + (σ/λ)(N − 1) + (κ/λ)N(N − 1) (Gunther 2007 §5.5's transformation, solved
 * by NNLS, Lawson & Hanson 1974); Levenberg–Marquardt (ml-levenberg-marquardt, with the analytic
 * Jacobian) then minimises the squared throughput residuals, on throughputs scaled to their maximum.
 */
export function fitUsl(points: readonly UslPoint[]): UslModel {
  const usable = points.filter((p) => p.concurrency > 0 && p.throughputPerSec > 0);
  if (usable.length < 3)
    throw new InputError(`USL fit: needs at least 3 points with load, got ${usable.length}`);
  const scale = Math.max(...usable.map((p) => p.throughputPerSec));
  const x = usable.map((p) => p.concurrency);
  const y = usable.map((p) => p.throughputPerSec / scale);
  const start = linearStart(x, y);
  const refined = refine(x, y, start);
  // Keep the better of the start and the refinement in the scaled squared error.
  const best = refined && squaredError(refined, x, y) <= squaredError(start, x, y) ? refined : start;
  return { ...best, lambda: best.lambda * scale };
}

/**
 * Levenberg–Marquardt from the linear start; null when its normal equations are singular (points that
 * cannot tell the parameters apart), where the start is the fit.
 */
function refine(x: number[], y: number[], start: UslModel): UslModel | null {
  let fit: ReturnType<typeof levenbergMarquardt>;
  try {
    fit = levenbergMarquardt(
      { x, y },
      ([sigma, kappa, lambda]) =>
        (n) =>
          throughputAtConcurrency({ sigma: sigma!, kappa: kappa!, lambda: lambda! }, n),
      {
        initialValues: [start.sigma, start.kappa, start.lambda],
        minValues: [0, 0, 1e-12],
        maxValues: [1, Number.MAX_VALUE, Number.MAX_VALUE],
        maxIterations: 500,
        errorTolerance: 1e-14,
        improvementThreshold: 1e-6,
        jacobianFunction: uslJacobian,
      },
    );
  } catch (err) {
    if (/singular/i.test((err as Error).message)) return null;
    throw err;
  }
  const [sigma, kappa, lambda] = fit.parameterValues;
  return { sigma: sigma!, kappa: kappa!, lambda: lambda! };
}

/** ∂X/∂(σ, κ, λ) of X(N) = λN / D, D = 1 + σ(N − 1) + κN(N − 1). */
function uslJacobian([sigma, kappa, lambda]: number[]) {
  return (n: number) => {
    const d = 1 + sigma! * (n - 1) + kappa! * n * (n - 1);
    const x = (lambda! * n) / d;
    return [(-x * (n - 1)) / d, (-x * n * (n - 1)) / d, n / d];
  };
}

function linearStart(x: number[], y: number[]): UslModel {
  const fit = nonNegativeLeastSquares(
    x.map((n) => [1, n - 1, n * (n - 1)]),
    x.map((n, i) => n / y[i]!),
    false,
  );
  const [a, b, c] = fit.coefficients.map((v) => (Number.isNaN(v) ? 0 : v));
  if (!(a! > 0)) {
    // No N = 1 anchor came out: start from the first point's throughput per unit of concurrency.
    return { sigma: 0, kappa: 0, lambda: y[0]! / x[0]! };
  }
  return { sigma: Math.min(1, b! / a!), kappa: c! / a!, lambda: 1 / a! };
}

function squaredError(m: UslModel, x: number[], y: number[]): number {
  return x.reduce((a, n, i) => a + (throughputAtConcurrency(m, n) - y[i]!) ** 2, 0);
}

export interface UslFit {
  sigma: Interval;
  kappa: Interval;
  lambda: Interval;
  maxConcurrency: Interval;
  maxThroughputPerSec: Interval;
  points: number;
}

/**
 * The USL fit with percentile intervals from a bootstrap over the points (independent resampling:
 * the steps of a step-load run are separate experiments; Efron & Tibshirani 1993 §9.5 on resampling
 * pairs). A resample whose fit fails (fewer than 3 distinct loaded points) is skipped.
 */
export function fitUslWithIntervals(
  points: readonly UslPoint[],
  options: { seed: number; resamples?: number; level?: number },
): UslFit {
  const estimate = (sample: readonly UslPoint[]): Record<string, number> => {
    if (new Set(sample.map((p) => p.concurrency)).size < 3) return {};
    const m = fitUsl(sample);
    return { ...m, maxConcurrency: maxConcurrency(m), maxThroughputPerSec: maxThroughput(m) };
  };
  fitUsl(points); // the clear error for too few points, before resampling
  const r = blockBootstrap(points, estimate, { ...options, blockLength: 1 });
  return {
    sigma: r.sigma!,
    kappa: r.kappa!,
    lambda: r.lambda!,
    maxConcurrency: r.maxConcurrency!,
    maxThroughputPerSec: r.maxThroughputPerSec!,
    points: points.length,
  };
}

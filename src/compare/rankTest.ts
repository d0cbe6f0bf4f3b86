/**
 * The Mann–Whitney rank test (Mann & Whitney 1947, "On a test of whether one of two random variables is
 * stochastically larger than the other", Ann. Math. Statist. 18(1)) on counted values: a run's latencies
 * arrive as a histogram (values to 3 significant digits and how often each occurred), so the ranks are
 * taken a distinct value at a time, ties sharing their mid-rank. Hand-written because the one npm package
 * offering it is barely used and takes raw arrays (a run has millions of requests); simple-statistics'
 * wilcoxonRankSum gives the rank sum on arrays without a p-value (the tests check the two agree).
 */
import { errorFunction } from 'simple-statistics';

export interface RankTest {
  /** U of the candidate: pairs (base, candidate) where the candidate is larger, ties counting ½. */
  u: number;
  /** U / (n_base · n_candidate): the probability a candidate value exceeds a base one (ties ½). */
  probabilityCandidateLarger: number;
  z: number;
  /** Two-sided. */
  pValue: number;
}

/**
 * The test on two samples given as counts over one grid of distinct values sorted ascending; null when
 * either sample is empty or every value is tied (nothing to rank). The p-value is the normal
 * approximation with continuity correction and the tie-corrected variance
 * σ² = n₁n₂/12 · ((N + 1) − Σ(t³ − t) / (N(N − 1))), t the size of each tie group
 * (Lehmann, "Nonparametrics: Statistical Methods Based on Ranks", 1975, ch. 1 §4): with thousands of
 * requests per run it is as good as exact.
 */
export function rankTestOnCounts(
  baseCounts: ArrayLike<number>,
  candidateCounts: ArrayLike<number>,
): RankTest | null {
  let nBase = 0;
  let nCandidate = 0;
  for (let i = 0; i < baseCounts.length; i++) nBase += baseCounts[i]!;
  for (let i = 0; i < candidateCounts.length; i++) nCandidate += candidateCounts[i]!;
  const n = nBase + nCandidate;
  if (nBase === 0 || nCandidate === 0) return null;
  let below = 0;
  let rankSum = 0;
  let ties = 0;
  for (let i = 0; i < baseCounts.length; i++) {
    const t = baseCounts[i]! + candidateCounts[i]!;
    if (t === 0) continue;
    // The t tied values hold ranks below + 1 … below + t: each gets the mid-rank.
    rankSum += candidateCounts[i]! * (below + (t + 1) / 2);
    ties += t * t * t - t;
    below += t;
  }
  const u = rankSum - (nCandidate * (nCandidate + 1)) / 2;
  const variance = ((nBase * nCandidate) / 12) * (n + 1 - ties / (n * (n - 1)));
  if (!(variance > 0)) return null;
  const centred = u - (nBase * nCandidate) / 2;
  const corrected = Math.sign(centred) * Math.max(0, Math.abs(centred) - 0.5);
  const z = corrected / Math.sqrt(variance);
  return { u, probabilityCandidateLarger: u / (nBase * nCandidate), z, pValue: twoSidedNormalP(z) };
}

/** The rank test on two plain samples. */
export function rankTest(base: readonly number[], candidate: readonly number[]): RankTest | null {
  const grid = [...new Set([...base, ...candidate])].sort((a, b) => a - b);
  const index = new Map(grid.map((v, i) => [v, i]));
  const count = (sample: readonly number[]) => {
    const out = new Float64Array(grid.length);
    for (const v of sample) out[index.get(v)!]!++;
    return out;
  };
  return rankTestOnCounts(count(base), count(candidate));
}

/**
 * P(|Z| ≥ |z|) for a standard normal Z: erfc(|z|/√2), which simple-statistics' errorFunction computes
 * as 1 − τ with τ = erfc (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7), so 1 − erf loses
 * nothing in the tail.
 */
export function twoSidedNormalP(z: number): number {
  return Math.min(1, 1 - errorFunction(Math.abs(z) / Math.SQRT2));
}

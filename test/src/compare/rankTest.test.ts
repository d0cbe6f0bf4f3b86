import { wilcoxonRankSum } from 'simple-statistics';
import { describe, expect, it } from 'vitest';
import { rankTest, rankTestOnCounts, twoSidedNormalP } from '../../../src/compare/rankTest.js';
import { seededRng, standardNormal } from '../../../src/shared/random.js';

describe('rankTest (Mann–Whitney, normal approximation with tie correction)', () => {
  it('matches SciPy 1.x mannwhitneyu(method="asymptotic", use_continuity=True) on separated samples', () => {
    // scipy.stats.mannwhitneyu([6..10], [1..5]) → U = 25, p = 0.012185780355344813 (R: wilcox.test, exact=FALSE)
    const r = rankTest([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])!;
    expect(r.u).toBe(25);
    expect(r.probabilityCandidateLarger).toBe(1);
    expect(r.pValue).toBeCloseTo(0.012185780355344813, 6);
  });

  it('matches SciPy with ties (mid-ranks and the tie-corrected variance)', () => {
    // scipy.stats.mannwhitneyu([2,3,3,4,4,4], [1,2,2,3,3]) → U = 25, p = 0.07028282375874685
    const r = rankTest([1, 2, 2, 3, 3], [2, 3, 3, 4, 4, 4])!;
    expect(r.u).toBe(25);
    expect(r.pValue).toBeCloseTo(0.07028282375874685, 6);
  });

  it("gives simple-statistics' rank sum on random samples, and the same answer from counts", () => {
    const rng = seededRng(7);
    const draw = (n: number, shift: number) =>
      Array.from({ length: n }, () => Math.round(10 * (standardNormal(rng) + shift)) / 10);
    const base = draw(300, 0);
    const candidate = draw(250, 0.2);
    const r = rankTest(base, candidate)!;
    expect(r.u).toBeCloseTo(wilcoxonRankSum(candidate, base) - (250 * 251) / 2, 6);
    const grid = [...new Set([...base, ...candidate])].sort((a, b) => a - b);
    const counts = (xs: number[]) => grid.map((g) => xs.filter((x) => x === g).length);
    expect(rankTestOnCounts(counts(base), counts(candidate))).toEqual(r);
    expect(r.pValue).toBeLessThan(0.05);
  });

  it('has nothing to rank when a sample is empty or every value is tied', () => {
    expect(rankTest([], [1, 2])).toBeNull();
    expect(rankTest([3, 3], [3, 3, 3])).toBeNull();
  });

  it('reads the normal tail: p = 0.05 at z = 1.95996, 1 at z = 0', () => {
    expect(twoSidedNormalP(1.959964)).toBeCloseTo(0.05, 6);
    expect(twoSidedNormalP(-1.959964)).toBeCloseTo(0.05, 6);
    expect(twoSidedNormalP(0)).toBe(1);
  });
});

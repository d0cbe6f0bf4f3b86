import { describe, expect, it } from 'vitest';
import { bootstrapChanges, ratioOf } from '../../../src/compare/bootstrapChange.js';
import { verdictOf } from '../../../src/compare/verdict.js';
import { seededRng, standardNormal } from '../../../src/shared/random.js';

const settings = { seed: 3, resamples: 1000, level: 0.95 };
const mean = (ws: readonly number[]) => ({ mean: ws.reduce((a, b) => a + b, 0) / ws.length });

/** Windows of a slowly wandering level (AR(1), φ = 0.6), as one run's per-window means are. */
function windows(n: number, level: number, seed: number): number[] {
  const rng = seededRng(seed);
  let drift = 0;
  return Array.from({ length: n }, () => {
    drift = 0.6 * drift + 0.05 * level * standardNormal(rng);
    return level + drift;
  });
}

describe('bootstrapChanges (paired moving-block bootstrap over windows)', () => {
  it('puts a 20 % shift inside its interval and zero outside it', () => {
    const c = bootstrapChanges(windows(60, 100, 1), windows(60, 120, 2), mean, settings).mean!;
    expect(c.ratio).toBeGreaterThan(1.15);
    expect(c.ratio).toBeLessThan(1.25);
    expect(c.relativeLow).toBeGreaterThan(0.1);
    expect(c.relativeHigh).toBeLessThan(0.3);
    expect(c.low).toBeGreaterThan(0);
    expect(c.resamples).toBe(1000);
    expect(verdictOf(c, 'higher', 0.001, { threshold: 0.1, alpha: 0.05 })).toBe('regressed');
    expect(verdictOf(c, 'lower', 0.001, { threshold: 0.1, alpha: 0.05 })).toBe('improved');
    // Large and real, but the rank test saw no difference; or below the threshold: not a regression.
    expect(verdictOf(c, 'higher', 0.2, { threshold: 0.1, alpha: 0.05 })).toBe('unchanged');
    expect(verdictOf(c, 'higher', 0.001, { threshold: 0.3, alpha: 0.05 })).toBe('unchanged');
  });

  it('covers zero when both runs come from one process', () => {
    const c = bootstrapChanges(windows(60, 100, 5), windows(60, 100, 6), mean, settings).mean!;
    expect(c.low).toBeLessThan(0);
    expect(c.high).toBeGreaterThan(0);
    expect(verdictOf(c, 'higher', null, { threshold: 0, alpha: 0.05 })).toBe('unchanged');
  });

  it('resamples by position: a window missing in one run is left out of that side only', () => {
    const base = [1, 1, undefined, 1];
    const candidate = [2, 2, 2, 2];
    const c = bootstrapChanges(base, candidate, mean, settings).mean!;
    expect([c.base, c.candidate, c.difference, c.low, c.high]).toEqual([1, 2, 1, 1, 1]);
  });

  it('calls 0 → x an infinite ratio and 0 → 0 no change', () => {
    expect(ratioOf(0, 0)).toBe(1);
    expect(ratioOf(0, 3)).toBe(Number.POSITIVE_INFINITY);
    expect(ratioOf(4, 5)).toBe(1.25);
  });
});

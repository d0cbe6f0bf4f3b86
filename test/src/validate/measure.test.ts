import { describe, expect, it } from 'vitest';
import { multipleAt, percentileOfBuckets, pushSizesOfBuckets } from '../../../src/validate/measure.js';

describe('a step-load run read per step', () => {
  it('reads a quantile from cumulative buckets as histogram_quantile does, linear within its bucket', () => {
    // 100 waits: 50 below 10 ms, 40 more below 20 ms, 10 more below 40 ms.
    const buckets = { '0.01': 50, '0.02': 90, '0.04': 100, '+Inf': 100 };
    expect(percentileOfBuckets(buckets, 0.5)).toBeCloseTo(0.01, 12);
    expect(percentileOfBuckets(buckets, 0.7)).toBeCloseTo(0.015, 12);
    expect(percentileOfBuckets(buckets, 0.95)).toBeCloseTo(0.03, 12);
    expect(percentileOfBuckets({ '0.01': 1, '+Inf': 10 }, 0.95)).toBeNull();
    expect(percentileOfBuckets({}, 0.95)).toBeNull();
  });

  it('reads the sizes of the pushes a queue received from their buckets: each at the middle of its span', () => {
    // 8 single jobs, 1 push of 2, 1 push in (15, 20] (at 18), none past 1,000
    const sizes = pushSizesOfBuckets({ '1': 8, '2': 9, '15': 9, '20': 10, '1000': 10, '+Inf': 10 })!;
    expect(sizes).toHaveLength(18);
    expect([sizes[0], sizes[1], sizes[17]]).toEqual([0.8, 0.1, 0.1]);
    expect(sizes.reduce((a, p) => a + p, 0)).toBeCloseTo(1, 12);
    expect(pushSizesOfBuckets({ '1': 0, '+Inf': 0 })).toBeNull();
  });

  it('spaces the steps as mixed-step.ts does, from STEP_FROM to STEP_TO', () => {
    const s = { steps: 5, stepSec: 30, fromMultiple: 0.5, toMultiple: 4 };
    expect([0, 1, 2, 3, 4].map((k) => multipleAt(s, k))).toEqual([0.5, 1.375, 2.25, 3.125, 4]);
    expect(multipleAt({ ...s, steps: 1 }, 0)).toBe(4);
  });
});

import { describe, expect, it } from 'vitest';
import {
  chunkSaturationMonths,
  chunksOf,
  drawProfile,
  mergeSaturationMonths,
  saturationSpread,
  spreadOf,
} from '../../../src/model/uncertainty.js';
import { firstBrokenMonths, forecast } from '../../../src/model/forecast.js';
import { seededRng } from '../../../src/shared/random.js';
import { exact } from '../../../src/shared/quantity.js';
import { defaultProfile } from '../../support/helpers.js';

const horizon = { months: 24, start: '2026-11' };

describe('Monte Carlo', () => {
  it('samples every ranged quantity inside its range, fixed ones exactly', () => {
    const profile = defaultProfile();
    const rng = seededRng(3);
    for (let i = 0; i < 200; i++) {
      const d = drawProfile(profile, rng);
      expect(d.accounts.monthlyActive).toBe(4000);
      expect(d.accounts.dailyActive).toBeGreaterThanOrEqual(800);
      expect(d.accounts.dailyActive).toBeLessThanOrEqual(1800);
      expect(d.growth.monthlyActiveUserGrowth).toBeGreaterThanOrEqual(0);
    }
  });

  it('the bisection finds the same first months as the month-by-month scan', () => {
    // Sidekiq components and Redis are searched with full evaluations, the rest with the cheaper pass
    // without Sidekiq waits; fast growth makes Puma and PostgreSQL break mid-horizon too.
    const steady = defaultProfile();
    const fast = defaultProfile();
    fast.growth.monthlyActiveUserGrowth = exact(0.2, 'test');
    const rng = seededRng(11);
    const brokenKinds = new Set<string>();
    for (const profile of [steady, fast]) {
      for (let i = 0; i < 60; i++) {
        const d = drawProfile(profile, rng);
        const scanned = forecast(d, horizon);
        const scan = scanned.saturation;
        const kindOf = new Map(scanned.months[0]!.components.map((c) => [c.id, c.kind]));
        const bisect = firstBrokenMonths(d, horizon);
        expect(bisect.size).toBe(scan.size);
        for (const [id, sat] of scan) {
          expect(bisect.get(id), id).toBe(sat ? sat.month : null);
          if (sat && sat.month > 0) brokenKinds.add(kindOf.get(id)!);
        }
      }
    }
    expect([...brokenKinds].sort()).toEqual(
      expect.arrayContaining(['postgres', 'redis', 'sidekiq-process', 'storage', 'streaming', 'web']),
    );
  });

  it('P10 <= P50 <= P90, and the same seed gives the same spread', () => {
    const profile = defaultProfile();
    profile.growth.monthlyActiveUserGrowth = exact(0.1, 'test');
    const a = saturationSpread(profile, 200, 5, horizon);
    const b = saturationSpread(profile, 200, 5, horizon);
    expect([...a]).toEqual([...b]);
    const inf = (m: number | null) => m ?? Infinity;
    for (const s of a.values()) {
      expect(inf(s.p10Month)).toBeLessThanOrEqual(inf(s.p50Month));
      expect(inf(s.p50Month)).toBeLessThanOrEqual(inf(s.p90Month));
      expect(s.probabilityWithinHorizon).toBeGreaterThanOrEqual(0);
      expect(s.probabilityWithinHorizon).toBeLessThanOrEqual(1);
    }
    // Storage saturates within the horizon in (nearly) every draw at 10 % a month.
    expect(a.get('storage')!.probabilityWithinHorizon).toBeGreaterThan(0.9);
  });

  it('chunks use their own streams: any split of the chunks merges to the same draws', () => {
    const profile = defaultProfile();
    const chunks = chunksOf(120);
    expect(chunks).toEqual([
      [0, 50],
      [1, 50],
      [2, 20],
    ]);
    const inOrder = mergeSaturationMonths(
      chunks.map(([k, n]) => chunkSaturationMonths(profile, 9, k, n, horizon)),
    );
    const lastFirst = [...chunks]
      .reverse()
      .map(([k, n]) => [k, chunkSaturationMonths(profile, 9, k, n, horizon)] as const);
    const reordered = mergeSaturationMonths(lastFirst.sort((x, y) => x[0] - y[0]).map(([, m]) => m));
    expect(spreadOf(reordered)).toEqual(spreadOf(inOrder));
    expect(spreadOf(inOrder)).toEqual(saturationSpread(profile, 120, 9, horizon));
  });
});

import { describe, expect, it } from 'vitest';
import {
  DAYS_PER_MONTH,
  effectiveRetentionDays,
  monthlyCosts,
  retainedBytes,
  storageAfter,
} from '../../../src/model/storage.js';
import { workloadAt } from '../../../src/model/workload.js';
import { modelProfile } from '../../support/helpers.js';

describe('storage', () => {
  it("a cache with constant inflow holds exactly inflow × retention (Little's law)", () => {
    expect(retainedBytes([1e9, 1e9, 1e9], 14)).toBeCloseTo(14e9, 0);
    expect(retainedBytes([1e9], 90)).toBeCloseTo(90e9, 0);
  });

  it('converges to the new inflow × retention after inflow changes', () => {
    const inflow = [1e9, 2e9, 2e9, 2e9, 2e9];
    // 45 days back from the last month: all within months at 2e9/day.
    expect(retainedBytes(inflow, 45)).toBeCloseTo(90e9, 0);
    // A retention longer than the new regime mixes in the old inflow.
    expect(retainedBytes([1e9, 2e9], 45)).toBeCloseTo(2e9 * DAYS_PER_MONTH + 1e9 * (45 - DAYS_PER_MONTH), 0);
  });

  it('without retention the cache only grows', () => {
    expect(retainedBytes([1e9, 1e9], null)).toBeCloseTo(2e9 * DAYS_PER_MONTH, 0);
    expect(effectiveRetentionDays(null, 30)).toBe(30);
    expect(effectiveRetentionDays(14, 30)).toBe(14);
    expect(effectiveRetentionDays(null, null)).toBeNull();
  });

  it('local media accumulates month by month; remote cache stays at inflow × retention', () => {
    const p = modelProfile((x) => {
      x.growth.monthlyActiveUserGrowth = 0;
      x.retention.remoteMediaCacheDays = 7;
    });
    const ws = Array.from({ length: 13 }, (_, m) => workloadAt(p, m));
    const s0 = storageAfter(p, ws.slice(0, 1));
    const s12 = storageAfter(p, ws);
    const perDay = ws[0]!.perDay;
    expect(s0.localMediaGB).toBeCloseTo(p.media.currentLocalMediaGB, 6);
    expect(s12.localMediaGB - s0.localMediaGB).toBeCloseTo(
      (12 * DAYS_PER_MONTH * perDay.localMediaBytes) / 1e9,
      3,
    );
    expect(s12.remoteMediaCacheGB).toBeCloseTo((7 * perDay.remoteMediaBytes) / 1e9, 6);
    expect(s0.remoteMediaCacheGB).toBeCloseTo(s12.remoteMediaCacheGB, 6);
  });

  it('prices every provider: storage GB-months, egress, compute', () => {
    const p = modelProfile();
    const s = storageAfter(p, [workloadAt(p, 0)]);
    const costs = monthlyCosts(p, s);
    expect(costs.map((c) => c.provider)).toEqual(['s3', 'b2', 'wasabi', 'r2', 'minio']);
    const r2 = costs.find((c) => c.provider === 'r2')!;
    expect(r2.storageUSD).toBeCloseTo(s.mediaGB * 0.015, 6);
    expect(r2.egressUSD).toBe(0);
    expect(r2.computeUSD).toBeCloseTo(12 * p.prices.computePerVcpuMonth, 6);
    const s3 = costs.find((c) => c.provider === 's3')!;
    expect(s3.egressUSD).toBeCloseTo(s.egressGBPerMonth * 0.09, 6);
  });
});

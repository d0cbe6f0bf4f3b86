import { describe, expect, it } from 'vitest';
import { applyOverrides } from '../../../../src/profile/overrides.js';
import { whatifHtml } from '../../../../src/report/html/whatifHtml.js';
import {
  changeInWords,
  pairedMonthly,
  pairedUtilization,
  saturationShifts,
  yourCost,
} from '../../../../src/report/html/whatifData.js';
import { forecastReport } from '../../../../src/report/pipeline.js';
import { defaultProfile } from '../../../support/helpers.js';
import { expectSelfContained, partById, sectionIds, tablesOf } from '../../../support/html.js';

const settings = { months: 24, start: '2026-12', method: 'analytic' as const, draws: 0, seed: 1 };
const relay = { name: 'relay.example', postsPerHour: 3000, mediaFraction: null };
const before = forecastReport(defaultProfile(), settings);
const after = forecastReport(
  applyOverrides(defaultProfile(), { relays: [{ name: relay.name, postsPerHour: relay.postsPerHour }] }),
  settings,
);

describe('the relay what-if page', () => {
  it('shifts: each saturation date before and after, the ones moved earlier first', () => {
    const shifts = saturationShifts(before, after);
    expect(shifts).toHaveLength(after.components.length);
    const storage = shifts.find((s) => s.component === 'storage')!;
    const b = before.components.find((c) => c.id === 'storage')!.saturation!.date;
    const a = after.components.find((c) => c.id === 'storage')!.saturation!.date;
    expect(storage).toMatchObject({ before: b, after: a, earlier: a < b });
    const firstLater = shifts.findIndex((s) => !s.earlier);
    expect(shifts.slice(firstLater).every((s) => !s.earlier)).toBe(true);
  });

  it('the change in words names the moved date and the cache and cost it adds', () => {
    const [dates, storage] = changeInWords(before, after, 'relay.example');
    const b = before.components.find((c) => c.id === 'storage')!.saturation!.date;
    const a = after.components.find((c) => c.id === 'storage')!.saturation!.date;
    expect(dates).toMatch(
      new RegExp(`^Joining relay\\.example: storage saturates earlier by \\d+ months? \\(${b} → ${a}\\)`),
    );
    const lb = before.months.at(-1)!;
    const la = after.months.at(-1)!;
    const cacheGB = la.storage.remoteMediaCacheGB - lb.storage.remoteMediaCacheGB;
    expect(cacheGB).toBeGreaterThan(1);
    expect(storage).toContain(`By ${la.date}: +${Math.round(cacheGB)} GB of cached remote media`);
    expect(storage).toMatch(/\+\$[\d.,]+ a month on minio/);
  });

  it('pairs both forecasts on the same months; utilization only where the relay moves it', () => {
    const points = pairedUtilization(before, after);
    const ids = new Set(points.map((p) => p.component));
    expect(ids.has('storage')).toBe(true);
    for (const id of ids) {
      expect(points.filter((p) => p.component === id && p.which === 'before')).toHaveLength(24);
      expect(points.filter((p) => p.component === id && p.which === 'after')).toHaveLength(24);
    }
    // Mailers carry no relay traffic: left out.
    expect(ids.has('sidekiq-queue:mailers')).toBe(false);
    const cost = pairedMonthly(before, after, yourCost);
    expect(cost).toHaveLength(48);
    expect(cost[0]!.value).toBe(
      before.months[0]!.costs.find((c) => c.provider === before.provider)!.totalUSD,
    );
  });

  it('HTML: the change first, before and after tables equal the JSON, self-contained', async () => {
    const html = await whatifHtml(before, after, relay);
    expect(sectionIds(html)).toEqual(['change', 'utilization', 'storage', 'cost', 'recommendations']);
    expectSelfContained(html);
    expect(html).toContain('What if we join relay.example?');
    const [storage] = tablesOf(partById(html, 'chart-storage'));
    before.months.forEach((m, i) => {
      const row = storage!.rows[i]!;
      expect(Number(row[1]!.value)).toBe(m.storage.mediaGB);
      expect(Number(row[2]!.value)).toBe(after.months[i]!.storage.mediaGB);
      expect(Number(row[3]!.value)).toBeCloseTo(after.months[i]!.storage.mediaGB - m.storage.mediaGB, 9);
    });
    const [util] = tablesOf(partById(html, 'chart-utilization'));
    expect(util!.head.slice(1, 3)).toEqual(['before', 'after']);
    for (const id of ['chart-utilization', 'chart-storage', 'chart-cost']) {
      expect(partById(html, id)).toMatch(/<svg [^>]*viewBox=/);
    }
  });
});

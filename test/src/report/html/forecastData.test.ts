import { describe, expect, it } from 'vitest';
import {
  costSeries,
  measuredSources,
  queueLatencySeries,
  saturationWindows,
  storageSeries,
  utilizationLimit,
  utilizationSeries,
} from '../../../../src/report/html/forecastData.js';
import { forecastReport } from '../../../../src/report/pipeline.js';
import { defaultProfile } from '../../../support/helpers.js';

const report = forecastReport(defaultProfile(), {
  months: 24,
  start: '2026-12',
  method: 'analytic',
  draws: 200,
  seed: 1,
});

describe('the data behind the capacity report charts', () => {
  it('saturation windows run from P10 to P90 of the draws, central date kept, soonest first', () => {
    const windows = saturationWindows(report);
    const storage = report.components.find((c) => c.id === 'storage')!;
    expect(storage.saturation).not.toBeNull();
    expect(windows[0]).toEqual({
      component: 'storage',
      date: storage.saturation!.date,
      from: storage.saturation!.p10Date,
      to: storage.saturation!.p90Date,
      p50: storage.saturation!.p50Date,
      probability: storage.saturationProbability,
    });
    // A component the central forecast keeps but whose P10 falls in the horizon has a window without a date.
    for (const w of windows) {
      const c = report.components.find((x) => x.id === w.component)!;
      if (c.saturation === null) {
        expect(w.date).toBeNull();
        expect(w.from).toBe(c.p10Date);
        expect(w.to).toBeNull();
      }
    }
    // Every component without any date in the horizon is left out.
    const absent = report.components.filter((c) => c.saturation === null && c.p10Date === null);
    for (const c of absent) expect(windows.map((w) => w.component)).not.toContain(c.id);
    expect(windows.length + absent.length).toBe(report.components.length);
  });

  it('utilization: one point per component and month, equal to the JSON, limit from the SLO', () => {
    const points = utilizationSeries(report);
    expect(points).toHaveLength(report.components.length * report.months.length);
    const m7 = report.months[7]!;
    const web = m7.components.find((c) => c.id === 'web')!;
    expect(points.find((p) => p.component === 'web' && p.month === m7.date)).toEqual({
      component: 'web',
      month: m7.date,
      utilization: web.utilization,
      broken: web.broken,
    });
    expect(utilizationLimit(report, { kind: 'web' })).toBe(0.8);
    expect(utilizationLimit(report, { kind: 'storage' })).toBeCloseTo(1 - report.slo.storageHeadroom, 12);
  });

  it('queue latency: the six Sidekiq queues, each month, with the queue limit', () => {
    const points = queueLatencySeries(report);
    const queues = [...new Set(points.map((p) => p.queue))];
    expect(queues.sort()).toEqual(['default', 'ingress', 'mailers', 'pull', 'push', 'scheduler']);
    expect(points).toHaveLength(6 * report.months.length);
    const push = report.components.find((c) => c.id === 'sidekiq-queue:push')!;
    const last = report.months.at(-1)!;
    expect(points.find((p) => p.queue === 'push' && p.month === last.date)).toEqual({
      queue: 'push',
      month: last.date,
      latencySec: last.components.find((c) => c.id === push.id)!.latencySec,
      limitSec: push.latencyLimitSec,
    });
  });

  it('storage by class sums to the media total plus the database', () => {
    const points = storageSeries(report);
    for (const m of report.months) {
      const sum = points.filter((p) => p.month === m.date).reduce((a, p) => a + p.gb, 0);
      expect(sum).toBeCloseTo(m.storage.mediaGB + m.storage.databaseGB, 9);
    }
  });

  it('cost: every provider every month, the profile provider marked', () => {
    const points = costSeries(report);
    expect(points).toHaveLength(report.months.length * report.months[0]!.costs.length);
    const yours = points.filter((p) => p.yours);
    expect(new Set(yours.map((p) => p.provider))).toEqual(new Set([report.provider]));
    expect(yours.at(-1)!.totalUSD).toBe(
      report.months.at(-1)!.costs.find((c) => c.provider === report.provider)!.totalUSD,
    );
  });

  it('measured sources: grouped by run or measurement, sample counts dropped, counted', () => {
    const withRuns = {
      ...report,
      assumptions: [
        { path: 'a', value: 1, source: 'measured: run runs/a (120 samples) on testbed http://127.0.0.1:1' },
        { path: 'b', value: 2, source: 'measured: run runs/a (80 samples) on testbed http://127.0.0.1:1' },
        { path: 'c', value: 3, source: 'measured: run runs/b' },
        { path: 'd', value: 4, source: 'assumption' },
      ],
    };
    expect(measuredSources(withRuns)).toEqual([
      { source: 'measured: run runs/a on testbed http://127.0.0.1:1', quantities: 2 },
      { source: 'measured: run runs/b', quantities: 1 },
    ]);
    // The default profile's Sidekiq overheads were measured with real Sidekiq, not from a run.
    const own = report.assumptions.filter((a) => a.source.startsWith('measured'));
    expect(measuredSources(report)).toEqual([{ source: own[0]!.source, quantities: own.length }]);
  });
});

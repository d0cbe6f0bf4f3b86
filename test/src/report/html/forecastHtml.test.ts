import { describe, expect, it } from 'vitest';
import { compileChart } from '../../../../src/report/html/chart.js';
import {
  costSpec,
  queueLatencySpec,
  saturationSpec,
  storageSpec,
  utilizationSpec,
} from '../../../../src/report/html/forecastCharts.js';
import {
  costSeries,
  queueLatencySeries,
  saturationWindows,
  storageSeries,
  utilizationLimit,
  utilizationSeries,
} from '../../../../src/report/html/forecastData.js';
import { forecastHtml, horizonOf } from '../../../../src/report/html/forecastHtml.js';
import { forecastReport } from '../../../../src/report/pipeline.js';
import { defaultProfile } from '../../../support/helpers.js';
import { expectSelfContained, partById, sectionIds, tablesOf } from '../../../support/html.js';

const report = forecastReport(defaultProfile(), {
  months: 24,
  start: '2026-12',
  method: 'analytic',
  draws: 200,
  seed: 1,
});
const html = await forecastHtml(report);

describe('the HTML capacity report', () => {
  it('has its sections in the order an admin reads them, verdict first', () => {
    expect(sectionIds(html)).toEqual([
      'saturation',
      'recommendations',
      'utilization',
      'queue-latency',
      'storage',
      'cost',
      'calibration',
      'assumptions',
    ]);
    expect(html).toMatch(/<p class="warning" role="note"><strong>Not calibrated:<\/strong>/);
  });

  it('is one self-contained page, well under 500 KB', () => {
    expectSelfContained(html);
    expect(Buffer.byteLength(html)).toBeLessThan(500_000);
  });

  it('every chart is an inline SVG in a figure with a caption and its data table', () => {
    const figures = [...html.matchAll(/<figure id="(chart-[^"]+)"/g)].map((m) => m[1]);
    expect(figures).toEqual([
      'chart-saturation',
      'chart-utilization',
      'chart-queue-latency',
      'chart-storage',
      'chart-cost',
    ]);
    for (const id of figures) {
      const figure = partById(html, id!);
      expect(figure).toMatch(/^<figcaption>[^<]+<\/figcaption>/);
      expect(figure).toMatch(/<svg [^>]*viewBox="0 0 \d+ \d+"/);
      // Marks drawn, not an empty frame: paths with coordinates.
      expect(figure.match(/<path [^>]*d="M/g)?.length ?? 0).toBeGreaterThan(5);
      const [table] = tablesOf(figure);
      expect(table!.caption.length).toBeGreaterThan(10);
      expect(table!.rows.length).toBeGreaterThan(0);
    }
    expect(html).toMatch(/<th scope="col">Month<\/th>/);
    expect(html).toMatch(/<th scope="row"/);
  });

  it('utilization table: every number equals the JSON', () => {
    const [table] = tablesOf(partById(html, 'chart-utilization'));
    const ids = table!.head.slice(1);
    expect(new Set(ids)).toEqual(new Set(report.components.map((c) => c.id)));
    report.months.forEach((m, i) => {
      const row = table!.rows[i]!;
      expect(row[0]!.text).toBe(m.date);
      ids.forEach((id, j) => {
        expect(Number(row[j + 1]!.value)).toBe(m.components.find((c) => c.id === id)!.utilization);
      });
    });
    const limits = table!.rows.at(-1)!;
    expect(limits[0]!.text).toBe('limit');
    ids.forEach((id, j) => {
      const c = report.components.find((x) => x.id === id)!;
      expect(Number(limits[j + 1]!.value)).toBe(utilizationLimit(report, c));
    });
  });

  it('saturation, recommendations, storage and cost tables equal the JSON', () => {
    const [sat] = tablesOf(partById(html, 'saturation'));
    const storage = report.components.find((c) => c.id === 'storage')!;
    const row = sat!.rows.find((r) => r[0]!.text === 'storage')!;
    expect(row.slice(1, 5).map((c) => c.value)).toEqual([
      storage.saturation!.date,
      storage.saturation!.p10Date,
      storage.saturation!.p50Date,
      storage.saturation!.p90Date,
    ]);
    expect(Number(row[5]!.value)).toBe(storage.saturationProbability);

    const [recs] = tablesOf(partById(html, 'recommendations'));
    expect(recs!.rows).toHaveLength(report.recommendations.length);
    report.recommendations.forEach((r, i) => {
      expect(recs!.rows[i]![0]!.text).toBe(r.change);
      expect(Number(recs!.rows[i]![4]!.value)).toBe(r.extraMonthlyUSD);
      expect(recs!.rows[i]![3]!.value).toBe(r.newSaturationDate);
    });

    const [stored] = tablesOf(partById(html, 'chart-storage'));
    const last = report.months.at(-1)!;
    expect(
      stored!.rows
        .at(-1)!
        .slice(1)
        .map((c) => Number(c.value)),
    ).toEqual([
      last.storage.localMediaGB,
      last.storage.remoteMediaCacheGB,
      last.storage.previewCardsGB,
      last.storage.databaseGB,
      last.storage.mediaGB,
      last.storage.egressGBPerMonth,
    ]);

    const [cost] = tablesOf(partById(html, 'chart-cost'));
    expect(cost!.head.slice(1)).toContain(`${report.provider} (yours)`);
    expect(cost!.rows[0]!.slice(1).map((c) => Number(c.value))).toEqual(
      report.months[0]!.costs.map((c) => c.totalUSD),
    );
  });

  it('queue latency table: each wait in the JSON, unbounded written as such', () => {
    const [table] = tablesOf(partById(html, 'chart-queue-latency'));
    for (const [i, m] of report.months.entries()) {
      table!.head.slice(1).forEach((queue, j) => {
        const latency = m.components.find((c) => c.id === `sidekiq-queue:${queue}`)!.latencySec;
        const cell = table!.rows[i]![j + 1]!;
        if (latency === null) expect(cell.text).toBe('unbounded');
        else expect(Number(cell.value)).toBe(latency);
      });
    }
  });

  it('compiles every chart without a vega-lite warning', () => {
    const h = horizonOf(report);
    const limits = new Map(report.components.map((c) => [c.id, utilizationLimit(report, c)]));
    const windows = saturationWindows(report);
    const specs = [
      saturationSpec(windows, h),
      utilizationSpec(utilizationSeries(report), limits, windows, h),
      queueLatencySpec(queueLatencySeries(report), h),
      storageSpec(storageSeries(report), ['Local media', 'Cached remote media', 'Preview cards', 'Database']),
      costSpec(costSeries(report)),
    ];
    for (const spec of specs) expect(compileChart(spec).warnings).toEqual([]);
  });

  it('without Monte Carlo or saturation it says so instead of drawing an empty chart', async () => {
    const calm = forecastReport(defaultProfile(), {
      months: 2,
      start: '2026-12',
      method: 'analytic',
      draws: 0,
      seed: 1,
    });
    const page = await forecastHtml(calm);
    expect(page).toContain('no Monte Carlo');
    expect(page).toContain('Nothing saturates within 2 months, not even at P10.');
    expect(page).not.toContain('id="chart-saturation"');
    expect(page).toContain('Nothing to change: no component saturates within 2 months.');
  });
});

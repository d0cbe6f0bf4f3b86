import { describe, expect, it } from 'vitest';
import { applyOverrides, parseRelayFlag } from '../../../src/profile/overrides.js';
import { forecastCsv } from '../../../src/report/csv.js';
import { forecastMarkdown, whatifMarkdown } from '../../../src/report/markdown.js';
import { forecastReport, type ForecastSettings } from '../../../src/report/pipeline.js';
import { defaultProfile } from '../../support/helpers.js';

const settings: ForecastSettings = { months: 24, start: '2026-12', method: 'analytic', draws: 200, seed: 1 };
const POOL = 'sidekiq-process:default+push+ingress+mailers+pull+scheduler';

/** The Summary row of a component: its cells. */
function summaryRow(md: string, id: string): string[] {
  const line = md.split('\n').find((l) => l.startsWith(`| \`${id}\` |`));
  expect(line, id).toBeDefined();
  return line!.split(' | ').map((c) => c.replace(/^\| |\s\|$/g, ''));
}

describe('the default profile, from profile to Markdown', () => {
  it("an idle queue shows none of its pool's saturation share", () => {
    for (const growth of [0.05, 0.12]) {
      const report = forecastReport(applyOverrides(defaultProfile(), { growth }), settings);
      const mailers = report.components.find((c) => c.id === 'sidekiq-queue:mailers')!;
      const pool = report.components.find((c) => c.id === POOL)!;
      expect(mailers.utilization).toBeLessThan(0.001);
      expect(mailers.pool).toBe(POOL);
      // Many draws overload the pool, and every queue's wait with it; none breaks mailers on its own.
      expect(pool.saturationProbability).toBeGreaterThan(0.3);
      expect(mailers.saturation).toBeNull();
      expect(mailers.saturationProbability).toBe(0);
      expect([mailers.p10Date, mailers.p50Date]).toEqual([null, null]);
      const cell = summaryRow(forecastMarkdown(report), 'sidekiq-queue:mailers')[3]!;
      expect(cell).not.toMatch(/draws|P10|P50/);
      expect(cell).toBe(
        pool.saturation ? `with its pool from ${pool.saturation.date}` : 'not within 24 months',
      );
      expect(growth === 0.12).toBe(pool.saturation !== null);
    }
  });

  it('every recommendation line states its extra monthly cost', () => {
    const report = forecastReport(applyOverrides(defaultProfile(), { growth: 0.12 }), settings);
    const md = forecastMarkdown(report);
    const lines = md.split('\n').filter((l) => l.startsWith('- ') && l.includes(' → '));
    expect(lines).toHaveLength(report.recommendations.length);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const l of lines)
      expect(l).toMatch(/Extra cost: (\+\$[\d,.]+\/month \(.+\)|none \(configuration only\))\.$/);
    const disk = lines.find((l) => l.includes('grow the media disk'))!;
    // 1,500 GB more at the default disk price, $0.08 per GB-month.
    expect(disk).toContain(
      'Extra cost: +$120/month (1,500 GB × $0.08 per GB-month, `prices.diskPerGBMonth`)',
    );
  });

  it('no Infinity, NaN or undefined in the reports, whatever the growth and relays', () => {
    const relays = [[], ['big.example:20000'], ['huge.example:200000:0.5:3']];
    for (const growth of [0, 0.05, 0.12, 0.3, 0.6]) {
      const before = forecastReport(applyOverrides(defaultProfile(), { growth }), { ...settings, draws: 20 });
      for (const flags of relays) {
        const specs = flags.map(parseRelayFlag);
        const profile = applyOverrides(defaultProfile(), { growth, relays: specs });
        const report = forecastReport(profile, { ...settings, draws: 20 });
        const texts = [forecastMarkdown(report), forecastCsv(report)];
        if (specs[0]) texts.push(whatifMarkdown(before, report, { ...specs[0], mediaFraction: null }));
        for (const text of texts) {
          const bad = text.split('\n').filter((l) => /\b(Infinity|NaN|undefined)\b/.test(l));
          expect(bad, `growth ${growth}, relays ${flags.join(' ')}`).toEqual([]);
        }
      }
    }
  }, 120_000);
});

describe('the Monte Carlo with a progress callback', () => {
  it('tells the draws done after each chunk and gives the same bands as without', () => {
    const seen: number[] = [];
    const withProgress = forecastReport(defaultProfile(), { ...settings, onDraws: (d) => seen.push(d) });
    expect(seen).toEqual([50, 100, 150, 200]);
    const bands = (r: typeof withProgress) =>
      r.components.map((c) => [c.id, c.saturation, c.saturationProbability, c.p10Date, c.p50Date]);
    expect(bands(withProgress)).toEqual(bands(forecastReport(defaultProfile(), settings)));
  });
});

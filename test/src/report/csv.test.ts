import { describe, expect, it } from 'vitest';
import { forecastCsv } from '../../../src/report/csv.js';
import { sampleReport } from '../../support/sampleReport.js';

const HEADER =
  'month,date,component,kind,utilization,latency_sec,latency_limit_sec,broken,daily_active,monthly_active';

/**
 * A minimal CSV reader. csv-parse is not installed; splitting on commas is
 * safe here only because no value contains a comma, a quote or a line break,
 * which the first assertion of each test checks.
 */
function parse(text: string): Record<string, string>[] {
  expect(text).not.toMatch(/"/);
  const [header, ...lines] = text.replace(/\n$/, '').split('\n');
  const names = header!.split(',');
  return lines.map((line) => {
    const values = line.split(',');
    expect(values).toHaveLength(names.length);
    return Object.fromEntries(names.map((n, i) => [n, values[i]!]));
  });
}

describe('forecastCsv', () => {
  const report = sampleReport();
  const csv = forecastCsv(report);

  it('starts with the exact header and has one row per month and component', () => {
    expect(csv.split('\n')[0]).toBe(HEADER);
    expect(csv.endsWith('\n')).toBe(true);
    const rows = parse(csv);
    expect(rows).toHaveLength(report.months.length * report.components.length);
    expect(rows).toHaveLength(24 * 12);
  });

  it('writes values that parse back to the report', () => {
    const rows = parse(csv);
    const kinds = new Map(report.components.map((c) => [c.id, c.kind]));
    const limits = new Map(report.components.map((c) => [c.id, c.latencyLimitSec]));
    let i = 0;
    for (const m of report.months) {
      for (const c of m.components) {
        const row = rows[i++]!;
        expect(Number(row.month)).toBe(m.month);
        expect(row.date).toBe(m.date);
        expect(row.component).toBe(c.id);
        expect(row.kind).toBe(kinds.get(c.id));
        expect(Number(row.utilization)).toBe(c.utilization);
        expect(row.latency_sec).toBe(c.latencySec === null ? '' : String(c.latencySec));
        if (c.latencySec !== null) expect(Number(row.latency_sec)).toBe(c.latencySec);
        const limit = limits.get(c.id) ?? null;
        expect(row.latency_limit_sec).toBe(limit === null ? '' : String(limit));
        expect(row.broken).toBe(String(c.broken));
        expect(Number(row.daily_active)).toBe(m.dailyActive);
        expect(Number(row.monthly_active)).toBe(m.monthlyActive);
      }
    }
  });

  it('marks broken months and leaves an unbounded latency empty while keeping its limit', () => {
    const hot = sampleReport({ utilization: { 'sidekiq-queue:ingress': 1.05 } });
    const rows = parse(forecastCsv(hot)).filter((r) => r.component === 'sidekiq-queue:ingress');
    expect(rows).toHaveLength(24);
    for (const r of rows) {
      expect(r.latency_sec).toBe('');
      expect(r.latency_limit_sec).toBe('30');
      expect(r.broken).toBe('true');
    }
    const postgres = parse(csv).filter((r) => r.component === 'postgres');
    expect(postgres.findIndex((r) => r.broken === 'true')).toBe(
      report.components.find((c) => c.id === 'postgres')!.saturation!.month,
    );
    expect(postgres[0]!.latency_sec).toBe('');
    expect(postgres[0]!.kind).toBe('postgres');
  });

  it('writes only the header for a report without months', () => {
    expect(forecastCsv({ ...report, months: [] })).toBe(`${HEADER}\n`);
  });
});

import { describe, expect, it } from 'vitest';
import { forecastCsv } from '../../../src/report/csv.js';
import { sampleReport } from '../../support/sampleReport.js';

const HEADER =
  'month,date,component,kind,utilization,latency_sec,latency_limit_sec,broken,daily_active,monthly_active,' +
  'recommendation,new_saturation_date,extra_monthly_usd';

/**
 * A minimal RFC 4180 reader (csv-parse is not installed): quoted fields may hold commas and doubled
 * quotes; no value in these reports holds a line break, which it checks.
 */
function parse(text: string): Record<string, string>[] {
  const [header, ...lines] = text.replace(/\n$/, '').split('\n');
  const names = fields(header!);
  return lines.map((line) => {
    const values = fields(line);
    expect(values).toHaveLength(names.length);
    return Object.fromEntries(names.map((n, i) => [n, values[i]!]));
  });
}

function fields(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = '';
      i++;
      while (i < line.length && !(line[i] === '"' && line[i + 1] !== '"')) {
        value += line[i];
        i += line[i] === '"' ? 2 : 1;
      }
      expect(line[i], `unterminated quote in ${line}`).toBe('"');
      out.push(value);
      i += 2;
    } else {
      const end = line.indexOf(',', i);
      out.push(line.slice(i, end === -1 ? line.length : end));
      i = end === -1 ? line.length + 1 : end + 1;
    }
  }
  return out;
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

  it('puts each recommendation once, on the row of its component in the month it saturates', () => {
    const rows = parse(csv).filter((r) => r.recommendation !== '');
    expect(rows).toHaveLength(report.recommendations.length);
    for (const r of report.recommendations) {
      const row = rows.find((x) => x.component === r.componentId)!;
      expect(row.date).toBe(r.saturationDate);
      expect(row.recommendation).toBe(r.change);
      expect(row.new_saturation_date).toBe(r.newSaturationDate ?? '');
      expect(Number(row.extra_monthly_usd)).toBe(r.extraMonthlyUSD);
    }
    // The budget sums: $6 for the Sidekiq process's vCPU, $48 for the host's 8 more.
    expect(rows.reduce((sum, r) => sum + Number(r.extra_monthly_usd), 0)).toBe(54);
    // The Sidekiq command's commas survive quoting.
    expect(rows.find((r) => r.kind === 'sidekiq-process')!.recommendation).toContain(
      '-q default,8 -q push,6',
    );
  });

  it('writes only the header for a report without months', () => {
    expect(forecastCsv({ ...report, months: [] })).toBe(`${HEADER}\n`);
  });
});

/**
 * The forecast as CSV for spreadsheets: one row per month and component.
 * Pure: a `ForecastReport` in, a string out.
 */
import { stringify } from 'csv-stringify/sync';
import type { Recommendation } from '../model/recommend.js';
import type { ForecastReport } from './forecastReport.js';

export const FORECAST_CSV_COLUMNS = [
  'month',
  'date',
  'component',
  'kind',
  'utilization',
  'latency_sec',
  'latency_limit_sec',
  'broken',
  'daily_active',
  'monthly_active',
  'recommendation',
  'new_saturation_date',
  'extra_monthly_usd',
] as const;

type Row = Record<(typeof FORECAST_CSV_COLUMNS)[number], string | number | boolean | null>;

/**
 * Utilization is a fraction (0.85, not 85 %), latencies in seconds. An empty
 * latency cell means "no latency" for components without one and "unbounded"
 * for those with a limit (the report carries unbounded latencies as null).
 * Each recommendation sits on the row of the component it is for and the month
 * it saturates, once, so that summing extra_monthly_usd gives the budget; an
 * empty new_saturation_date there means none within the horizon.
 */
export function forecastCsv(report: ForecastReport): string {
  const byId = new Map(report.components.map((c) => [c.id, c]));
  const recommended = new Map(report.recommendations.map((r) => [`${r.componentId} ${r.saturationDate}`, r]));
  const rows: Row[] = report.months.flatMap((m) =>
    m.components.map((c) => {
      const component = byId.get(c.id);
      return {
        month: m.month,
        date: m.date,
        component: c.id,
        kind: component?.kind ?? '',
        // As in the JSON: a utilization without bound (a Redis whose queues never drain) is an empty cell.
        utilization: Number.isFinite(c.utilization) ? c.utilization : null,
        latency_sec: c.latencySec,
        latency_limit_sec: component?.latencyLimitSec ?? null,
        broken: c.broken,
        daily_active: m.dailyActive,
        monthly_active: m.monthlyActive,
        ...recommendationCells(recommended.get(`${c.id} ${m.date}`)),
      };
    }),
  );
  return stringify(rows, {
    header: true,
    columns: [...FORECAST_CSV_COLUMNS],
    // csv-stringify writes true as "1" and false as "": spell them out.
    cast: { boolean: (value) => (value ? 'true' : 'false') },
  });
}

function recommendationCells(r: Recommendation | undefined) {
  if (!r) return { recommendation: null, new_saturation_date: null, extra_monthly_usd: null };
  return {
    recommendation: r.change,
    new_saturation_date: r.newSaturationDate,
    extra_monthly_usd: r.extraMonthlyUSD,
  };
}

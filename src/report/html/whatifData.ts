/**
 * The data behind the relay what-if page: both forecasts on the same axes (`which` tells
 * before from after) and the change in words. Pure, from the two forecast JSON reports.
 */
import type { ForecastReport } from '../forecastReport.js';
import { formatGB, formatUSD, saturationShift, sortComponents } from '../markdown.js';

export type Which = 'before' | 'after';

export interface Shift {
  component: string;
  before: string | null;
  after: string | null;
  earlier: boolean;
  text: string;
}

/** How each component's saturation date moves, the ones moved earlier first. */
export function saturationShifts(before: ForecastReport, after: ForecastReport): Shift[] {
  const b = new Map(before.components.map((c) => [c.id, c]));
  return sortComponents(after.components)
    .map((a) => {
      const shift = saturationShift(b.get(a.id), a);
      return {
        component: a.id,
        before: b.get(a.id)?.saturation?.date ?? null,
        after: a.saturation?.date ?? null,
        ...shift,
      };
    })
    .sort((x, y) => Number(y.earlier) - Number(x.earlier));
}

export interface PairedPoint {
  component: string;
  month: string;
  which: Which;
  utilization: number;
}

/** Utilization before and after, for the components the change moves by at least `minDelta`. */
export function pairedUtilization(
  before: ForecastReport,
  after: ForecastReport,
  minDelta = 0.005,
): PairedPoint[] {
  const points: PairedPoint[] = [];
  for (const c of sortComponents(after.components)) {
    const series = (r: ForecastReport, which: Which) =>
      r.months.flatMap((m) => {
        const mc = m.components.find((x) => x.id === c.id);
        return mc ? [{ component: c.id, month: m.date, which, utilization: mc.utilization }] : [];
      });
    const b = series(before, 'before');
    const a = series(after, 'after');
    const moved = a.some((p, i) => Math.abs(p.utilization - (b[i]?.utilization ?? Number.NaN)) >= minDelta);
    if (moved) points.push(...b, ...a);
  }
  return points;
}

export interface PairedValue {
  month: string;
  which: Which;
  value: number;
}

/** One figure of every month of both reports (storage, cost…), on the same axis. */
export function pairedMonthly(
  before: ForecastReport,
  after: ForecastReport,
  get: (m: ForecastReport['months'][number], r: ForecastReport) => number,
): PairedValue[] {
  const of = (r: ForecastReport, which: Which) =>
    r.months.map((m) => ({ month: m.date, which, value: get(m, r) }));
  return [...of(before, 'before'), ...of(after, 'after')];
}

/** The profile provider's total monthly cost in a month. */
export const yourCost = (m: ForecastReport['months'][number], r: ForecastReport) =>
  m.costs.find((c) => c.provider === r.provider)?.totalUSD ?? Number.NaN;

/**
 * The change in words: "storage saturates 3 months earlier (2027-09 → 2027-06); streaming stays; +38 GB of
 * cached remote media and +$12.40 a month on minio by 2028-11".
 */
export function changeInWords(before: ForecastReport, after: ForecastReport, relay: string): string[] {
  const shifts = saturationShifts(before, after);
  const words = shifts.flatMap((s) => {
    if (s.earlier && s.before === null)
      return [`${s.component} now saturates within the horizon, from ${s.after}`];
    if (s.before !== null || s.after !== null) {
      const dates =
        s.before === s.after ? '' : ` (${s.before ?? 'after horizon'} → ${s.after ?? 'after horizon'})`;
      return [`${s.component} ${s.text === 'unchanged' ? 'stays' : `saturates ${s.text}`}${dates}`];
    }
    return [];
  });
  const lines = [
    words.length
      ? `Joining ${relay}: ${words.join('; ')}.`
      : `Joining ${relay} moves no saturation date within ${after.horizonMonths} months.`,
  ];
  const lb = before.months.at(-1);
  const la = after.months.at(-1);
  if (lb && la) {
    const cache = la.storage.remoteMediaCacheGB - lb.storage.remoteMediaCacheGB;
    const egress = la.storage.egressGBPerMonth - lb.storage.egressGBPerMonth;
    const cost = yourCost(la, after) - yourCost(lb, before);
    const sign = (x: number, f: (x: number) => string) => (x >= 0 ? `+${f(x)}` : `−${f(-x)}`);
    const parts = [
      `${sign(cache, formatGB)} of cached remote media`,
      ...(Math.abs(egress) >= 0.05 ? [`${sign(egress, formatGB)} of egress a month`] : []),
      `${sign(cost, formatUSD)} a month on ${after.provider} (your storage provider)`,
    ];
    lines.push(`By ${la.date}: ${parts.join(', ')}.`);
  }
  return lines;
}

/**
 * The data behind each chart of the HTML capacity report, taken from the forecast JSON
 * contract (src/report/forecastReport.ts) and nothing else, so the page shows the JSON's
 * numbers. Pure: a report in, rows out; the tests check these rows against the JSON.
 */
import type { ComponentReport, ForecastReport } from '../forecastReport.js';
import { sortComponents } from '../markdown.js';

/** When a component saturates: the central date and the Monte Carlo's P10–P90 window. */
export interface SaturationWindow {
  component: string;
  /** The central forecast's saturation month, null when it holds within the horizon. */
  date: string | null;
  /** First month of the window: P10 of the draws (or the central date without Monte Carlo). */
  from: string;
  /** Last month of the window, null when P90 lies after the horizon (the bar runs to its end). */
  to: string | null;
  p50: string | null;
  /** Share of draws saturating within the horizon; null without Monte Carlo. */
  probability: number | null;
}

/**
 * Every component that saturates in the central forecast or in at least P10 of the draws,
 * soonest first. A queue that only breaks with its pool is left to its pool's row.
 */
export function saturationWindows(report: ForecastReport): SaturationWindow[] {
  const out: SaturationWindow[] = [];
  for (const c of sortComponents(report.components)) {
    const from = c.saturation?.p10Date ?? c.p10Date ?? c.saturation?.date ?? null;
    if (from === null) continue;
    out.push({
      component: c.id,
      date: c.saturation?.date ?? null,
      from,
      to: c.saturation ? c.saturation.p90Date : null,
      p50: c.saturation?.p50Date ?? c.p50Date,
      probability: c.saturationProbability,
    });
  }
  return out;
}

/** The utilization at which a component counts as saturated: storage keeps its headroom free. */
export function utilizationLimit(report: ForecastReport, c: Pick<ComponentReport, 'kind'>): number {
  return c.kind === 'storage' ? 1 - report.slo.storageHeadroom : report.slo.maxUtilization;
}

export interface UtilizationPoint {
  component: string;
  month: string;
  utilization: number;
  /** The model says the component breaks its SLO this month (utilization or latency). */
  broken: boolean;
}

/** Peak-hour utilization of every component, month by month, in the summary's order. */
export function utilizationSeries(report: ForecastReport): UtilizationPoint[] {
  const order = sortComponents(report.components).map((c) => c.id);
  const points: UtilizationPoint[] = [];
  for (const id of order) {
    for (const m of report.months) {
      const c = m.components.find((x) => x.id === id);
      if (c) points.push({ component: id, month: m.date, utilization: c.utilization, broken: c.broken });
    }
  }
  return points;
}

export interface QueueLatencyPoint {
  queue: string;
  month: string;
  /** Wait at the SLO percentile; null = unbounded (the queue grows without end). */
  latencySec: number | null;
  limitSec: number;
}

/** Predicted wait per Sidekiq queue, month by month, with the queue's latency limit. */
export function queueLatencySeries(report: ForecastReport): QueueLatencyPoint[] {
  const points: QueueLatencyPoint[] = [];
  for (const c of report.components) {
    if (c.kind !== 'sidekiq-queue' || c.latencyLimitSec === null) continue;
    const queue = c.id.replace(/^sidekiq-queue:/, '');
    for (const m of report.months) {
      const mc = m.components.find((x) => x.id === c.id);
      if (mc) points.push({ queue, month: m.date, latencySec: mc.latencySec, limitSec: c.latencyLimitSec });
    }
  }
  return points;
}

/** The storage classes the chart stacks, with the StorageState field each comes from. */
export const STORAGE_CLASSES = [
  ['Local media', 'localMediaGB'],
  ['Cached remote media', 'remoteMediaCacheGB'],
  ['Preview cards', 'previewCardsGB'],
  ['Database', 'databaseGB'],
] as const;

export interface StoragePoint {
  month: string;
  storageClass: string;
  gb: number;
}

/** Stored GB by class at the end of each month. */
export function storageSeries(report: ForecastReport): StoragePoint[] {
  return report.months.flatMap((m) =>
    STORAGE_CLASSES.map(([storageClass, field]) => ({ month: m.date, storageClass, gb: m.storage[field] })),
  );
}

export interface CostPoint {
  month: string;
  provider: string;
  totalUSD: number;
  yours: boolean;
}

/** Total monthly cost per storage provider, month by month; the profile's provider marked. */
export function costSeries(report: ForecastReport): CostPoint[] {
  return report.months.flatMap((m) =>
    m.costs.map((c) => ({
      month: m.date,
      provider: c.provider,
      totalUSD: c.totalUSD,
      yours: c.provider === report.provider,
    })),
  );
}

/**
 * The runs the calibration measured, from the assumptions' sources ("measured: run R (N samples) on
 * testbed URL"), each with how many of the forecast's quantities it supplies.
 */
export function measuredSources(report: ForecastReport): { source: string; quantities: number }[] {
  const counts = new Map<string, number>();
  for (const a of report.assumptions) {
    if (!a.source.startsWith('measured')) continue;
    const source = a.source.replace(/ \(\d+ samples\)/, '');
    counts.set(source, (counts.get(source) ?? 0) + 1);
  }
  return [...counts].map(([source, quantities]) => ({ source, quantities }));
}

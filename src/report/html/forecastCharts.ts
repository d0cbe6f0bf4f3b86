/**
 * The capacity report's charts as vega-lite specs, each drawn from the rows of
 * forecastData.ts. Specs only: chart.ts renders them.
 */
import type { TopLevelSpec } from 'vega-lite';
import { monthAxis, monthStart, nextMonth } from './chart.js';
import type {
  CostPoint,
  QueueLatencyPoint,
  SaturationWindow,
  StoragePoint,
  UtilizationPoint,
} from './forecastData.js';

/** The x domain of every chart over the horizon: month 0's first day to the day after the last month. */
export interface Horizon {
  first: string;
  last: string;
}
const domainOf = (h: Horizon) => [dateTime(h.first), dateTime(nextMonth(h.last))];

/** A month's first day as milliseconds since the epoch, UTC (vega-lite re-parses other forms and warns). */
function dateTime(month: string): number {
  const [year = 0, m = 1] = month.split('-').map(Number);
  return Date.UTC(year, m - 1, 1);
}

/** Horizontal bars from P10 to P90 of the saturation date, a dot at the central forecast's date. */
export function saturationSpec(windows: readonly SaturationWindow[], h: Horizon): TopLevelSpec {
  const values = windows.map((w) => ({
    component: w.component,
    from: monthStart(w.from),
    to: monthStart(nextMonth(w.to ?? h.last)),
    date: w.date === null ? null : monthStart(w.date),
  }));
  const y = {
    field: 'component',
    type: 'nominal' as const,
    sort: null,
    title: null,
    axis: { labelLimit: 260 },
  };
  // The domain sits on a layer without x2: vega-lite warns when a layer with x2 carries it.
  const x = { field: 'from', ...monthAxis() };
  return {
    description:
      'When each component saturates: P10 to P90 of the Monte Carlo draws, dot at the central date',
    width: 560,
    height: { step: 22 },
    data: { values },
    layer: [
      { mark: { type: 'bar', color: '#f4a261', opacity: 0.8 }, encoding: { y, x, x2: { field: 'to' } } },
      {
        transform: [{ filter: 'datum.date !== null' }],
        mark: { type: 'point', filled: true, color: '#b00020', size: 70 },
        encoding: {
          y,
          x: { field: 'date', ...monthAxis(), scale: { type: 'utc' as const, domain: domainOf(h) } },
        },
      },
    ],
  };
}

/**
 * Small multiples, one per component: utilization at the peak hour over the horizon, the
 * saturation limit as a dashed rule, the P10–P90 window of the saturation date shaded, and
 * red dots on the months the model says the component breaks.
 */
export function utilizationSpec(
  points: readonly UtilizationPoint[],
  limits: ReadonlyMap<string, number>,
  windows: readonly SaturationWindow[],
  h: Horizon,
): TopLevelSpec {
  const order = [...new Set(points.map((p) => p.component))];
  const values = [
    ...points.map((p) => ({ ...p, row: 'u', month: monthStart(p.month) })),
    ...[...limits].map(([component, limit]) => ({ component, limit, row: 'limit' })),
    ...windows.map((w) => ({
      component: w.component,
      row: 'band',
      from: monthStart(w.from),
      to: monthStart(nextMonth(w.to ?? h.last)),
    })),
  ];
  // The domain is given once, on a layer without x2: vega-lite warns about repeats and x2 layers.
  const x = { field: 'month', ...monthAxis() };
  const xDomain = { ...x, scale: { type: 'utc' as const, domain: domainOf(h) } };
  const y = {
    field: 'utilization',
    type: 'quantitative' as const,
    title: 'utilization',
    axis: { format: '.0%' },
    scale: { domain: [0, 1.2], clamp: true },
  };
  return {
    description: 'Utilization per component over the horizon with its saturation limit',
    data: { values },
    columns: 3,
    facet: { field: 'component', type: 'nominal', sort: order, header: { title: null } },
    spec: {
      width: 230,
      height: 110,
      layer: [
        {
          transform: [{ filter: "datum.row === 'band'" }],
          mark: { type: 'rect', color: '#f4a261', opacity: 0.3 },
          encoding: { x: { ...x, field: 'from' }, x2: { field: 'to' } },
        },
        {
          transform: [{ filter: "datum.row === 'limit'" }],
          mark: { type: 'rule', color: '#b00020', strokeDash: [4, 3] },
          encoding: { y: { ...y, field: 'limit' } },
        },
        {
          transform: [{ filter: "datum.row === 'u'" }],
          mark: { type: 'line', color: '#1d4e89' },
          encoding: { x: xDomain, y },
        },
        {
          transform: [{ filter: "datum.row === 'u' && datum.broken" }],
          mark: { type: 'point', filled: true, color: '#b00020', size: 18 },
          encoding: { x, y },
        },
      ],
    },
  };
}

/**
 * One panel per Sidekiq queue: the predicted wait at the SLO percentile against the queue's
 * limit. An unbounded wait (or one past twice the limit) is drawn at twice the limit, in red.
 */
export function queueLatencySpec(points: readonly QueueLatencyPoint[], h: Horizon): TopLevelSpec {
  const values = points.map((p) => {
    const cap = 2 * p.limitSec;
    const over = p.latencySec === null || p.latencySec > cap;
    return {
      queue: p.queue,
      month: monthStart(p.month),
      waitSec: over ? cap : p.latencySec,
      over,
      limitSec: p.limitSec,
    };
  });
  // The domain is given once, on a layer without x2: vega-lite warns about repeats and x2 layers.
  const x = { field: 'month', ...monthAxis() };
  const xDomain = { ...x, scale: { type: 'utc' as const, domain: domainOf(h) } };
  const y = { field: 'waitSec', type: 'quantitative' as const, title: 'wait (s)' };
  return {
    description: 'Predicted queue wait per Sidekiq queue against its latency limit',
    data: { values },
    columns: 3,
    facet: { field: 'queue', type: 'nominal', sort: null, header: { title: null } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 230,
      height: 100,
      layer: [
        {
          mark: { type: 'rule', color: '#b00020', strokeDash: [4, 3] },
          encoding: { y: { ...y, field: 'limitSec' } },
        },
        { mark: { type: 'line', color: '#1d4e89' }, encoding: { x: xDomain, y } },
        {
          transform: [{ filter: 'datum.over' }],
          mark: { type: 'point', filled: true, color: '#b00020', size: 22 },
          encoding: { x, y },
        },
      ],
    },
  };
}

/** Stored GB by class, stacked: local media grows for ever, caches settle at their retention. */
export function storageSpec(points: readonly StoragePoint[], classes: readonly string[]): TopLevelSpec {
  return {
    description: 'Stored data by class at the end of each month',
    width: 560,
    height: 220,
    data: {
      values: points.map((p) => ({
        ...p,
        month: monthStart(p.month),
        stackOrder: classes.indexOf(p.storageClass),
      })),
    },
    mark: { type: 'area', opacity: 0.85 },
    encoding: {
      x: { field: 'month', ...monthAxis() },
      y: { field: 'gb', type: 'quantitative', stack: 'zero', title: 'GB' },
      color: { field: 'storageClass', type: 'nominal', sort: [...classes], title: null },
      order: { field: 'stackOrder', type: 'quantitative' },
    },
  };
}

/** Total monthly cost per storage provider over the horizon; the profile's provider drawn thicker. */
export function costSpec(points: readonly CostPoint[]): TopLevelSpec {
  return {
    description: 'Monthly cost in USD per storage provider',
    width: 560,
    height: 200,
    data: { values: points.map((p) => ({ ...p, month: monthStart(p.month) })) },
    mark: { type: 'line', point: { size: 12 } },
    encoding: {
      x: { field: 'month', ...monthAxis() },
      y: { field: 'totalUSD', type: 'quantitative', title: 'USD per month', axis: { format: '$,.0f' } },
      color: { field: 'provider', type: 'nominal', title: null },
      strokeWidth: { condition: { test: 'datum.yours', value: 3.5 }, value: 1.2 },
    },
  };
}

/** Before (grey, dashed) and after (blue) on the same axes. */
const WHICH_COLOR = {
  field: 'which',
  type: 'nominal' as const,
  title: null,
  scale: { domain: ['before', 'after'], range: ['#8a8a8a', '#1d4e89'] },
};
const WHICH_DASH = {
  field: 'which',
  type: 'nominal' as const,
  legend: null,
  scale: {
    domain: ['before', 'after'],
    range: [
      [4, 3],
      [1, 0],
    ],
  },
};

/** Small multiples of utilization before and after a change, one shared y axis and the limit rule. */
export function pairedUtilizationSpec(
  points: readonly { component: string; month: string; which: string; utilization: number }[],
  limit: number,
): TopLevelSpec {
  const order = [...new Set(points.map((p) => p.component))];
  return {
    description: 'Utilization per component before and after the change',
    data: { values: points.map((p) => ({ ...p, month: monthStart(p.month) })) },
    columns: 3,
    facet: { field: 'component', type: 'nominal', sort: order, header: { title: null } },
    spec: {
      width: 230,
      height: 110,
      layer: [
        { mark: { type: 'rule', color: '#b00020', strokeDash: [2, 2] }, encoding: { y: { datum: limit } } },
        {
          mark: { type: 'line' },
          encoding: {
            x: { field: 'month', ...monthAxis() },
            y: {
              field: 'utilization',
              type: 'quantitative',
              title: 'utilization',
              axis: { format: '.0%' },
              scale: { domain: [0, 1.2], clamp: true },
            },
            color: WHICH_COLOR,
            strokeDash: WHICH_DASH,
          },
        },
      ],
    },
  };
}

/** One monthly figure before and after a change (storage, cost), on the same axes. */
export function pairedLineSpec(
  values: readonly { month: string; which: string; value: number }[],
  description: string,
  yTitle: string,
  yFormat: string,
): TopLevelSpec {
  return {
    description,
    width: 560,
    height: 200,
    data: { values: values.map((v) => ({ ...v, month: monthStart(v.month) })) },
    mark: { type: 'line', point: { size: 12 } },
    encoding: {
      x: { field: 'month', ...monthAxis() },
      y: { field: 'value', type: 'quantitative', title: yTitle, axis: { format: yFormat } },
      color: WHICH_COLOR,
      strokeDash: WHICH_DASH,
    },
  };
}

/**
 * The capacity report as one self-contained HTML page: what saturates when and what to change
 * first, then utilization, queue waits, storage and cost over the horizon, each chart with its
 * data table, then calibration and assumptions. Built from the forecast JSON contract only.
 */
import { isAssumption } from '../../shared/quantity.js';
import type { ComponentReport, ForecastReport } from '../forecastReport.js';
import {
  costText,
  formatGB,
  formatNumber,
  formatPercent,
  formatSeconds,
  formatUSD,
  sortComponents,
} from '../markdown.js';
import { chartSvg } from './chart.js';
import {
  costSeries,
  measuredSources,
  queueLatencySeries,
  STORAGE_CLASSES,
  saturationWindows,
  storageSeries,
  utilizationLimit,
  utilizationSeries,
} from './forecastData.js';
import {
  costSpec,
  type Horizon,
  queueLatencySpec,
  saturationSpec,
  storageSpec,
  utilizationSpec,
} from './forecastCharts.js';
import {
  type Cell,
  type CellInput,
  chartFigure,
  dataTable,
  escapeHtml,
  htmlPage,
  inlineCode,
  paragraph,
  section,
  warning,
} from './page.js';

const code = (text: string) => `<code>${escapeHtml(text)}</code>`;
const dateCell = (d: string | null, none = 'after horizon'): Cell => ({ text: d ?? none, value: d });
const pctCell = (x: number): Cell => ({ text: formatPercent(x), value: x });

export function horizonOf(report: ForecastReport): Horizon {
  return { first: report.months[0]?.date ?? report.start, last: report.months.at(-1)?.date ?? report.start };
}

/** Title line: profile, horizon, method, Monte Carlo. */
export function forecastMeta(report: ForecastReport): string {
  const method = report.method === 'simulate' ? 'discrete-event simulation' : 'analytic queueing model';
  const mc = report.monteCarlo
    ? `Monte Carlo: ${report.monteCarlo.draws} draws, seed ${report.monteCarlo.seed}`
    : 'no Monte Carlo (central dates only, no P10–P90)';
  return escapeHtml(
    `Profile ${report.profile}, from ${report.start}, ${report.horizonMonths} months ahead; ${method}; ${mc}.`,
  );
}

export function uncalibratedWarning(report: ForecastReport): string {
  if (report.uncalibrated.length === 0) return '';
  return warning(
    `<strong>Not calibrated:</strong> ${report.uncalibrated.map(code).join(', ')} run on assumed service ` +
      'demands, not measured ones. Their dates are only as good as the assumptions below; calibrate from a ' +
      `load test against staging and pass ${code('--calibration FILE')}.`,
  );
}

/** The central forecast's date, or why there is none (the P columns beside it say the rest). */
function centralText(report: ForecastReport, c: ComponentReport): string {
  if (c.saturation) return c.saturation.date;
  const poolDate = c.pool && report.components.find((p) => p.id === c.pool)?.saturation?.date;
  return poolDate ? `with its pool from ${poolDate}` : `not within ${report.horizonMonths} months`;
}

async function saturationSection(report: ForecastReport, h: Horizon): Promise<string> {
  const windows = saturationWindows(report);
  const rows = sortComponents(report.components).map((c) => [
    { text: c.id, html: code(c.id) },
    { text: centralText(report, c), value: c.saturation?.date ?? null, strong: c.saturation !== null },
    dateCell(c.saturation?.p10Date ?? c.p10Date),
    dateCell(c.saturation?.p50Date ?? c.p50Date),
    dateCell(c.saturation ? c.saturation.p90Date : null),
    c.saturationProbability === null ? '—' : pctCell(c.saturationProbability),
    { text: c.saturation?.reason ?? c.binding, html: inlineCode(c.saturation?.reason ?? c.binding) },
  ]);
  const table = dataTable({
    caption: 'Saturation date per component (central forecast, P10, P50, P90 of the draws)',
    head: ['Component', 'Saturates', 'P10', 'P50', 'P90', 'Draws saturating', 'What binds'],
    rows,
    className: 'saturation',
  });
  const intro = paragraph(
    `A component saturates in the first month it breaks its latency limit or passes ${formatPercent(report.slo.maxUtilization)} ` +
      `utilization (storage: less than ${formatPercent(report.slo.storageHeadroom)} free). P10 is the date by which ` +
      '10 % of the plausible instances of the Monte Carlo have saturated.',
  );
  if (windows.length === 0) {
    const none = paragraph(`Nothing saturates within ${report.horizonMonths} months, not even at P10.`);
    return section('saturation', 'What saturates when', intro + none + table);
  }
  const svg = await chartSvg(saturationSpec(windows, h));
  const caption = 'Saturation window per component: P10–P90 of the draws as a bar, the central date as a dot';
  const figure = chartFigure('chart-saturation', caption, svg, table);
  return section('saturation', 'What saturates when', intro + figure);
}

/** Each change with what it is for, the dates before and after, and its monthly cost. */
export function recommendationsSection(report: ForecastReport, heading = 'What to change'): string {
  if (report.recommendations.length === 0) {
    const anySaturates = report.components.some((c) => c.saturation);
    const text = anySaturates
      ? 'No single configuration change found that moves a saturation date later; see what binds above.'
      : `Nothing to change: no component saturates within ${report.horizonMonths} months.`;
    return section('recommendations', heading, paragraph(escapeHtml(text)));
  }
  const rows = report.recommendations.map((r) => [
    { text: r.change, html: inlineCode(r.change) },
    { text: r.componentIds.join(', '), html: r.componentIds.map(code).join(', ') },
    dateCell(r.saturationDate),
    dateCell(r.newSaturationDate, 'not within the horizon'),
    { text: formatUSD(r.extraMonthlyUSD), value: r.extraMonthlyUSD },
    { text: costText(r), html: inlineCode(costText(r)) },
  ]);
  const total = report.recommendations.reduce((a, r) => a + r.extraMonthlyUSD, 0);
  const table = dataTable({
    caption: `Recommended changes, soonest saturation first; together ${formatUSD(total)} a month more`,
    head: ['Change', 'For', 'Saturates', 'With the change', 'Extra per month', 'Cost items'],
    rows,
    className: 'recommendations',
  });
  return section('recommendations', heading, table);
}

/** Month × component table of utilization, with the limit each is held to. */
function utilizationTable(report: ForecastReport, order: readonly ComponentReport[]): string {
  const rows: CellInput[][] = report.months.map((m) => [
    { text: m.date, value: m.date },
    ...order.map((c) => {
      const mc = m.components.find((x) => x.id === c.id);
      return mc ? { ...pctCell(mc.utilization), strong: mc.broken } : '—';
    }),
  ]);
  rows.push([{ text: 'limit' }, ...order.map((c) => pctCell(utilizationLimit(report, c)))]);
  return dataTable({
    caption: 'Peak-hour utilization per component and month (bold: the model says it breaks that month)',
    head: ['Month', ...order.map((c) => c.id)],
    rows,
    className: 'utilization wide',
  });
}

async function utilizationSection(report: ForecastReport, h: Horizon): Promise<string> {
  const order = sortComponents(report.components);
  const limits = new Map(order.map((c) => [c.id, utilizationLimit(report, c)]));
  const spec = utilizationSpec(utilizationSeries(report), limits, saturationWindows(report), h);
  const caption =
    'Utilization at the peak hour per component: line, dashed limit, P10–P90 saturation window shaded, ' +
    'red dots where it breaks (drawn at most at 120 %)';
  const figure = chartFigure(
    'chart-utilization',
    caption,
    await chartSvg(spec),
    utilizationTable(report, order),
  );
  return section('utilization', 'Utilization over the horizon', figure);
}

async function queueLatencySection(report: ForecastReport, h: Horizon): Promise<string> {
  const points = queueLatencySeries(report);
  const queues = [...new Set(points.map((p) => p.queue))];
  if (queues.length === 0) return '';
  const limitOf = (q: string) => points.find((p) => p.queue === q)?.limitSec ?? null;
  const rows: CellInput[][] = report.months.map((m) => [
    { text: m.date, value: m.date },
    ...queues.map((q) => {
      const p = points.find((x) => x.queue === q && x.month === m.date);
      if (!p) return '—';
      const over = p.latencySec === null || p.latencySec > p.limitSec;
      return {
        text: p.latencySec === null ? 'unbounded' : formatSeconds(p.latencySec),
        value: p.latencySec,
        strong: over,
      };
    }),
  ]);
  rows.push([
    { text: 'limit' },
    ...queues.map((q) => ({ text: formatSeconds(limitOf(q)), value: limitOf(q) })),
  ]);
  const table = dataTable({
    caption: `Predicted p${report.slo.latencyPercentile} wait per Sidekiq queue and month (bold: over its limit)`,
    head: ['Month', ...queues],
    rows,
    className: 'queue-latency wide',
  });
  const caption =
    `Predicted p${report.slo.latencyPercentile} queue wait per Sidekiq queue against its limit (dashed); ` +
    'an unbounded wait is drawn in red at twice the limit';
  const figure = chartFigure(
    'chart-queue-latency',
    caption,
    await chartSvg(queueLatencySpec(points, h)),
    table,
  );
  return section('queue-latency', 'Sidekiq queue latency', figure);
}

async function storageSection(report: ForecastReport): Promise<string> {
  const classes = STORAGE_CLASSES.map(([label]) => label);
  const gbCell = (gb: number): Cell => ({ text: formatGB(gb), value: gb });
  const rows: CellInput[][] = report.months.map((m) => [
    { text: m.date, value: m.date },
    ...STORAGE_CLASSES.map(([, field]) => gbCell(m.storage[field])),
    gbCell(m.storage.mediaGB),
    gbCell(m.storage.egressGBPerMonth),
  ]);
  const table = dataTable({
    caption: 'Stored GB by class at the end of each month, media total and egress',
    head: ['Month', ...classes, 'Media total', 'Egress per month'],
    rows,
    className: 'storage',
  });
  const intro = paragraph(
    'Mastodon never removes local uploads, so local media only grows; cached remote media and preview ' +
      `cards settle at inflow × retention (${code('tootctl media remove')}, ${code('tootctl preview_cards remove')}).`,
  );
  const svg = await chartSvg(storageSpec(storageSeries(report), classes));
  return section(
    'storage',
    'Storage growth',
    intro + chartFigure('chart-storage', 'Stored GB by class', svg, table),
  );
}

async function costSection(report: ForecastReport): Promise<string> {
  const providers = report.months[0]?.costs.map((c) => c.provider) ?? [];
  const rows: CellInput[][] = report.months.map((m) => [
    { text: m.date, value: m.date },
    ...providers.map((p) => {
      const c = m.costs.find((x) => x.provider === p);
      return c ? { text: formatUSD(c.totalUSD), value: c.totalUSD } : '—';
    }),
  ]);
  const head = providers.map((p) => (p === report.provider ? `${p} (yours)` : p));
  const table = dataTable({
    caption: 'Total USD per month by storage provider (media storage, egress and the hosts’ vCPUs)',
    head: ['Month', ...head],
    rows,
    className: 'cost',
  });
  const svg = await chartSvg(costSpec(costSeries(report)));
  const caption = `Monthly cost per storage provider (yours, ${report.provider}, drawn thicker)`;
  return section('cost', 'Monthly cost', chartFigure('chart-cost', caption, svg, table));
}

function calibrationSection(report: ForecastReport): string {
  const rows = sortComponents(report.components)
    .filter((c) => c.kind !== 'storage')
    .map((c) => [
      { text: c.id, html: code(c.id) },
      { text: c.calibrated ? 'yes' : 'no (assumed)', value: String(c.calibrated), strong: !c.calibrated },
    ]);
  const table = dataTable({
    caption: 'Whether each component’s service demands are measured',
    head: ['Component', 'Calibrated'],
    rows,
  });
  const sources = measuredSources(report);
  const from = sources.length
    ? `<ul>${sources.map((s) => `<li>${escapeHtml(s.source)}: ${s.quantities} quantities</li>`).join('')}</ul>`
    : paragraph('No measurement was applied: every service demand is an assumption.');
  return section('calibration', 'Calibration', table + paragraph('Measured from:') + from);
}

function assumptionsSection(report: ForecastReport): string {
  const rows = report.assumptions.map((a) => [
    { text: a.path, html: code(a.path) },
    { text: formatNumber(a.value), value: a.value },
    a.range ? `${formatNumber(a.range[0])} – ${formatNumber(a.range[1])}` : '—',
    { text: a.source, strong: isAssumption(a.source) },
  ]);
  const assumed = report.assumptions.filter((a) => isAssumption(a.source)).length;
  const table = dataTable({
    caption: `Every number the forecast uses and its source (${assumed} of ${report.assumptions.length} are assumptions)`,
    head: ['Path', 'Value', 'Range', 'Source'],
    rows,
    className: 'assumptions',
  });
  return section('assumptions', 'Assumptions', table);
}

/** The capacity report for budgeting, as one HTML page. */
export async function forecastHtml(report: ForecastReport): Promise<string> {
  const h = horizonOf(report);
  const charts = await Promise.all([
    saturationSection(report, h),
    utilizationSection(report, h),
    queueLatencySection(report, h),
    storageSection(report),
    costSection(report),
  ]);
  const [saturation, utilization, queues, storage, cost] = charts;
  const body = [
    uncalibratedWarning(report),
    saturation,
    recommendationsSection(report),
    utilization,
    queues,
    storage,
    cost,
    calibrationSection(report),
    assumptionsSection(report),
  ].join('\n');
  return htmlPage(`Capacity forecast: ${report.profile}`, forecastMeta(report), body);
}

/**
 * "What if we join this relay?" as one HTML page: the change in words first, then each
 * saturation date before and after, and utilization, storage and cost before and after on
 * the same axes, each chart with its table. Built from the two forecast JSON reports.
 */
import type { ForecastReport } from '../forecastReport.js';
import { formatGB, formatPercent, formatQuantity, formatUSD } from '../markdown.js';
import { chartSvg } from './chart.js';
import { pairedLineSpec, pairedUtilizationSpec } from './forecastCharts.js';
import { forecastMeta, recommendationsSection, uncalibratedWarning } from './forecastHtml.js';
import { type Cell, type CellInput, chartFigure, dataTable, escapeHtml, htmlPage, section } from './page.js';
import {
  changeInWords,
  type PairedValue,
  pairedMonthly,
  pairedUtilization,
  saturationShifts,
  yourCost,
} from './whatifData.js';

export interface Relay {
  name: string;
  postsPerHour: number;
  mediaFraction: number | null;
}

const code = (text: string) => `<code>${escapeHtml(text)}</code>`;
const dateCell = (d: string | null): Cell => ({ text: d ?? 'after horizon', value: d });

function changeSection(before: ForecastReport, after: ForecastReport, relay: Relay): string {
  const media =
    relay.mediaFraction === null
      ? "the profile's inbound media share"
      : `${formatPercent(relay.mediaFraction)} of posts with media`;
  const what = `<p>The relay pushes ${formatQuantity(relay.postsPerHour)} public posts per hour, ${escapeHtml(media)}.</p>`;
  const words = changeInWords(before, after, relay.name);
  const list = `<ul class="verdict">${words.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul>`;
  const rows = saturationShifts(before, after).map((s) => [
    { text: s.component, html: code(s.component) },
    dateCell(s.before),
    dateCell(s.after),
    { text: s.text, strong: s.earlier },
  ]);
  const table = dataTable({
    caption: 'Saturation date per component before and after joining (central forecast)',
    head: ['Component', 'Before', 'After', 'Change'],
    rows,
    className: 'shifts',
  });
  return section('change', 'The change', what + list + table);
}

async function utilizationSection(before: ForecastReport, after: ForecastReport): Promise<string> {
  const points = pairedUtilization(before, after);
  const ids = [...new Set(points.map((p) => p.component))];
  if (ids.length === 0) {
    return section(
      'utilization',
      'Utilization',
      '<p>No component’s utilization moves by half a point or more.</p>',
    );
  }
  const at = (id: string, which: string, month: string) =>
    points.find((p) => p.component === id && p.which === which && p.month === month)?.utilization;
  const rows: CellInput[][] = after.months.map((m) => [
    { text: m.date, value: m.date },
    ...ids.flatMap((id) =>
      (['before', 'after'] as const).map((w) => {
        const u = at(id, w, m.date);
        return u === undefined ? '—' : { text: formatPercent(u), value: u };
      }),
    ),
  ]);
  const table = dataTable({
    caption: 'Peak-hour utilization before and after, components the relay moves',
    groups: [{ label: '', span: 1 }, ...ids.map((id) => ({ label: id, span: 2 }))],
    head: ['Month', ...ids.flatMap(() => ['before', 'after'])],
    rows,
    className: 'utilization wide',
  });
  const svg = await chartSvg(pairedUtilizationSpec(points, after.slo.maxUtilization));
  const caption = 'Utilization before (grey, dashed) and after (blue), with the utilization limit';
  return section('utilization', 'Utilization', chartFigure('chart-utilization', caption, svg, table));
}

/** A before/after/change table and its chart for one monthly figure. */
async function pairedSection(
  id: string,
  heading: string,
  values: PairedValue[],
  format: (x: number) => string,
  chart: { caption: string; yTitle: string; yFormat: string },
): Promise<string> {
  const months = [...new Set(values.map((v) => v.month))];
  const get = (month: string, which: string) =>
    values.find((v) => v.month === month && v.which === which)?.value;
  const rows: CellInput[][] = months.map((month) => {
    const b = get(month, 'before') ?? Number.NaN;
    const a = get(month, 'after') ?? Number.NaN;
    const d = a - b;
    return [
      { text: month, value: month },
      { text: format(b), value: b },
      { text: format(a), value: a },
      { text: d >= 0 ? `+${format(d)}` : `−${format(-d)}`, value: d },
    ];
  });
  const table = dataTable({ caption: chart.caption, head: ['Month', 'Before', 'After', 'Change'], rows });
  const svg = await chartSvg(pairedLineSpec(values, chart.caption, chart.yTitle, chart.yFormat));
  return section(id, heading, chartFigure(`chart-${id}`, chart.caption, svg, table));
}

/** The relay what-if page. */
export async function whatifHtml(
  before: ForecastReport,
  after: ForecastReport,
  relay: Relay,
): Promise<string> {
  const [utilization, storage, cost] = await Promise.all([
    utilizationSection(before, after),
    pairedSection(
      'storage',
      'Storage',
      pairedMonthly(before, after, (m) => m.storage.mediaGB),
      formatGB,
      {
        caption: 'Media storage (disk or bucket), GB at the end of each month, before and after',
        yTitle: 'GB',
        yFormat: ',.0f',
      },
    ),
    pairedSection('cost', 'Monthly cost', pairedMonthly(before, after, yourCost), formatUSD, {
      caption: `Total monthly cost on ${after.provider} (your storage provider), USD, before and after`,
      yTitle: 'USD per month',
      yFormat: '$,.0f',
    }),
  ]);
  const body = [
    uncalibratedWarning(after),
    changeSection(before, after, relay),
    utilization,
    storage,
    cost,
    recommendationsSection(after, 'What to change after joining'),
  ].join('\n');
  return htmlPage(`What if we join ${relay.name}?`, forecastMeta(after), body);
}

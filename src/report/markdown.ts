/**
 * Markdown reports for Mastodon admins: the capacity report for budgeting
 * (`forecastMarkdown`) and the relay what-if (`whatifMarkdown`). Pure: a
 * `ForecastReport` in, a string out. The content follows PDQ's report for a
 * capacity planner (per resource utilization, waiting time, bounds), written
 * in an admin's words and Mastodon's knob names.
 */
import type { MonthlyCost, StorageState } from '../model/storage.js';
import { isAssumption } from '../shared/quantity.js';
import type { CostItem, Recommendation } from '../model/recommend.js';
import type { ComponentReport, ForecastReport, MonthReport } from './forecastReport.js';

// ---------------------------------------------------------------- formatting

const NOT_APPLICABLE = '—';

/** Thousands separators without locale data: 1234567.8 → "1,234,567.8". */
function groupThousands(text: string): string {
  const [int = '', frac] = text.split('.');
  const sign = int.startsWith('-') ? '-' : '';
  const digits = sign ? int.slice(1) : int;
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}${grouped}${frac !== undefined ? `.${frac}` : ''}`;
}

/** Fixed decimals, trailing zeros dropped: (2.50, 2) → "2.5", (3, 2) → "3". */
function fixed(x: number, decimals: number): string {
  const text = x.toFixed(decimals);
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

function nonFinite(x: number): string {
  return Number.isNaN(x) ? 'n/a' : x > 0 ? 'unbounded' : '−unbounded';
}

/**
 * A compact number for the assumptions table: four significant digits with
 * thousands separators below a million (30,000; 1.5; 0.0005), scientific
 * notation from a million up or below 0.0001 (1200000 → 1.2e6).
 */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return nonFinite(x);
  if (x === 0) return '0';
  const abs = Math.abs(x);
  if (abs >= 1e6 || abs < 1e-4) {
    const [mantissa = '', exponent = '0'] = x.toExponential(2).split('e');
    return `${fixed(Number(mantissa), 2)}e${Number(exponent)}`;
  }
  const rounded = Number(x.toPrecision(4));
  // toString of a 4-significant-digit number in [1e-4, 1e6) never uses exponents.
  return groupThousands(String(rounded));
}

/** A rate or count shown with a precision that suits its size: 0.042, 3.17, 48.2, 1,234. */
export function formatQuantity(x: number): string {
  if (!Number.isFinite(x)) return nonFinite(x);
  const abs = Math.abs(x);
  if (abs === 0) return '0';
  if (abs < 0.01) return formatNumber(Number(x.toPrecision(2)));
  if (abs < 10) return fixed(x, 2);
  if (abs < 100) return fixed(x, 1);
  return groupThousands(x.toFixed(0));
}

/** Utilization as a percentage: 0.034 → "3.4%", 0.85 → "85%". */
export function formatPercent(fraction: number): string {
  if (!Number.isFinite(fraction)) return nonFinite(fraction);
  const pct = fraction * 100;
  if (pct !== 0 && Math.abs(pct) < 10) return `${fixed(pct, 1)}%`;
  return `${groupThousands(pct.toFixed(0))}%`;
}

/** Seconds as an admin reads a latency: "250 ms", "12.3 s", "4.5 min", "1.2 h", "unbounded". */
export function formatSeconds(sec: number | null): string {
  if (sec === null) return NOT_APPLICABLE;
  if (!Number.isFinite(sec)) return nonFinite(sec);
  const abs = Math.abs(sec);
  if (abs < 0.001 && abs > 0) return `${fixed(sec * 1000, 2)} ms`;
  if (abs < 1) return `${(sec * 1000).toFixed(0)} ms`;
  if (abs < 60) return `${fixed(sec, 1)} s`;
  if (abs < 3600) return `${fixed(sec / 60, 1)} min`;
  return `${fixed(sec / 3600, 1)} h`;
}

/** Gigabytes: "0.42 GB", "7.5 GB", "1,234 GB". */
export function formatGB(gb: number): string {
  if (!Number.isFinite(gb)) return `${nonFinite(gb)} GB`;
  const abs = Math.abs(gb);
  if (abs === 0) return '0 GB';
  if (abs < 1) return `${fixed(gb, 2)} GB`;
  if (abs < 100) return `${fixed(gb, 1)} GB`;
  return `${groupThousands(gb.toFixed(0))} GB`;
}

/** US dollars: "$0.42", "$87.50", "$1,234". */
export function formatUSD(usd: number): string {
  if (!Number.isFinite(usd)) return `$${nonFinite(usd)}`;
  const sign = usd < 0 ? '−' : '';
  const abs = Math.abs(usd);
  return abs < 100 ? `${sign}$${abs.toFixed(2)}` : `${sign}$${groupThousands(abs.toFixed(0))}`;
}

function formatSignedUSD(usd: number): string {
  return usd > 0 ? `+${formatUSD(usd)}` : formatUSD(usd);
}

function formatCount(x: number): string {
  return Number.isFinite(x) ? groupThousands(Math.round(x).toFixed(0)) : nonFinite(x);
}

/** One cell of a GFM table: `|` escaped, line breaks flattened. */
export function cell(text: string): string {
  return text.replace(/\\\|/g, '|').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function table(header: string[], rows: string[][], align?: ('left' | 'right')[]): string {
  const line = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;
  const rule = `|${header.map((_, i) => (align?.[i] === 'right' ? '---:' : '---')).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

const code = (text: string) => `\`${text}\``;

/**
 * Wrap Mastodon setting names in backticks where the text does not already:
 * environment variables (MAX_THREADS, PREPARED_STATEMENTS=false) and
 * snake_case settings (default_pool_size). Existing code spans stay as they are.
 */
export function codeSettings(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part) =>
      part.startsWith('`')
        ? part
        : part.replace(
            /\b(?:[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+(?:=[^\s,;)]+)?|[a-z][a-z0-9]*(?:_[a-z0-9]+)+)\b/g,
            (m) => code(m),
          ),
    )
    .join('');
}

const PROVIDER_NAMES: Record<string, string> = {
  s3: 'AWS S3',
  b2: 'Backblaze B2',
  wasabi: 'Wasabi',
  r2: 'Cloudflare R2',
  minio: 'MinIO (self-hosted)',
};
const providerName = (p: string) => PROVIDER_NAMES[p] ?? p;

// ---------------------------------------------------------------- helpers on the report

/** "not within 24 months". */
const notWithin = (report: ForecastReport) => `not within ${report.horizonMonths} months`;

/** Saturating soonest first, then the busiest. */
export function sortComponents(components: readonly ComponentReport[]): ComponentReport[] {
  const satMonth = (c: ComponentReport) => c.saturation?.month ?? Infinity;
  const util = (c: ComponentReport) => (Number.isNaN(c.utilization) ? -Infinity : c.utilization);
  return [...components].sort(
    (a, b) => satMonth(a) - satMonth(b) || util(b) - util(a) || a.id.localeCompare(b.id),
  );
}

/**
 * The saturation cell: "2027-03 (P10 2026-12, P90 after horizon)", "not within 24 months (P10 2027-07, P50
 * 2028-06; 58% of draws saturate)", "not within 24 months", or for a queue whose pool saturates, "with its
 * pool from 2027-11".
 */
export function saturationText(report: ForecastReport, c: ComponentReport): string {
  const range = (d: string | null) => d ?? 'after horizon';
  if (c.saturation) {
    const s = c.saturation;
    if (report.monteCarlo === null || (s.p10Date === s.date && s.p90Date === s.date)) return s.date;
    return `${s.date} (P10 ${range(s.p10Date)}, P90 ${range(s.p90Date)})`;
  }
  // The central forecast holds, but some Monte Carlo draws may still saturate.
  const extras = drawExtras(c);
  const poolDate = c.pool && report.components.find((p) => p.id === c.pool)?.saturation?.date;
  if (poolDate) {
    // A queue's own risk only: its pool's overload is on the pool's row.
    return `with its pool from ${poolDate}${extras.length ? ` (on its own: ${extras.join('; ')})` : ''}`;
  }
  return extras.length ? `${notWithin(report)} (${extras.join('; ')})` : notWithin(report);
}

/** P10, P50 and the share of draws saturating, for a component the central forecast keeps intact. */
function drawExtras(c: ComponentReport): string[] {
  const extras: string[] = [];
  // Central (modal) values can hold while the median draw saturates: the assumption ranges lean to more load.
  const dates = [c.p10Date && `P10 ${c.p10Date}`, c.p50Date && `P50 ${c.p50Date}`].filter(Boolean);
  if (dates.length) extras.push(dates.join(', '));
  if (c.saturationProbability !== null && c.saturationProbability > 0) {
    extras.push(`${formatPercent(c.saturationProbability)} of draws saturate`);
  }
  return extras;
}

/**
 * Latency at the SLO percentile against its limit. The JSON report turns an
 * unbounded latency into null, so null with a limit means "unbounded"; null
 * without a limit means the component has no latency objective.
 */
function latencyText(latencySec: number | null, limitSec: number | null): string {
  if (limitSec === null) return latencySec === null ? NOT_APPLICABLE : formatSeconds(latencySec);
  if (latencySec === null) return `**unbounded** (limit ${formatSeconds(limitSec)})`;
  if (latencySec > limitSec)
    return `**${formatSeconds(latencySec)}, over** the limit of ${formatSeconds(limitSec)}`;
  return `${formatSeconds(latencySec)} (limit ${formatSeconds(limitSec)})`;
}

function calibratedText(c: ComponentReport): string {
  if (c.kind === 'storage') return 'n/a';
  return c.calibrated ? 'yes' : '**no** (assumed)';
}

function monthLabel(m: MonthReport): string {
  return m.month === 0 ? `${m.date} (now)` : `${m.date} (month ${m.month})`;
}

/** Month 0, month 12 when within the horizon, and the last month, without repeats. */
function budgetMonths(report: ForecastReport): MonthReport[] {
  const picks = [
    report.months[0],
    report.months.find((m) => m.month === 12),
    report.months[report.months.length - 1],
  ];
  const out: MonthReport[] = [];
  for (const m of picks) if (m && !out.includes(m)) out.push(m);
  return out;
}

function firstAndLast(report: ForecastReport): MonthReport[] {
  const first = report.months[0];
  const last = report.months[report.months.length - 1];
  if (!first || !last) return [];
  return first === last ? [first] : [first, last];
}

// ---------------------------------------------------------------- sections

function titleSection(report: ForecastReport, heading: string): string {
  const method =
    report.method === 'simulate'
      ? 'discrete-event simulation of the Sidekiq and Puma queues'
      : 'analytic queueing model';
  const mc = report.monteCarlo
    ? `Monte Carlo over the assumption ranges: ${formatCount(report.monteCarlo.draws)} draws, seed ${report.monteCarlo.seed}.`
    : 'No Monte Carlo: dates are the central forecast only, without a P10–P90 range.';
  return [
    `# ${heading}`,
    '',
    `Profile **${report.profile}**, starting ${report.start}, ${report.horizonMonths} months ahead. Method: ${method}. ${mc}`,
  ].join('\n');
}

function uncalibratedWarning(report: ForecastReport): string | null {
  if (report.uncalibrated.length === 0) return null;
  return [
    `> **Warning: not calibrated.** ${report.uncalibrated.length === 1 ? 'This component runs' : 'These components run'} on assumed service demands, not measured ones: ${report.uncalibrated.map(code).join(', ')}.`,
    '> Their utilizations, latencies and saturation dates are only as good as the assumptions listed at the end.',
    '> To calibrate, run the load-test scenarios against your staging instance and pass the resulting calibration file with `--calibration FILE`.',
  ].join('\n');
}

function summarySection(report: ForecastReport): string {
  const rows = sortComponents(report.components).map((c) => [
    code(c.id),
    formatPercent(c.utilization),
    latencyText(c.latencySec, c.latencyLimitSec),
    c.saturation ? `**${saturationText(report, c)}**` : saturationText(report, c),
    calibratedText(c),
  ]);
  return [
    '## Summary',
    '',
    `Utilization is at the peak hour of the current month; latency is the p${report.slo.latencyPercentile} (queue wait for Sidekiq queues, response time for web). A component saturates in the first month it breaks its latency limit or passes ${formatPercent(report.slo.maxUtilization)} utilization (storage: less than ${formatPercent(report.slo.storageHeadroom)} free).`,
    '',
    table(
      [
        'Component',
        'Utilization now',
        `Latency (p${report.slo.latencyPercentile})`,
        'Saturates',
        'Calibrated',
      ],
      rows,
      ['left', 'right', 'right', 'left', 'left'],
    ),
  ].join('\n');
}

function bindingSection(report: ForecastReport): string {
  const lines: string[] = [];
  for (const c of sortComponents(report.components)) {
    if (c.saturation) lines.push(`- ${code(c.id)} saturates ${c.saturation.date}: ${c.saturation.reason}`);
    else if (c.utilization > 0.5)
      lines.push(`- ${code(c.id)} (${formatPercent(c.utilization)} now): ${c.binding}`);
  }
  return [
    '## Binding constraints',
    '',
    lines.length
      ? lines.join('\n')
      : `No component saturates within ${report.horizonMonths} months and none is above 50% today.`,
  ].join('\n');
}

/** "+$120/month (1,500 GB × $0.08 per GB-month, `prices.diskPerGBMonth`)", or none for configuration only. */
export function costText(r: Recommendation): string {
  if (r.costItems.length === 0) return 'none (configuration only)';
  const items = r.costItems.map((i) => {
    const quantity = i.unit === 'GB' ? formatGB(i.quantity) : `${formatCount(i.quantity)} ${plural(i)}`;
    return `${quantity} × ${formatUSD(i.usdPerUnitMonth)} per ${i.unit}-month, ${code(i.price)}`;
  });
  return `${formatSignedUSD(r.extraMonthlyUSD)}/month (${items.join('; ')})`;
}

const plural = (i: CostItem) => (i.quantity === 1 ? i.unit : `${i.unit}s`);

/** "`a` saturates 2027-11 (and `b` 2028-01)": every component the one change is for. */
function saturatingText(report: ForecastReport, r: Recommendation): string {
  const dateOf = (id: string) => report.components.find((c) => c.id === id)?.saturation?.date;
  const others = r.componentIds
    .filter((id) => id !== r.componentId)
    .map((id) => `${code(id)} ${dateOf(id) ?? ''}`.trim());
  const also = others.length ? ` (and ${others.join(', ')})` : '';
  return `${code(r.componentId)} saturates ${r.saturationDate}${also}`;
}

function recommendationLine(report: ForecastReport, r: Recommendation): string {
  const then = r.newSaturationDate === null ? 'not within the horizon' : r.newSaturationDate;
  return `- ${saturatingText(report, r)} → ${codeSettings(r.change)}. New saturation date: ${then}. Extra cost: ${costText(r)}.`;
}

function recommendationsSection(report: ForecastReport): string {
  const anySaturates = report.components.some((c) => c.saturation);
  const body = report.recommendations.length
    ? report.recommendations.map((r) => recommendationLine(report, r)).join('\n')
    : anySaturates
      ? 'No single configuration change found that moves a saturation date later; see the binding constraints above.'
      : `Nothing to change: no component saturates within ${report.horizonMonths} months.`;
  return ['## Recommendations', '', body].join('\n');
}

function queueCell(q: MonthReport['queues'][number] | undefined): string {
  return q ? `${formatQuantity(q.jobsPerSec)} (peak ${formatQuantity(q.peakJobsPerSec)})` : NOT_APPLICABLE;
}

function loadSection(report: ForecastReport): string {
  const months = firstAndLast(report);
  if (months.length === 0) return '## Load\n\nThe report has no months.';
  const queueNames = [...new Set(months.flatMap((m) => m.queues.map((q) => q.queue)))];
  const rows: string[][] = [
    ...queueNames.map((name) => [
      `Sidekiq ${code(name)} jobs/s`,
      ...months.map((m) => queueCell(m.queues.find((q) => q.queue === name))),
    ]),
    ['Web requests/s (mean)', ...months.map((m) => formatQuantity(m.webRequestsPerSec))],
    ['Inbound activities/s (mean)', ...months.map((m) => formatQuantity(m.inboundActivitiesPerSec))],
    ['Daily active users', ...months.map((m) => formatCount(m.dailyActive))],
    ['Monthly active users', ...months.map((m) => formatCount(m.monthlyActive))],
    ['Relays', ...months.map((m) => (m.activeRelays.length ? m.activeRelays.join(', ') : 'none'))],
  ];
  return [
    '## Load',
    '',
    'Jobs per second as a daily mean, with the peak hour in brackets.',
    '',
    table(['', ...months.map(monthLabel)], rows, ['left', ...months.map(() => 'right' as const)]),
  ].join('\n');
}

/** The storage rows of both reports, in GB. */
const STORAGE_ROWS: [string, (s: StorageState) => number][] = [
  ['Local media', (s) => s.localMediaGB],
  ['Remote media cache', (s) => s.remoteMediaCacheGB],
  ['Preview cards', (s) => s.previewCardsGB],
  ['Media total (disk or bucket)', (s) => s.mediaGB],
  ['Database', (s) => s.databaseGB],
  ['Egress per month', (s) => s.egressGBPerMonth],
];

function cheapest(costs: readonly MonthlyCost[]): MonthlyCost | undefined {
  let best: MonthlyCost | undefined;
  for (const c of costs) if (!best || c.totalUSD < best.totalUSD) best = c;
  return best;
}

function storageSection(report: ForecastReport): string {
  const months = budgetMonths(report);
  if (months.length === 0) return '## Storage and budget\n\nThe report has no months.';
  const storage = table(
    ['', ...months.map(monthLabel)],
    STORAGE_ROWS.map(([label, f]) => [label, ...months.map((m) => formatGB(f(m.storage)))]),
    ['left', ...months.map(() => 'right' as const)],
  );
  const costRows: string[][] = [];
  for (const m of months) {
    const best = cheapest(m.costs);
    for (const c of m.costs) {
      const isBest = c === best;
      costRows.push([
        monthLabel(m),
        c.provider === report.provider ? `${providerName(c.provider)} (yours)` : providerName(c.provider),
        formatUSD(c.storageUSD),
        formatUSD(c.egressUSD),
        formatUSD(c.computeUSD),
        isBest ? `**${formatUSD(c.totalUSD)}** (cheapest)` : formatUSD(c.totalUSD),
      ]);
    }
  }
  const costs = table(
    ['Month', 'Storage provider', 'Storage', 'Egress', 'Compute', 'Total per month'],
    costRows,
    ['left', 'left', 'right', 'right', 'right', 'right'],
  );
  return [
    '## Storage and budget',
    '',
    "Stored data at the end of each month; egress is that month's traffic. Local uploads are never removed by Mastodon; the remote media cache and preview cards stay at their retention.",
    '',
    storage,
    '',
    "Monthly cost in USD by object storage provider (media storage, egress, and the hosts' vCPUs, which are the same for every provider).",
    '',
    costs,
  ].join('\n');
}

function rangeText(range: [number, number] | undefined): string {
  return range ? `${formatNumber(range[0])} – ${formatNumber(range[1])}` : NOT_APPLICABLE;
}

function assumptionsSection(report: ForecastReport): string {
  // Assumptions first (the numbers to check or measure), then the rest grouped by source; profile order
  // within a group.
  const indexed = report.assumptions.map((a, i) => ({ a, i }));
  const rank = (source: string) => (isAssumption(source) ? 0 : source === 'profile' ? 2 : 1);
  indexed.sort(
    (x, y) =>
      rank(x.a.source) - rank(y.a.source) ||
      (rank(x.a.source) === 1 ? x.a.source.localeCompare(y.a.source) : 0) ||
      x.i - y.i,
  );
  const assumed = report.assumptions.filter((a) => isAssumption(a.source)).length;
  const rows = indexed.map(({ a }) => [
    code(a.path),
    formatNumber(a.value),
    rangeText(a.range),
    isAssumption(a.source) ? `**${a.source}**` : a.source,
  ]);
  return [
    '## Assumptions',
    '',
    `Every number the forecast uses, with where it comes from. ${assumed} of ${report.assumptions.length} are assumptions (listed first): replace them with your own figures or measurements where you can.${report.monteCarlo ? ' The Monte Carlo samples each range.' : ''}`,
    '',
    table(['Path', 'Value', 'Range', 'Source'], rows, ['left', 'right', 'right', 'left']),
  ].join('\n');
}

// ---------------------------------------------------------------- reports

/** The capacity report for budgeting: when does each component saturate, what to change, what it costs. */
export function forecastMarkdown(report: ForecastReport): string {
  const sections = [
    titleSection(report, `Capacity forecast: ${report.profile}`),
    uncalibratedWarning(report),
    summarySection(report),
    bindingSection(report),
    recommendationsSection(report),
    loadSection(report),
    storageSection(report),
    assumptionsSection(report),
  ];
  return `${sections.filter((s): s is string => s !== null).join('\n\n')}\n`;
}

function change(before: number, after: number, format: (x: number) => string): string {
  if (!Number.isFinite(before) || !Number.isFinite(after)) return NOT_APPLICABLE;
  const d = after - before;
  if (d === 0) return '0';
  return d > 0 ? `+${format(d)}` : `−${format(-d)}`;
}

/** " (×1.33)" when a rate changed, nothing when it did not. */
const ratio = (before: number, after: number) =>
  before > 0 && Number.isFinite(after) && after !== before ? ` (×${fixed(after / before, 2)})` : '';

/** Months between two "YYYY-MM" dates (b − a). */
function monthsBetween(a: string, b: string): number {
  const index = (d: string) => {
    const [y = '0', m = '1'] = d.split('-');
    return Number(y) * 12 + Number(m) - 1;
  };
  return index(b) - index(a);
}

/**
 * How a component's saturation moved: "earlier by 5 months" when it now
 * saturates sooner (or at all), the ones an admin must look at.
 */
export function saturationShift(
  before: ComponentReport | undefined,
  after: ComponentReport | undefined,
): { earlier: boolean; text: string } {
  const b = before?.saturation?.date ?? null;
  const a = after?.saturation?.date ?? null;
  if (a === null && b === null) return { earlier: false, text: 'unchanged' };
  if (b === null) return { earlier: true, text: 'now saturates within the horizon' };
  if (a === null) return { earlier: false, text: 'no longer saturates within the horizon' };
  const d = monthsBetween(b, a);
  if (d < 0) return { earlier: true, text: `earlier by ${-d} month${d === -1 ? '' : 's'}` };
  if (d > 0) return { earlier: false, text: `later by ${d} month${d === 1 ? '' : 's'}` };
  return { earlier: false, text: 'unchanged' };
}

/** What the what-if compares: the relay, both reports, and the month the relay is first active. */
interface Comparison {
  before: ForecastReport;
  after: ForecastReport;
  relay: { name: string; postsPerHour: number; mediaFraction: number | null };
  beforeById: Map<string, ComponentReport>;
  afterById: Map<string, ComponentReport>;
  shifts: { id: string; earlier: boolean; text: string }[];
}

function whatifTitle({ after, relay }: Comparison): string {
  const media =
    relay.mediaFraction === null
      ? "the profile's inbound media share"
      : `${formatPercent(relay.mediaFraction)} of posts with media`;
  return [
    titleSection(after, `What if we join ${relay.name}?`),
    '',
    `The relay pushes ${formatQuantity(relay.postsPerHour)} public posts per hour (${formatQuantity(relay.postsPerHour / 3600)}/s), ${media}.`,
  ].join('\n');
}

/** Verdict first: which saturation dates moved earlier. */
function verdictSection({ after, relay, shifts }: Comparison): string {
  const earlier = shifts.filter((s) => s.earlier);
  return [
    '## Verdict',
    '',
    earlier.length
      ? `Joining ${relay.name} makes ${earlier.length === 1 ? 'this component' : 'these components'} saturate sooner: ${earlier.map((s) => `${code(s.id)} (${s.text})`).join(', ')}.`
      : `Joining ${relay.name} moves no saturation date earlier within ${after.horizonMonths} months.`,
  ].join('\n');
}

/** Change in a rate, with its ratio when it has one: "+0.5 (×1.33)". */
function rateChange(before: number, after: number, withRatio: boolean): string {
  return `${change(before, after, formatQuantity)}${withRatio ? ratio(before, after) : ''}`;
}

function whatifLoadSection(b0: MonthReport, a0: MonthReport): string {
  const queueNames = [...new Set([...b0.queues, ...a0.queues].map((q) => q.queue))];
  const rows: string[][] = queueNames.map((name) => {
    const qb = b0.queues.find((q) => q.queue === name);
    const qa = a0.queues.find((q) => q.queue === name);
    return [
      `Sidekiq ${code(name)} jobs/s`,
      queueCell(qb),
      queueCell(qa),
      qb && qa ? rateChange(qb.jobsPerSec, qa.jobsPerSec, true) : NOT_APPLICABLE,
    ];
  });
  rows.push(
    [
      'Web requests/s (mean)',
      formatQuantity(b0.webRequestsPerSec),
      formatQuantity(a0.webRequestsPerSec),
      rateChange(b0.webRequestsPerSec, a0.webRequestsPerSec, false),
    ],
    [
      'Inbound activities/s (mean)',
      formatQuantity(b0.inboundActivitiesPerSec),
      formatQuantity(a0.inboundActivitiesPerSec),
      rateChange(b0.inboundActivitiesPerSec, a0.inboundActivitiesPerSec, true),
    ],
  );
  return [
    '## Load',
    '',
    `In ${monthLabel(a0)}; jobs per second as a daily mean, with the peak hour in brackets.`,
    '',
    table(['', 'Before', 'After', 'Change'], rows, ['left', 'right', 'right', 'right']),
  ].join('\n');
}

/** Utilization, busiest after the change first. */
function whatifUtilizationSection(after: ForecastReport, b0: MonthReport, a0: MonthReport): string {
  const rows = sortComponents(after.components).map((ca) => {
    const mb = b0.components.find((c) => c.id === ca.id);
    const ma = a0.components.find((c) => c.id === ca.id);
    const ub = mb?.utilization ?? NaN;
    const ua = ma?.utilization ?? NaN;
    return [
      code(ca.id),
      mb ? formatPercent(ub) : NOT_APPLICABLE,
      ma ? formatPercent(ua) : NOT_APPLICABLE,
      mb && ma ? change(ub * 100, ua * 100, (x) => `${fixed(x, 1)} pt`) : NOT_APPLICABLE,
      latencyText(ma?.latencySec ?? null, ca.latencyLimitSec),
    ];
  });
  return [
    '## Utilization',
    '',
    `At the peak hour of ${monthLabel(a0)}.`,
    '',
    table(
      ['Component', 'Before', 'After', 'Change', `Latency after (p${after.slo.latencyPercentile})`],
      rows,
      ['left', 'right', 'right', 'right', 'right'],
    ),
  ].join('\n');
}

/** Saturation dates, the ones moved earlier first and highlighted. */
function saturationDatesSection({ before, after, beforeById, afterById, shifts }: Comparison): string {
  const order = new Map(sortComponents(after.components).map((c, i) => [c.id, i]));
  const rows = [...shifts]
    .sort(
      (x, y) =>
        Number(y.earlier) - Number(x.earlier) ||
        (order.get(x.id) ?? Infinity) - (order.get(y.id) ?? Infinity),
    )
    .map((s) => {
      const cb = beforeById.get(s.id);
      const ca = afterById.get(s.id);
      return [
        code(s.id),
        cb ? saturationText(before, cb) : NOT_APPLICABLE,
        ca ? (s.earlier ? `**${saturationText(after, ca)}**` : saturationText(after, ca)) : NOT_APPLICABLE,
        s.earlier ? `⚠ **${s.text}**` : s.text,
      ];
    });
  return ['## Saturation dates', '', table(['Component', 'Before', 'After', 'Change'], rows)].join('\n');
}

type MonthPair = { a: MonthReport; b: MonthReport };

/** "2026-12 before", "2026-12 after", "2026-12 change" for each month compared. */
const pairHeader = (pairs: readonly MonthPair[]) =>
  pairs.flatMap(({ a }) => [`${a.date} before`, `${a.date} after`, `${a.date} change`]);
const pairAlign = (pairs: readonly MonthPair[]) =>
  ['left', ...pairs.flatMap(() => ['right', 'right', 'right'] as const)] as ('left' | 'right')[];

function whatifStorageSection(pairs: readonly MonthPair[]): string {
  const rows = STORAGE_ROWS.map(([label, get]) => [
    label,
    ...pairs.flatMap(({ a, b }) => [
      formatGB(get(b.storage)),
      formatGB(get(a.storage)),
      change(get(b.storage), get(a.storage), formatGB),
    ]),
  ]);
  return ['## Storage', '', table(['', ...pairHeader(pairs)], rows, pairAlign(pairs))].join('\n');
}

/**
 * Cost: every provider's total, yours marked. Showing only "the cheapest"
 * could compare different providers before and after and hide the relay's real cost.
 */
function whatifCostSection(after: ForecastReport, pairs: readonly MonthPair[]): string {
  const providers = [
    ...new Set(pairs.flatMap(({ a, b }) => [...b.costs, ...a.costs].map((c) => c.provider))),
  ];
  const rows = providers.map((provider) => [
    provider === after.provider ? `${providerName(provider)} (yours)` : providerName(provider),
    ...pairs.flatMap(({ a, b }) => {
      const cb = b.costs.find((c) => c.provider === provider);
      const ca = a.costs.find((c) => c.provider === provider);
      return [
        cb ? formatUSD(cb.totalUSD) : NOT_APPLICABLE,
        ca ? formatUSD(ca.totalUSD) : NOT_APPLICABLE,
        cb && ca ? change(cb.totalUSD, ca.totalUSD, formatUSD) : NOT_APPLICABLE,
      ];
    }),
  ]);
  return [
    '## Monthly cost',
    '',
    'Total USD per month (media storage, egress and compute) for every object storage provider, since the relay mostly adds remote media cache and egress. Extra compute from the recommendations below is not included.',
    '',
    table(['Storage provider', ...pairHeader(pairs)], rows, pairAlign(pairs)),
  ].join('\n');
}

/**
 * Before and after joining a relay, side by side. Load and utilization are
 * compared in the first month the relay is active (month 0 for a relay joined
 * now), storage and cost at month 0 and the last month.
 */
export function whatifMarkdown(
  before: ForecastReport,
  after: ForecastReport,
  relay: { name: string; postsPerHour: number; mediaFraction: number | null },
): string {
  const ids = [...new Set([...before.components.map((c) => c.id), ...after.components.map((c) => c.id)])];
  const beforeById = new Map(before.components.map((c) => [c.id, c]));
  const afterById = new Map(after.components.map((c) => [c.id, c]));
  const shifts = ids.map((id) => ({ id, ...saturationShift(beforeById.get(id), afterById.get(id)) }));
  const comparison: Comparison = { before, after, relay, beforeById, afterById, shifts };

  const compareIndex = Math.max(
    0,
    after.months.findIndex((m) => m.activeRelays.includes(relay.name)),
  );
  const b0 = before.months[compareIndex];
  const a0 = after.months[compareIndex];
  const pairs = firstAndLast(after)
    .map((a) => ({ a, b: before.months.find((m) => m.month === a.month) }))
    .filter((p): p is MonthPair => p.b !== undefined);

  const sections: (string | null)[] = [
    whatifTitle(comparison),
    uncalibratedWarning(after),
    verdictSection(comparison),
    ...(b0 && a0 ? [whatifLoadSection(b0, a0), whatifUtilizationSection(after, b0, a0)] : []),
    saturationDatesSection(comparison),
    ...(pairs.length ? [whatifStorageSection(pairs), whatifCostSection(after, pairs)] : []),
    recommendationsSection(after).replace('## Recommendations', '## Recommendations after joining'),
  ];
  return `${sections.filter((s): s is string => s !== null).join('\n\n')}\n`;
}

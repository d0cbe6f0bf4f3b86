/**
 * A comparison of two runs as one HTML page: the verdict and the regressions first, then the
 * endpoint classes' latency percentiles side by side, every row's change with its interval,
 * and the tables of every row (the JSON's numbers, formatted as the Markdown has them).
 */
import type { TopLevelSpec } from 'vega-lite';
import type { Comparison, Row } from '../../compare/comparison.js';
import { formatChange, formatP, formatValue } from '../../compare/format.js';
import { regressionSentence } from '../../compare/markdown.js';
import { chartSvg } from './chart.js';
import { type ChangePoint, latencyProfiles, type PercentilePoint, relativeChanges } from './compareData.js';
import {
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

const RUN_COLOR = {
  field: 'run',
  type: 'nominal' as const,
  title: null,
  scale: { domain: ['base', 'candidate'], range: ['#8a8a8a', '#1d4e89'] },
};

/** Grouped bars per endpoint class: each percentile, base beside candidate. */
export function latencySpec(points: readonly PercentilePoint[]): TopLevelSpec {
  return {
    description: 'Latency percentiles per endpoint class, base beside candidate',
    data: { values: [...points] },
    columns: 4,
    facet: { field: 'subject', type: 'nominal', header: { title: null }, sort: null },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 150,
      height: 100,
      mark: 'bar',
      encoding: {
        x: { field: 'metric', type: 'ordinal', title: null, sort: null },
        xOffset: { field: 'run', sort: ['base', 'candidate'] },
        y: { field: 'ms', type: 'quantitative', title: 'ms' },
        color: RUN_COLOR,
      },
    },
  };
}

/** A forest plot: each row's relative change as a dot, its interval as a bar, the threshold dashed. */
export function changeSpec(points: readonly ChangePoint[], threshold: number): TopLevelSpec {
  const y = { field: 'label', type: 'nominal' as const, sort: null, title: null, axis: { labelLimit: 300 } };
  return {
    description: 'Relative change of every row with its bootstrap interval',
    width: 420,
    height: { step: 14 },
    data: { values: [...points] },
    layer: [
      { mark: { type: 'rule', color: '#b00020', strokeDash: [4, 3] }, encoding: { x: { datum: threshold } } },
      { mark: { type: 'rule', color: '#999' }, encoding: { x: { datum: 0 } } },
      {
        mark: { type: 'rule', strokeWidth: 2 },
        encoding: {
          y,
          x: {
            field: 'low',
            type: 'quantitative',
            title: 'change (candidate / base − 1)',
            axis: { format: '+.0%' },
          },
          x2: { field: 'high' },
          color: { field: 'verdict', type: 'nominal', scale: VERDICT_SCALE, title: null },
        },
      },
      {
        mark: { type: 'point', filled: true, size: 30 },
        encoding: {
          y,
          x: { field: 'relative', type: 'quantitative' },
          color: { field: 'verdict', type: 'nominal', scale: VERDICT_SCALE, title: null },
        },
      },
    ],
  };
}

const VERDICT_SCALE = {
  domain: ['regressed', 'improved', 'unchanged'],
  range: ['#b00020', '#2a9d8f', '#8a8a8a'],
};

function rowsTable(caption: string, rows: readonly Row[]): string {
  const cells: CellInput[][] = rows.map((r) => {
    const { change, interval } = formatChange(r);
    return [
      `${r.section === 'endpoint class' ? '' : `${r.section} `}${r.subject}`,
      r.metric,
      { text: formatValue(r.change.base, r.unit), value: r.change.base },
      { text: formatValue(r.change.candidate, r.unit), value: r.change.candidate },
      { text: change, value: r.change.ratio },
      interval,
      { text: formatP(r.pValue), value: r.pValue },
      { text: r.verdict, strong: r.verdict === 'regressed' },
    ];
  });
  const head = ['Subject', 'Metric', 'Base', 'Candidate', 'Change', 'Interval', 'Rank test', 'Verdict'];
  return dataTable({ caption, head, rows: cells, className: 'rows' });
}

function verdictSection(c: Comparison): string {
  const n = c.regressions.length;
  const s = c.settings;
  const title = n === 0 ? 'No regression' : `${n} regression${n === 1 ? '' : 's'}`;
  const list = n
    ? `<ul class="verdict">${c.regressions.map((r) => `<li>${escapeHtml(regressionSentence(r))}</li>`).join('')}</ul>`
    : '';
  const how = paragraph(
    escapeHtml(
      `A row regresses when it got worse by more than ${(s.threshold * 100).toFixed(1).replace(/\.0$/, '')} %, its ` +
        `${s.level * 100} % bootstrap interval excludes no change (${s.resamples} paired resamples of ${s.windowSec} s ` +
        `windows, seed ${s.seed}), and the Mann–Whitney test gives p < ${s.alpha}.`,
    ),
  );
  const warnings = c.warnings.map((w) => warning(`<strong>Warning:</strong> ${escapeHtml(w)}.`)).join('');
  return section(
    'verdict',
    `Verdict: ${title}`,
    `<p class="verdict"><strong>${title}</strong></p>${list}${warnings}${how}`,
  );
}

/** The comparison page. */
export async function comparisonHtml(c: Comparison): Promise<string> {
  const client = c.rows.filter((r) => r.section === 'endpoint class');
  const server = c.rows.filter((r) => r.section !== 'endpoint class');
  const profiles = latencyProfiles(c);
  const changes = relativeChanges(c);
  const [latencySvg, changeSvg] = await Promise.all([
    profiles.length ? chartSvg(latencySpec(profiles)) : null,
    changes.length ? chartSvg(changeSpec(changes, c.settings.threshold)) : null,
  ]);
  const clientTable = rowsTable('Endpoint classes (k6): base against candidate', client);
  const latency = latencySvg
    ? chartFigure(
        'chart-latency',
        'Latency percentiles per endpoint class, base (grey) beside candidate (blue)',
        latencySvg,
        clientTable,
      )
    : clientTable;
  const serverBody = c.serverNote
    ? paragraph(inlineCode(`Not compared: ${c.serverNote}.`))
    : rowsTable(
        'Sidekiq queues, job classes, processes and the host (collector): base against candidate',
        server,
      );
  const changeTable = dataTable({
    caption: 'Relative change and interval per row',
    head: ['Row', 'Change', 'Low', 'High', 'Verdict'],
    rows: changes.map((p) => [
      p.label,
      { text: `${(p.relative * 100).toFixed(1)} %`, value: p.relative },
      { text: `${(p.low * 100).toFixed(1)} %`, value: p.low },
      { text: `${(p.high * 100).toFixed(1)} %`, value: p.high },
      { text: p.verdict, strong: p.verdict === 'regressed' },
    ]),
  });
  const changesBody = changeSvg
    ? chartFigure(
        'chart-changes',
        'Every row’s change with its interval; the dashed line is the regression threshold',
        changeSvg,
        changeTable,
      )
    : paragraph('No row has a relative change to draw.');
  const unpaired = c.unpaired.length
    ? section(
        'unpaired',
        'Measured in one run only',
        `<ul>${c.unpaired.map((u) => `<li>${escapeHtml(`${u.section} ${u.subject}: ${u.onlyIn} run only`)}</li>`).join('')}</ul>`,
      )
    : '';
  const meta = escapeHtml(
    `Base ${c.base.dir} (${c.base.scenario}, started ${c.base.startedAt}, ${c.base.durationSec.toFixed(0)} s); ` +
      `candidate ${c.candidate.dir} (${c.candidate.scenario}, started ${c.candidate.startedAt}, ${c.candidate.durationSec.toFixed(0)} s).`,
  );
  const body = [
    verdictSection(c),
    section('endpoints', 'Endpoint classes (k6)', latency),
    section('server', 'Sidekiq, processes and the host (collector)', serverBody),
    section('changes', 'Changes and their intervals', changesBody),
    unpaired,
  ].join('\n');
  return htmlPage('fedicap compare', meta, body);
}

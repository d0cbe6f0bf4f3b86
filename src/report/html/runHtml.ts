/**
 * The run report: what k6 saw above what the instance did, every chart on the same time axis
 * (seconds since the run's start) and the same width, so the cause of a latency knee lines up
 * with it. Each chart has its table of the same bins.
 */
import type { TopLevelSpec } from 'vega-lite';
import { chartSvg } from './chart.js';
import {
  type CellInput,
  chartFigure,
  dataTable,
  escapeHtml,
  htmlPage,
  inlineCode,
  section,
  warning,
} from './page.js';
import type { ClientBin, RunTimeline, ServerPanel } from './runTimeline.js';

const WIDTH = 640;

/** Seconds since the start, the one x axis of every chart in the report. */
const timeAxis = (durationSec: number) => ({
  field: 't',
  type: 'quantitative' as const,
  title: 'seconds since the start',
  scale: { domain: [0, Math.ceil(durationSec)], nice: false },
});

interface LongPoint {
  t: number;
  series: string;
  value: number | null;
}

function linesSpec(values: LongPoint[], durationSec: number, yTitle: string, height = 110) {
  return {
    width: WIDTH,
    height,
    data: { values },
    mark: { type: 'line' as const, interpolate: 'step-after' as const },
    encoding: {
      x: timeAxis(durationSec),
      y: { field: 'value', type: 'quantitative' as const, title: yTitle },
      color: { field: 'series', type: 'nominal' as const, title: null, sort: null },
    },
  };
}

/** The k6 side: request rate, latency percentiles, and errors, 429s and dropped iterations, stacked. */
export function clientSpec(run: RunTimeline): TopLevelSpec {
  const long = (pick: [string, (b: ClientBin) => number | null][]) =>
    run.client.flatMap((b) => pick.map(([series, f]) => ({ t: b.t, series, value: f(b) })));
  return {
    description: 'Request rate, latency percentiles, errors, 429s and dropped iterations over the run',
    vconcat: [
      linesSpec(long([['requests/s', (b) => b.requestsPerSec]]), run.durationSec, 'requests/s'),
      linesSpec(
        long([
          ['p50', (b) => b.p50Ms],
          ['p95', (b) => b.p95Ms],
          ['p99', (b) => b.p99Ms],
        ]),
        run.durationSec,
        'latency (ms)',
      ),
      linesSpec(
        long([
          ['failed/s', (b) => b.failedPerSec],
          ['429/s', (b) => b.status429PerSec],
          ['dropped iterations/s', (b) => b.droppedPerSec],
        ]),
        run.durationSec,
        'per second',
      ),
    ],
    resolve: { scale: { color: 'independent' } },
  };
}

export function panelSpec(run: RunTimeline, panel: ServerPanel): TopLevelSpec {
  const values = panel.series.flatMap((s) =>
    s.values.map((value, i) => ({ t: run.times[i]!, series: s.name, value })),
  );
  return { description: panel.title, ...linesSpec(values, run.durationSec, panel.unit, 120) };
}

const num = (x: number | null, digits: number): CellInput =>
  x === null ? '—' : { text: x.toFixed(digits), value: x };

async function clientSection(run: RunTimeline): Promise<string> {
  const rows = run.client.map((b) => [
    { text: String(b.t), value: b.t },
    num(b.requestsPerSec, 1),
    num(b.p50Ms, 1),
    num(b.p95Ms, 1),
    num(b.p99Ms, 1),
    num(b.failedPerSec, 2),
    num(b.status429PerSec, 2),
    num(b.droppedPerSec, 2),
  ]);
  const table = dataTable({
    caption: `What k6 saw per ${run.binSec} s bin`,
    head: ['Second', 'Requests/s', 'p50 ms', 'p95 ms', 'p99 ms', 'Failed/s', '429/s', 'Dropped/s'],
    rows,
    className: 'timeline',
  });
  const caption = 'Request rate, latency percentiles, and failed requests, 429s and dropped iterations';
  return section(
    'client',
    'What k6 saw',
    chartFigure('chart-client', caption, await chartSvg(clientSpec(run)), table),
  );
}

async function panelFigure(run: RunTimeline, panel: ServerPanel): Promise<string> {
  if (panel.series.length === 0) {
    return `<p id="panel-${panel.id}">${escapeHtml(`${panel.title}: the collector recorded none in this run.`)}</p>`;
  }
  const rows = run.times.map((t, i) => [
    { text: String(t), value: t },
    ...panel.series.map((s) => num(s.values[i] ?? null, 2)),
  ]);
  const table = dataTable({
    caption: `${panel.title} (${panel.unit}) per ${run.binSec} s bin`,
    head: ['Second', ...panel.series.map((s) => s.name)],
    rows,
    className: 'timeline',
  });
  return chartFigure(
    `chart-${panel.id}`,
    `${panel.title} (${panel.unit})`,
    await chartSvg(panelSpec(run, panel)),
    table,
  );
}

async function serverSection(run: RunTimeline): Promise<string> {
  if (run.server === null) {
    return section(
      'server',
      'What the instance did',
      warning(
        inlineCode(
          'This run has no collector samples (no `samples.ndjson`): what the instance did meanwhile is not known. ' +
            'Run with `fedicap run --collect` (or `fedicap collect` beside k6) to see queues, threads, CPU, connections, memory and storage here.',
        ),
      ),
    );
  }
  const figures = await Promise.all(run.server.map((p) => panelFigure(run, p)));
  return section('server', 'What the instance did', figures.join('\n'));
}

/** The run report page. */
export async function runHtml(run: RunTimeline): Promise<string> {
  const [client, server] = await Promise.all([clientSection(run), serverSection(run)]);
  const meta = escapeHtml(
    `${run.dir}${run.scenario ? ` (${run.scenario})` : ''}, started ${run.startedAt}, ` +
      `${run.durationSec.toFixed(0)} s, in bins of ${run.binSec} s.`,
  );
  return htmlPage('fedicap run report', meta, `${client}\n${server}`);
}

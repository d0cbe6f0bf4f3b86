/**
 * End-of-test results in k6's shapes:
 * - the `handleSummary(data)` object (metrics with type, contains, values and
 *   thresholds {expr: {ok}}; root_group with groups and checks as lists;
 *   https://grafana.com/docs/k6/latest/results-output/end-of-test/custom-summary/),
 * - the `--summary-export` file, which k6 derives from it: each metric's values
 *   flattened, a rate's `rate` renamed `value`, thresholds as {expr: failed},
 *   groups and checks keyed by name (k6's summary wrapper, legacy JSON format),
 * - the compact text summary k6 prints (thresholds, checks, metrics by kind).
 */
import { createHash } from 'node:crypto';
import type { Metric, MetricType, Registry, Sink, ValueType } from './metrics.js';
import type { ThresholdResult } from './thresholds.js';
import type { GroupNode } from './vuApi.js';

export interface SummaryMetric {
  type: MetricType;
  contains: ValueType;
  values: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}

export interface SummaryGroup {
  name: string;
  path: string;
  id: string;
  groups: SummaryGroup[];
  checks: Array<{ name: string; path: string; id: string; passes: number; fails: number }>;
}

export interface SummaryData {
  root_group: SummaryGroup;
  options: { summaryTrendStats: string[]; summaryTimeUnit: string; noColor: boolean };
  state: { isStdOutTTY: boolean; isStdErrTTY: boolean; testRunDurationMs: number };
  metrics: Record<string, SummaryMetric>;
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

function values(
  sink: Sink,
  type: MetricType,
  trendStats: string[],
  durationSec: number,
): Record<string, number> {
  switch (type) {
    case 'counter':
      return { count: sink.sum, rate: durationSec > 0 ? sink.sum / durationSec : 0 };
    case 'gauge':
      return { value: sink.last, min: sink.count ? sink.min : 0, max: sink.count ? sink.max : 0 };
    case 'rate':
      return {
        rate: sink.count ? sink.nonZero / sink.count : 0,
        passes: sink.nonZero,
        fails: sink.count - sink.nonZero,
      };
    default: {
      const out: Record<string, number> = {};
      for (const stat of trendStats)
        out[stat] = stat === 'count' ? sink.count : sink.aggregate(stat, durationSec);
      return out;
    }
  }
}

function group(node: GroupNode): SummaryGroup {
  return {
    name: node.name,
    path: node.path,
    id: md5(node.path),
    groups: [...node.groups.values()].map(group),
    checks: [...node.checks.entries()].map(([name, c]) => {
      const path = `${node.path}::${name}`;
      return { name, path, id: md5(path), passes: c.passes, fails: c.fails };
    }),
  };
}

export function summaryData(
  registry: Registry,
  results: ThresholdResult[],
  rootGroup: GroupNode,
  durationMs: number,
  trendStats: string[],
): SummaryData {
  const durationSec = durationMs / 1000;
  const metrics: Record<string, SummaryMetric> = {};
  const thresholdsByKey = new Map<string, Record<string, { ok: boolean }>>();
  for (const r of results) {
    const key = r.threshold.summaryKey;
    const t = thresholdsByKey.get(key) ?? {};
    t[r.threshold.source] = { ok: r.ok };
    thresholdsByKey.set(key, t);
  }
  const sorted = [...registry.metrics.values()].sort((a, b) => a.name.localeCompare(b.name));
  const add = (name: string, metric: Metric, sink: Sink) => {
    const thresholds = thresholdsByKey.get(name);
    if (sink.count === 0 && !thresholds) return;
    metrics[name] = {
      type: metric.type,
      contains: metric.contains,
      values: values(sink, metric.type, trendStats, durationSec),
    };
    if (thresholds) metrics[name].thresholds = thresholds;
  };
  for (const metric of sorted) {
    add(metric.name, metric, metric.sink);
    for (const sub of metric.submetrics) add(sub.name, metric, sub.sink);
  }
  return {
    root_group: group(rootGroup),
    options: { summaryTrendStats: trendStats, summaryTimeUnit: '', noColor: false },
    state: {
      isStdOutTTY: Boolean(process.stdout.isTTY),
      isStdErrTTY: Boolean(process.stderr.isTTY),
      testRunDurationMs: durationMs,
    },
    metrics,
  };
}

interface ExportGroup {
  name: string;
  path: string;
  id: string;
  groups: Record<string, ExportGroup>;
  checks: Record<string, { name: string; path: string; id: string; passes: number; fails: number }>;
}

function exportGroup(g: SummaryGroup): ExportGroup {
  return {
    name: g.name,
    path: g.path,
    id: g.id,
    groups: Object.fromEntries(g.groups.map((sub) => [sub.name, exportGroup(sub)])),
    checks: Object.fromEntries(g.checks.map((c) => [c.name, c])),
  };
}

/**
 * The `k6 run --summary-export` document (threshold values are true when the threshold FAILED, as k6 writes
 * them).
 */
export function summaryExport(data: SummaryData): {
  root_group: ExportGroup;
  metrics: Record<string, Record<string, unknown>>;
} {
  const metrics: Record<string, Record<string, unknown>> = {};
  for (const [name, m] of Object.entries(data.metrics)) {
    const flat: Record<string, unknown> = { ...m.values };
    if (m.thresholds)
      flat.thresholds = Object.fromEntries(Object.entries(m.thresholds).map(([expr, t]) => [expr, !t.ok]));
    if (m.type === 'rate') {
      flat.value = flat.rate;
      delete flat.rate;
    }
    metrics[name] = flat;
  }
  return { root_group: exportGroup(data.root_group), metrics };
}

// ---- text summary ----

function time(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1) return `${Number((ms * 1000).toFixed(2))}µs`;
  if (ms < 1000) return `${Number(ms.toFixed(2))}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(2))}s`;
  const m = Math.floor(ms / 60_000);
  return `${m}m${Number(((ms - m * 60_000) / 1000).toFixed(1))}s`;
}

function bytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v.toFixed(0) : Number(v.toFixed(v < 10 ? 1 : 0))} ${units[i]}`;
}

function num(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toFixed(6)));
}

function render(m: SummaryMetric, trendStats: string[]): string {
  const v = m.values;
  switch (m.type) {
    case 'counter':
      return m.contains === 'data'
        ? `${bytes(v.count!).padEnd(7)} ${bytes(v.rate!)}/s`
        : `${num(v.count!).padEnd(7)} ${num(v.rate!)}/s`;
    case 'gauge':
      return `${num(v.value!).padEnd(7)} min=${num(v.min!).padEnd(8)} max=${num(v.max!)}`;
    case 'rate':
      return (
        `${((v.rate ?? 0) * 100).toFixed(2)}%`.padEnd(7) +
        ` ${v.passes} out of ${(v.passes ?? 0) + (v.fails ?? 0)}`
      );
    default:
      return trendStats
        .map((s) => `${s}=${m.contains === 'time' ? time(v[s] ?? 0) : num(v[s] ?? 0)}`.padEnd(14))
        .join(' ')
        .trimEnd();
  }
}

const BUILTIN_SECTIONS: Array<[string, RegExp]> = [
  ['HTTP', /^http_req(s|_duration|_failed)(\{|$)/],
  ['EXECUTION', /^(dropped_iterations|iteration_duration|iterations|vus|vus_max)$/],
  ['NETWORK', /^data_(received|sent)$/],
  ['WEBSOCKET', /^ws_/],
];
const HIDDEN =
  /^(checks|group_duration|http_req_(blocked|connecting|tls_handshaking|sending|waiting|receiving))(\{|$)/;

function line(indent: string, name: string, value: string): string {
  const width = 35 - indent.length;
  return `${indent}${(name + '.'.repeat(Math.max(3, width - name.length))).slice(0, Math.max(name.length + 3, width))}: ${value}`;
}

/** k6's compact end-of-test summary. */
export function textSummary(
  data: SummaryData,
  results: ThresholdResult[],
  builtin: (name: string) => boolean,
): string {
  const out: string[] = [''];
  const stats = data.options.summaryTrendStats;
  if (results.length) {
    out.push('  █ THRESHOLDS', '');
    const byKey = new Map<string, ThresholdResult[]>();
    for (const r of results) byKey.set(r.threshold.key, [...(byKey.get(r.threshold.key) ?? []), r]);
    for (const [key, list] of byKey) {
      out.push(`    ${key}`);
      for (const r of list) {
        const agg = r.threshold.aggregation;
        const shown = !r.evaluated
          ? '(no samples)'
          : agg === 'rate' && r.threshold.type === 'rate'
            ? `${agg}=${(r.actual * 100).toFixed(2)}%`
            : `${agg}=${r.threshold.contains === 'time' ? time(r.actual) : num(r.actual)}`;
        out.push(`    ${r.ok ? '✓' : '✗'} '${r.threshold.source}' ${shown}`);
      }
      out.push('');
    }
    out.push('');
  }
  out.push('  █ TOTAL RESULTS', '');
  const checks = data.metrics.checks;
  if (checks) {
    const passes = checks.values.passes ?? 0;
    const fails = checks.values.fails ?? 0;
    const total = passes + fails;
    const rate = data.state.testRunDurationMs > 0 ? total / (data.state.testRunDurationMs / 1000) : 0;
    const percentOf = (n: number) => `${(total ? (n / total) * 100 : 0).toFixed(2)}%`.padEnd(7);
    out.push(line('    ', 'checks_total', `${String(total).padEnd(7)} ${num(rate)}/s`));
    out.push(line('    ', 'checks_succeeded', `${percentOf(passes)} ${passes} out of ${total}`));
    out.push(line('    ', 'checks_failed', `${percentOf(fails)} ${fails} out of ${total}`));
    out.push('');
    const walk = (g: SummaryGroup, indent: string) => {
      for (const c of g.checks) {
        out.push(
          `${indent}${c.fails ? '✗' : '✓'} ${c.name}${c.fails ? `\n${indent}  ↳  ${Math.round((c.passes / (c.passes + c.fails)) * 100)}% — ✓ ${c.passes} / ✗ ${c.fails}` : ''}`,
        );
      }
      for (const sub of g.groups) {
        if (sub.checks.length || sub.groups.length) out.push(`${indent}█ ${sub.name}`);
        walk(sub, `${indent}  `);
      }
    };
    walk(data.root_group, '    ');
    out.push('');
  }
  const names = Object.keys(data.metrics).filter((n) => !HIDDEN.test(n));
  const custom = names.filter((n) => !builtin(n.replace(/\{.*$/, '')));
  const sections: Array<[string, string[]]> = [['CUSTOM', custom]];
  for (const [title, re] of BUILTIN_SECTIONS)
    sections.push([title, names.filter((n) => builtin(n.replace(/\{.*$/, '')) && re.test(n))]);
  for (const [title, list] of sections) {
    if (!list.length) continue;
    out.push(`    ${title}`);
    for (const name of list) {
      const m = data.metrics[name]!;
      const sub = name.indexOf('{');
      if (sub > 0) out.push(line('      ', `{ ${name.slice(sub + 1, -1)} }`, render(m, stats)));
      else out.push(line('    ', name, render(m, stats)));
    }
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

/**
 * The server side of a comparison, from the collector's windows (calibration's samplesToWindows): per
 * Sidekiq queue its latency and jobs done, per job class its wall time per job and throughput, the
 * busy threads, and the CPU of each process, of Redis and of the host. Only what both runs measured.
 */
import type { CalibrationWindow } from '../calibrate/windows.js';
import { type BootstrapSettings, bootstrapChanges } from './bootstrapChange.js';
import type { Row, Section, Unit } from './comparison.js';
import { rankTest } from './rankTest.js';
import { type VerdictRule, verdictOf, type Worse } from './verdict.js';

/**
 * A CPU change smaller than this (cores) is no regression however large relative to a near-idle process:
 * in an A/A pair on the testbed, a scheduler process went from 0.01 to 0.02 cores (+66 %, p = 0.005).
 */
export const MIN_CORES_CHANGE = 0.05;

/** One server metric: how a window shows it (undefined: not measured there) and how windows sum up. */
interface ServerMetric {
  section: Section;
  subject: string;
  metric: string;
  unit: Unit;
  worse: Worse;
  perWindow: (w: CalibrationWindow) => number | undefined;
  /** Over a set of windows; default: the mean of perWindow where defined. */
  over?: (ws: readonly CalibrationWindow[]) => number;
}

/** The server rows of two runs' windows (by position; undefined: a gap): every metric both runs measured. */
export function serverRows(
  baseSlots: readonly (CalibrationWindow | undefined)[],
  candidateSlots: readonly (CalibrationWindow | undefined)[],
  settings: BootstrapSettings & VerdictRule,
): Row[] {
  const defined = (slots: readonly (CalibrationWindow | undefined)[]) =>
    slots.filter((w): w is CalibrationWindow => w !== undefined);
  const [base, candidate] = [defined(baseSlots), defined(candidateSlots)];
  const metrics = metricsOf(base).filter((m) => candidate.some((w) => m.perWindow(w) !== undefined));
  const keyOf = (m: ServerMetric) => `${m.section}|${m.subject}|${m.metric}`;
  const statistics = (ws: readonly CalibrationWindow[]) =>
    Object.fromEntries(metrics.map((m) => [keyOf(m), (m.over ?? meanOver(m.perWindow))(ws)]));
  const changes = bootstrapChanges(baseSlots, candidateSlots, statistics, settings);
  return metrics.flatMap((m) => {
    const change = changes[keyOf(m)];
    if (!change) return [];
    const values = (ws: readonly CalibrationWindow[]) =>
      ws.map(m.perWindow).filter((v): v is number => v !== undefined && Number.isFinite(v));
    const pValue = rankTest(values(base), values(candidate))?.pValue ?? null;
    const verdict =
      m.unit === 'cores' && Math.abs(change.difference) < MIN_CORES_CHANGE
        ? 'unchanged'
        : verdictOf(change, m.worse, pValue, settings);
    const { section, subject, metric, unit, worse } = m;
    return [{ section, subject, metric, unit, worse, change, pValue, rankedOver: 'windows', verdict }];
  });
}

/** A metric's description, then how a window shows it. */
function metric(
  section: Section,
  subject: string,
  name: string,
  [unit, worse]: [Unit, Worse],
  perWindow: ServerMetric['perWindow'],
  over?: ServerMetric['over'],
): ServerMetric {
  return { section, subject, metric: name, unit, worse, perWindow, ...(over ? { over } : {}) };
}

/** Every metric the windows of one run measured, in a stable order. */
function metricsOf(ws: readonly CalibrationWindow[]): ServerMetric[] {
  const keys = (pick: (w: CalibrationWindow) => Record<string, unknown>) =>
    [...new Set(ws.flatMap((w) => Object.keys(pick(w))))].sort();
  const measured = (pick: (w: CalibrationWindow) => number | undefined) =>
    ws.some((w) => pick(w) !== undefined);
  const out: ServerMetric[] = [];
  for (const queue of keys((w) => w.queueLatencySec)) {
    const latencyMs = (w: CalibrationWindow) => secToMs(w.queueLatencySec[queue]);
    out.push(metric('Sidekiq queue', queue, 'queue latency', ['ms', 'higher'], latencyMs));
  }
  for (const queue of keys((w) => w.queueCompletions)) {
    const perSec = (w: CalibrationWindow) => (w.queueCompletions[queue] ?? 0) / w.durationSec;
    out.push(metric('Sidekiq queue', queue, 'jobs done', ['jobs/s', 'lower'], perSec));
  }
  for (const job of keys((w) => w.jobs)) out.push(...jobMetrics(job));
  if (measured((w) => w.sidekiqBusyThreads))
    out.push(
      metric('instance', 'Sidekiq', 'busy threads', ['threads', 'higher'], (w) => w.sidekiqBusyThreads),
    );
  for (const process of keys((w) => w.processCpuSecPerSec)) {
    out.push(metric('process', process, 'CPU', ['cores', 'higher'], (w) => w.processCpuSecPerSec[process]));
  }
  if (measured((w) => w.redisCpuSecPerSec))
    out.push(metric('instance', 'Redis', 'CPU', ['cores', 'higher'], (w) => w.redisCpuSecPerSec));
  if (measured((w) => w.hostBusyCores))
    out.push(metric('instance', 'host', 'CPU', ['cores', 'higher'], (w) => w.hostBusyCores));
  return out;
}

/** A job class's wall time per job (the exporter's duration sum over its count) and throughput. */
function jobMetrics(job: string): ServerMetric[] {
  const wallMs = (w: CalibrationWindow) => {
    const j = w.jobs[job];
    return j && j.durationCount > 0 ? (1000 * j.durationSumSec) / j.durationCount : undefined;
  };
  // Jobs weigh alike: the ratio of the sums, not the mean of per-window means.
  const wallMsOver = (ws: readonly CalibrationWindow[]) => {
    let [sum, count] = [0, 0];
    for (const w of ws) {
      sum += w.jobs[job]?.durationSumSec ?? 0;
      count += w.jobs[job]?.durationCount ?? 0;
    }
    return count > 0 ? (1000 * sum) / count : Number.NaN;
  };
  const perSec = (w: CalibrationWindow) => w.jobs[job]?.completionsPerSec ?? 0;
  return [
    metric('Sidekiq job class', job, 'wall time per job', ['ms', 'higher'], wallMs, wallMsOver),
    metric('Sidekiq job class', job, 'throughput', ['jobs/s', 'lower'], perSec),
  ];
}

function meanOver(perWindow: ServerMetric['perWindow']) {
  return (ws: readonly CalibrationWindow[]) => {
    let [sum, count] = [0, 0];
    for (const w of ws) {
      const v = perWindow(w);
      if (v === undefined || !Number.isFinite(v)) continue;
      sum += v;
      count++;
    }
    return count > 0 ? sum / count : Number.NaN;
  };
}

const secToMs = (sec: number | undefined) => (sec === undefined ? undefined : sec * 1000);

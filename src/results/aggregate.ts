/**
 * k6 points aggregated per tag value and per time window: request counts and
 * rates, error, 429 and dropped-iteration shares, and latency percentiles
 * from mergeable histograms. The state is one cell per (group, window),
 * never per point, so memory does not grow with the file, only with the
 * run's length and the tag's cardinality.
 */
import { firstPointTimeMs, type K6Line, type K6PointLine, readK6JsonBatches } from './k6Json.js';
import { BadLines, concatBatches, type ReadOptions } from './records.js';
import { type Histogram, latencyHistogram, mergeHistograms, percentileMs, recordMs } from './histogram.js';
import { timeMs } from './time.js';

export interface K6AggregateOptions {
  /** The tag whose values make the groups (`station`, `scenario`, `name`, `status`…); default `station`. */
  groupBy?: string;
  /** Window length; default 10 s. */
  windowSec?: number;
  /** Where windows start (the run's start, ms since the epoch); default: the first point's time. */
  startMs?: number;
  /** Where the run ended (ms): the last window's rate counts only time up to it; default: full windows. */
  endMs?: number;
}

/** What a group did in a window, or over the whole run. Shares are null when nothing was counted. */
export interface K6Stats {
  /** The tag's value; '' for points without the tag (k6 tags dropped_iterations with `scenario` only). */
  group: string;
  startMs: number;
  durationSec: number;
  /** http_reqs points. */
  requests: number;
  ratePerSec: number;
  /** Mean of http_req_failed (k6's failed-request rate). */
  errorShare: number | null;
  /** Share of http_reqs tagged status 429 (rate limited). */
  status429Share: number | null;
  iterations: number;
  droppedIterations: number;
  /** dropped / (iterations + dropped): the share of scheduled iterations k6 could not start. */
  droppedShare: number | null;
  /** http_req_duration points and their percentiles (ms, nearest rank, 3 significant digits). */
  latencyCount: number;
  /** Mean http_req_duration (ms; from the histogram, within its precision). */
  meanMs: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
}

export interface K6Aggregate {
  groupBy: string;
  windowSec: number;
  startMs: number;
  /** The end the rates use: options.endMs, else the last point's time. */
  endMs: number;
  /** Per group (sorted) and window (in time order); windows without points are absent. */
  windows: K6Stats[];
  /** Per group over the whole run: the windows merged. */
  groups: K6Stats[];
  /** All groups over the whole run. */
  total: K6Stats;
}

/** The counts of one (group, window); merged by adding. */
interface Cell {
  requests: number;
  failed: number;
  failedPoints: number;
  status429: number;
  iterations: number;
  dropped: number;
  latency: Histogram | undefined;
}

const emptyCell = (): Cell => ({
  requests: 0,
  failed: 0,
  failedPoints: 0,
  status429: 0,
  iterations: 0,
  dropped: 0,
  latency: undefined,
});

/** The metrics aggregated; the others are passed over (and, by aggregateK6Files, not even parsed). */
export const AGGREGATED_METRICS: ReadonlySet<string> = new Set([
  'http_reqs',
  'http_req_failed',
  'http_req_duration',
  'iterations',
  'dropped_iterations',
]);

/** Accumulates k6 points into (group, window) cells; `result()` reads them out. */
export class K6Aggregator {
  readonly groupBy: string;
  readonly windowMs: number;
  private startMs: number | undefined;
  private lastMs = Number.NEGATIVE_INFINITY;
  private readonly cells = new Map<string, Map<number, Cell>>();

  constructor(private readonly options: K6AggregateOptions = {}) {
    this.groupBy = options.groupBy ?? 'station';
    this.windowMs = (options.windowSec ?? 10) * 1000;
    if (!(this.windowMs > 0)) throw new RangeError(`windowSec must be positive, not ${options.windowSec}`);
    this.startMs = options.startMs;
  }

  /** Add the Point lines of a batch (Metric lines are passed over). */
  add(lines: readonly K6Line[]): void {
    for (const line of lines) if (line.type === 'Point') this.addPoint(line);
  }

  /** Add one point. */
  addPoint(point: K6PointLine): void {
    const metric = point.metric;
    if (!AGGREGATED_METRICS.has(metric)) return;
    const { time, value, tags } = point.data;
    const ms = timeMs(time);
    this.startMs ??= ms;
    if (ms > this.lastMs) this.lastMs = ms;
    const cell = this.cellAt(tags?.[this.groupBy] ?? '', Math.floor((ms - this.startMs) / this.windowMs));
    switch (metric) {
      case 'http_reqs':
        cell.requests += value;
        if (tags?.status === '429') cell.status429 += value;
        break;
      case 'http_req_failed':
        cell.failedPoints++;
        if (value !== 0) cell.failed++;
        break;
      case 'http_req_duration':
        cell.latency ??= latencyHistogram();
        recordMs(cell.latency, value);
        break;
      case 'iterations':
        cell.iterations += value;
        break;
      default:
        cell.dropped += value;
    }
  }

  private cellAt(group: string, window: number): Cell {
    let windows = this.cells.get(group);
    if (!windows) {
      windows = new Map();
      this.cells.set(group, windows);
    }
    let cell = windows.get(window);
    if (!cell) {
      cell = emptyCell();
      windows.set(window, cell);
    }
    return cell;
  }

  /** The windows, the per-group merges and the total (an empty aggregate when no point was added). */
  result(): K6Aggregate {
    const startMs = this.startMs ?? this.options.startMs ?? 0;
    const endMs = this.options.endMs ?? (Number.isFinite(this.lastMs) ? this.lastMs : startMs);
    const windows: K6Stats[] = [];
    const groups: K6Stats[] = [];
    const runSec = Math.max(0, endMs - startMs) / 1000;
    const allCells: Cell[] = [];
    for (const group of [...this.cells.keys()].sort()) {
      const byWindow = this.cells.get(group)!;
      for (const index of [...byWindow.keys()].sort((a, b) => a - b)) {
        const windowStart = startMs + index * this.windowMs;
        windows.push(stats(group, windowStart, this.windowSec(windowStart), byWindow.get(index)!));
      }
      const merged = mergeCells(byWindow.values());
      allCells.push(merged);
      groups.push(stats(group, startMs, runSec, merged));
    }
    const total = stats('', startMs, runSec, mergeCells(allCells));
    return { groupBy: this.groupBy, windowSec: this.windowMs / 1000, startMs, endMs, windows, groups, total };
  }

  /** A window's length, cut at the run's end when one was given. */
  private windowSec(windowStartMs: number): number {
    const end = this.options.endMs;
    const full = this.windowMs / 1000;
    if (end === undefined || end >= windowStartMs + this.windowMs || end <= windowStartMs) return full;
    return (end - windowStartMs) / 1000;
  }
}

function mergeCells(cells: Iterable<Cell>): Cell {
  const out = emptyCell();
  const histograms: Histogram[] = [];
  for (const c of cells) {
    out.requests += c.requests;
    out.failed += c.failed;
    out.failedPoints += c.failedPoints;
    out.status429 += c.status429;
    out.iterations += c.iterations;
    out.dropped += c.dropped;
    if (c.latency) histograms.push(c.latency);
  }
  if (histograms.length > 0) out.latency = mergeHistograms(histograms);
  return out;
}

const share = (part: number, whole: number) => (whole > 0 ? part / whole : null);

function stats(group: string, startMs: number, durationSec: number, c: Cell): K6Stats {
  const latency = c.latency;
  return {
    group,
    startMs,
    durationSec,
    requests: c.requests,
    ratePerSec: durationSec > 0 ? c.requests / durationSec : 0,
    errorShare: share(c.failed, c.failedPoints),
    status429Share: share(c.status429, c.requests),
    iterations: c.iterations,
    droppedIterations: c.dropped,
    droppedShare: share(c.dropped, c.iterations + c.dropped),
    latencyCount: latency?.totalCount ?? 0,
    meanMs: latency && latency.totalCount > 0 ? latency.mean / 1000 : null,
    p50Ms: latency ? percentileMs(latency, 50) : null,
    p95Ms: latency ? percentileMs(latency, 95) : null,
    p99Ms: latency ? percentileMs(latency, 99) : null,
  };
}

/**
 * Aggregate the k6 output files of one run (one file, or one per load generator) as one stream. Windows
 * start at options.startMs, else at the earliest first point of the files, so that the split run and
 * the same points in one file give the same windows.
 */
export async function aggregateK6Files(
  paths: readonly string[],
  options: K6AggregateOptions & ReadOptions = {},
): Promise<K6Aggregate> {
  let startMs = options.startMs;
  if (startMs === undefined) {
    // A peek: bad lines it passes over are counted by the full read below, not here.
    const peek = () => (options.skipBadLines ? { skipBadLines: new BadLines() } : {});
    const firsts = await Promise.all(paths.map((p) => firstPointTimeMs(p, peek())));
    const known = firsts.filter((t): t is number => t !== null);
    if (known.length > 0) startMs = Math.min(...known);
  }
  const aggregator = new K6Aggregator({ ...options, startMs });
  const read = (p: string) => readK6JsonBatches(p, { ...options, metrics: AGGREGATED_METRICS });
  for await (const batch of concatBatches(paths, read)) aggregator.add(batch);
  return aggregator.result();
}

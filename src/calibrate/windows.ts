import type { Sample } from '../collect/sample.js';
import {
  canonicalExporterName,
  TESTBED_PUSH_SIZE,
  TESTBED_QUEUE_LATENCY,
} from '../mastodon/exporterMetrics.js';
import { InputError } from '../shared/errors.js';

/**
 * From the collector's samples (samples.ndjson) to per-window series, the rows every regression of
 * calibration works on: per window, job completions and duration sums per job class, CPU seconds per
 * second per process, Redis CPU, PostgreSQL commits, busy threads and queue latencies.
 */

/** The metrics calibration reads, as Mastodon's exporter (the prometheus_exporter gem) names them. */
const COUNTERS = [
  'sidekiq_jobs_total',
  'sidekiq_job_duration_seconds_sum',
  'sidekiq_job_duration_seconds_count',
  'process_cpu_seconds_total',
  'redis_cpu_user_seconds_total',
  'redis_cpu_sys_seconds_total',
  'postgres_xact_commit_total',
  `${TESTBED_QUEUE_LATENCY.name}_bucket`,
  `${TESTBED_PUSH_SIZE.name}_bucket`,
  'node_cpu_seconds_total',
  'storage_bytes',
] as const;
/** A gauge read for its change (bytes stored): a fall is a deletion, not a counter's restart. */
const SIGNED = new Set<string>(['storage_bytes']);
const GAUGES = ['sidekiq_process_busy', 'sidekiq_queue_latency_seconds', 'sidekiq_queue_backlog'] as const;
const USED = new Set<string>([...COUNTERS, ...GAUGES]);
/** CPU modes of node_cpu_seconds_total that are not work. */
const IDLE_MODES = new Set(['idle', 'iowait', 'steal']);
const COUNTER_SET = new Set<string>(COUNTERS);

export interface WindowOptions {
  /** Window length (default 10 s). */
  windowSec?: number;
  /** Start of the first window, epoch ms (default: when the last needed source first answered). */
  originMs?: number;
  /**
   * Sources a window needs without a gap (default: every source in the samples but `collector` and
   * `storage`, whose walk of a large tree answers seldom and which no rate here reads).
   */
  needed?: readonly string[];
  /**
   * Longest silence of a source that is not a gap (default: 5 × its median sampling interval: a loaded
   * host delays ticks, and counters spread an increase over whatever interval it came in).
   */
  maxIntervalSec?: number;
}

/** One job class in one window (summed over queues). */
export interface JobWindow {
  completions: number;
  completionsPerSec: number;
  /** Increase of `sidekiq_job_duration_seconds_sum` and `_count` over the window. */
  durationSumSec: number;
  durationCount: number;
}

export interface CalibrationWindow {
  startMs: number;
  durationSec: number;
  /** By job class (`job_name`). */
  jobs: Record<string, JobWindow>;
  /** By process name (`process` label): CPU seconds per second, 1 = one core busy. */
  processCpuSecPerSec: Record<string, number>;
  /** The host's busy CPU (node_cpu_seconds_total but idle, iowait and steal); absent when not sampled. */
  hostBusyCores?: number;
  /** Growth of the stored media (bytes per second; negative when more was deleted); absent when not sampled. */
  storageGrowthBytesPerSec?: number;
  /** User + system; absent when Redis was not sampled. */
  redisCpuSecPerSec?: number;
  postgresXactPerSec?: number;
  /** Mean over the window of the busy threads of all Sidekiq processes. */
  sidekiqBusyThreads?: number;
  /** Mean over the window, by queue: the oldest waiting job's age. */
  queueLatencySec: Record<string, number>;
  /** Jobs completed in the window, by queue. */
  queueCompletions: Record<string, number>;
  /** Mean backlog over the window, by queue. */
  queueBacklog: Record<string, number>;
  /**
   * Jobs that started in the window by wait bucket (upper bound `le` in seconds, cumulative), by queue:
   * the testbed's own per-job histogram (TESTBED_QUEUE_LATENCY); absent elsewhere.
   */
  queueWaitBuckets: Record<string, Record<string, number>>;
  /** Pushes in the window by jobs carried (upper bound `le`, cumulative), by queue: TESTBED_PUSH_SIZE; absent elsewhere. */
  queuePushBuckets: Record<string, Record<string, number>>;
}

export interface WindowSeries {
  windowSec: number;
  /** Kept windows in time order. */
  windows: CalibrationWindow[];
  /** Windows dropped for a gap in a needed source, and per source how many it caused. */
  dropped: number;
  droppedBySource: Record<string, number>;
}

interface Series {
  metric: string;
  labels: Record<string, string>;
  source: string;
  times: number[];
  values: number[];
}

interface SourceCoverage {
  times: number[];
  gapTimes: number[];
}

/**
 * Bucket samples into fixed windows. Counters become increases per window spread pro rata over each
 * pair of samples' interval, with resets handled as Prometheus's `increase()` does (a drop means the
 * counter restarted from 0: the increase is the new value). A label set that appears after its
 * source's first answer (the exporter creates it at the first completion) counts from 0 at the
 * source's previous answer. Gauges become the mean of the window's samples. A window is dropped when
 * a needed source recorded a gap in it (`source_up` 0), fell silent for longer than
 * `maxIntervalSec`, or had not answered yet / no longer answered.
 */
export function samplesToWindows(samples: Iterable<Sample>, options: WindowOptions = {}): WindowSeries {
  const windowSec = options.windowSec ?? 10;
  if (!(windowSec > 0)) throw new InputError(`window length must be positive, got ${windowSec} s`);
  const { series, sources } = collate(samples);
  const needed = options.needed ?? [...sources.keys()].filter((s) => s !== 'storage');
  const covered = needed.map((s) => {
    const c = sources.get(s);
    if (!c || c.times.length === 0) throw new InputError(`samples: no sample from needed source "${s}"`);
    return [s, c] as const;
  });
  if (covered.length === 0) throw new InputError('samples: no samples to calibrate from');
  const originMs = options.originMs ?? Math.max(...covered.map(([, c]) => c.times[0]!));
  const endMs = Math.min(...covered.map(([, c]) => c.times[c.times.length - 1]!));
  const count = Math.max(0, Math.floor((endMs - originMs) / (windowSec * 1000)));
  const grid = { originMs, windowMs: windowSec * 1000, count };
  const increases = new Map<Series, number[]>();
  const means = new Map<Series, number[]>();
  for (const s of series) {
    if (COUNTER_SET.has(s.metric)) increases.set(s, counterIncreases(s, sources.get(s.source)!, grid));
    else means.set(s, gaugeMeans(s, grid));
  }
  const droppedBySource: Record<string, number> = {};
  const windows: CalibrationWindow[] = [];
  for (let k = 0; k < count; k++) {
    const startMs = originMs + k * grid.windowMs;
    const faulty = covered.filter(([, c]) => hasGap(c, startMs, startMs + grid.windowMs, options));
    for (const [s] of faulty) droppedBySource[s] = (droppedBySource[s] ?? 0) + 1;
    if (faulty.length === 0) windows.push(windowAt(k, startMs, windowSec, increases, means));
  }
  return { windowSec, windows, dropped: count - windows.length, droppedBySource };
}

/** Group the samples used by series (metric + labels; the first source to report one owns it). */
function collate(samples: Iterable<Sample>) {
  const byKey = new Map<string, Series>();
  const sources = new Map<string, SourceCoverage>();
  const coverage = (name: string) => {
    let c = sources.get(name);
    if (!c) {
      c = { times: [], gapTimes: [] };
      sources.set(name, c);
    }
    return c;
  };
  let index = 0;
  for (const sample of samples) {
    index++;
    const t = Date.parse(sample.time);
    if (!Number.isFinite(t))
      throw new InputError(
        `samples: sample ${index} (${sample.metric}) has time "${sample.time}", not ISO 8601`,
      );
    if (sample.source === 'collector') {
      if (sample.metric === 'source_up' && sample.value === 0 && sample.labels.of)
        coverage(sample.labels.of).gapTimes.push(t);
      continue;
    }
    coverage(sample.source).times.push(t);
    const metric = canonicalExporterName(sample.metric);
    if (!USED.has(metric) || !Number.isFinite(sample.value)) continue;
    const key = `${metric}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    let s = byKey.get(key);
    if (!s) {
      s = { metric, labels: sample.labels, source: sample.source, times: [], values: [] };
      byKey.set(key, s);
    }
    if (s.source !== sample.source) continue;
    s.times.push(t);
    s.values.push(sample.value);
  }
  for (const c of sources.values()) {
    // One entry per answer: a scrape writes many samples with the same time.
    c.times = [...new Set(c.times)].sort((a, b) => a - b);
    c.gapTimes.sort((a, b) => a - b);
  }
  for (const s of byKey.values()) sortSeries(s);
  return { series: [...byKey.values()], sources };
}

function sortSeries(s: Series) {
  const order = s.times.map((_, i) => i).sort((a, b) => s.times[a]! - s.times[b]!);
  s.times = order.map((i) => s.times[i]!);
  s.values = order.map((i) => s.values[i]!);
}

interface Grid {
  originMs: number;
  windowMs: number;
  count: number;
}

/** A counter's increase in each window, each pair's increase spread evenly over its interval. */
function counterIncreases(s: Series, source: SourceCoverage, grid: Grid): number[] {
  const out = Array<number>(grid.count).fill(0);
  const times = [...s.times];
  const values = [...s.values];
  // Only the exporter's job series are created lazily; a process's CPU counts from its start.
  const lazy = s.metric.startsWith('sidekiq_job') || s.metric.startsWith('fedicap_testbed_');
  const before = lazy ? lastBefore(source.times, times[0]!) : undefined;
  if (before !== undefined) {
    times.unshift(before);
    values.unshift(0);
  }
  for (let i = 1; i < times.length; i++) {
    const [t0, t1] = [times[i - 1]!, times[i]!];
    const rise = values[i]! - values[i - 1]!;
    const increase = rise >= 0 || SIGNED.has(s.metric) ? rise : values[i]!;
    if (increase === 0) continue;
    if (t1 === t0) {
      addAt(out, grid, t1, increase);
      continue;
    }
    const first = Math.max(0, Math.floor((t0 - grid.originMs) / grid.windowMs));
    const last = Math.min(grid.count - 1, Math.floor((t1 - grid.originMs) / grid.windowMs));
    for (let k = first; k <= last; k++) {
      const start = grid.originMs + k * grid.windowMs;
      const overlap = Math.min(t1, start + grid.windowMs) - Math.max(t0, start);
      if (overlap > 0) out[k]! += (increase * overlap) / (t1 - t0);
    }
  }
  return out;
}

function addAt(out: number[], grid: Grid, t: number, amount: number) {
  const k = Math.floor((t - grid.originMs) / grid.windowMs);
  if (k >= 0 && k < grid.count) out[k]! += amount;
}

/** A gauge's mean over the samples in each window (NaN when none fell in it). */
function gaugeMeans(s: Series, grid: Grid): number[] {
  const sums = Array<number>(grid.count).fill(0);
  const counts = Array<number>(grid.count).fill(0);
  s.times.forEach((t, i) => {
    const k = Math.floor((t - grid.originMs) / grid.windowMs);
    if (k < 0 || k >= grid.count) return;
    sums[k]! += s.values[i]!;
    counts[k]!++;
  });
  return sums.map((sum, k) => (counts[k]! > 0 ? sum / counts[k]! : Number.NaN));
}

/** The index of the last element of sorted `times` strictly before `t` (−1 when none). */
function indexBefore(times: number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** The last element of sorted `times` strictly before `t`. */
function lastBefore(times: number[], t: number): number | undefined {
  const i = indexBefore(times, t);
  return i >= 0 ? times[i] : undefined;
}

/** A gap record in [start, end], a silence overlapping it, or [start, end] outside the source's answers. */
function hasGap(c: SourceCoverage, startMs: number, endMs: number, options: WindowOptions): boolean {
  const times = c.times;
  if (startMs < times[0]! || endMs > times[times.length - 1]!) return true;
  const gap = lastBefore(c.gapTimes, endMs + 1);
  if (gap !== undefined && gap >= startMs) return true;
  const maxMs = options.maxIntervalSec !== undefined ? options.maxIntervalSec * 1000 : 5 * medianInterval(c);
  for (
    let i = Math.max(1, indexBefore(times, startMs + 1) + 1);
    i < times.length && times[i - 1]! < endMs;
    i++
  ) {
    if (times[i]! - times[i - 1]! > maxMs) return true;
  }
  return false;
}

const medians = new WeakMap<SourceCoverage, number>();
function medianInterval(c: SourceCoverage): number {
  let m = medians.get(c);
  if (m === undefined) {
    const d = c.times
      .slice(1)
      .map((t, i) => t - c.times[i]!)
      .filter((x) => x > 0)
      .sort((a, b) => a - b);
    m = d.length > 0 ? d[Math.floor(d.length / 2)]! : Infinity;
    medians.set(c, m);
  }
  return m;
}

function addToBucket(byQueue: Record<string, Record<string, number>>, queue: string, le: string, d: number) {
  const buckets = byQueue[queue] ?? {};
  buckets[le] = (buckets[le] ?? 0) + d;
  byQueue[queue] = buckets;
}

/** Window k's figures from the per-series increases and means. */
function windowAt(
  k: number,
  startMs: number,
  durationSec: number,
  increases: Map<Series, number[]>,
  means: Map<Series, number[]>,
): CalibrationWindow {
  const w: CalibrationWindow = {
    startMs,
    durationSec,
    jobs: {},
    processCpuSecPerSec: {},
    queueLatencySec: {},
    queueCompletions: {},
    queueBacklog: {},
    queueWaitBuckets: {},
    queuePushBuckets: {},
  };
  const job = (name: string) =>
    (w.jobs[name] ??= { completions: 0, completionsPerSec: 0, durationSumSec: 0, durationCount: 0 });
  for (const [s, inc] of increases) {
    const d = inc[k]!;
    if (d === 0 && !SIGNED.has(s.metric)) continue;
    const { job_name: jobName, process, queue, le } = s.labels;
    if (s.metric === 'sidekiq_jobs_total' && queue)
      w.queueCompletions[queue] = (w.queueCompletions[queue] ?? 0) + d;
    if (s.metric === 'sidekiq_jobs_total' && jobName) job(jobName).completions += d;
    else if (s.metric.startsWith(TESTBED_QUEUE_LATENCY.name) && queue && le)
      addToBucket(w.queueWaitBuckets, queue, le, d);
    else if (s.metric.startsWith(TESTBED_PUSH_SIZE.name) && queue && le)
      addToBucket(w.queuePushBuckets, queue, le, d);
    else if (s.metric === 'sidekiq_job_duration_seconds_sum' && jobName) job(jobName).durationSumSec += d;
    else if (s.metric === 'sidekiq_job_duration_seconds_count' && jobName) job(jobName).durationCount += d;
    else if (s.metric === 'process_cpu_seconds_total' && process)
      w.processCpuSecPerSec[process] = (w.processCpuSecPerSec[process] ?? 0) + d / durationSec;
    else if (s.metric === 'node_cpu_seconds_total' && !IDLE_MODES.has(s.labels.mode ?? ''))
      w.hostBusyCores = (w.hostBusyCores ?? 0) + d / durationSec;
    else if (s.metric === 'storage_bytes')
      w.storageGrowthBytesPerSec = (w.storageGrowthBytesPerSec ?? 0) + d / durationSec;
    else if (s.metric.startsWith('redis_cpu_'))
      w.redisCpuSecPerSec = (w.redisCpuSecPerSec ?? 0) + d / durationSec;
    else if (s.metric === 'postgres_xact_commit_total')
      w.postgresXactPerSec = (w.postgresXactPerSec ?? 0) + d / durationSec;
  }
  for (const j of Object.values(w.jobs)) j.completionsPerSec = j.completions / durationSec;
  for (const [s, m] of means) {
    const v = m[k]!;
    if (Number.isNaN(v)) continue;
    if (s.metric === 'sidekiq_process_busy') w.sidekiqBusyThreads = (w.sidekiqBusyThreads ?? 0) + v;
    else if (s.metric === 'sidekiq_queue_backlog' && s.labels.queue)
      w.queueBacklog[s.labels.queue] = Math.max(w.queueBacklog[s.labels.queue] ?? 0, v);
    else if (s.labels.queue)
      w.queueLatencySec[s.labels.queue] = Math.max(w.queueLatencySec[s.labels.queue] ?? 0, v);
  }
  return w;
}

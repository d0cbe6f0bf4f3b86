/**
 * A run on one time axis: what k6 saw (request rate, latency percentiles, errors, 429s, dropped
 * iterations) and what the collector saw the instance do (queues, threads, CPU, connections,
 * memory, storage), in bins of seconds since the run's start. Read with the streaming readers
 * of src/results; a run without collector samples has `server: null`.
 */
import { readFile } from 'node:fs/promises';
import type { Sample } from '../../collect/sample.js';
import {
  type Histogram,
  latencyHistogram,
  mergeHistograms,
  percentileMs,
  recordMs,
} from '../../results/histogram.js';
import { isObject } from '../../results/json.js';
import { firstPointTimeMs, type K6PointLine, readK6JsonBatches } from '../../results/k6Json.js';
import { findRunFiles } from '../../results/runFiles.js';
import { readSampleBatches } from '../../results/samples.js';
import { timeMs } from '../../results/time.js';
import { InputError } from '../../shared/errors.js';

/** What k6 saw in one bin; rates per second, latencies in ms (null: no request ended in the bin). */
export interface ClientBin {
  t: number;
  requestsPerSec: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  failedPerSec: number;
  status429PerSec: number;
  droppedPerSec: number;
}

/** One line of a server panel: its value per bin (null where the collector had nothing). */
export interface ServerSeries {
  name: string;
  values: (number | null)[];
}

export interface ServerPanel {
  id: string;
  title: string;
  unit: string;
  series: ServerSeries[];
}

export interface RunTimeline {
  dir: string;
  scenario: string | null;
  startedAt: string;
  durationSec: number;
  binSec: number;
  /** Bin start times, seconds since the run's start. */
  times: number[];
  client: ClientBin[];
  /** null when the run has no samples.ndjson. */
  server: ServerPanel[] | null;
}

/** Bins of a whole number of seconds, at most about 150 of them over the run. */
export function binSecFor(durationSec: number): number {
  for (const s of [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600]) if (durationSec / s <= 150) return s;
  return Math.ceil(durationSec / 150 / 3600) * 3600;
}

/** A server panel: which samples it reads, how a line is named, and whether they are counters (then: rate). */
export interface PanelSource {
  id: string;
  title: string;
  unit: string;
  source: Sample['source'];
  metric: string;
  seriesOf: (labels: Record<string, string>) => string;
  counter?: boolean;
  scale?: number;
}

export const PANELS: readonly PanelSource[] = [
  {
    id: 'queue-size',
    title: 'Sidekiq queue size',
    unit: 'jobs',
    source: 'sidekiq',
    metric: 'sidekiq_queue_size',
    seriesOf: (l) => l.queue ?? '?',
  },
  {
    id: 'queue-latency',
    title: 'Sidekiq queue latency',
    unit: 's',
    source: 'sidekiq',
    metric: 'sidekiq_queue_latency_seconds',
    seriesOf: (l) => l.queue ?? '?',
  },
  {
    id: 'busy-threads',
    title: 'Sidekiq busy threads',
    unit: 'threads',
    source: 'sidekiq',
    metric: 'sidekiq_process_busy',
    seriesOf: () => 'busy',
  },
  {
    id: 'cpu',
    title: 'CPU per process',
    unit: 'cores',
    source: 'process',
    metric: 'process_cpu_seconds_total',
    seriesOf: (l) => l.process ?? '?',
    counter: true,
  },
  {
    id: 'pg-connections',
    title: 'PostgreSQL connections',
    unit: 'connections',
    source: 'postgres',
    metric: 'postgres_connections',
    seriesOf: (l) => l.state ?? 'all',
  },
  {
    id: 'redis-memory',
    title: 'Redis memory',
    unit: 'MB',
    source: 'redis',
    metric: 'redis_used_memory_bytes',
    seriesOf: () => 'used',
    scale: 1 / 2 ** 20,
  },
  {
    id: 'storage',
    title: 'Media storage',
    unit: 'MB',
    source: 'storage',
    metric: 'storage_bytes',
    seriesOf: () => 'stored',
    scale: 1 / 2 ** 20,
  },
];

const K6_METRICS = new Set(['http_reqs', 'http_req_duration', 'http_req_failed', 'dropped_iterations']);

/** Accumulates k6 points into bins. */
class ClientBins {
  private readonly bins = new Map<
    number,
    { reqs: number; failed: number; s429: number; dropped: number; h: Histogram }
  >();
  lastMs = Number.NEGATIVE_INFINITY;
  constructor(
    private readonly startMs: number,
    private readonly binSec: number,
  ) {}

  add(p: K6PointLine): void {
    const ms = timeMs(p.data.time);
    if (ms > this.lastMs) this.lastMs = ms;
    const i = Math.floor((ms - this.startMs) / 1000 / this.binSec);
    let bin = this.bins.get(i);
    if (!bin) {
      bin = { reqs: 0, failed: 0, s429: 0, dropped: 0, h: latencyHistogram() };
      this.bins.set(i, bin);
    }
    if (p.metric === 'http_reqs') {
      bin.reqs += p.data.value;
      if (p.data.tags?.status === '429') bin.s429 += p.data.value;
    } else if (p.metric === 'http_req_duration') recordMs(bin.h, p.data.value);
    else if (p.metric === 'http_req_failed') bin.failed += p.data.value;
    else if (p.metric === 'dropped_iterations') bin.dropped += p.data.value;
  }

  /** The rows in bins of `binSec`, a whole multiple of the bins points were added in. */
  rows(times: readonly number[], binSec: number): ClientBin[] {
    const k = Math.round(binSec / this.binSec);
    return times.map((t, i) => {
      const b = this.merged(i * k, k);
      const per = (n: number) => n / binSec;
      return {
        t,
        requestsPerSec: per(b?.reqs ?? 0),
        p50Ms: b ? percentileMs(b.h, 50) : null,
        p95Ms: b ? percentileMs(b.h, 95) : null,
        p99Ms: b ? percentileMs(b.h, 99) : null,
        failedPerSec: per(b?.failed ?? 0),
        status429PerSec: per(b?.s429 ?? 0),
        droppedPerSec: per(b?.dropped ?? 0),
      };
    });
  }

  /** Bins from..from+count−1 as one (undefined when none holds a point). */
  private merged(from: number, count: number) {
    const parts = Array.from({ length: count }, (_, j) => this.bins.get(from + j)).filter(
      (b) => b !== undefined,
    );
    if (parts.length <= 1) return parts[0];
    const h = mergeHistograms(parts.map((b) => b.h));
    const sum = (f: (b: (typeof parts)[number]) => number) => parts.reduce((a, b) => a + f(b), 0);
    return {
      reqs: sum((b) => b.reqs),
      failed: sum((b) => b.failed),
      s429: sum((b) => b.s429),
      dropped: sum((b) => b.dropped),
      h,
    };
  }
}

/** Raw samples of one panel: per label set, its (time, value) points in file order. */
type Raw = Map<string, { series: string; points: [number, number][] }>;

/**
 * A panel's lines per bin: counters become rates between consecutive samples (a reset skipped), label
 * sets of one line are summed at each sample time, and a bin holds the mean of its sample times.
 */
export function panelSeries(
  raw: Raw,
  panel: PanelSource,
  startMs: number,
  binSec: number,
  bins: number,
): ServerSeries[] {
  const byLine = new Map<string, Map<number, number>>();
  for (const { series, points } of raw.values()) {
    const line = byLine.get(series) ?? new Map<number, number>();
    byLine.set(series, line);
    points.forEach(([t, v], i) => {
      let value = v;
      if (panel.counter) {
        const prev = points[i - 1];
        if (!prev || t <= prev[0] || v < prev[1]) return;
        value = (v - prev[1]) / ((t - prev[0]) / 1000);
      }
      line.set(t, (line.get(t) ?? 0) + value * (panel.scale ?? 1));
    });
  }
  return [...byLine].map(([name, line]) => {
    const sums = new Array<number>(bins).fill(0);
    const counts = new Array<number>(bins).fill(0);
    for (const [t, v] of line) {
      const i = Math.floor((t - startMs) / 1000 / binSec);
      if (i < 0 || i >= bins) continue;
      sums[i]! += v;
      counts[i]! += 1;
    }
    return { name, values: sums.map((s, i) => (counts[i] ? s / counts[i]! : null)) };
  });
}

async function readServer(
  path: string,
  startMs: number,
  binSec: number,
  bins: number,
): Promise<ServerPanel[]> {
  const raws = new Map<string, Raw>(PANELS.map((p) => [p.id, new Map()]));
  const wanted = new Map(PANELS.map((p) => [`${p.source} ${p.metric}`, p]));
  for await (const batch of readSampleBatches(path)) {
    for (const s of batch) {
      const panel = wanted.get(`${s.source} ${s.metric}`);
      if (!panel) continue;
      const raw = raws.get(panel.id)!;
      const key = JSON.stringify(s.labels);
      const entry = raw.get(key) ?? { series: panel.seriesOf(s.labels), points: [] };
      raw.set(key, entry);
      entry.points.push([timeMs(s.time), s.value]);
    }
  }
  return PANELS.map((p) => ({
    id: p.id,
    title: p.title,
    unit: p.unit,
    series: panelSeries(raws.get(p.id)!, p, startMs, binSec, bins).sort((a, b) =>
      a.name.localeCompare(b.name),
    ),
  }));
}

/** The scenario named in run.json, when there is one. */
async function scenarioOf(records: readonly string[]): Promise<string | null> {
  if (!records[0]) return null;
  const doc: unknown = JSON.parse(await readFile(records[0], 'utf8'));
  return isObject(doc) && typeof doc.scenario === 'string' ? doc.scenario : null;
}

/** Read a run directory into one timeline, streaming (a run's k6 file can be gigabytes); bad files are InputErrors. */
export async function readRunTimeline(dir: string): Promise<RunTimeline> {
  const files = await findRunFiles(dir);
  const startMs = files.startMs ?? (await firstPointTimeMs(files.k6[0]!));
  if (startMs === null) throw new InputError(`${files.k6[0]}: no k6 data point, nothing to draw`);
  // Bins are a whole number of seconds chosen from the run's length: from run.json, else 1 s until the end is known.
  const provisional = files.endMs === null ? 1 : binSecFor((files.endMs - startMs) / 1000);
  const client = new ClientBins(startMs, provisional);
  for (const path of files.k6) {
    for await (const batch of readK6JsonBatches(path, { metrics: K6_METRICS })) {
      for (const line of batch) if (line.type === 'Point' && K6_METRICS.has(line.metric)) client.add(line);
    }
  }
  const endMs = Math.max(files.endMs ?? startMs, client.lastMs);
  const durationSec = Math.max(1, (endMs - startMs) / 1000);
  const binSec = Math.max(provisional, binSecFor(durationSec));
  const bins = Math.ceil(durationSec / binSec);
  const times = Array.from({ length: bins }, (_, i) => i * binSec);
  return {
    dir,
    scenario: await scenarioOf(files.records),
    startedAt: new Date(startMs).toISOString(),
    durationSec,
    binSec,
    times,
    client: client.rows(times, binSec),
    server: files.samples ? await readServer(files.samples, startMs, binSec, bins) : null,
  };
}

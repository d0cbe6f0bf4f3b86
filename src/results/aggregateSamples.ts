/**
 * The collector's samples per series (source, metric, labels) and time
 * window: counters as increases and rates, gauges as mean, min and max.
 * The state is one accumulator per (series, window).
 */
import type { Sample, SampleSource } from '../collect/sample.js';
import type { ReadOptions } from './records.js';
import { readSampleBatches } from './samples.js';
import { timeMs } from './time.js';

export interface SampleAggregateOptions {
  /** Window length; default 10 s. */
  windowSec?: number;
  /** Where windows start (the run's start, ms); default: the first sample's time. */
  startMs?: number;
  /** Which metrics are counters; default: Prometheus's counter suffixes (`_total`, and a histogram's `_sum`, `_count`, `_bucket`). */
  isCounter?: (metric: string) => boolean;
}

export interface CounterWindow {
  startMs: number;
  /** What the counter rose by over the intervals that end in this window. */
  increase: number;
  /** Seconds those intervals cover (less than the window when samples are missing; 0 for none). */
  coveredSec: number;
  /** increase / coveredSec, or null when no interval ends in the window. */
  ratePerSec: number | null;
  /** Times the counter went down (its process restarted): the value after a reset counts as the increase. */
  resets: number;
}

export interface GaugeWindow {
  startMs: number;
  count: number;
  mean: number;
  min: number;
  max: number;
}

export interface SampleSeries {
  source: SampleSource;
  metric: string;
  labels: Record<string, string>;
  kind: 'counter' | 'gauge';
  /** In time order; windows without samples (or, for a counter, without an interval ending there) are absent. */
  windows: CounterWindow[] | GaugeWindow[];
}

/** Prometheus text-format conventions for cumulative series (https://prometheus.io/docs/concepts/metric_types/). */
export const isPrometheusCounter = (metric: string): boolean => /_(total|sum|count|bucket)$/.test(metric);

interface Acc {
  /** counter: increase; gauge: sum. */
  sum: number;
  count: number;
  coveredMs: number;
  resets: number;
  min: number;
  max: number;
}

interface SeriesState {
  sample: Sample;
  counter: boolean;
  lastMs: number;
  lastValue: number;
  windows: Map<number, Acc>;
}

/** Accumulates samples into (series, window) cells; `result()` reads them out. */
export class SampleAggregator {
  private readonly windowMs: number;
  private readonly isCounter: (metric: string) => boolean;
  private startMs: number | undefined;
  private readonly series = new Map<string, SeriesState>();

  constructor(options: SampleAggregateOptions = {}) {
    this.windowMs = (options.windowSec ?? 10) * 1000;
    if (!(this.windowMs > 0)) throw new RangeError(`windowSec must be positive, not ${options.windowSec}`);
    this.startMs = options.startMs;
    this.isCounter = options.isCounter ?? isPrometheusCounter;
  }

  /** Add samples in time order per series (as the collector writes them); earlier ones after later are passed over. */
  add(samples: readonly Sample[]): void {
    for (const s of samples) this.addSample(s);
  }

  /** Add one sample. */
  addSample(sample: Sample): void {
    const ms = timeMs(sample.time);
    this.startMs ??= ms;
    const key = seriesKey(sample);
    let state = this.series.get(key);
    if (!state) {
      state = {
        sample,
        counter: this.isCounter(sample.metric),
        lastMs: ms,
        lastValue: sample.value,
        windows: new Map(),
      };
      this.series.set(key, state);
      if (state.counter) return; // a counter's first sample only starts its first interval
    } else if (ms <= state.lastMs) {
      return;
    }
    const acc = accAt(state.windows, Math.floor((ms - this.startMs) / this.windowMs));
    if (state.counter) {
      // Prometheus's rate(): a drop is a reset, after which the counter counted up from 0.
      const reset = sample.value < state.lastValue;
      acc.sum += reset ? sample.value : sample.value - state.lastValue;
      acc.coveredMs += ms - state.lastMs;
      acc.count++;
      if (reset) acc.resets++;
    } else {
      acc.sum += sample.value;
      acc.count++;
      acc.min = Math.min(acc.min, sample.value);
      acc.max = Math.max(acc.max, sample.value);
    }
    state.lastMs = ms;
    state.lastValue = sample.value;
  }

  /** Every series (sorted by source, metric, labels) with its windows. */
  result(): SampleSeries[] {
    const startMs = this.startMs ?? 0;
    return [...this.series.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, s]) => {
        const indexes = [...s.windows.keys()].sort((a, b) => a - b);
        const at = (i: number) => startMs + i * this.windowMs;
        const windows = s.counter
          ? indexes.map((i) => counterWindow(at(i), s.windows.get(i)!))
          : indexes.map((i) => gaugeWindow(at(i), s.windows.get(i)!));
        const { source, metric, labels } = s.sample;
        return { source, metric, labels, kind: s.counter ? 'counter' : 'gauge', windows } as SampleSeries;
      });
  }
}

function seriesKey(s: Sample): string {
  const labels = Object.keys(s.labels)
    .sort()
    .map((k) => `${k}=${s.labels[k]}`)
    .join('\u0001');
  return `${s.source}\u0000${s.metric}\u0000${labels}`;
}

function accAt(windows: Map<number, Acc>, index: number): Acc {
  let acc = windows.get(index);
  if (!acc) {
    acc = { sum: 0, count: 0, coveredMs: 0, resets: 0, min: Infinity, max: -Infinity };
    windows.set(index, acc);
  }
  return acc;
}

function counterWindow(startMs: number, a: Acc): CounterWindow {
  const coveredSec = a.coveredMs / 1000;
  return {
    startMs,
    increase: a.sum,
    coveredSec,
    ratePerSec: coveredSec > 0 ? a.sum / coveredSec : null,
    resets: a.resets,
  };
}

function gaugeWindow(startMs: number, a: Acc): GaugeWindow {
  return { startMs, count: a.count, mean: a.sum / a.count, min: a.min, max: a.max };
}

/** Aggregate a samples file (streamed; see readSamples for bad lines). */
export async function aggregateSampleFile(
  path: string,
  options: SampleAggregateOptions & ReadOptions = {},
): Promise<SampleSeries[]> {
  const aggregator = new SampleAggregator(options);
  for await (const batch of readSampleBatches(path, options)) aggregator.add(batch);
  return aggregator.result();
}

/**
 * Metrics as k6 has them: four types (counter, gauge, rate, trend), each
 * sample a value with tags; sub-metrics (`name{tag:value}`) aggregate the
 * samples whose tags match. Samples stream to the NDJSON writer (k6's
 * `--out json` format) and into in-memory sinks for the end-of-test summary.
 *
 * Built-in names and types follow k6's metrics reference
 * (https://grafana.com/docs/k6/latest/using-k6/metrics/reference/).
 */
import type { K6MetricType, K6Tags, K6ValueType } from '../../results/k6Json.js';

/** The executor writes what src/results reads back: one definition of k6's types. */
export type MetricType = K6MetricType;
export type ValueType = K6ValueType;
export type Tags = K6Tags;

export const BUILTIN_METRICS: Record<string, { type: MetricType; contains: ValueType }> = {
  checks: { type: 'rate', contains: 'default' },
  data_received: { type: 'counter', contains: 'data' },
  data_sent: { type: 'counter', contains: 'data' },
  dropped_iterations: { type: 'counter', contains: 'default' },
  group_duration: { type: 'trend', contains: 'time' },
  iteration_duration: { type: 'trend', contains: 'time' },
  iterations: { type: 'counter', contains: 'default' },
  vus: { type: 'gauge', contains: 'default' },
  vus_max: { type: 'gauge', contains: 'default' },
  http_reqs: { type: 'counter', contains: 'default' },
  http_req_blocked: { type: 'trend', contains: 'time' },
  http_req_connecting: { type: 'trend', contains: 'time' },
  http_req_tls_handshaking: { type: 'trend', contains: 'time' },
  http_req_sending: { type: 'trend', contains: 'time' },
  http_req_waiting: { type: 'trend', contains: 'time' },
  http_req_receiving: { type: 'trend', contains: 'time' },
  http_req_duration: { type: 'trend', contains: 'time' },
  http_req_failed: { type: 'rate', contains: 'default' },
  ws_connecting: { type: 'trend', contains: 'time' },
  ws_session_duration: { type: 'trend', contains: 'time' },
  ws_sessions: { type: 'counter', contains: 'default' },
  ws_msgs_sent: { type: 'counter', contains: 'default' },
  ws_msgs_received: { type: 'counter', contains: 'default' },
  ws_ping: { type: 'trend', contains: 'time' },
};

/** Aggregates of one metric or sub-metric. */
export class Sink {
  count = 0; // samples
  sum = 0;
  min = Infinity;
  max = -Infinity;
  last = 0;
  nonZero = 0; // rate: passes
  private values: Float64Array | null;
  private sorted = true;

  constructor(readonly type: MetricType) {
    this.values = type === 'trend' ? new Float64Array(1024) : null;
  }

  add(value: number): void {
    if (this.values) {
      if (this.count === this.values.length) {
        const grown = new Float64Array(this.values.length * 2);
        grown.set(this.values);
        this.values = grown;
      }
      this.values[this.count] = value;
      this.sorted = false;
    }
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (value !== 0) this.nonZero++;
    this.last = value;
  }

  /** Percentile with linear interpolation between closest ranks (as k6's trend sink). */
  percentile(p: number): number {
    if (!this.values || this.count === 0) return 0;
    if (!this.sorted) {
      this.values.subarray(0, this.count).sort();
      this.sorted = true;
    }
    if (this.count === 1) return this.values[0]!;
    const rank = (p / 100) * (this.count - 1);
    const lo = Math.floor(rank);
    const hi = Math.min(lo + 1, this.count - 1);
    return this.values[lo]! + (this.values[hi]! - this.values[lo]!) * (rank - lo);
  }

  /**
   * The aggregation a threshold or the summary asks for; `durationSec` turns counts into per-second rates.
   */
  aggregate(method: string, durationSec: number): number {
    switch (method) {
      case 'count':
        return this.sum;
      case 'rate':
        if (this.type === 'counter') return durationSec > 0 ? this.sum / durationSec : 0;
        return this.count ? this.nonZero / this.count : 0;
      case 'value':
        return this.last;
      case 'avg':
        return this.count ? this.sum / this.count : 0;
      case 'min':
        return this.count ? this.min : 0;
      case 'max':
        return this.count ? this.max : 0;
      case 'med':
        return this.percentile(50);
      default: {
        const m = /^p\((\d+(?:\.\d+)?)\)$/.exec(method);
        if (m) return this.percentile(Number(m[1]));
        throw new Error(`unknown aggregation ${method}`);
      }
    }
  }
}

export interface Submetric {
  name: string; // e.g. http_req_duration{expected_response:true}
  suffix: string; // expected_response:true
  tags: Tags;
  sink: Sink;
}

export interface Metric {
  name: string;
  type: MetricType;
  contains: ValueType;
  sink: Sink;
  submetrics: Submetric[];
  thresholds: string[];
  declared: boolean; // the Metric line was written
}

/** Which aggregations a threshold may use per metric type (k6 thresholds docs). */
export const AGGREGATIONS: Record<MetricType, RegExp> = {
  counter: /^(count|rate)$/,
  gauge: /^value$/,
  rate: /^rate$/,
  trend: /^(avg|min|max|med|p\(\d+(\.\d+)?\))$/,
};

/** Parse "name{a:b,c:d}" into the metric name and the tag filter. */
export function parseMetricKey(key: string): { name: string; suffix: string; tags: Tags } {
  const m = /^([^{}]+?)\s*(?:\{(.*)\})?$/.exec(key.trim());
  if (!m) throw new Error(`"${key}" is not a metric name with an optional {tag:value} filter`);
  const tags: Tags = {};
  const suffix = m[2] ?? '';
  if (suffix.trim() !== '') {
    for (const part of suffix.split(',')) {
      const i = part.indexOf(':');
      if (i <= 0) throw new Error(`"${key}": tag filter "${part}" is not tag:value`);
      const k = part.slice(0, i).trim();
      let v = part.slice(i + 1).trim();
      if (/^(["']).*\1$/.test(v)) v = v.slice(1, -1);
      tags[k] = v;
    }
  }
  return {
    name: m[1]!.trim(),
    suffix: Object.entries(tags)
      .map(([k, v]) => `${k}:${v}`)
      .join(','),
    tags,
  };
}

/** Sorted-key tags as k6 writes them (its tag sets are ordered by key). */
export function sortTags(tags: Tags): Tags {
  const keys = Object.keys(tags).sort();
  const out: Tags = {};
  for (const k of keys) out[k] = tags[k]!;
  return out;
}

export interface SampleSink {
  metricLine(metric: Metric): void;
  pointLine(metric: string, timeMs: number, value: number, tagsJson: string): void;
}

export class Registry {
  readonly metrics = new Map<string, Metric>();
  out: SampleSink | null = null;
  /** Samples are dropped while false (e.g. after an abort). */
  recording = true;

  constructor() {
    for (const [name, def] of Object.entries(BUILTIN_METRICS)) this.define(name, def.type, def.contains);
    // k6 always keeps this sub-metric for the end-of-test summary.
    this.submetric('http_req_duration{expected_response:true}');
  }

  define(name: string, type: MetricType, contains: ValueType): Metric {
    const existing = this.metrics.get(name);
    if (existing) {
      if (existing.type !== type)
        throw new Error(`metric "${name}" is already a ${existing.type}, cannot redefine it as a ${type}`);
      return existing;
    }
    if (!/^[\p{L}\p{N}._ !?/&#()<>%-]{1,128}$/u.test(name))
      throw new Error(`invalid metric name "${name}": 1-128 letters, digits and ._ !?/&#()<>%-`);
    const metric: Metric = {
      name,
      type,
      contains,
      sink: new Sink(type),
      submetrics: [],
      thresholds: [],
      declared: false,
    };
    this.metrics.set(name, metric);
    return metric;
  }

  submetric(key: string): Submetric {
    const parsed = parseMetricKey(key);
    const metric = this.metrics.get(parsed.name);
    if (!metric) throw new Error(`no metric named "${parsed.name}"`);
    const name = parsed.suffix ? `${parsed.name}{${parsed.suffix}}` : parsed.name;
    const found = metric.submetrics.find((s) => s.name === name);
    if (found) return found;
    const sub: Submetric = { name, suffix: parsed.suffix, tags: parsed.tags, sink: new Sink(metric.type) };
    metric.submetrics.push(sub);
    return sub;
  }

  /** Record one sample; `tagsJson` is JSON.stringify of the (sorted) tags or "null". */
  add(metric: Metric, value: number, tags: Tags | null, timeMs: number, tagsJson?: string): void {
    if (!this.recording) return;
    metric.sink.add(value);
    if (tags) {
      for (const sub of metric.submetrics) {
        let match = true;
        for (const k in sub.tags) {
          if (tags[k] !== sub.tags[k]) {
            match = false;
            break;
          }
        }
        if (match) sub.sink.add(value);
      }
    }
    if (this.out) {
      if (!metric.declared) {
        metric.declared = true;
        this.out.metricLine(metric);
      }
      this.out.pointLine(metric.name, timeMs, value, tagsJson ?? (tags ? JSON.stringify(tags) : 'null'));
    }
  }
}

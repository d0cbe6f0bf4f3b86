import { InputError } from '../shared/errors.js';
import { isObject, isStringRecord, parseJsonObject } from './json.js';
import { type LineParser, type ReadOptions, readRecordBatches, readRecords } from './records.js';
import { RFC3339, timeMs } from './time.js';

/**
 * k6's `--out json` output, one JSON object a line: a `Metric` line the first
 * time a metric is seen, then one `Point` line per sample
 * (https://grafana.com/docs/k6/latest/results-output/real-time/json/).
 * Both are envelopes `{type, data, metric}`; `metric` is the metric's name.
 */
export type K6Line = K6MetricLine | K6PointLine;

export type K6MetricType = 'counter' | 'gauge' | 'rate' | 'trend';
/** What a metric's values measure: `time` values are milliseconds, `data` values bytes. */
export type K6ValueType = 'default' | 'time' | 'data';
export type K6Tags = Record<string, string>;

/** A threshold on tagged samples, e.g. name `http_req_duration{scenario:inbound}`, suffix `scenario:inbound`. */
export interface K6Submetric {
  name: string;
  suffix: string;
  tags: K6Tags;
}

/**
 * Declares a metric. The docs' sample predates k6 v0.4x (`tainted`, no `name`);
 * current k6 writes the fields below, and so does the local executor.
 */
export interface K6MetricLine {
  type: 'Metric';
  data: {
    name: string;
    type: K6MetricType;
    contains: K6ValueType;
    thresholds: string[];
    submetrics: K6Submetric[] | null;
  };
  metric: string;
}

/** One sample. `time` is RFC 3339 (k6 writes nanoseconds and the local offset); `tags` is null when none. */
export interface K6PointLine {
  type: 'Point';
  data: { time: string; value: number; tags: K6Tags | null };
  metric: string;
}

const METRIC_TYPES: readonly string[] = ['counter', 'gauge', 'rate', 'trend'] satisfies K6MetricType[];
const VALUE_TYPES: readonly string[] = ['default', 'time', 'data'] satisfies K6ValueType[];

export interface K6ReadOptions extends ReadOptions {
  /**
   * Return only the Metric lines and the Points of these metrics. The other Point lines are not parsed,
   * only checked to be whole (`{"type":"Point",` … `,"metric":"NAME"}`, k6's envelope): a file of
   * gigabytes is read several times faster when most of its metrics are not wanted.
   */
  metrics?: ReadonlySet<string>;
}

/**
 * Reads a k6 JSON output file (plain or gzip) line by line. A run's file can be gigabytes, so
 * it is streamed, never read whole. Blank lines are skipped; anything else that is not a Metric
 * or Point line is an InputError naming `path:line` (or, with `skipBadLines`, counted there).
 */
export function readK6Json(path: string, options: K6ReadOptions = {}): AsyncIterable<K6Line> {
  return readRecords(path, k6LineParser(options.metrics), options);
}

/** readK6Json a batch at a time (the lines of one chunk of the file): fewer awaits on hot paths. */
export function readK6JsonBatches(path: string, options: K6ReadOptions = {}): AsyncIterable<K6Line[]> {
  return readRecordBatches(path, k6LineParser(options.metrics), options);
}

const POINT_HEAD = '{"type":"Point",';
const METRIC_FIELD = ',"metric":"';

/** parseK6JsonLine, or, given `metrics`, a parser that passes over whole Point lines of other metrics. */
function k6LineParser(metrics: ReadonlySet<string> | undefined): LineParser<K6Line> {
  if (!metrics) return parseK6JsonLine;
  return (text, where) => {
    const field = text.lastIndexOf(METRIC_FIELD);
    if (field > 0 && text.startsWith(POINT_HEAD) && text.endsWith('"}')) {
      const name = text.slice(field + METRIC_FIELD.length, text.length - 2);
      if (!metrics.has(name) && !name.includes('"')) return undefined;
    }
    return parseK6JsonLine(text, where);
  };
}

/** The Point lines, of one metric when `metric` is given, in file order. */
export async function* pointsOf(lines: AsyncIterable<K6Line>, metric?: string): AsyncIterable<K6PointLine> {
  for await (const line of lines) {
    if (line.type === 'Point' && (metric === undefined || line.metric === metric)) yield line;
  }
}

/** One line of k6 JSON output, checked; `where` (`file:line`) prefixes every error. */
export function parseK6JsonLine(text: string, where: string): K6Line {
  const line = parseJsonObject(text, where);
  if (line.type !== 'Metric' && line.type !== 'Point') {
    throw new InputError(
      `${where}: unknown line type ${JSON.stringify(line.type)} (expected "Metric" or "Point")`,
    );
  }
  const fault =
    typeof line.metric !== 'string'
      ? 'without a string metric'
      : !isObject(line.data)
        ? 'without a data object'
        : line.type === 'Point'
          ? pointFault(line.data)
          : metricFault(line.data);
  if (fault) throw new InputError(`${where}: a ${line.type} line ${fault}`);
  // Checked field by field above; the parsed object is returned as is (no copy per sample).
  return line as unknown as K6Line;
}

/** What is wrong with a Point line's data, or null. */
function pointFault(data: Record<string, unknown>): string | null {
  if (typeof data.time !== 'string' || !RFC3339.test(data.time)) return 'without an RFC 3339 data.time';
  if (typeof data.value !== 'number') return 'without a numeric data.value';
  if (data.tags !== null && !isStringRecord(data.tags)) return 'whose data.tags is neither null nor strings';
  return null;
}

/** What is wrong with a Metric line's data, or null. */
function metricFault(data: Record<string, unknown>): string | null {
  if (typeof data.name !== 'string') return 'without a string data.name';
  if (!METRIC_TYPES.includes(data.type as string))
    return `whose data.type is not one of ${METRIC_TYPES.join(', ')}`;
  if (!VALUE_TYPES.includes(data.contains as string))
    return `whose data.contains is not one of ${VALUE_TYPES.join(', ')}`;
  if (!Array.isArray(data.thresholds) || !data.thresholds.every((t) => typeof t === 'string')) {
    return 'whose data.thresholds is not a list of strings';
  }
  if (data.submetrics !== null && !(Array.isArray(data.submetrics) && data.submetrics.every(isSubmetric))) {
    return 'whose data.submetrics is neither null nor a list of {name, suffix, tags}';
  }
  return null;
}

function isSubmetric(s: unknown): boolean {
  return isObject(s) && typeof s.name === 'string' && typeof s.suffix === 'string' && isStringRecord(s.tags);
}

/** The time (ms since the epoch) of a file's first Point line, or null when it has none. */
export async function firstPointTimeMs(path: string, options: ReadOptions = {}): Promise<number | null> {
  for await (const batch of readK6JsonBatches(path, options)) {
    for (const line of batch) if (line.type === 'Point') return timeMs(line.data.time);
  }
  return null;
}

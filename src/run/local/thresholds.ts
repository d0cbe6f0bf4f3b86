/**
 * k6 thresholds: `options.thresholds = { 'metric{tag:value}': ['p(95)<500', { threshold, abortOnFail,
 * delayAbortEval }] }`,
 * each expression `<aggregation> <operator> <value>`
 * (https://grafana.com/docs/k6/latest/using-k6/thresholds/).
 */
import { parseDurationMs } from '../duration.js';
import { AGGREGATIONS, parseMetricKey, type Registry, type Sink } from './metrics.js';

export interface Threshold {
  key: string; // the options key: metric name with an optional tag filter
  metricName: string;
  summaryKey: string; // the metric or normalized sub-metric name in summaries
  source: string; // the expression as written
  aggregation: string;
  operator: string;
  value: number;
  abortOnFail: boolean;
  delayAbortEvalMs: number;
  sink: Sink;
  type: string;
  contains: string;
}

export interface ThresholdResult {
  threshold: Threshold;
  ok: boolean;
  actual: number;
  evaluated: boolean; // false when the metric has no samples (k6 passes it)
}

const EXPR =
  /^\s*(count|rate|value|avg|min|max|med|p\(\s*\d+(?:\.\d+)?\s*\))\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*$/i;

/** Parse and attach `options.thresholds`; throws with a message naming the key and expression. */
export function parseThresholds(raw: unknown, registry: Registry): Threshold[] {
  if (raw === undefined || raw === null) return [];
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new Error('options.thresholds must be an object of metric → expressions');
  const out: Threshold[] = [];
  for (const [key, list] of Object.entries(raw as Record<string, unknown>)) {
    const { name } = parseMetricKey(key);
    const metric = registry.metrics.get(name);
    if (!metric)
      throw new Error(
        `options.thresholds["${key}"]: no metric named "${name}" (built-in metrics and custom metrics declared in the init context)`,
      );
    const sub = key.includes('{') ? registry.submetric(key) : null;
    const sink = sub ? sub.sink : metric.sink;
    const items = Array.isArray(list) ? list : [list];
    for (const item of items) {
      let source: unknown = item;
      let abortOnFail = false;
      let delayAbortEvalMs = 0;
      if (item && typeof item === 'object') {
        const o = item as Record<string, unknown>;
        source = o.threshold;
        abortOnFail = o.abortOnFail === true;
        if (o.delayAbortEval !== undefined)
          delayAbortEvalMs = parseDurationMs(o.delayAbortEval, `options.thresholds["${key}"].delayAbortEval`);
      }
      if (typeof source !== 'string')
        throw new Error(
          `options.thresholds["${key}"]: expected an expression string like "p(95)<500", got ${JSON.stringify(source)}`,
        );
      const m = EXPR.exec(source);
      if (!m)
        throw new Error(
          `options.thresholds["${key}"]: "${source}" is not "<aggregation> <operator> <value>", e.g. "p(95)<500"`,
        );
      const aggregation = m[1]!.replace(/\s+/g, '').toLowerCase();
      if (!AGGREGATIONS[metric.type].test(aggregation)) {
        throw new Error(
          `options.thresholds["${key}"]: "${aggregation}" does not apply to ${name}, a ${metric.type} metric`,
        );
      }
      const pm = /^p\((.*)\)$/.exec(aggregation);
      if (pm && !(Number(pm[1]) >= 0 && Number(pm[1]) <= 100))
        throw new Error(`options.thresholds["${key}"]: percentile ${pm[1]} is outside 0-100`);
      const threshold: Threshold = {
        key,
        metricName: name,
        summaryKey: sub ? sub.name : name,
        source,
        aggregation,
        operator: m[2]!,
        value: Number(m[3]),
        abortOnFail,
        delayAbortEvalMs,
        sink,
        type: metric.type,
        contains: metric.contains,
      };
      out.push(threshold);
      if (!key.includes('{')) metric.thresholds.push(source);
    }
  }
  return out;
}

function compare(actual: number, op: string, value: number): boolean {
  switch (op) {
    case '<':
      return actual < value;
    case '<=':
      return actual <= value;
    case '>':
      return actual > value;
    case '>=':
      return actual >= value;
    case '==':
    case '===':
      return actual === value;
    case '!=':
      return actual !== value;
    default:
      return false;
  }
}

/**
 * Evaluate every threshold. A metric without samples is not evaluated and
 * passes, except counters, whose count and rate are then 0.
 */
export function evaluateThresholds(thresholds: Threshold[], durationSec: number): ThresholdResult[] {
  return thresholds.map((threshold) => {
    const { sink } = threshold;
    if (sink.count === 0 && threshold.type !== 'counter')
      return { threshold, ok: true, actual: 0, evaluated: false };
    const actual = sink.aggregate(threshold.aggregation, durationSec);
    return { threshold, ok: compare(actual, threshold.operator, threshold.value), actual, evaluated: true };
  });
}

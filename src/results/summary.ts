/**
 * k6's end-of-test summary in either of its JSON shapes: the
 * `--summary-export` file (each metric's values flat, a rate's `rate` named
 * `value`, thresholds as {expr: failed}) or the object handleSummary()
 * receives and scenarios often write out (type, contains, values, thresholds
 * as {expr: {ok}}). It is small: read whole.
 * https://grafana.com/docs/k6/latest/results-output/end-of-test/
 */
import { readFile } from 'node:fs/promises';
import { errnoText, InputError } from '../shared/errors.js';
import type { K6MetricType } from './k6Json.js';
import { isObject } from './json.js';

export interface K6SummaryMetric {
  /** handleSummary says; a summary export does not (null). */
  type: K6MetricType | null;
  /** k6's names (count, rate, avg, min, med, max, p(90), p(95), value, passes, fails…); a rate's share is `rate`. */
  values: Record<string, number>;
  /** Threshold expression → whether it passed. */
  thresholds: Record<string, boolean>;
}

export interface K6Summary {
  format: 'summary-export' | 'handle-summary';
  metrics: Record<string, K6SummaryMetric>;
  /** handleSummary's state.testRunDurationMs; null in a summary export, which lacks it. */
  testRunDurationMs: number | null;
}

const METRIC_TYPES = ['counter', 'gauge', 'rate', 'trend'];

/** Read and check a k6 summary file of either shape; anything else is an InputError naming the file and field. */
export async function readK6Summary(path: string): Promise<K6Summary> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InputError(`${path}: cannot read the k6 summary (${errnoText(err)})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new InputError(`${path}: not JSON (a k6 summary is one JSON document)`);
  }
  if (!isObject(doc) || !isObject(doc.metrics)) {
    throw new InputError(`${path}: no "metrics" object (not a k6 --summary-export or handleSummary file)`);
  }
  const entries = Object.entries(doc.metrics);
  const nested = entries.some(([, m]) => isObject(m) && 'values' in m);
  const metrics: Record<string, K6SummaryMetric> = {};
  for (const [name, m] of entries) {
    const where = `${path}: metrics.${name}`;
    if (!isObject(m)) throw new InputError(`${where} is not an object`);
    metrics[name] = nested ? handleSummaryMetric(m, where) : exportMetric(m, where);
  }
  const duration = isObject(doc.state) ? doc.state.testRunDurationMs : undefined;
  if (duration !== undefined && typeof duration !== 'number') {
    throw new InputError(`${path}: state.testRunDurationMs is not a number`);
  }
  return {
    format: nested ? 'handle-summary' : 'summary-export',
    metrics,
    testRunDurationMs: duration ?? null,
  };
}

function handleSummaryMetric(m: Record<string, unknown>, where: string): K6SummaryMetric {
  if (!METRIC_TYPES.includes(m.type as string)) {
    throw new InputError(`${where}.type is not one of ${METRIC_TYPES.join(', ')}`);
  }
  if (!isObject(m.values)) throw new InputError(`${where}.values is not an object`);
  const thresholds: Record<string, boolean> = {};
  if (m.thresholds !== undefined) {
    if (!isObject(m.thresholds)) throw new InputError(`${where}.thresholds is not an object`);
    for (const [expr, t] of Object.entries(m.thresholds)) {
      if (!isObject(t) || typeof t.ok !== 'boolean') {
        throw new InputError(`${where}.thresholds["${expr}"] is not {ok: boolean}`);
      }
      thresholds[expr] = t.ok;
    }
  }
  return { type: m.type as K6MetricType, values: numbers(m.values, `${where}.values`), thresholds };
}

function exportMetric(m: Record<string, unknown>, where: string): K6SummaryMetric {
  const { thresholds: raw, ...rest } = m;
  const thresholds: Record<string, boolean> = {};
  if (raw !== undefined) {
    if (!isObject(raw)) throw new InputError(`${where}.thresholds is not an object`);
    for (const [expr, failed] of Object.entries(raw)) {
      if (typeof failed !== 'boolean')
        throw new InputError(`${where}.thresholds["${expr}"] is not a boolean`);
      thresholds[expr] = !failed; // the export writes true when the threshold FAILED
    }
  }
  const values = numbers(rest, where);
  // A rate's share is written `value`; passes and fails tell a rate from a gauge (value, min, max).
  if ('passes' in values && 'fails' in values && 'value' in values) {
    values.rate = values.value!;
    delete values.value;
  }
  return { type: null, values, thresholds };
}

function numbers(values: Record<string, unknown>, where: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, v] of Object.entries(values)) {
    if (typeof v !== 'number') throw new InputError(`${where}.${key} is not a number`);
    out[key] = v;
  }
  return out;
}

import parsePrometheusTextFormat from 'parse-prometheus-text-format';

/** One sample line of an exposition: a histogram's `NAME_bucket{le}`, `NAME_sum`, `NAME_count` each one. */
export interface PromSeries {
  name: string;
  labels: Record<string, string>;
  /** As written: NaN and ±Inf included. */
  value: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const TYPE_LINE = /^#\s*TYPE\s+(\S+)\s+(\S+)\s*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
/**
 * A number as the text format writes it (format 0.0.4, "Text format details": Go's ParseFloat, so NaN and
 * Inf in any case, as prom-client's `Nan`).
 */
const FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The value of a sample line; undefined when it is not a number of the text format. */
function parseValue(text: string): number | undefined {
  if (/^[+-]?nan$/i.test(text)) return Number.NaN;
  if (/^\+?inf(inity)?$/i.test(text)) return Number.POSITIVE_INFINITY;
  if (/^-inf(inity)?$/i.test(text)) return Number.NEGATIVE_INFINITY;
  return FLOAT.test(text) ? Number(text) : undefined;
}

/** The sample lines, with each TYPE line checked; HELP and other comments dropped. */
function sampleLines(text: string): string[] {
  const samples: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      if (/^#\s*TYPE\b/.test(line)) {
        const m = TYPE_LINE.exec(line);
        if (!m || !METRIC_NAME.test(m[1]!) || !TYPES.has(m[2]!))
          throw new Error(`line ${i + 1}: not a TYPE line: ${line.slice(0, 120)}`);
      }
      continue;
    }
    samples.push(line);
  }
  return samples;
}

/**
 * The samples of a Prometheus text exposition (format 0.0.4), one per sample line; throws an Error
 * saying what is malformed.
 *
 * The sample lines are parsed by parse-prometheus-text-format (label escaping, timestamps), but fed to it
 * without their TYPE lines: its grouping of histograms and summaries drops every labelled `_sum` and
 * `_count` and merges the buckets of all label sets into one (yunyu/parse-prometheus-text-format issue
 * #13, unmerged PR #8), which would lose `sidekiq_job_duration_seconds{job_name,queue}`. Untyped, each
 * line comes back as itself, `le` and `quantile` as labels. (It also drops the last line when the text
 * does not end with a newline: one is added.)
 */
export function parsePrometheusText(text: string): PromSeries[] {
  const lines = sampleLines(text);
  let families: ReturnType<typeof parsePrometheusTextFormat>;
  try {
    families = parsePrometheusTextFormat(`${lines.join('\n')}\n`);
  } catch (err) {
    throw new Error((err as Error).message.slice(0, 200));
  }
  const series: PromSeries[] = [];
  for (const family of families) {
    if (!METRIC_NAME.test(family.name)) throw new Error(`not a metric name: ${family.name.slice(0, 80)}`);
    for (const m of family.metrics) {
      const value = parseValue(m.value ?? '');
      if (value === undefined)
        throw new Error(`${family.name}: not a number: ${String(m.value).slice(0, 40)}`);
      series.push({ name: family.name, labels: { ...m.labels }, value });
    }
  }
  if (series.length !== lines.length)
    throw new Error(`${lines.length} sample lines but ${series.length} samples (a series repeated?)`);
  return series;
}

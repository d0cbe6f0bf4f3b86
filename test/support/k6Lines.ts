/** k6 `--out json` lines for the results tests, as k6 writes them. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tempDir } from './helpers.js';

const TYPES: Record<string, [string, string]> = {
  http_reqs: ['counter', 'default'],
  http_req_failed: ['rate', 'default'],
  http_req_duration: ['trend', 'time'],
  iterations: ['counter', 'default'],
  dropped_iterations: ['counter', 'default'],
  vus: ['gauge', 'default'],
};

/** A Metric line. */
export function metricLine(metric: string): string {
  const [type, contains] = TYPES[metric] ?? ['trend', 'time'];
  return JSON.stringify({
    type: 'Metric',
    data: { name: metric, type, contains, thresholds: [], submetrics: null },
    metric,
  });
}

/** A Point line at `ms` since the epoch, with k6's nanosecond time. */
export function pointLine(
  metric: string,
  ms: number,
  value: number,
  tags: Record<string, string> | null,
): string {
  const time = new Date(ms).toISOString().replace('Z', '123456Z');
  return JSON.stringify({ type: 'Point', data: { time, value, tags }, metric });
}

/** One request's points as k6 writes them: http_reqs, http_req_duration, http_req_failed, iterations. */
export function requestLines(ms: number, durationMs: number, tags: Record<string, string>): string[] {
  const failed = tags.status === '200' ? 0 : 1;
  return [
    pointLine('http_reqs', ms, 1, tags),
    pointLine('http_req_duration', ms, durationMs, tags),
    pointLine('http_req_failed', ms, failed, tags),
    pointLine('iterations', ms, 1, { scenario: tags.scenario ?? 'default' }),
  ];
}

/** Write lines to `name` in a fresh temp dir (or `dir`), gzipped when asked; returns the path. */
export function writeLines(
  lines: readonly string[],
  name: string,
  opts: { gzip?: boolean; dir?: string } = {},
): string {
  const path = join(opts.dir ?? tempDir('fedicap-results-'), name);
  const text = `${lines.join('\n')}\n`;
  writeFileSync(path, opts.gzip ? gzipSync(text) : text);
  return path;
}

/** Every item of an async iterable. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

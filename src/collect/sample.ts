/**
 * One observation of the instance during a run, a line of `samples.ndjson`:
 * what the collector writes and what results and calibration read back.
 *
 * - `time`: ISO 8601 UTC with milliseconds: when the tick that asked fired (every source of a tick
 *   shares it, which lines the sources up; a slow answer is stamped with its tick, not its arrival).
 * - `source`: which sampler (`sidekiq`, `prometheus`, `process`, `host`,
 *   `postgres`, `redis`, `storage`, `collector`).
 * - `metric`: snake_case with its unit as a suffix (`_seconds`, `_bytes`,
 *   `_total` for counters; Prometheus names as the endpoint exposes them).
 * - `labels`: string values only; `{}` when none.
 *
 * A source that fails to answer writes `{source: 'collector', metric:
 * 'source_up', value: 0, labels: {of: SOURCE, name, error}}` once per
 * failed attempt (the gap; `name` tells two sources of one kind apart), and `value: 1` on its first
 * answer after one.
 */
export interface Sample {
  time: string;
  source: SampleSource;
  metric: string;
  value: number;
  labels: Record<string, string>;
}

export const SAMPLE_SOURCES = [
  'sidekiq',
  'prometheus',
  'process',
  'host',
  'postgres',
  'redis',
  'storage',
  'collector',
] as const;
export type SampleSource = (typeof SAMPLE_SOURCES)[number];

/** The collector's file in a run directory. */
export const SAMPLES_FILE = 'samples.ndjson';

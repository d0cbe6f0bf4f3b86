import type { Sample, SampleSource } from './sample.js';

/**
 * One thing the collector observes (Sidekiq's Redis, a Prometheus endpoint,
 * a process, PostgreSQL, Redis, a media directory). The collector calls
 * `sample` once per interval; a rejection is a gap (recorded, retried at the
 * next interval), never the end of the collection. A sampler only reads.
 */
export interface Sampler {
  readonly source: SampleSource;
  /** What identifies this instance of the source in status lines and gap records (a URL without credentials, a PID, a path). */
  readonly name: string;
  /** The samples of one observation, each stamped `time`. */
  sample(time: string): Promise<Sample[]>;
  /** Release connections; called once, after the last `sample`. */
  close(): Promise<void>;
}

import { InputError } from '../shared/errors.js';
import { type CollectSummary, collect } from './collector.js';
import { buildSamplers, type CollectSources, checkOut, checkSources } from './options.js';
import type { StatusSink } from './status.js';

export type { CollectSummary, SourceSummary } from './collector.js';
export { type CollectSources, namesASource } from './options.js';
export { SAMPLES_FILE, type Sample } from './sample.js';

export interface CollectionOptions extends CollectSources {
  /** The samples file (in a run directory: SAMPLES_FILE). */
  out: string;
  /** Default 1 s. */
  intervalMs?: number;
  /** Stop by itself after this long; otherwise at `stop()`. */
  durationMs?: number;
  /** Live status (stderr); none when absent. */
  status?: StatusSink;
}

export interface Collection {
  /** Stop sampling, close the sources, rename the file into place. */
  stop(): Promise<CollectSummary>;
  /** Settles when the collection ends by itself (its duration) or after `stop()`. */
  done: Promise<CollectSummary>;
}

/**
 * Start observing the instance: `fedicap collect` and `fedicap run --collect`
 * (which stops it when the run ends). Every flag is checked before anything
 * is opened: bad input throws an InputError and leaves nothing at `out`.
 */
export function startCollection(options: CollectionOptions): Collection {
  if (options.intervalMs !== undefined && !(Number.isFinite(options.intervalMs) && options.intervalMs > 0))
    throw new InputError(`--interval must be > 0, got ${options.intervalMs} ms`);
  if (options.durationMs !== undefined && !(Number.isFinite(options.durationMs) && options.durationMs > 0))
    throw new InputError(`--duration must be > 0, got ${options.durationMs} ms`);
  const checked = checkSources(options);
  const out = checkOut(options.out);
  const stopper = new AbortController();
  const done = collect({
    samplers: buildSamplers(checked),
    out,
    intervalMs: options.intervalMs,
    durationMs: options.durationMs,
    signal: stopper.signal,
    status: options.status,
  });
  // The caller may only look at `done` when it stops; a failure meanwhile is not "unhandled".
  done.catch(() => undefined);
  return {
    done,
    stop() {
      stopper.abort();
      return done;
    },
  };
}

import { Counter, Histogram, type Registry, Summary } from 'prom-client';
import { TESTBED_PUSH_SIZE, TESTBED_QUEUE_LATENCY } from '../../../src/mastodon/exporterMetrics.js';
import { GEM_SUMMARY } from '../web/instruments.js';

/**
 * The per-job metrics of the prometheus_exporter gem's Sidekiq middleware
 * (PrometheusExporter::Server::SidekiqCollector, server/sidekiq_collector.rb), unprefixed as
 * Mastodon's local mode serves them (src/mastodon/exporterMetrics.ts: Mastodon adds no prefix), with
 * the gem's labels `job_name` (the job class) and `queue`:
 *
 * - `sidekiq_job_duration_seconds`: a summary (the gem's default aggregation)
 *   of the time spent in `perform`, for every job that ran to an end;
 * - `sidekiq_jobs_total`: jobs that ran to an end, successful or not;
 * - `sidekiq_failed_jobs_total`: those that raised;
 * - `sidekiq_dead_jobs_total`: jobs moved to the dead set;
 * - `sidekiq_restarted_jobs_total`: jobs pushed back to their queue at shutdown;
 *
 * and two of the testbed's own, which Mastodon does not export: TESTBED_QUEUE_LATENCY, a histogram per
 * queue of each job's wait from `enqueued_at` to its start, and TESTBED_PUSH_SIZE, of the jobs each
 * push to a queue carried (recorded by the process that pushed: `recordPush`).
 *
 * One set per Registry, shared by everything that records into it: `recordJob`
 * (for each job a Sidekiq process reports) gets them with `sidekiqInstruments(registry)`, which creates
 * them on first use (or adopts ones already in the Registry under those names).
 */
export interface SidekiqInstruments {
  jobDurationSec: Summary<'job_name' | 'queue'>;
  jobsTotal: Counter<'job_name' | 'queue'>;
  failedJobsTotal: Counter<'job_name' | 'queue'>;
  deadJobsTotal: Counter<'job_name' | 'queue'>;
  restartedJobsTotal: Counter<'job_name' | 'queue'>;
  jobQueueLatencySec: Histogram<'queue'>;
  pushJobs: Histogram<'queue'>;
}

const byRegistry = new WeakMap<Registry, SidekiqInstruments>();
const LABELS = ['job_name', 'queue'] as const;

function counter(registry: Registry, name: string, help: string): Counter<'job_name' | 'queue'> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<'job_name' | 'queue'>;
  return new Counter({ name, help, labelNames: LABELS, registers: [registry] });
}

export function sidekiqInstruments(registry: Registry): SidekiqInstruments {
  let found = byRegistry.get(registry);
  if (found) return found;
  const durationName = 'sidekiq_job_duration_seconds';
  const jobDurationSec =
    (registry.getSingleMetric(durationName) as Summary<'job_name' | 'queue'> | undefined) ??
    new Summary({
      name: durationName,
      help: 'Total time spent in sidekiq jobs.',
      labelNames: LABELS,
      // The gem's quantiles and sliding window, so quantiles follow the current load as its do.
      ...GEM_SUMMARY,
      registers: [registry],
    });
  found = {
    jobDurationSec,
    jobsTotal: counter(registry, 'sidekiq_jobs_total', 'Total number of sidekiq jobs executed.'),
    failedJobsTotal: counter(registry, 'sidekiq_failed_jobs_total', 'Total number of failed sidekiq jobs.'),
    deadJobsTotal: counter(registry, 'sidekiq_dead_jobs_total', 'Total number of dead sidekiq jobs.'),
    restartedJobsTotal: counter(
      registry,
      'sidekiq_restarted_jobs_total',
      'Total number of sidekiq jobs that we restarted because of a sidekiq shutdown.',
    ),
    jobQueueLatencySec:
      (registry.getSingleMetric(TESTBED_QUEUE_LATENCY.name) as Histogram<'queue'> | undefined) ??
      new Histogram({
        name: TESTBED_QUEUE_LATENCY.name,
        help: "Each job's wait from enqueued_at to its start (fedicap's testbed only).",
        labelNames: ['queue'],
        buckets: [...TESTBED_QUEUE_LATENCY.bucketsSec],
        registers: [registry],
      }),
    pushJobs:
      (registry.getSingleMetric(TESTBED_PUSH_SIZE.name) as Histogram<'queue'> | undefined) ??
      new Histogram({
        name: TESTBED_PUSH_SIZE.name,
        help: 'Jobs per push to a queue: 1 for perform_async, the fan-out for push_bulk (fedicap testbed only).',
        labelNames: ['queue'],
        buckets: [...TESTBED_PUSH_SIZE.buckets],
        registers: [registry],
      }),
  };
  byRegistry.set(registry, found);
  return found;
}

/** How a job's run ended: `restarted` when it was pushed back to its queue at shutdown. */
export type JobOutcome = 'succeeded' | 'failed' | 'dead' | 'restarted';

/** One job's end, as the gem's middleware reports it to the exporter. */
export interface FinishedJob {
  jobName: string;
  queue: string;
  outcome: JobOutcome;
  durationSec: number;
  /** now − enqueued_at when it started; null when the job carried no enqueued_at. */
  queueWaitSec: number | null;
  /** When it raised: what Sidekiq's error handler logs (the testbed's error log takes it). */
  failure?: JobFailure;
}

/** A job that raised: which one, why, and where it went (retry set, dead set, or dropped). */
export interface JobFailure {
  jid: string | null;
  errorClass: string;
  message: string;
  /** The job's retry_count after this failure (null on a first failure that is not retried). */
  retryCount: number | null;
  next: 'retry' | 'dead' | 'dropped';
  /** When it runs again (epoch seconds), for `retry`. */
  retryAtSec?: number;
  /** Its arguments as JSON, cut to 300 characters (ids, and the start of any payload). */
  args: string;
}

/** Count a finished job in the registry's instruments (a job sent to `dead` has failed too). */
export function recordJob(registry: Registry, job: FinishedJob): void {
  const instruments = sidekiqInstruments(registry);
  const labels = { job_name: job.jobName, queue: job.queue };
  if (job.outcome === 'dead') instruments.deadJobsTotal.inc(labels);
  if (job.outcome === 'failed' || job.outcome === 'dead') instruments.failedJobsTotal.inc(labels);
  if (job.outcome === 'restarted') instruments.restartedJobsTotal.inc(labels);
  instruments.jobsTotal.inc(labels);
  instruments.jobDurationSec.observe(labels, job.durationSec);
  // A restarted job is started again later: its first wait is counted once, when it ends for good.
  if (job.queueWaitSec !== null && job.outcome !== 'restarted')
    instruments.jobQueueLatencySec.observe({ queue: job.queue }, job.queueWaitSec);
}

/** One push of `jobs` jobs onto `queue` (a push_bulk of 2,500 is one push, as the pool sees it arrive). */
export function recordPush(registry: Registry, queue: string, jobs: number): void {
  if (jobs > 0) sidekiqInstruments(registry).pushJobs.observe({ queue }, jobs);
}

import { withInjectedCpu } from '../faults.js';
import { closeContext, openContext } from '../openContext.js';
import { startSidekiq } from '../sidekiq/processor.js';
import type { RoleRunner } from './role.js';
import type { LogEntry } from '../log.js';
import type { FinishedJob, JobFailure } from '../sidekiq/instruments.js';

/** Sidekiq's "Job raised exception" line, structured: class, queue, jid, error, and what happens next. */
function jobFailureEntry(job: FinishedJob, f: JobFailure): LogEntry {
  return {
    level: f.next === 'retry' ? 'warn' : 'error',
    event: 'job_failed',
    message: f.message,
    error_class: f.errorClass,
    job_class: job.jobName,
    queue: job.queue,
    jid: f.jid,
    retry_count: f.retryCount,
    next: f.next,
    retry_at: f.retryAtSec === undefined ? null : new Date(f.retryAtSec * 1000).toISOString(),
    args: f.args,
  };
}

/**
 * One Sidekiq process of a unit: `-c` threads fetching the unit's queues, its heartbeat in `processes`,
 * its own retry/schedule poller. Each job's end goes to the primary's exporter.
 */
export const runSidekiqProcess: RoleRunner<'sidekiq'> = async (start, _listening, link) => {
  const tb = await openContext(start.config, start.address);
  const sidekiq = await startSidekiq({
    newRedis: tb.newRedis,
    units: [{ ...start.unit, processes: 1 }],
    workers: withInjectedCpu(tb.workers, start.config.faults),
    onJobEnd: (job) => {
      void link.send({ kind: 'job', job });
      if (job.failure) void link.send({ kind: 'log', entry: jobFailureEntry(job, job.failure) });
    },
    pollIntervalMs: start.pollIntervalMs,
  });
  return {
    metrics: tb.metrics,
    identity: sidekiq.identities[0]!,
    async stop() {
      await sidekiq.stop();
      await closeContext(tb);
    },
  };
};

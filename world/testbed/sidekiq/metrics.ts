import type { Redis } from 'ioredis';
import { Gauge, type Registry } from 'prom-client';
import { sidekiqInstruments } from './instruments.js';
import { SidekiqStats, type SidekiqSnapshot } from './stats.js';
import type { WorkerRegistry } from './types.js';

/**
 * Sidekiq's state in Redis as Mastodon's prometheus_exporter shows it
 * (the gem's instrumentation SidekiqStats / SidekiqQueue / SidekiqProcess and
 * server/sidekiq_{stats,queue,process}_collector.rb; unprefixed as in Mastodon's
 * local mode, src/mastodon/exporterMetrics.ts), read from Redis at scrape time:
 *
 * - `sidekiq_queue_backlog{queue}` and
 *   `sidekiq_queue_latency_seconds{queue}` (now − enqueued_at of the
 *   oldest job; the gem truncates it to whole seconds, the testbed does not),
 *   for every queue in `queues` and every queue a job class names;
 * - `sidekiq_stats_{processed,failed,enqueued,retry_size,scheduled_size,dead_size,processes_size,workers_size}`;
 * - `sidekiq_process_{busy,concurrency}` with the gem's labels
 *   (hostname, identity, queues, quiet, tag, labels), one series per live process.
 *
 * The per-job series (`sidekiq_job_duration_seconds`, `…_jobs_total`,
 * `…_failed_jobs_total`, `…_dead_jobs_total`, `…_restarted_jobs_total`) are
 * created here too (see instruments.ts) and recorded by the processor.
 */
export function registerSidekiqMetrics(metrics: Registry, redis: Redis, workers: WorkerRegistry): void {
  sidekiqInstruments(metrics);
  const existing = bound.get(metrics);
  if (existing) {
    // Registered before: read through the newest connection and job classes.
    existing.stats = new SidekiqStats(redis);
    existing.workers = workers;
    return;
  }
  const state: State = { stats: new SidekiqStats(redis), workers, inFlight: undefined };
  bound.set(metrics, state);

  /**
   * One Redis read per scrape: the Registry collects all gauges at once, so
   * they share the read in flight. A failed read leaves the gauges empty
   * (the scrape still answers, as the gem's would without fresh data).
   */
  const snapshot = (): Promise<SidekiqSnapshot | undefined> => {
    state.inFlight ??= state.stats
      .snapshot()
      .catch(() => undefined)
      .finally(() => {
        state.inFlight = undefined;
      });
    return state.inFlight;
  };

  const queueGauge = (name: string, help: string, pick: (q: SidekiqSnapshot['queues'][number]) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['queue'],
      registers: [metrics],
      async collect() {
        this.reset();
        const snap = await snapshot();
        if (!snap) return;
        const seen = new Set<string>();
        for (const q of snap.queues) {
          seen.add(q.name);
          this.set({ queue: q.name }, pick(q));
        }
        for (const w of Object.values(state.workers)) {
          if (w && !seen.has(w.queue)) {
            seen.add(w.queue);
            this.set({ queue: w.queue }, 0);
          }
        }
      },
    });
  queueGauge('sidekiq_queue_backlog', 'Size of the sidekiq queue.', (q) => q.size);
  queueGauge('sidekiq_queue_latency_seconds', 'Latency of the sidekiq queue.', (q) => q.latencySec);

  const statsGauges: [keyof SidekiqSnapshot, string, string][] = [
    ['deadSize', 'dead_size', 'Size of dead the queue'],
    ['enqueued', 'enqueued', 'Number of enqueued jobs'],
    ['failed', 'failed', 'Number of failed jobs'],
    ['processed', 'processed', 'Total number of processed jobs'],
    ['processesSize', 'processes_size', 'Number of processes'],
    ['retrySize', 'retry_size', 'Size of the retries queue'],
    ['scheduledSize', 'scheduled_size', 'Size of the scheduled queue'],
    ['workersSize', 'workers_size', 'Number of jobs actively being processed'],
  ];
  for (const [field, suffix, help] of statsGauges) {
    new Gauge({
      name: `sidekiq_stats_${suffix}`,
      help,
      registers: [metrics],
      async collect() {
        this.reset();
        const snap = await snapshot();
        if (snap) this.set(snap[field] as number);
      },
    });
  }

  const processLabels = ['hostname', 'identity', 'queues', 'quiet', 'tag', 'labels'] as const;
  for (const [field, help] of [
    ['busy', 'Number of running jobs'],
    ['concurrency', 'Maximum concurrency'],
  ] as const) {
    new Gauge({
      name: `sidekiq_process_${field}`,
      help,
      labelNames: processLabels,
      registers: [metrics],
      async collect() {
        this.reset();
        const snap = await snapshot();
        for (const p of snap?.processes ?? []) {
          this.set(
            {
              hostname: p.hostname,
              identity: p.identity,
              queues: [...p.queues].sort().join(','),
              quiet: String(p.quiet),
              tag: p.tag,
              labels: [...p.labels].sort().join(','),
            },
            p[field],
          );
        }
      },
    });
  }
}

interface State {
  stats: SidekiqStats;
  workers: WorkerRegistry;
  inFlight: Promise<SidekiqSnapshot | undefined> | undefined;
}

const bound = new WeakMap<Registry, State>();

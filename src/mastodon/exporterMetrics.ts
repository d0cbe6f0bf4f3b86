/**
 * The Prometheus names of Mastodon's metrics, as an operator's scrape sees them.
 *
 * Mastodon 4.4+ (config/initializers/prometheus_exporter.rb, config/initializers/sidekiq.rb, with
 * MASTODON_PROMETHEUS_EXPORTER_ENABLED=true) reports through the prometheus_exporter gem
 * (discourse/prometheus_exporter, 2.3). There is no `mastodon_` prefix anywhere:
 *
 * - local mode (MASTODON_PROMETHEUS_EXPORTER_LOCAL=true, lib/mastodon/prometheus_exporter/local_server.rb)
 *   starts the gem's WebServer inside the process, port 9394: names UNPREFIXED (the gem's
 *   Metric::Base.default_prefix is empty unless set);
 * - the gem's standalone exporter (`bin/prometheus_exporter`, lib/prometheus_exporter/server/runner.rb)
 *   sets the prefix to PrometheusExporter::DEFAULT_PREFIX, `ruby_`.
 *
 * `canonicalExporterName` maps both spellings to the unprefixed one, so readers name one metric.
 * The streaming server (Node, streaming/metrics.js) has its own /metrics via prom-client, never prefixed.
 */

export type ExporterMetricType = 'counter' | 'gauge' | 'summary' | 'histogram';

export interface ExporterMetric {
  readonly type: ExporterMetricType;
  /** The labels the gem or the streaming server sets (custom labels may add more). */
  readonly labels: readonly string[];
}

/** The gem's standalone exporter prefixes every name with this (PrometheusExporter::DEFAULT_PREFIX). */
export const STANDALONE_EXPORTER_PREFIX = 'ruby_';
/** PrometheusExporter::DEFAULT_PORT, and MASTODON_PROMETHEUS_EXPORTER_PORT's default. */
export const EXPORTER_DEFAULT_PORT = 9394;

/**
 * The gem's metrics Mastodon turns on. Summaries are the gem's default aggregation
 * (Metric::Base.default_aggregation = Summary; quantiles 0.99, 0.9, 0.5, 0.1, 0.01, lib/prometheus_exporter/metric/summary.rb).
 */
export const GEM_METRICS = {
  // lib/prometheus_exporter/server/sidekiq_collector.rb: labels job_name (the job class) and queue
  // (instrumentation/sidekiq.rb). Only with MASTODON_PROMETHEUS_EXPORTER_SIDEKIQ_DETAILED_METRICS=true.
  sidekiq_job_duration_seconds: { type: 'summary', labels: ['job_name', 'queue'] },
  sidekiq_jobs_total: { type: 'counter', labels: ['job_name', 'queue'] },
  sidekiq_restarted_jobs_total: { type: 'counter', labels: ['job_name', 'queue'] },
  sidekiq_failed_jobs_total: { type: 'counter', labels: ['job_name', 'queue'] },
  sidekiq_dead_jobs_total: { type: 'counter', labels: ['job_name', 'queue'] },
  // server/sidekiq_queue_collector.rb (instrumentation/sidekiq_queue.rb: latency truncated to whole
  // seconds, `queue.latency.to_i`); reported by every process that works the queue, so not to be summed.
  sidekiq_queue_backlog: { type: 'gauge', labels: ['queue'] },
  sidekiq_queue_latency_seconds: { type: 'gauge', labels: ['queue'] },
  // server/sidekiq_process_collector.rb, labels from instrumentation/sidekiq_process.rb.
  sidekiq_process_busy: {
    type: 'gauge',
    labels: ['labels', 'queues', 'quiet', 'tag', 'hostname', 'identity'],
  },
  sidekiq_process_concurrency: {
    type: 'gauge',
    labels: ['labels', 'queues', 'quiet', 'tag', 'hostname', 'identity'],
  },
  // server/sidekiq_stats_collector.rb: Sidekiq::Stats, the same for every process; gauges, even `processed`.
  sidekiq_stats_dead_size: { type: 'gauge', labels: [] },
  sidekiq_stats_enqueued: { type: 'gauge', labels: [] },
  sidekiq_stats_failed: { type: 'gauge', labels: [] },
  sidekiq_stats_processed: { type: 'gauge', labels: [] },
  sidekiq_stats_processes_size: { type: 'gauge', labels: [] },
  sidekiq_stats_retry_size: { type: 'gauge', labels: [] },
  sidekiq_stats_scheduled_size: { type: 'gauge', labels: [] },
  sidekiq_stats_workers_size: { type: 'gauge', labels: [] },
  // server/web_collector.rb, labels from middleware.rb#default_labels (controller_path, action_name).
  // Only http_request_queue_duration_seconds unless MASTODON_PROMETHEUS_EXPORTER_WEB_DETAILED_METRICS=true
  // (lib/mastodon/middleware/prometheus_queue_time.rb).
  http_requests_total: { type: 'counter', labels: ['controller', 'action', 'status'] },
  http_request_duration_seconds: { type: 'summary', labels: ['controller', 'action'] },
  http_request_redis_duration_seconds: { type: 'summary', labels: ['controller', 'action'] },
  http_request_sql_duration_seconds: { type: 'summary', labels: ['controller', 'action'] },
  http_request_queue_duration_seconds: { type: 'summary', labels: ['controller', 'action'] },
  // server/active_record_collector.rb (Mastodon passes custom_labels {type} and config_labels database, host).
  active_record_connection_pool_connections: { type: 'gauge', labels: ['pid', 'hostname', 'pool_name'] },
  active_record_connection_pool_busy: { type: 'gauge', labels: ['pid', 'hostname', 'pool_name'] },
  active_record_connection_pool_dead: { type: 'gauge', labels: ['pid', 'hostname', 'pool_name'] },
  active_record_connection_pool_idle: { type: 'gauge', labels: ['pid', 'hostname', 'pool_name'] },
  active_record_connection_pool_waiting: { type: 'gauge', labels: ['pid', 'hostname', 'pool_name'] },
  active_record_connection_pool_size: { type: 'gauge', labels: ['pid', 'hostname', 'pool_name'] },
  // server/process_collector.rb (Process.start type: 'sidekiq' in Mastodon's Sidekiq initializer).
  rss: { type: 'gauge', labels: ['pid', 'hostname', 'type'] },
  heap_live_slots: { type: 'gauge', labels: ['pid', 'hostname', 'type'] },
  heap_free_slots: { type: 'gauge', labels: ['pid', 'hostname', 'type'] },
  major_gc_ops_total: { type: 'counter', labels: ['pid', 'hostname', 'type'] },
  minor_gc_ops_total: { type: 'counter', labels: ['pid', 'hostname', 'type'] },
  allocated_objects_total: { type: 'counter', labels: ['pid', 'hostname', 'type'] },
} as const satisfies Record<string, ExporterMetric>;

export type GemMetricName = keyof typeof GEM_METRICS;

/**
 * The streaming server's own metrics (mastodon streaming/metrics.js, prom-client; its /metrics on the
 * streaming port), `type` being `websocket` or `eventsource`.
 */
export const STREAMING_METRICS = {
  connected_clients: { type: 'gauge', labels: ['type'] },
  connected_channels: { type: 'gauge', labels: ['type', 'channel'] },
  redis_subscriptions: { type: 'gauge', labels: [] },
  redis_messages_received_total: { type: 'counter', labels: [] },
  messages_sent_total: { type: 'counter', labels: ['type'] },
  pg_pool_total_connections: { type: 'gauge', labels: [] },
  pg_pool_idle_connections: { type: 'gauge', labels: [] },
  pg_pool_waiting_queries: { type: 'gauge', labels: [] },
} as const satisfies Record<string, ExporterMetric>;

/**
 * Not Mastodon's: fedicap's testbed also serves each job's wait from `enqueued_at` to its start, a
 * histogram per queue, so that `fedicap validate testbed` can hold the model's p95 queue latency to
 * the jobs' own (Sidekiq's API and Mastodon's exporter give only the oldest waiting job's age).
 * Buckets from 0.5 ms to about 60 s in steps of 25 %.
 */
export const TESTBED_QUEUE_LATENCY = {
  name: 'fedicap_testbed_sidekiq_job_queue_latency_seconds',
  bucketsSec: Array.from({ length: 53 }, (_, i) => 0.0005 * 1.25 ** i),
} as const;

/**
 * Not Mastodon's either: the testbed counts each push to a queue by how many jobs it carried
 * (`perform_async` 1, `push_bulk` the fan-out), a histogram per queue, so that validation knows the
 * batches a pool is fed (Mastodon's fan-out pushes a FeedInsertWorker per follower at once). On a real
 * instance the profile's follower spreads stand in for it.
 */
export const TESTBED_PUSH_SIZE = {
  name: 'fedicap_testbed_sidekiq_push_jobs',
  buckets: [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 150, 200, 300, 500, 1000],
} as const;

/** The quantiles of the gem's summaries (metric/summary.rb DEFAULT_QUANTILES). */
export const GEM_SUMMARY_QUANTILES = [0.99, 0.9, 0.5, 0.1, 0.01] as const;
/**
 * The gem's summaries keep two buffers, rotated every ROTATE_AGE = 120 s, and compute quantiles over
 * both: a sliding window of 120 to 240 s.
 */
export const GEM_SUMMARY_ROTATE_SEC = 120;

/** The series suffixes of summaries and histograms in the text format. */
const SERIES_SUFFIXES = ['_sum', '_count', '_bucket'] as const;

function isGemMetric(name: string): boolean {
  if (Object.hasOwn(GEM_METRICS, name)) return true;
  const suffix = SERIES_SUFFIXES.find((s) => name.endsWith(s));
  return suffix !== undefined && Object.hasOwn(GEM_METRICS, name.slice(0, -suffix.length));
}

/**
 * The name a metric has in Mastodon's local mode: `ruby_sidekiq_jobs_total` → `sidekiq_jobs_total`
 * (also a summary's `…_sum`/`…_count` series). Only the gem's names lose the prefix; anything else
 * (node_exporter, the streaming server, a `ruby_` metric of another exporter) is returned as given.
 */
export function canonicalExporterName(name: string): string {
  if (!name.startsWith(STANDALONE_EXPORTER_PREFIX)) return name;
  const rest = name.slice(STANDALONE_EXPORTER_PREFIX.length);
  return isGemMetric(rest) ? rest : name;
}

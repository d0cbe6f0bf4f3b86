# Reads a Redis database with real Sidekiq's Ruby API (Sidekiq::Stats, Queue,
# RetrySet, DeadSet, ScheduledSet, ProcessSet, Workers) and prints what it
# sees as one JSON document. The testbed's Sidekiq tests compare this with
# what the TypeScript read side (testbed/sidekiq/stats.ts) reports.
#
#   REDIS_URL=redis://127.0.0.1:6379/5 ruby test/testbed/sidekiq_api.rb
require "date"
require "json"
require "logger"
require "sidekiq/api"

Sidekiq.configure_client { |c| c.redis = {url: ENV.fetch("REDIS_URL")} }
Sidekiq.logger.level = Logger::WARN

def job_fields(job)
  {
    klass: job.klass,
    args: job.args,
    jid: job.jid,
    queue: job.queue,
    enqueued_at: job["enqueued_at"],
    created_at: job["created_at"],
    retry: job["retry"],
    retry_count: job["retry_count"],
    error_message: job["error_message"],
    error_class: job["error_class"],
    failed_at: job["failed_at"],
    retried_at: job["retried_at"]
  }
end

def sorted_set(set)
  {size: set.size, entries: set.map { |e| job_fields(e).merge(score: e.score, at: e.at.to_f) }}
end

stats = Sidekiq::Stats.new
history = Sidekiq::Stats::History.new(1)
processes = Sidekiq::ProcessSet.new
work = Sidekiq::Workers.new

out = {
  version: Sidekiq::VERSION,
  stats: {
    processed: stats.processed,
    failed: stats.failed,
    enqueued: stats.enqueued,
    scheduled_size: stats.scheduled_size,
    retry_size: stats.retry_size,
    dead_size: stats.dead_size,
    processes_size: stats.processes_size,
    workers_size: stats.workers_size,
    default_queue_latency: stats.default_queue_latency
  },
  stats_queues: stats.queues,
  history: {processed: history.processed, failed: history.failed},
  queues: Sidekiq::Queue.all.map { |q|
    {name: q.name, size: q.size, latency: q.latency, jobs: q.map { |j| job_fields(j) }}
  },
  retries: sorted_set(Sidekiq::RetrySet.new),
  dead: sorted_set(Sidekiq::DeadSet.new),
  scheduled: sorted_set(Sidekiq::ScheduledSet.new),
  processes: {
    size: processes.size,
    total_concurrency: processes.total_concurrency,
    list: processes.map { |p|
      {
        identity: p.identity,
        hostname: p["hostname"],
        pid: p["pid"],
        tag: p.tag,
        labels: p.labels,
        concurrency: p["concurrency"],
        busy: p["busy"],
        beat: p["beat"],
        queues: p.queues,
        quiet: p.stopping?,
        started_at: p["started_at"]
      }
    }
  },
  work: {
    size: work.size,
    list: work.map { |process_id, tid, w|
      {process: process_id, tid: tid, queue: w["queue"], run_at: w["run_at"], klass: w["payload"]["class"], jid: w["payload"]["jid"]}
    }
  }
}
puts JSON.generate(out)

# frozen_string_literal: true

# The synthetic job of `npm run bench:sidekiq`, loaded with `sidekiq -r`.
# A job burns a fixed Ruby CPU time (thread CPU, holding the interpreter lock
# as real Ruby code does), then sleeps (I/O-like: the lock is released).
# A server middleware records, for every job that succeeded, its enqueued_at,
# start and end (wall clock, ms); a flusher thread pushes the records to Redis
# in one RPUSH every 100 ms, so a job pays an array append, not a round trip.
require 'sidekiq'

module FedicapBench
  RECORDS_KEY = 'fedicap:bench:records'
  FLUSH_PAUSE_SEC = 0.1

  def self.wall_ms
    Process.clock_gettime(Process::CLOCK_REALTIME, :float_millisecond)
  end

  def self.thread_cpu_ms
    Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID, :float_millisecond)
  end

  # Records of finished jobs, waiting for the flusher.
  module Records
    @lock = Mutex.new
    @pending = []

    def self.add(line)
      @lock.synchronize { @pending << line }
    end

    def self.flush
      batch = @lock.synchronize do
        taken = @pending
        @pending = []
        taken
      end
      Sidekiq.redis { |conn| conn.rpush(RECORDS_KEY, batch) } unless batch.empty?
    end

    def self.start_flusher
      Thread.new do
        loop do
          sleep FLUSH_PAUSE_SEC
          flush
        end
      end
    end
  end

  # "enqueued_at_ms start_ms end_ms" per succeeded job; a failure raises past it.
  class RecordMiddleware
    def call(_worker, job, _queue)
      start_ms = FedicapBench.wall_ms
      yield
      enqueued_ms = (job['enqueued_at'] || 0) * 1000.0
      Records.add(format('%.3f %.3f %.3f', enqueued_ms, start_ms, FedicapBench.wall_ms))
    end
  end

  class Job
    include Sidekiq::Worker
    sidekiq_options retry: false

    def perform(cpu_ms, wait_ms)
      burn(cpu_ms) if cpu_ms.positive?
      sleep(wait_ms / 1000.0) if wait_ms.positive?
    end

    private

    # Pure Ruby arithmetic until this thread has used cpu_ms of CPU time.
    def burn(cpu_ms)
      deadline = FedicapBench.thread_cpu_ms + cpu_ms
      x = 0
      x = (x + (x * 7) + 13) % 1_000_003 while FedicapBench.thread_cpu_ms < deadline && spin(x)
      x
    end

    def spin(seed)
      i = 0
      i += (seed & 1) + 1 while i < 400
      true
    end
  end
end

Sidekiq.configure_server do |config|
  config.server_middleware { |chain| chain.add FedicapBench::RecordMiddleware }
  config.on(:startup) { FedicapBench::Records.start_flusher }
  config.on(:shutdown) { FedicapBench::Records.flush }
end

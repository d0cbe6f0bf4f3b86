import { Redis } from 'ioredis';
import { SidekiqStats } from '../mastodon/sidekiqState.js';
import { withoutCredentials } from '../shared/urlSecrets.js';
import type { Sample } from './sample.js';
import type { Sampler } from './sampler.js';

/** Each Redis command of a sample gives up after this long, so a hung server is a gap, not a hang. */
const COMMAND_TIMEOUT_MS = 5000;

/**
 * Sidekiq's state read from its Redis (SIDEKIQ_REDIS_URL, else REDIS_URL),
 * the numbers Sidekiq's own API gives (src/mastodon/sidekiqState.ts mirrors
 * lib/sidekiq/api.rb):
 *
 * - `sidekiq_queue_size{queue}`, `sidekiq_queue_latency_seconds{queue}`: Queue#size and #latency for every
 *   queue in `queues`;
 * - `sidekiq_process_busy{identity,hostname}`, `sidekiq_process_concurrency{identity,hostname}`: each live
 *   process of ProcessSet (its hash still there);
 * - `sidekiq_processed_total`, `sidekiq_failed_total`, `sidekiq_enqueued`, `sidekiq_retry_size`,
 *   `sidekiq_scheduled_size`, `sidekiq_dead_size`, `sidekiq_processes`: Sidekiq::Stats (`sidekiq_processes`
 *   is Stats#processes_size, the `processes` set's size).
 *
 * Read-only: GET, LLEN, LRANGE, ZCARD, SCARD, SMEMBERS, HMGET, and nothing
 * else (unlike `Sidekiq::ProcessSet.new`, it never prunes `processes`).
 */
export class SidekiqRedisSampler implements Sampler {
  readonly source = 'sidekiq' as const;
  readonly name: string;
  private readonly redis: Redis;
  private readonly stats: SidekiqStats;

  constructor(url: string) {
    this.name = withoutCredentials(url);
    this.redis = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: COMMAND_TIMEOUT_MS,
      // Reconnect every second at most: the collector asks again at the next tick anyway.
      retryStrategy: (times) => Math.min(times * 200, 1000),
    });
    // Failures reach the caller of each command; the event only stops ioredis from printing them.
    this.redis.on('error', () => undefined);
    this.stats = new SidekiqStats(this.redis);
  }

  async sample(time: string): Promise<Sample[]> {
    if (this.redis.status === 'wait') await this.redis.connect();
    const snap = await this.stats.snapshot();
    const out: Sample[] = [];
    const add = (metric: string, value: number, labels: Record<string, string> = {}) =>
      out.push({ time, source: 'sidekiq', metric, value, labels });
    for (const q of snap.queues) {
      add('sidekiq_queue_size', q.size, { queue: q.name });
      add('sidekiq_queue_latency_seconds', q.latencySec, { queue: q.name });
    }
    for (const p of snap.processes) {
      add('sidekiq_process_busy', p.busy, { identity: p.identity, hostname: p.hostname });
      add('sidekiq_process_concurrency', p.concurrency, { identity: p.identity, hostname: p.hostname });
    }
    add('sidekiq_processed_total', snap.processed);
    add('sidekiq_failed_total', snap.failed);
    add('sidekiq_enqueued', snap.enqueued);
    add('sidekiq_retry_size', snap.retrySize);
    add('sidekiq_scheduled_size', snap.scheduledSize);
    add('sidekiq_dead_size', snap.deadSize);
    add('sidekiq_processes', snap.processesSize);
    return out;
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

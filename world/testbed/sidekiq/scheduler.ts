import type { Redis } from 'ioredis';
import { QUEUES_KEY, RETRY_KEY, SCHEDULE_KEY, queueKey } from './layout.js';
import type { SidekiqJob } from './types.js';

/**
 * Scheduled::Enq's LUA_ZPOPBYSCORE, same semantics: take the first member
 * of the set with score <= now and ZREM it in one step, so that two pollers
 * never get the same job.
 */
const ZPOPBYSCORE = `
local key, now = KEYS[1], ARGV[1]
local jobs = redis.call("zrangebyscore", key, "-inf", now, "limit", 0, 1)
if jobs[1] then
  redis.call("zrem", key, jobs[1])
  return jobs[1]
end
return false
`;

type WithZpop = Redis & { sidekiqZpopbyscore(key: string, now: string): Promise<string | null> };

function withZpop(redis: Redis): WithZpop {
  const r = redis as WithZpop;
  if (typeof r.sidekiqZpopbyscore !== 'function') {
    redis.defineCommand('sidekiqZpopbyscore', { numberOfKeys: 1, lua: ZPOPBYSCORE });
  }
  return r;
}

/**
 * Move due entries of `retry` and `schedule` into their queues, as
 * Scheduled::Enq#enqueue_jobs: one job at a time, popped atomically, then
 * pushed like Sidekiq::Client.push (enqueued_at = now, SADD queues, LPUSH).
 * A crash between the pop and the push loses that one job, as in Sidekiq.
 * At most `maxPerSet` jobs per set per call; returns how many moved.
 */
export async function enqueueDueJobs(
  redis: Redis,
  opts: { maxPerSet?: number; nowMs?: () => number; isDone?: () => boolean } = {},
): Promise<number> {
  const r = withZpop(redis);
  const max = opts.maxPerSet ?? 1000;
  const now = opts.nowMs ?? Date.now;
  let moved = 0;
  for (const set of [RETRY_KEY, SCHEDULE_KEY]) {
    for (let i = 0; i < max && !opts.isDone?.(); i++) {
      const jobstr = await r.sidekiqZpopbyscore(set, String(now() / 1000));
      if (jobstr === null) break;
      let job: SidekiqJob;
      try {
        job = JSON.parse(jobstr) as SidekiqJob;
      } catch {
        // Sidekiq::Client.push would raise on it; keep it where a human can see it.
        await redis.zadd('dead', String(now() / 1000), jobstr);
        continue;
      }
      const queue = typeof job.queue === 'string' && job.queue ? job.queue : 'default';
      const out = { ...job, queue, enqueued_at: now() / 1000 } as SidekiqJob & { at?: unknown };
      delete out.at;
      await redis.multi().sadd(QUEUES_KEY, queue).lpush(queueKey(queue), JSON.stringify(out)).exec();
      moved++;
    }
  }
  return moved;
}

export interface PollerOptions {
  /**
   * Average period between polls; each wait is uniform in [0.5, 1.5] × this, as Sidekiq's small-cluster
   * jitter.
   */
  intervalMs: number;
  log: (message: string) => void;
  random?: () => number;
}

/**
 * Scheduled::Poller: one per testbed (in Sidekiq every process polls, with
 * jitter; the atomic pop makes any number of pollers safe). Sidekiq's
 * default average is 5 s per process and an initial 5–15 s wait; the testbed
 * polls about every second from the start so retries and perform_in come
 * back promptly.
 */
export class Poller {
  private done = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private failing = false;

  constructor(
    private readonly redis: Redis,
    private readonly opts: PollerOptions,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  private async run(): Promise<void> {
    const random = this.opts.random ?? Math.random;
    while (!this.done) {
      let full = false;
      try {
        const moved = await enqueueDueJobs(this.redis, { isDone: () => this.done });
        full = moved >= 1000;
        if (this.failing) this.opts.log('sidekiq poller: Redis is back');
        this.failing = false;
      } catch (err) {
        if (this.done) break;
        if (!this.failing) this.opts.log(`sidekiq poller: ${(err as Error).message}; retrying`);
        this.failing = true;
      }
      // A full batch means more are due: go again at once (still yielding to the event loop).
      const waitMs = full
        ? 0
        : this.failing
          ? 2 * this.opts.intervalMs
          : this.opts.intervalMs * (0.5 + random());
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, waitMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** Stop polling; resolves once the current pass (bounded) has ended. */
  async stop(): Promise<void> {
    this.done = true;
    this.wake?.();
    await this.loop;
  }
}

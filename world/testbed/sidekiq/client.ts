import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { SidekiqJob, WorkerRegistry } from './types.js';

/** Sidekiq's jid: 12 random bytes, hex. */
export const newJid = () => randomBytes(12).toString('hex');

/** Seconds since the epoch as a float, as Sidekiq 6 stores created_at/enqueued_at. */
export const nowSec = () => Date.now() / 1000;

/**
 * Enqueue jobs the way Sidekiq::Client does: the job JSON is LPUSHed onto
 * `queue:NAME` (workers pop from the right, so the right end is the oldest)
 * and the queue name is added to the `queues` set; a job for later goes to
 * the `schedule` sorted set scored by its run time.
 */
export class SidekiqClient<C extends string = string> {
  constructor(
    private readonly redis: Redis,
    private readonly registry: WorkerRegistry,
    /** Told of each push that reaches a queue: its queue and how many jobs it carried. */
    private readonly onPush: (queue: string, jobs: number) => void = () => undefined,
  ) {}

  private job(className: C, args: unknown[]): SidekiqJob {
    const worker = this.registry[className];
    if (!worker) throw new Error(`unknown job class ${className}`);
    const now = nowSec();
    const job: SidekiqJob = {
      class: className,
      args,
      queue: worker.queue,
      jid: newJid(),
      retry: worker.retry,
      created_at: now,
    };
    // Sidekiq copies a class's sidekiq_options into the job hash; `dead: false` is the one the engine reads.
    if (worker.dead === false) job.dead = false;
    return job;
  }

  /** perform_async. */
  async push(className: C, args: unknown[]): Promise<string> {
    const [jid] = await this.pushBulk(className, [args]);
    return jid!;
  }

  /** push_bulk: one round trip for many jobs of one class (Mastodon fans out this way, 1,000 at a time). */
  async pushBulk(className: C, argsList: unknown[][]): Promise<string[]> {
    if (argsList.length === 0) return [];
    const jobs = argsList.map((args) => this.job(className, args));
    const now = nowSec();
    const queue = jobs[0]!.queue;
    const multi = this.redis.multi().sadd('queues', queue);
    for (let i = 0; i < jobs.length; i += 1000) {
      const batch = jobs.slice(i, i + 1000).map((j) => JSON.stringify({ ...j, enqueued_at: now }));
      multi.lpush(`queue:${queue}`, ...batch);
    }
    await multi.exec();
    this.onPush(queue, jobs.length);
    return jobs.map((j) => j.jid);
  }

  /** perform_in: the job waits in `schedule` until the poller moves it to its queue. */
  async pushIn(className: C, args: unknown[], delaySec: number): Promise<string> {
    const job = this.job(className, args);
    await this.redis.zadd('schedule', String(nowSec() + delaySec), JSON.stringify(job));
    return job.jid;
  }
}

import type { Testbed } from '../context.js';
import { TESTBED_JOB_CLASSES, type TestbedJobClass } from '../jobClasses.js';
import { newJid, nowSec } from '../sidekiq/client.js';
import { recordPush } from '../sidekiq/instruments.js';

/**
 * Job classes the client API enqueues but other parts of the testbed
 * implement (the ActivityPub engine). We coordinate with them by class name
 * only: when the class is registered its own options apply; when it is not
 * (yet), the job is still written in Sidekiq's layout on its queue
 * (TESTBED_JOB_CLASSES) with Mastodon's retry options, so nothing the API accepted is lost.
 */
export const EXTERNAL_JOB_OPTIONS: Partial<
  Record<TestbedJobClass, { retry: boolean | number; dead?: boolean }>
> = {
  'ActivityPub::DistributionWorker': { retry: true },
  'ActivityPub::DeliveryWorker': { retry: 16, dead: false },
  LinkCrawlWorker: { retry: 0 },
};

function rawJob(className: TestbedJobClass, args: unknown[]) {
  const opts = EXTERNAL_JOB_OPTIONS[className];
  if (!opts) throw new Error(`unknown job class ${className}`);
  return {
    class: className,
    args,
    queue: TESTBED_JOB_CLASSES[className],
    jid: newJid(),
    retry: opts.retry,
    created_at: nowSec(),
    ...(opts.dead === false ? { dead: false } : {}),
  };
}

/** perform_async. Job args carry ids as decimal strings: they are bigints beyond 2^53. */
export async function enqueue(tb: Testbed, className: TestbedJobClass, args: unknown[]): Promise<string> {
  const [jid] = await enqueueBulk(tb, className, [args]);
  return jid!;
}

/** push_bulk, 1,000 jobs per LPUSH as Sidekiq does. */
export async function enqueueBulk(
  tb: Testbed,
  className: TestbedJobClass,
  argsList: unknown[][],
): Promise<string[]> {
  if (argsList.length === 0) return [];
  if (tb.workers[className]) return tb.sidekiq.pushBulk(className, argsList);
  const jobs = argsList.map((args) => rawJob(className, args));
  const queue = jobs[0]!.queue;
  const now = nowSec();
  const multi = tb.redis.multi().sadd('queues', queue);
  for (let i = 0; i < jobs.length; i += 1000) {
    multi.lpush(
      `queue:${queue}`,
      ...jobs.slice(i, i + 1000).map((j) => JSON.stringify({ ...j, enqueued_at: now })),
    );
  }
  await multi.exec();
  recordPush(tb.metrics, queue, jobs.length);
  return jobs.map((j) => j.jid);
}

/** perform_in. */
export async function enqueueIn(
  tb: Testbed,
  className: TestbedJobClass,
  args: unknown[],
  delaySec: number,
): Promise<string> {
  if (tb.workers[className]) return tb.sidekiq.pushIn(className, args, delaySec);
  const job = rawJob(className, args);
  await tb.redis.zadd('schedule', String(nowSec() + delaySec), JSON.stringify(job));
  return job.jid;
}

import { describe, expect, it } from 'vitest';
import { DEAD_TIMEOUT_SEC, STATS_TTL_SEC, utcDate } from '../../../../world/testbed/sidekiq/layout.js';
import { killJob } from '../../../../world/testbed/sidekiq/retry.js';
import { enqueueDueJobs } from '../../../../world/testbed/sidekiq/scheduler.js';
import type { SidekiqJob, WorkerRegistry } from '../../../../world/testbed/sidekiq/types.js';
import { client, type engine, useSidekiqDb, unit, waitFor } from '../../../support/sidekiq.js';

const sidekiq = useSidekiqDb();

function start(workers: WorkerRegistry, extra: Parameters<typeof engine>[3] = {}) {
  return sidekiq.start(sidekiq.db, workers, [unit(2, [['default', 1]])], extra);
}

class DeliveryFailure extends Error {
  override name = 'DeliveryFailure';
}

async function zentries(key: string) {
  const flat = await sidekiq.db.redis.zrange(key, 0, -1, 'WITHSCORES');
  const out: { job: SidekiqJob; score: number }[] = [];
  for (let i = 0; i < flat.length; i += 2)
    out.push({ job: JSON.parse(flat[i]!), score: Number(flat[i + 1]) });
  return out;
}

/** stat:X:<today> (summed over two dates in case the test straddles UTC midnight). */
async function daily(stat: 'processed' | 'failed', fromMs: number) {
  const days = [...new Set([utcDate(fromMs), utcDate(Date.now())])];
  let n = 0;
  for (const d of days) n += Number((await sidekiq.db.redis.get(`stat:${stat}:${d}`)) ?? 0);
  return n;
}

describe('retries (JobRetry)', () => {
  it('retries a failing job after retryIn, counts each attempt, and kills it when retries run out', async () => {
    const t0 = Date.now();
    const attempts: number[] = [];
    const workers: WorkerRegistry = {
      Flaky: {
        queue: 'default',
        retry: 2,
        retryIn: () => 1,
        perform: async (_args, ctx) => {
          attempts.push(ctx.retryCount);
          throw new DeliveryFailure(`attempt ${ctx.retryCount} failed`);
        },
      },
    };
    await start(workers);
    const jid = await client(sidekiq.db, workers).push('Flaky', ['https://remote.example/inbox']);

    const [first] = await waitFor(async () => {
      const e = await zentries('retry');
      return e.length === 1 && e;
    }, 'first retry entry');
    expect(first!.job).toMatchObject({
      jid,
      class: 'Flaky',
      queue: 'default',
      retry: 2,
      retry_count: 0,
      error_message: 'attempt 0 failed',
      error_class: 'DeliveryFailure',
    });
    expect(first!.job.failed_at).toBeGreaterThanOrEqual(t0 / 1000);
    expect(first!.job.retried_at).toBeUndefined();
    expect(first!.score).toBeCloseTo(first!.job.failed_at! + 1, 6);
    expect(await sidekiq.db.stats.failed()).toBe(1);
    expect(await sidekiq.db.stats.processed()).toBe(1);

    // The poller brings it back when due; it fails again (retry_count 1) and again (2 = retry) → dead.
    const [dead] = await waitFor(
      async () => {
        const e = await zentries('dead');
        return e.length === 1 && e;
      },
      'dead entry',
      8_000,
    );
    expect(attempts).toEqual([0, 1, 2]);
    expect(dead!.job).toMatchObject({
      jid,
      retry_count: 2,
      error_message: 'attempt 2 failed',
      failed_at: first!.job.failed_at,
    });
    expect(dead!.job.retried_at).toBeGreaterThanOrEqual(first!.job.failed_at! + 2 - 0.01);
    expect(dead!.score).toBeCloseTo(dead!.job.retried_at!, 3);
    expect(await sidekiq.db.stats.retrySize()).toBe(0);
    expect(await sidekiq.db.stats.failed()).toBe(3);
    expect(await sidekiq.db.stats.processed()).toBe(3);
    expect(await daily('failed', t0)).toBe(3);
    expect(await daily('processed', t0)).toBe(3);
    const ttl = await sidekiq.db.redis.ttl(`stat:processed:${utcDate(Date.now())}`);
    expect(ttl).toBeGreaterThan(STATS_TTL_SEC - 60);
  });

  it("uses Sidekiq's default delay count**4 + 15 + rand(10)*(count+1) and succeeds on a later run", async () => {
    let runs = 0;
    const workers: WorkerRegistry = {
      Once: {
        queue: 'default',
        retry: true,
        perform: async () => {
          runs++;
          if (runs === 1) throw new TypeError('not yet');
        },
      },
    };
    await start(workers);
    await client(sidekiq.db, workers).push('Once', [1]);
    const [e] = await waitFor(async () => {
      const x = await zentries('retry');
      return x.length === 1 && x;
    }, 'retry entry');
    const delay = e!.score - e!.job.failed_at!;
    // count = 0: 15 + rand(10) × 1, an integer number of seconds 15..24.
    expect(delay).toBeGreaterThanOrEqual(15 - 1e-6);
    expect(delay).toBeLessThanOrEqual(24 + 1e-6);
    expect(Math.abs(delay - Math.round(delay))).toBeLessThan(1e-3);
    expect(e!.job.error_class).toBe('TypeError');

    // Make it due now (as Sidekiq's "Retry now" would) and let the poller pick it up.
    const [member] = await sidekiq.db.redis.zrange('retry', 0, 0);
    await sidekiq.db.redis.zadd('retry', 'XX', String(Date.now() / 1000 - 1), member!);
    await waitFor(() => runs === 2, 'second run');
    await waitFor(async () => (await sidekiq.db.stats.processed()) === 2, 'processed = 2');
    expect(await sidekiq.db.stats.failed()).toBe(1);
    expect(await sidekiq.db.stats.retrySize()).toBe(0);
    expect(await sidekiq.db.stats.deadSize()).toBe(0);
  });

  it('drops retry: false jobs, sends retry: 0 jobs straight to dead (unless dead: false), and treats an unknown class as a NameError', async () => {
    const workers: WorkerRegistry = {
      NoRetry: { queue: 'default', retry: false, perform: async () => Promise.reject(new Error('gone')) },
      ZeroRetry: {
        queue: 'default',
        retry: 0,
        perform: async () => Promise.reject(new Error('dead at once')),
      },
      NeverDead: {
        queue: 'default',
        retry: 0,
        dead: false,
        perform: async () => Promise.reject(new Error('gone too')),
      },
    };
    await start(workers);
    const c = client(sidekiq.db, workers);
    await c.push('NoRetry', []);
    const zeroJid = await c.push('ZeroRetry', []);
    await c.push('NeverDead', []);
    const ghost = {
      class: 'Ghost::Worker',
      args: [7],
      queue: 'default',
      jid: 'a'.repeat(24),
      retry: true,
      created_at: Date.now() / 1000,
      enqueued_at: Date.now() / 1000,
    };
    await sidekiq.db.redis.lpush('queue:default', JSON.stringify(ghost));

    await waitFor(async () => (await sidekiq.db.stats.processed()) === 4, 'four jobs ended');
    expect(await sidekiq.db.stats.failed()).toBe(4);
    const dead = await zentries('dead');
    expect(dead.map((d) => d.job.jid)).toEqual([zeroJid]);
    expect(dead[0]!.job).toMatchObject({ retry: 0, retry_count: 0, error_message: 'dead at once' });
    const retry = await zentries('retry');
    expect(retry).toHaveLength(1);
    expect(retry[0]!.job).toMatchObject({
      class: 'Ghost::Worker',
      error_class: 'NameError',
      error_message: 'uninitialized constant Ghost::Worker',
    });
    expect(retry[0]!.score - retry[0]!.job.failed_at!).toBeGreaterThanOrEqual(15 - 1e-6);
    expect(await sidekiq.db.redis.llen('queue:default')).toBe(0);
  });
});

describe('scheduled jobs and the poller (Scheduled::Enq)', () => {
  it('moves a perform_in job to its queue when due, setting enqueued_at', async () => {
    const ran: number[] = [];
    const workers: WorkerRegistry = {
      Later: { queue: 'pull', retry: 0, perform: async ([n]) => void ran.push(Number(n)) },
    };
    await sidekiq.start(sidekiq.db, workers, [unit(1, [['pull', 1]])]);
    const t0 = Date.now() / 1000;
    await client(sidekiq.db, workers).pushIn('Later', [42], 0.3);
    expect(await sidekiq.db.stats.scheduledSize()).toBe(1);
    const [s] = await sidekiq.db.stats.scheduled();
    expect(s!.job.enqueued_at).toBeUndefined();
    expect(s!.scoreSec).toBeCloseTo(t0 + 0.3, 1);
    await waitFor(() => ran.length === 1, 'scheduled job ran', 3_000);
    expect(ran).toEqual([42]);
    expect(await sidekiq.db.stats.scheduledSize()).toBe(0);
  });

  it('never enqueues a due job twice, however many pollers run', async () => {
    const now = Date.now() / 1000;
    const p = sidekiq.db.redis.pipeline();
    for (let i = 0; i < 300; i++) {
      p.zadd(
        'schedule',
        String(now - 10 + i / 1000),
        JSON.stringify({
          class: 'X',
          args: [i],
          queue: 'default',
          jid: `j${i}`,
          retry: true,
          created_at: now,
        }),
      );
    }
    p.zadd(
      'schedule',
      String(now + 3600),
      JSON.stringify({
        class: 'X',
        args: [-1],
        queue: 'default',
        jid: 'later',
        retry: true,
        created_at: now,
      }),
    );
    await p.exec();
    const conns = [sidekiq.db.newRedis(), sidekiq.db.newRedis(), sidekiq.db.newRedis()];
    const moved = await Promise.all(conns.map((c) => enqueueDueJobs(c)));
    expect(moved.reduce((a, b) => a + b, 0)).toBe(300);
    const list = (await sidekiq.db.redis.lrange('queue:default', 0, -1)).map(
      (s) => JSON.parse(s) as SidekiqJob,
    );
    expect(new Set(list.map((j) => j.jid)).size).toBe(300);
    expect(list.every((j) => typeof j.enqueued_at === 'number')).toBe(true);
    expect(await sidekiq.db.redis.smembers('queues')).toEqual(['default']);
    expect(await sidekiq.db.redis.zcard('schedule')).toBe(1);
  });

  it('trims the dead set as DeadSet#kill does: 6 months, and ZREMRANGEBYRANK 0 -10000', async () => {
    const now = Date.now() / 1000;
    await sidekiq.db.redis.zadd('dead', String(now - DEAD_TIMEOUT_SEC - 10), 'ancient');
    const p = sidekiq.db.redis.pipeline();
    for (let i = 0; i < 10_005; i++) p.zadd('dead', String(now - 1000 + i / 100), `job-${i}`);
    await p.exec();
    await killJob(sidekiq.db.redis, 'newest', now);
    expect(await sidekiq.db.redis.zcard('dead')).toBe(9_999);
    expect(await sidekiq.db.redis.zscore('dead', 'ancient')).toBeNull();
    expect(await sidekiq.db.redis.zscore('dead', 'newest')).not.toBeNull();
  });
});

import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { utcDate } from '../../../../world/testbed/sidekiq/layout.js';
import type { SidekiqHandle } from '../../../../world/testbed/sidekiq/processor.js';
import type { WorkerRegistry } from '../../../../world/testbed/sidekiq/types.js';
import {
  client,
  engine,
  gate,
  openSidekiqDb,
  unit,
  waitFor,
  type SidekiqDb,
} from '../../../support/sidekiq.js';

const SCRIPT = fileURLToPath(new URL('../../../support/sidekiq_api.rb', import.meta.url));

/** Is Ruby with the sidekiq gem (Debian: ruby-sidekiq) here? */
function probeSidekiq(): { ok: true; version: string } | { ok: false; reason: string } {
  const r = spawnSync('ruby', ['-e', 'require "sidekiq/api"; print Sidekiq::VERSION'], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  if (r.error)
    return { ok: false, reason: `ruby is not installed (${r.error.message}); apt-get install ruby-sidekiq` };
  if (r.status !== 0)
    return {
      ok: false,
      reason: `ruby cannot load sidekiq/api: ${r.stderr.trim().split('\n')[0]}; apt-get install ruby-sidekiq`,
    };
  return { ok: true, version: r.stdout.trim() };
}

const probe = probeSidekiq();
if (!probe.ok) console.warn(`SKIPPING the real Sidekiq API test: ${probe.reason}`);

interface RubyJob {
  klass: string;
  args: unknown[];
  jid: string;
  queue: string;
  enqueued_at: number | null;
  created_at: number | null;
  retry: boolean | number | null;
  retry_count: number | null;
  error_message: string | null;
  error_class: string | null;
  failed_at: number | null;
  retried_at: number | null;
  score?: number;
}
interface RubyView {
  version: string;
  stats: Record<string, number>;
  stats_queues: Record<string, number>;
  history: { processed: Record<string, number>; failed: Record<string, number> };
  queues: { name: string; size: number; latency: number; jobs: RubyJob[] }[];
  retries: { size: number; entries: RubyJob[] };
  dead: { size: number; entries: RubyJob[] };
  scheduled: { size: number; entries: RubyJob[] };
  processes: {
    size: number;
    total_concurrency: number;
    list: {
      identity: string;
      hostname: string;
      pid: number;
      tag: string;
      labels: string[];
      concurrency: number;
      busy: number;
      beat: number;
      queues: string[];
      quiet: boolean;
      started_at: number;
    }[];
  };
  work: {
    size: number;
    list: { process: string; tid: string; queue: string; run_at: number; klass: string; jid: string }[];
  };
}

function readWithRuby(redisUrl: string): Promise<RubyView> {
  return new Promise((resolve, reject) => {
    execFile(
      'ruby',
      [SCRIPT],
      { env: { ...process.env, REDIS_URL: redisUrl }, timeout: 20_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${SCRIPT} failed: ${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as RubyView);
      },
    );
  });
}

describe('real Sidekiq (Ruby API) reads the testbed’s Redis', () => {
  let db: SidekiqDb;
  let h: SidekiqHandle | undefined;
  const g = gate();
  beforeAll(async () => {
    db = await openSidekiqDb();
  });
  afterAll(async () => {
    g.open();
    await h?.stop();
    await db?.release();
  });

  it.skipIf(!probe.ok)(
    'Sidekiq::Stats, Queue, RetrySet, DeadSet, ScheduledSet, ProcessSet and Workers agree with the TS read side',
    async () => {
      const workers: WorkerRegistry = {
        Ok: { queue: 'default', retry: true, perform: async () => undefined },
        Bad: {
          queue: 'default',
          retry: true,
          perform: async ([n]) => Promise.reject(new RangeError(`bad ${n}`)),
        },
        Doomed: { queue: 'default', retry: 0, perform: async () => Promise.reject(new Error('doomed')) },
        Dropped: {
          queue: 'default',
          retry: false,
          perform: async () => Promise.reject(new Error('dropped')),
        },
        Slow: { queue: 'default', retry: true, perform: () => g.opened },
        'ActivityPub::DeliveryWorker': { queue: 'push', retry: 16, perform: async () => undefined },
        'ActivityPub::ProcessingWorker': { queue: 'ingress', retry: 8, perform: async () => undefined },
        LinkCrawlWorker: { queue: 'pull', retry: 0, perform: async () => undefined },
      };
      const t0 = Date.now();
      h = await engine(
        db,
        workers,
        [
          unit(2, [
            ['default', 8],
            ['push', 6],
          ]),
          unit(3, [
            ['ingress', 4],
            ['pull', 1],
          ]),
        ],
        {
          beatIntervalMs: 100,
        },
      );
      const c = client(db, workers);

      // Some processed, some failed into retry (default delay: they stay there), one dead, one dropped.
      await c.pushBulk('Ok', [[1], [2], [3], [4]]);
      await c.pushBulk('Bad', [[1], [2]]);
      await c.push('Doomed', []);
      await c.push('Dropped', []);
      await c.push('ActivityPub::ProcessingWorker', [{ type: 'Create' }, 17]);
      await waitFor(async () => (await db.stats.processed()) === 9, '9 jobs ended');

      // A live process with both threads busy…
      await c.pushBulk('Slow', [['a'], ['b']]);
      await waitFor(
        async () => (await db.stats.processes()).some((p) => p.busy === 2),
        'a process with busy = 2',
      );
      // …and a backlog in two queues it serves, the oldest push job enqueued 42 s ago.
      const old = Date.now() / 1000 - 42;
      await db.redis.lpush(
        'queue:push',
        JSON.stringify({
          class: 'ActivityPub::DeliveryWorker',
          args: ['<json>', 1, 'https://a.example/inbox'],
          queue: 'push',
          jid: 'c'.repeat(24),
          retry: 16,
          created_at: old,
          enqueued_at: old,
        }),
      );
      await c.pushBulk('ActivityPub::DeliveryWorker', [
        ['<json>', 1, 'https://b.example/inbox'],
        ['<json>', 1, 'https://c.example/inbox'],
      ]);
      await c.pushBulk('Ok', [[5], [6], [7]]);
      await c.pushIn('LinkCrawlWorker', [99], 3600);

      // The TS read side, then Ruby.
      const ts = await db.stats.snapshot();
      const tsLatency = {
        push: await db.stats.queueLatencySec('push'),
        default: await db.stats.queueLatencySec('default'),
      };
      const tsQueues = await db.stats.queueSizes();
      const tsRetries = await db.stats.retries();
      const tsDead = await db.stats.dead();
      const tsScheduled = await db.stats.scheduled();
      const tsWork = await db.stats.work();
      const ruby = await readWithRuby(db.url);
      const tRuby = Date.now();

      expect(ruby.version).toBe(probe.ok ? probe.version : '');
      expect(ruby.stats).toMatchObject({
        processed: ts.processed,
        failed: ts.failed,
        enqueued: ts.enqueued,
        scheduled_size: ts.scheduledSize,
        retry_size: ts.retrySize,
        dead_size: ts.deadSize,
        processes_size: ts.processesSize,
        workers_size: ts.workersSize,
      });
      // And the values themselves: 9 ended (Sidekiq counts failures as processed too), 4 failed.
      expect(ts).toMatchObject({
        processed: 9,
        failed: 4,
        enqueued: 6,
        retrySize: 2,
        deadSize: 1,
        scheduledSize: 1,
        processesSize: 2,
        workersSize: 2,
      });
      expect(ruby.stats_queues).toEqual(tsQueues);
      const today = [...new Set([utcDate(t0), utcDate(tRuby)])];
      expect(today.reduce((a, d) => a + (ruby.history.processed[d] ?? 0), 0)).toBe(9);
      expect(today.reduce((a, d) => a + (ruby.history.failed[d] ?? 0), 0)).toBe(4);

      // Queues: sizes, order of jobs (LRANGE 0..-1, newest first) and latency.
      expect(ruby.queues.map((q) => q.name)).toEqual(ts.queues.map((q) => q.name));
      for (const q of ruby.queues) {
        expect(q.size, q.name).toBe(tsQueues[q.name]);
        const list = (await db.redis.lrange(`queue:${q.name}`, 0, -1)).map((s) => JSON.parse(s));
        expect(q.jobs.map((j) => [j.klass, j.jid, j.args])).toEqual(
          list.map((j) => [j.class, j.jid, j.args]),
        );
      }
      const rq = Object.fromEntries(ruby.queues.map((q) => [q.name, q]));
      // Ruby reads later than TS did: its latency is larger by at most the time in between.
      const gapSec = (tRuby - t0) / 1000;
      expect(rq.push!.latency).toBeGreaterThanOrEqual(tsLatency.push - 0.01);
      expect(rq.push!.latency - tsLatency.push).toBeLessThan(gapSec + 0.5);
      expect(tsLatency.push).toBeGreaterThan(42 - 0.01);
      expect(rq.default!.latency).toBeGreaterThanOrEqual(0);
      expect(rq.default!.latency).toBeLessThan(tsLatency.default + gapSec + 0.5);
      expect(ruby.stats.default_queue_latency).toBeCloseTo(rq.default!.latency, 0);

      // Retry, dead and scheduled sets: same jobs, fields and scores.
      const pick = (j: RubyJob) => ({
        klass: j.klass,
        args: j.args,
        jid: j.jid,
        queue: j.queue,
        retry_count: j.retry_count,
        error_message: j.error_message,
        error_class: j.error_class,
        failed_at: j.failed_at,
        score: j.score,
      });
      const fromTs = (e: (typeof tsRetries)[number]) => ({
        klass: e.job.class,
        args: e.job.args,
        jid: e.job.jid,
        queue: e.job.queue,
        retry_count: e.job.retry_count ?? null,
        error_message: e.job.error_message ?? null,
        error_class: e.job.error_class ?? null,
        failed_at: e.job.failed_at ?? null,
        score: e.scoreSec,
      });
      const byJid = <T extends { jid: string }>(a: T[]) => [...a].sort((x, y) => x.jid.localeCompare(y.jid));
      expect(ruby.retries.size).toBe(2);
      expect(byJid(ruby.retries.entries.map(pick))).toEqual(byJid(tsRetries.map(fromTs)));
      expect(ruby.retries.entries.map((e) => e.error_class)).toEqual(['RangeError', 'RangeError']);
      expect(
        ruby.retries.entries.every((e) => e.retry_count === 0 && e.error_message?.startsWith('bad ')),
      ).toBe(true);
      expect(byJid(ruby.dead.entries.map(pick))).toEqual(byJid(tsDead.map(fromTs)));
      expect(ruby.dead.entries.map((e) => e.klass)).toEqual(['Doomed']);
      expect(byJid(ruby.scheduled.entries.map(pick))).toEqual(byJid(tsScheduled.map(fromTs)));
      expect(ruby.scheduled.entries[0]!.klass).toBe('LinkCrawlWorker');

      // Processes and the work in flight.
      expect(ruby.processes.size).toBe(2);
      expect(ruby.processes.total_concurrency).toBe(5);
      type ProcessFields = Omit<RubyView['processes']['list'][number], 'beat' | 'started_at'>;
      const shared = (p: ProcessFields) => ({
        identity: p.identity,
        hostname: p.hostname,
        pid: p.pid,
        tag: p.tag,
        labels: p.labels,
        concurrency: p.concurrency,
        busy: p.busy,
        queues: p.queues,
        quiet: p.quiet,
      });
      expect(ruby.processes.list.map((p) => ({ ...shared(p), started_at: p.started_at }))).toEqual(
        ts.processes.map((p) => ({ ...shared(p), started_at: p.startedAt })),
      );
      expect(ruby.processes.list.map((p) => p.queues).sort()).toEqual([
        ['default', 'push'],
        ['ingress', 'pull'],
      ]);
      for (const p of ruby.processes.list) expect(p.beat).toBeGreaterThan(t0 / 1000);
      expect(ruby.work.size).toBe(2);
      expect(ruby.work.list.map((w) => [w.process, w.tid, w.queue, w.klass, w.jid, w.run_at]).sort()).toEqual(
        tsWork.map((w) => [w.identity, w.tid, w.queue, w.payload.class, w.payload.jid, w.runAt]).sort(),
      );

      // After a graceful stop Ruby sees no processes.
      g.open();
      await h.stop();
      h = undefined;
      const after = await readWithRuby(db.url);
      expect(after.processes.size).toBe(0);
      expect(after.work.size).toBe(0);
    },
  );
});

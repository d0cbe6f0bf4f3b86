import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SidekiqClient } from '../../../../world/testbed/sidekiq/client.js';
import { recordPush } from '../../../../world/testbed/sidekiq/instruments.js';
import { registerSidekiqMetrics } from '../../../../world/testbed/sidekiq/metrics.js';
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

/** Samples of Prometheus text format: name, labels, value. */
function parseMetrics(text: string) {
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

describe('Sidekiq metrics (prometheus_exporter names, unprefixed as in Mastodon local mode)', () => {
  let db: SidekiqDb;
  let h: SidekiqHandle | undefined;
  beforeAll(async () => {
    db = await openSidekiqDb();
  });
  afterAll(async () => {
    await h?.stop();
    await db?.release();
  });

  it('reports queues, stats, processes and per-job counts with the right values', async () => {
    const g = gate();
    const workers: WorkerRegistry = {
      Ok: { queue: 'default', retry: true, perform: async () => undefined },
      Bad: { queue: 'default', retry: true, perform: async () => Promise.reject(new Error('no')) },
      Doomed: { queue: 'default', retry: 0, perform: async () => Promise.reject(new Error('no')) },
      Slow: { queue: 'default', retry: true, perform: () => g.opened },
      Deliver: { queue: 'push', retry: 16, perform: async () => undefined },
      Mail: { queue: 'mailers', retry: true, perform: async () => undefined },
    };
    const registry = new Registry();
    registerSidekiqMetrics(registry, db.redis, workers);
    h = await engine(db, workers, [unit(1, [['default', 1]])], { metrics: registry });
    const c = client(db, workers);
    await c.pushBulk('Ok', [[1], [2], [3]]);
    await c.push('Bad', []);
    await c.push('Doomed', []);
    await waitFor(async () => (await db.stats.processed()) === 5, '5 jobs ended');
    await c.push('Slow', []);
    await waitFor(async () => (await db.stats.processes())[0]?.busy === 1, 'busy = 1');

    // A push backlog nobody serves, its oldest job enqueued 30 s ago.
    const old = Date.now() / 1000 - 30;
    await db.redis.lpush(
      'queue:push',
      JSON.stringify({
        class: 'Deliver',
        args: [],
        queue: 'push',
        jid: 'b'.repeat(24),
        retry: 16,
        created_at: old,
        enqueued_at: old,
      }),
    );
    await c.pushBulk('Deliver', [[1], [2]]);
    await c.pushIn('Mail', [], 3600);

    const text = await registry.metrics();
    const samples = parseMetrics(text);
    const value = (name: string, labels: Record<string, string> = {}) => {
      const s = samples.filter(
        (x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v),
      );
      expect(s, `${name} ${JSON.stringify(labels)}`).toHaveLength(1);
      return s[0]!.value;
    };

    expect(value('sidekiq_queue_backlog', { queue: 'push' })).toBe(3);
    expect(value('sidekiq_queue_backlog', { queue: 'default' })).toBe(0);
    expect(value('sidekiq_queue_backlog', { queue: 'mailers' })).toBe(0); // a job class's queue, never used yet
    const latency = value('sidekiq_queue_latency_seconds', { queue: 'push' });
    expect(latency).toBeGreaterThanOrEqual(30);
    expect(latency).toBeLessThan(40);
    expect(value('sidekiq_queue_latency_seconds', { queue: 'default' })).toBe(0);

    expect(value('sidekiq_stats_processed')).toBe(5);
    expect(value('sidekiq_stats_failed')).toBe(2);
    expect(value('sidekiq_stats_enqueued')).toBe(3);
    expect(value('sidekiq_stats_retry_size')).toBe(1);
    expect(value('sidekiq_stats_dead_size')).toBe(1);
    expect(value('sidekiq_stats_scheduled_size')).toBe(1);
    expect(value('sidekiq_stats_processes_size')).toBe(1);
    expect(value('sidekiq_stats_workers_size')).toBe(1);

    const identity = h.identities[0]!;
    expect(value('sidekiq_process_busy', { identity, queues: 'default', quiet: 'false' })).toBe(1);
    expect(value('sidekiq_process_concurrency', { identity })).toBe(1);

    const job = (name: string, j: string) => value(name, { job_name: j, queue: 'default' });
    expect(job('sidekiq_jobs_total', 'Ok')).toBe(3);
    expect(job('sidekiq_jobs_total', 'Bad')).toBe(1);
    expect(job('sidekiq_failed_jobs_total', 'Bad')).toBe(1);
    expect(job('sidekiq_failed_jobs_total', 'Doomed')).toBe(1);
    expect(job('sidekiq_dead_jobs_total', 'Doomed')).toBe(1);
    expect(job('sidekiq_job_duration_seconds_count', 'Ok')).toBe(3);
    expect(job('sidekiq_job_duration_seconds_sum', 'Ok')).toBeGreaterThanOrEqual(0);
    expect(text).toContain('# TYPE sidekiq_job_duration_seconds summary');
    // The gem's quantiles (metric/summary.rb), and no name of Mastodon's own: it adds no prefix.
    for (const q of ['0.01', '0.1', '0.5', '0.9', '0.99'])
      expect(samples.some((s) => s.name === 'sidekiq_job_duration_seconds' && s.labels.quantile === q)).toBe(
        true,
      );
    expect(text).not.toMatch(/^(# TYPE )?mastodon_/m);

    // Registering again on the same Registry (a second testbed assembly) is harmless.
    registerSidekiqMetrics(registry, db.redis, workers);
    // One more job waits behind Slow on the only thread, at least 300 ms.
    await c.push('Ok', [4]);
    await new Promise((r) => setTimeout(r, 300));
    g.open();
    await waitFor(async () => (await db.stats.processed()) === 7, 'slow job and the one behind it ended');
    await h.stop();
    h = undefined;
    const after = parseMetrics(await registry.metrics());
    expect(after.filter((s) => s.name === 'sidekiq_process_busy')).toEqual([]);
    expect(after.find((s) => s.name === 'sidekiq_stats_processed')?.value).toBe(7);
    // The testbed's own per-job queue latency: every job that ended, the one that waited above 0.25 s.
    const waits = (suffix: string, le?: string) =>
      after.find(
        (s) =>
          s.name === `fedicap_testbed_sidekiq_job_queue_latency_seconds${suffix}` &&
          s.labels.queue === 'default' &&
          (le === undefined || s.labels.le === le),
      )?.value;
    expect(waits('_count')).toBe(7);
    const le = after.find(
      (s) => s.name.endsWith('queue_latency_seconds_bucket') && Math.abs(Number(s.labels.le) - 0.2585) < 1e-3,
    )?.labels.le;
    expect(le, 'a bucket at 0.5 ms × 1.25^28 ≈ 0.258 s').toBeDefined();
    expect(waits('_count')! - waits('_bucket', le)!).toBeGreaterThanOrEqual(1);
    expect(waits('_sum')).toBeGreaterThanOrEqual(0.3);
  });

  it('counts each push by the jobs it carried, per queue: the batches a pool is fed', async () => {
    const registry = new Registry();
    const workers: WorkerRegistry = {
      Insert: { queue: 'default', retry: true, perform: async () => undefined },
      Deliver: { queue: 'push', retry: 16, perform: async () => undefined },
    };
    const c = new SidekiqClient(db.redis, workers, (queue, jobs) => recordPush(registry, queue, jobs));
    await c.push('Insert', [1]);
    await c.pushBulk('Insert', [[1], [2], [3]]);
    await c.pushBulk(
      'Insert',
      Array.from({ length: 25 }, (_, i) => [i]),
    );
    await c.pushBulk(
      'Deliver',
      Array.from({ length: 1200 }, (_, i) => [i]),
    );
    await c.pushBulk('Insert', []); // pushes nothing, counts nothing
    const samples = parseMetrics(await registry.metrics());
    const at = (queue: string, suffix: string, le?: string) =>
      samples.find(
        (x) =>
          x.name === `fedicap_testbed_sidekiq_push_jobs${suffix}` &&
          x.labels.queue === queue &&
          (le === undefined || x.labels.le === le),
      )?.value;
    expect([
      at('default', '_bucket', '1'),
      at('default', '_bucket', '3'),
      at('default', '_bucket', '25'),
    ]).toEqual([1, 2, 3]);
    expect(at('default', '_sum')).toBe(29);
    // 1,200 jobs are one push (two LPUSHes in one MULTI): they reach the queue together
    expect([at('push', '_count'), at('push', '_bucket', '1000'), at('push', '_sum')]).toEqual([1, 0, 1200]);
    await db.redis.del('queue:default', 'queue:push');
  });
});

import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sample } from '../../../src/collect/sample.js';
import { SidekiqRedisSampler } from '../../../src/collect/sidekiqRedis.js';
import { REDIS_URL, claimRedisDb } from '../../support/isolation.js';

const SCRIPT = fileURLToPath(new URL('../../support/sidekiq_api.rb', import.meta.url));

/** Is Ruby with the sidekiq gem (Debian: ruby-sidekiq) here? */
function probeSidekiq(): string | undefined {
  const r = spawnSync('ruby', ['-e', 'require "sidekiq/api"; print Sidekiq::VERSION'], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  if (r.error) return `ruby is not installed (${r.error.message}); apt-get install ruby-sidekiq`;
  if (r.status !== 0) return `ruby cannot load sidekiq/api: ${r.stderr.trim().split('\n')[0]}`;
  return undefined;
}
const missing = probeSidekiq();
if (missing) console.warn(`SKIPPING the Sidekiq API comparison: ${missing}`);

interface RubyView {
  stats: Record<string, number>;
  queues: { name: string; size: number; latency: number }[];
  processes: {
    size: number;
    list: { identity: string; hostname: string; busy: number; concurrency: number }[];
  };
}

function readWithRuby(redisUrl: string): Promise<RubyView> {
  return new Promise((resolve, reject) => {
    execFile(
      'ruby',
      [SCRIPT],
      { env: { ...process.env, REDIS_URL: redisUrl }, timeout: 20_000 },
      (err, out, e) =>
        err ? reject(new Error(`${SCRIPT}: ${err.message}\n${e}`)) : resolve(JSON.parse(out) as RubyView),
    );
  });
}

const job = (klass: string, queue: string, jid: string, atSec: number, extra: object = {}) =>
  JSON.stringify({
    class: klass,
    args: [jid],
    queue,
    jid,
    retry: true,
    created_at: atSec,
    enqueued_at: atSec,
    ...extra,
  });

/**
 * What Sidekiq 6.4 itself leaves in Redis: jobs LPUSHed to `queue:NAME` (oldest at the right end),
 * `retry`/`schedule`/`dead` sorted sets scored by epoch seconds, counters, and a live process's hash as
 * Launcher#❤ writes it (info JSON, busy, beat, quiet, rss, rtt_us; 60 s TTL) plus a member of
 * `processes` whose hash has expired (a process that died).
 */
async function fillLikeSidekiq(redis: Redis, nowSec: number): Promise<void> {
  await redis.sadd('queues', 'default', 'push', 'ingress');
  await redis.lpush('queue:push', job('ActivityPub::DeliveryWorker', 'push', 'p1', nowSec - 42.5));
  await redis.lpush('queue:push', job('ActivityPub::DeliveryWorker', 'push', 'p2', nowSec - 3));
  await redis.lpush('queue:push', job('ActivityPub::DeliveryWorker', 'push', 'p3', nowSec - 1));
  await redis.lpush('queue:default', job('DistributionWorker', 'default', 'd1', nowSec - 0.25));
  // `ingress` is declared but empty: size 0, latency 0.
  const failed = { error_class: 'RangeError', error_message: 'bad', failed_at: nowSec - 60, retry_count: 0 };
  await redis.zadd('retry', nowSec + 30, job('Bad', 'default', 'r1', nowSec - 60, failed));
  await redis.zadd('schedule', nowSec + 3600, job('LinkCrawlWorker', 'pull', 's1', nowSec));
  await redis.zadd('dead', nowSec - 10, job('Doomed', 'default', 'x1', nowSec - 100, failed));
  await redis.mset('stat:processed', '1234', 'stat:failed', '56');
  const identity = 'sidekiq-1.example:4242:0123456789ab';
  const info = {
    hostname: 'sidekiq-1.example',
    started_at: nowSec - 3600,
    pid: 4242,
    tag: 'mastodon',
    concurrency: 25,
    queues: ['default', 'push', 'ingress'],
    labels: [],
    identity,
  };
  await redis.sadd('processes', identity, 'gone.example:1:deadbeef');
  await redis.hset(identity, {
    info: JSON.stringify(info),
    busy: '7',
    beat: String(nowSec),
    quiet: 'false',
    rss: '512000',
    rtt_us: '120',
  });
  await redis.expire(identity, 60);
}

/** A key's content in a canonical order (DUMP of a hash-table encoded set or hash follows the server's hash seed). */
async function contentOf(redis: Redis, key: string, type: string): Promise<unknown> {
  if (type === 'string') return redis.get(key);
  if (type === 'list') return redis.lrange(key, 0, -1);
  if (type === 'set') return (await redis.smembers(key)).sort();
  if (type === 'zset') return redis.zrange(key, 0, -1, 'WITHSCORES');
  if (type === 'hash') return Object.entries(await redis.hgetall(key)).sort();
  return (await redis.dumpBuffer(key))?.toString('base64');
}

/** Every key with its type, TTL presence and content: equal before and after means nothing written. */
async function dumpAll(redis: Redis): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const key of (await redis.keys('*')).sort()) {
    const type = await redis.type(key);
    out[key] = `${type} ${(await redis.pttl(key)) > 0} ${JSON.stringify(await contentOf(redis, key, type))}`;
  }
  return out;
}

const value = (samples: Sample[], metric: string, labels: Record<string, string> = {}) => {
  const hit = samples.filter(
    (s) => s.metric === metric && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  expect(hit.length, `${metric} ${JSON.stringify(labels)}`).toBe(1);
  return hit[0]!.value;
};

describe('SidekiqRedisSampler', () => {
  let claim: Awaited<ReturnType<typeof claimRedisDb>>;
  let redis: Redis;
  let url: string;
  beforeAll(async () => {
    claim = await claimRedisDb();
    url = `${REDIS_URL}/${claim.index}`;
    redis = new Redis(url);
  });
  afterAll(async () => {
    redis?.disconnect();
    await claim?.release();
  });

  it.skipIf(missing !== undefined)(
    'reports what Sidekiq’s own Ruby API reports (Stats, Queue#size/#latency, ProcessSet), and writes nothing',
    async () => {
      const nowSec = Date.now() / 1000;
      await fillLikeSidekiq(redis, nowSec);
      const before = await dumpAll(redis);
      const sampler = new SidekiqRedisSampler(url);
      const time = new Date().toISOString();
      const tTs = Date.now();
      const samples = await sampler.sample(time);
      await sampler.close();
      expect(await dumpAll(redis)).toEqual(before);
      const ruby = await readWithRuby(url);
      const gapSec = (Date.now() - tTs) / 1000;

      expect(samples.every((s) => s.time === time && s.source === 'sidekiq')).toBe(true);
      const stats = {
        processed: value(samples, 'sidekiq_processed_total'),
        failed: value(samples, 'sidekiq_failed_total'),
        enqueued: value(samples, 'sidekiq_enqueued'),
        retry_size: value(samples, 'sidekiq_retry_size'),
        scheduled_size: value(samples, 'sidekiq_scheduled_size'),
        dead_size: value(samples, 'sidekiq_dead_size'),
        processes_size: value(samples, 'sidekiq_processes'),
      };
      expect(ruby.stats).toMatchObject(stats);
      expect(stats).toEqual({
        processed: 1234,
        failed: 56,
        enqueued: 4,
        retry_size: 1,
        scheduled_size: 1,
        dead_size: 1,
        processes_size: 2,
      });
      expect(ruby.queues.map((q) => q.name)).toEqual(['default', 'ingress', 'push']);
      for (const q of ruby.queues) {
        expect(value(samples, 'sidekiq_queue_size', { queue: q.name }), q.name).toBe(q.size);
        // Ruby read a little later: its latency is larger by at most the time in between.
        const latency = value(samples, 'sidekiq_queue_latency_seconds', { queue: q.name });
        expect(q.latency - latency, q.name).toBeGreaterThanOrEqual(q.size === 0 ? 0 : -0.01);
        expect(q.latency - latency, q.name).toBeLessThanOrEqual(gapSec + 0.01);
      }
      expect(value(samples, 'sidekiq_queue_latency_seconds', { queue: 'push' })).toBeGreaterThanOrEqual(42.5);
      expect(value(samples, 'sidekiq_queue_latency_seconds', { queue: 'ingress' })).toBe(0);
      // Only the live process (its hash is there), as ProcessSet#each yields it.
      expect(ruby.processes.list.length).toBe(1);
      for (const p of ruby.processes.list) {
        const labels = { identity: p.identity, hostname: p.hostname };
        expect(value(samples, 'sidekiq_process_busy', labels)).toBe(p.busy);
        expect(value(samples, 'sidekiq_process_concurrency', labels)).toBe(p.concurrency);
      }
      expect(samples.filter((s) => s.metric === 'sidekiq_process_busy').map((s) => s.value)).toEqual([7]);
    },
  );

  it('rejects within a bounded time when Redis does not answer, and its name carries no password', async () => {
    const sampler = new SidekiqRedisSampler('redis://:hunter2@127.0.0.1:1/0');
    expect(sampler.name).toBe('redis://127.0.0.1:1/0');
    const t0 = Date.now();
    await expect(sampler.sample(new Date().toISOString())).rejects.toThrow(
      /ECONNREFUSED|Connection|connect/i,
    );
    // Asked again at the next tick (ioredis reconnecting meanwhile): another bounded rejection.
    await expect(sampler.sample(new Date().toISOString())).rejects.toThrow();
    expect(Date.now() - t0).toBeLessThan(12_000);
    await sampler.close();
  });
});

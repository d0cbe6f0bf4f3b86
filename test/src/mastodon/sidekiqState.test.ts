import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SidekiqStats } from '../../../src/mastodon/sidekiqState.js';
import { REDIS_URL, claimRedisDb } from '../../support/isolation.js';

describe('SidekiqStats (the read side of Sidekiq’s Redis layout)', () => {
  let claim: Awaited<ReturnType<typeof claimRedisDb>>;
  let redis: Redis;
  beforeAll(async () => {
    claim = await claimRedisDb();
    redis = new Redis(`${REDIS_URL}/${claim.index}`);
  });
  afterAll(async () => {
    redis?.disconnect();
    await claim?.release();
  });

  it('reads queue latency from float epoch seconds (Sidekiq ≤ 7) and integer epoch milliseconds (Sidekiq 8)', async () => {
    const nowMs = 1_800_000_000_000;
    await redis.sadd('queues', 'push', 'ingress', 'empty');
    // The oldest job is the list's right end.
    await redis.lpush('queue:push', JSON.stringify({ jid: 'a', enqueued_at: nowMs / 1000 - 12.5 }));
    await redis.lpush('queue:push', JSON.stringify({ jid: 'b', enqueued_at: nowMs / 1000 - 1 }));
    await redis.lpush('queue:ingress', JSON.stringify({ jid: 'c', enqueued_at: nowMs - 3_000 }));
    const stats = new SidekiqStats(redis, () => nowMs);
    expect(await stats.queueLatencySec('push')).toBeCloseTo(12.5, 6);
    expect(await stats.queueLatencySec('ingress')).toBeCloseTo(3, 6);
    expect(await stats.queueLatencySec('empty')).toBe(0);
    const snap = await stats.snapshot();
    expect(snap.queues).toEqual([
      { name: 'empty', size: 0, latencySec: 0 },
      { name: 'ingress', size: 1, latencySec: 3 },
      { name: 'push', size: 2, latencySec: 12.5 },
    ]);
    expect(snap.enqueued).toBe(3);
  });
});

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseInfo, REDIS_CLIENT_NAME, RedisInfoSampler } from '../../../src/collect/redisInfo.js';
import type { Sample } from '../../../src/collect/sample.js';
import { waitFor } from '../../support/helpers.js';
import { claimRedisDb, REDIS_URL } from '../../support/isolation.js';

const TIME = '2026-08-01T12:00:00.000Z';
const value = (samples: Sample[], metric: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.metric === metric && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value;

describe('RedisInfoSampler against the local Redis', () => {
  let db: Awaited<ReturnType<typeof claimRedisDb>>;
  let redis: Redis;
  const sampler = new RedisInfoSampler(REDIS_URL);
  beforeAll(async () => {
    db = await claimRedisDb();
    redis = new Redis(`${REDIS_URL}/${db.index}`);
  });
  afterAll(async () => {
    await sampler.close();
    redis.disconnect();
    await db.release();
  });

  it("reports CPU, memory, evictions, commands, clients and this database's keys", async () => {
    await redis.mset('a', '1', 'b', '2', 'c', '3');
    const before = await sampler.sample(TIME);
    expect(value(before, 'redis_keys', { db: String(db.index) })).toBe(3);
    for (let i = 0; i < 50; i++) await redis.ping();
    await redis.del('c');
    const after = await sampler.sample(TIME);
    expect(value(after, 'redis_keys', { db: String(db.index) })).toBe(2);
    const rise = (metric: string) => value(after, metric)! - value(before, metric)!;
    // 50 PINGs, the DEL and the second INFO.
    expect(rise('redis_commands_processed_total')).toBeGreaterThanOrEqual(52);
    expect(rise('redis_cpu_user_seconds_total') + rise('redis_cpu_sys_seconds_total')).toBeGreaterThanOrEqual(
      0,
    );
    expect(value(after, 'redis_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(value(after, 'redis_used_memory_bytes')).toBeGreaterThan(100_000);
    expect(value(after, 'redis_maxmemory_bytes')).toBeGreaterThanOrEqual(0);
    expect(value(after, 'redis_evicted_keys_total')).toBeGreaterThanOrEqual(0);
    expect(value(after, 'redis_instantaneous_ops_per_sec')).toBeGreaterThanOrEqual(0);
    // At least the test's own connection; the sampler's is left out.
    expect(value(after, 'redis_connected_clients')).toBeGreaterThanOrEqual(1);
    for (const s of after) expect(s).toMatchObject({ time: TIME, source: 'redis' });
  });

  it('only ever sends INFO (besides the connection set-up)', async () => {
    const monitor = await redis.monitor();
    const commands: string[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== undefined) commands.push(String(args[0]).toLowerCase());
    });
    const fresh = new RedisInfoSampler(REDIS_URL);
    try {
      await fresh.sample(TIME);
      await fresh.sample(TIME);
      await waitFor(() => commands.filter((c) => c === 'info').length >= 2, 'the two INFOs', 5_000);
    } finally {
      await fresh.close();
      monitor.disconnect();
    }
    expect(commands.filter((c) => !['info', 'client', 'select'].includes(c))).toEqual([]);
  });

  it('is a gap while its connection is gone, and answers again once reconnected', async () => {
    await sampler.sample(TIME);
    const list = (await redis.client('LIST')) as string;
    const id = /id=(\d+) [^\n]*name=fedicap-collect /.exec(list)?.[1];
    expect(id, `a client named ${REDIS_CLIENT_NAME}`).toBeDefined();
    await redis.client('KILL', 'ID', id!);
    const answered = await waitFor(
      () => sampler.sample(TIME).catch(() => undefined),
      'the sampler to reconnect',
      10_000,
      100,
    );
    expect(value(answered, 'redis_used_memory_bytes')).toBeGreaterThan(0);
  });
});

describe('RedisInfoSampler gaps', () => {
  it('rejects an unreachable server, naming the URL without its password', async () => {
    const sampler = new RedisInfoSampler('redis://:hunter2@127.0.0.1:1/0');
    try {
      const err = await sampler.sample(TIME).catch((e: Error) => e);
      expect(String(err)).toContain('redis://127.0.0.1:1/0: ');
      expect(String(err)).toMatch(/ECONNREFUSED/);
      expect(String(err)).not.toContain('hunter2');
    } finally {
      await sampler.close();
    }
  });
});

describe('parseInfo', () => {
  it('reads key:value lines across sections', () => {
    const info = parseInfo(
      '# CPU\r\nused_cpu_sys:1.5\r\n\r\n# Keyspace\r\ndb0:keys=4,expires=1,avg_ttl=0\r\n',
    );
    expect(Object.fromEntries(info)).toEqual({ used_cpu_sys: '1.5', db0: 'keys=4,expires=1,avg_ttl=0' });
  });
});

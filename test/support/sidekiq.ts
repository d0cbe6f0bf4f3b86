import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { Registry } from 'prom-client';
import {
  startSidekiq,
  type SidekiqEngineOptions,
  type SidekiqHandle,
} from '../../world/testbed/sidekiq/processor.js';
import { SidekiqClient } from '../../world/testbed/sidekiq/client.js';
import { recordJob } from '../../world/testbed/sidekiq/instruments.js';
import { SidekiqStats } from '../../world/testbed/sidekiq/stats.js';
import type { SidekiqUnitConfig, WorkerRegistry } from '../../world/testbed/sidekiq/types.js';
import { REDIS_URL, claimRedisDb } from './testbed.js';

/** A Redis database index of its own, with a connection factory that remembers what to close. */
export interface SidekiqDb {
  url: string;
  redis: Redis;
  newRedis(): Redis;
  stats: SidekiqStats;
  release(): Promise<void>;
}

export async function openSidekiqDb(): Promise<SidekiqDb> {
  const claim = await claimRedisDb();
  const url = `${REDIS_URL}/${claim.index}`;
  const opened: Redis[] = [];
  const newRedis = () => {
    const r = new Redis(url, { maxRetriesPerRequest: 3 });
    opened.push(r);
    return r;
  };
  const redis = newRedis();
  return {
    url,
    redis,
    newRedis,
    stats: new SidekiqStats(redis),
    async release() {
      for (const r of opened) r.disconnect();
      await claim.release();
    },
  };
}

export { waitFor } from './helpers.js';

/** A latch jobs can wait on; `open()` lets them all through. */
export function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

/**
 * startSidekiq with fast test timings (beat 100 ms, poll 100 ms, fetch 0.5 s, shutdown 1 s) unless
 * overridden; jobs' ends are recorded in `metrics` (a fresh Registry unless given).
 */
export function engine(
  db: SidekiqDb,
  workers: WorkerRegistry,
  units: SidekiqUnitConfig[],
  extra: Partial<SidekiqEngineOptions> & { metrics?: Registry } = {},
): Promise<SidekiqHandle> {
  const { metrics = new Registry(), ...options } = extra;
  return startSidekiq({
    newRedis: db.newRedis,
    units,
    workers,
    onJobEnd: (job) => recordJob(metrics, job),
    beatIntervalMs: 100,
    pollIntervalMs: 100,
    fetchTimeoutSec: 0.5,
    shutdownTimeoutMs: 1_000,
    ...options,
  });
}

export const client = (db: SidekiqDb, workers: WorkerRegistry) => new SidekiqClient(db.redis, workers);

export const unit = (threads: number, queues: [string, number][], processes = 1): SidekiqUnitConfig => ({
  processes,
  threads,
  queues: queues.map(([name, weight]) => ({ name, weight })),
});

/**
 * A Sidekiq database for the tests of one file, emptied before each test;
 * engines started with `start` are stopped after each test.
 */
export function useSidekiqDb() {
  const fixture = {
    db: undefined as unknown as SidekiqDb,
    running: [] as SidekiqHandle[],
    async start(...args: Parameters<typeof engine>): Promise<SidekiqHandle> {
      const h = await engine(...args);
      fixture.running.push(h);
      return h;
    },
  };
  beforeAll(async () => {
    fixture.db = await openSidekiqDb();
  });
  afterAll(async () => {
    await fixture.db?.release();
  });
  beforeEach(async () => {
    await fixture.db.redis.flushdb();
  });
  afterEach(async () => {
    await Promise.all(fixture.running.map((h) => h.stop()));
    fixture.running = [];
  });
  return fixture;
}

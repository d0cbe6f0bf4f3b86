import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { accountResolver, federationWorkers } from './activitypub/index.js';
import { closeFederation } from './activitypub/state.js';
import { localWorkers } from './api/index.js';
import type { TestbedConfig } from './config.js';
import type { Testbed } from './context.js';
import { createPool, endPool } from './db/pool.js';
import type { TestbedWorkers } from './jobClasses.js';
import { SidekiqClient } from './sidekiq/client.js';
import { recordPush } from './sidekiq/instruments.js';

/** Where the instance is reached: known once the primary has bound the web port. */
export interface InstanceAddress {
  baseUrl: string;
  domain: string;
}

/**
 * The Testbed one process works with: its own DB_POOL and Redis connection, the job classes, its own
 * metrics. Every process opens one: each web worker, each Sidekiq process, streaming, and the primary
 * (which seeds, and which tests use as a Rails console).
 */
export async function openContext(config: TestbedConfig, address: InstanceAddress): Promise<Testbed> {
  const newRedis = () => new Redis(config.redisUrl, { maxRetriesPerRequest: 3, lazyConnect: false });
  const redis = newRedis();
  await redis.ping();
  const tb: Testbed = {
    config,
    baseUrl: address.baseUrl,
    domain: address.domain,
    db: createPool(config.databaseUrl, config.dbPool),
    redis,
    newRedis,
    sidekiq: undefined as unknown as SidekiqClient,
    workers: {},
    metrics: new Registry(),
  };
  const workers: TestbedWorkers = { ...localWorkers(tb), ...federationWorkers(tb) };
  tb.workers = workers;
  tb.sidekiq = new SidekiqClient(redis, workers, (queue, jobs) => recordPush(tb.metrics, queue, jobs));
  tb.resolveAccount = accountResolver(tb);
  return tb;
}

/** Close what openContext opened, waiting until every PostgreSQL connection is gone. */
export async function closeContext(tb: Testbed): Promise<void> {
  closeFederation(tb);
  tb.redis.disconnect();
  await endPool(tb.db);
}

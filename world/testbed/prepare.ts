import { mkdirSync } from 'node:fs';
import { Redis } from 'ioredis';
import type { TestbedConfig } from './config.js';
import { migrate } from './db/migrations.js';
import { createPool, endPool, ensureDatabase } from './db/pool.js';

/** PostgreSQL or Redis cannot be reached or used as configured: the user's to fix, not a bug. */
export class TestbedStartupError extends Error {
  override readonly name = 'TestbedStartupError';
}

/** Fail fast when Redis is not there (ioredis would otherwise retry forever). */
async function probeRedis(url: string): Promise<void> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  let cause = '';
  probe.on('error', (err: Error) => (cause ||= err.message));
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    throw new TestbedStartupError(`Redis at ${url} is not reachable (${cause || (err as Error).message})`);
  } finally {
    probe.disconnect();
  }
}

async function preparePostgres(databaseUrl: string): Promise<void> {
  try {
    await ensureDatabase(databaseUrl);
  } catch (err) {
    const safeUrl = new URL(databaseUrl);
    safeUrl.password = '';
    throw new TestbedStartupError(`PostgreSQL at ${safeUrl} cannot be used: ${(err as Error).message}`);
  }
}

/**
 * What a deployment does once before Mastodon's processes start (`rails db:prepare`, a Redis that
 * answers, the media directory): the primary does it, so no child races another over a migration.
 */
export async function prepareStores(config: TestbedConfig): Promise<void> {
  await probeRedis(config.redisUrl);
  await preparePostgres(config.databaseUrl);
  const db = createPool(config.databaseUrl, 1);
  try {
    await migrate(db);
  } finally {
    await endPool(db);
  }
  mkdirSync(config.mediaDir, { recursive: true });
}

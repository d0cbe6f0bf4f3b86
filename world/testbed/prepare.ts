import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Redis } from 'ioredis';
import type { TestbedConfig } from './config.js';
import { migrate } from './db/migrations.js';
import { createPool, endPool, ensureDatabase } from './db/pool.js';

/** PostgreSQL or Redis cannot be reached or used as configured: the user's to fix, not a bug. */
export class TestbedStartupError extends Error {
  override readonly name = 'TestbedStartupError';
  /** The flag of `fedicap testbed` that configures what failed, for the CLI's message. */
  constructor(
    message: string,
    readonly flag?: '--redis-url' | '--database-url' | '--media-dir',
  ) {
    super(message);
  }
}

/**
 * Fail fast when Redis is not there (ioredis would otherwise retry forever) or has no database of the
 * URL's index (ioredis would log its SELECT error and carry on in database 0).
 */
async function probeRedis(url: string): Promise<void> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  let cause = '';
  probe.on('error', (err: Error) => (cause ||= err.message));
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    probe.disconnect();
    const why = cause || (err as Error).message;
    throw new TestbedStartupError(`Redis at ${safeUrl(url)} is not reachable (${why})`, '--redis-url');
  }
  const index = probe.options.db ?? 0;
  try {
    await probe.select(index);
  } catch (err) {
    throw new TestbedStartupError(
      `Redis at ${safeUrl(url)} has no database index ${index} (${(err as Error).message})`,
      '--redis-url',
    );
  } finally {
    probe.disconnect();
  }
}

/** A URL without its password, for messages (or the text as given when it does not parse). */
function safeUrl(text: string): string {
  try {
    return Object.assign(new URL(text), { password: '' }).toString();
  } catch {
    return text;
  }
}

/** The media directory, or its nearest existing ancestor, must be a directory: checked before anything is created. */
function checkMediaDir(dir: string): void {
  let path = resolve(dir);
  for (;;) {
    try {
      if (statSync(path).isDirectory()) return;
      throw new TestbedStartupError(
        `media directory ${dir}: ${path} is a file, not a directory`,
        '--media-dir',
      );
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(path) === path) throw err;
      path = dirname(path);
    }
  }
}

async function preparePostgres(databaseUrl: string): Promise<void> {
  try {
    await ensureDatabase(databaseUrl);
  } catch (err) {
    throw new TestbedStartupError(
      `PostgreSQL at ${safeUrl(databaseUrl)} cannot be used: ${(err as Error).message}`,
      '--database-url',
    );
  }
}

/**
 * What a deployment does once before Mastodon's processes start (`rails db:prepare`, a Redis that
 * answers, the media directory): the primary does it, so no child races another over a migration.
 */
export async function prepareStores(config: TestbedConfig): Promise<void> {
  checkMediaDir(config.mediaDir);
  await probeRedis(config.redisUrl);
  await preparePostgres(config.databaseUrl);
  const db = createPool(config.databaseUrl, 1);
  try {
    await migrate(db);
  } finally {
    await endPool(db);
  }
  try {
    mkdirSync(config.mediaDir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new TestbedStartupError(
      `media directory ${config.mediaDir}: cannot create (${code})`,
      '--media-dir',
    );
  }
}

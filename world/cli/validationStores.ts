/**
 * The stores a validation run owns: a PostgreSQL database and a Redis database index that hold nothing
 * before it starts, so that every account, status and job the run measures is the run's own.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { InputError } from '../../src/shared/errors.js';
import { maskPassword } from '../../src/shared/urlSecrets.js';

/** PostgreSQL's "database does not exist": a database the testbed will create, fresh by definition. */
const NO_SUCH_DATABASE = '3D000';

/** Local accounts already in `databaseUrl`'s database; 0 when the database or its tables do not exist. */
async function localAccountsIn(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (err) {
    if ((err as { code?: string }).code === NO_SUCH_DATABASE) return 0;
    throw new InputError(
      `--database-url ${maskPassword(databaseUrl)}: cannot connect (${(err as Error).message})`,
    );
  }
  try {
    const table = await client.query<{ t: string | null }>("SELECT to_regclass('accounts') AS t");
    if (!table.rows[0]?.t) return 0;
    const n = await client.query<{ n: string }>('SELECT count(*) AS n FROM accounts WHERE domain IS NULL');
    return Number(n.rows[0]!.n);
  } finally {
    await client.end();
  }
}

/** Keys in the Redis database index of `redisUrl`. */
async function keysIn(redisUrl: string): Promise<number> {
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  let cause = '';
  redis.on('error', (err: Error) => (cause ||= err.message));
  try {
    await redis.connect();
    return await redis.dbsize();
  } catch (err) {
    throw new InputError(
      `--redis-url ${maskPassword(redisUrl)}: cannot connect (${cause || (err as Error).message})`,
    );
  } finally {
    redis.disconnect();
  }
}

/**
 * Refuse stores that already hold an instance: seeded accounts would collide with the run's, and queued
 * jobs or statuses from an earlier run would be measured as this one's.
 */
export async function checkFreshStores(databaseUrl: string, redisUrl: string): Promise<void> {
  const accounts = await localAccountsIn(databaseUrl);
  if (accounts > 0)
    throw new InputError(
      `--database-url ${maskPassword(databaseUrl)}: the database already holds ${accounts} local accounts; validation needs a fresh database (give a new name: the testbed creates it)`,
    );
  const keys = await keysIn(redisUrl);
  if (keys > 0)
    throw new InputError(
      `--redis-url ${maskPassword(redisUrl)}: this Redis database index holds ${keys} keys; validation needs an empty index (Sidekiq's queues live there)`,
    );
}

/** Empty the Redis index the run used: it was empty at the start, so everything in it is the run's. */
export async function flushRunRedis(redisUrl: string): Promise<void> {
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.flushdb();
  } finally {
    redis.disconnect();
  }
}

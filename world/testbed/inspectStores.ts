import { existsSync, statfsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { TestbedConfig } from './config.js';
import { TestbedStartupError } from './prepare.js';

/** How PostgreSQL, PgBouncer, Redis and the media disk the testbed uses are configured. */
export interface StoreFacts {
  postgresMaxConnections: number;
  /** PgBouncer's pool when the database URL points at one; null when clients reach PostgreSQL directly. */
  pgbouncer: { poolSize: number; maxClientConn: number } | null;
  /** PostgreSQL's data directory is on the media directory's filesystem. */
  databaseOnMediaDisk: boolean;
  /** Size of the media directory's filesystem, bytes. */
  mediaDiskBytes: number;
  /** Redis maxmemory, bytes; 0 when unlimited. */
  redisMaxmemoryBytes: number;
}

/** The nearest existing directory at or above `path` (the media directory may not exist yet). */
function existingAncestor(path: string): string {
  let dir = resolve(path);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

const safe = (url: string) => Object.assign(new URL(url), { password: '' }).toString();

async function query<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

/**
 * PgBouncer answers `SHOW CONFIG` on its admin database `pgbouncer` at the same address; PostgreSQL has
 * no such database (3D000). An admin database that refuses this user is a PgBouncer we cannot describe.
 */
async function pgbouncerPool(databaseUrl: string): Promise<StoreFacts['pgbouncer']> {
  const admin = Object.assign(new URL(databaseUrl), { pathname: '/pgbouncer' }).toString();
  let rows: { key: string; value: string }[];
  try {
    rows = await query(admin, 'SHOW CONFIG');
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === '3D000' || code === '42601') return null;
    throw new TestbedStartupError(
      `PgBouncer at ${safe(admin)} does not show its configuration (${(err as Error).message}); list the user in its stats_users`,
    );
  }
  const setting = (key: string) => Number(rows.find((r) => r.key === key)?.value);
  return { poolSize: setting('default_pool_size'), maxClientConn: setting('max_client_conn') };
}

/** Read through the `postgres` database, as ensureDatabase does: the testbed's may not exist yet. */
async function postgresFacts(config: TestbedConfig) {
  const url = Object.assign(new URL(config.databaseUrl), { pathname: '/postgres' }).toString();
  try {
    const [settings] = await query<{ max_connections: string; data_directory: string }>(
      url,
      "SELECT current_setting('max_connections') AS max_connections, current_setting('data_directory') AS data_directory",
    );
    const mediaDisk = existingAncestor(config.mediaDir);
    return {
      postgresMaxConnections: Number(settings!.max_connections),
      databaseOnMediaDisk: statSync(settings!.data_directory).dev === statSync(mediaDisk).dev,
    };
  } catch (err) {
    // 42501: data_directory is for superusers and members of pg_read_all_settings.
    const hint = (err as { code?: string }).code === '42501' ? '; grant the user pg_read_all_settings' : '';
    throw new TestbedStartupError(
      `PostgreSQL at ${safe(url)}: cannot read max_connections and data_directory (${(err as Error).message})${hint}`,
    );
  }
}

async function redisMaxmemory(url: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  let cause = '';
  redis.on('error', (err: Error) => (cause ||= err.message));
  try {
    await redis.connect();
    const [, bytes] = (await redis.config('GET', 'maxmemory')) as [string, string];
    return Number(bytes);
  } catch (err) {
    throw new TestbedStartupError(
      `Redis at ${url}: cannot read maxmemory (${cause || (err as Error).message})`,
    );
  } finally {
    redis.disconnect();
  }
}

/** Ask PostgreSQL, PgBouncer, Redis and the filesystem how they are configured; nothing is changed. */
export async function inspectStores(config: TestbedConfig): Promise<StoreFacts> {
  const disk = statfsSync(existingAncestor(config.mediaDir));
  return {
    ...(await postgresFacts(config)),
    pgbouncer: await pgbouncerPool(config.databaseUrl),
    mediaDiskBytes: disk.blocks * disk.bsize,
    redisMaxmemoryBytes: await redisMaxmemory(config.redisUrl),
  };
}

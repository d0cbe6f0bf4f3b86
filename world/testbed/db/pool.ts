import pg from 'pg';

/** Mastodon's visibility enum (Status.visibilities). */
/** The largest id a bigint column holds. */
const BIGINT_MAX = 9_223_372_036_854_775_807n;

/** A decimal id PostgreSQL's bigint can hold (anything else would fail the query, not find nothing). */
export const isBigintId = (v: unknown): v is string =>
  typeof v === 'string' && /^\d{1,19}$/.test(v) && BigInt(v) <= BIGINT_MAX;

export const VISIBILITY = { public: 0, unlisted: 1, private: 2, direct: 3 } as const;
export type Visibility = keyof typeof VISIBILITY;
export const VISIBILITY_NAME = ['public', 'unlisted', 'private', 'direct'] as const;

/** MediaAttachment.types and processing states, as in Mastodon. */
export const MEDIA_TYPE = { image: 0, gifv: 1, video: 2, unknown: 3, audio: 4 } as const;
export const MEDIA_TYPE_NAME = ['image', 'gifv', 'video', 'unknown', 'audio'] as const;
export const PROCESSING = { queued: 0, in_progress: 1, complete: 2, failed: 3 } as const;

/**
 * A pool of at most `size` connections: the testbed's DB_POOL. Works through
 * PgBouncer in transaction mode because pg's queries are unnamed (no
 * server-side prepared statements survive between transactions).
 */
export function createPool(databaseUrl: string, size: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: size, idleTimeoutMillis: 10_000 });
  // An idle connection the server ends (restart, pg_terminate_backend) is dropped and
  // replaced by the pool, as Rails reconnects; without a listener pg would crash the process.
  // Only the first loss is printed: a restart ends every idle connection at once.
  let reported = false;
  pool.on('error', (err) => {
    if (!reported)
      console.error(`testbed: PostgreSQL closed an idle connection (${err.message}); the pool reconnects`);
    reported = true;
  });
  return pool;
}

/**
 * End the pool and wait (at most `timeoutMs`) until every connection has
 * really closed: pg's Pool#end resolves once no client is left in the pool,
 * before their sockets are gone, so a DROP DATABASE right after it would
 * still find (and kill) them.
 */
export async function endPool(pool: pg.Pool, timeoutMs = 5_000): Promise<void> {
  let open = pool.totalCount;
  const closed = new Promise<void>((resolve) => {
    if (open === 0) resolve();
    pool.on('remove', () => {
      if (--open <= 0) resolve();
    });
  });
  await pool.end();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([closed, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
  clearTimeout(timer);
}

/** Create the database named in `databaseUrl` if it does not exist (connecting to `postgres`). */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`database name "${name}" must be letters, digits and _`);
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) {
      await client.query(`CREATE DATABASE ${name}`).catch((err: { code?: string }) => {
        if (err.code !== '42P04') throw err; // created concurrently
      });
    }
  } finally {
    await client.end();
  }
}

/** Run `fn` inside BEGIN … COMMIT on one pooled connection; ROLLBACK and rethrow on error. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

import { Redis } from 'ioredis';
import pg from 'pg';

/**
 * Local services the tests and benchmarks use. Under vitest, test/support/globalSetup.ts starts a
 * redis-server of the suite's own and sets FEDICAP_TEST_REDIS before any test file runs; set it (or
 * FEDICAP_TEST_PG) yourself to use another server. Nothing here empties or drops what it did not create.
 */
export const PG_ADMIN_URL = process.env.FEDICAP_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.FEDICAP_TEST_REDIS ?? 'redis://127.0.0.1:6379';

/** The suite run's mark on the databases it creates (set by globalSetup; 'x' outside vitest). */
const RUN = process.env.FEDICAP_TEST_RUN ?? 'x';
/** Every PostgreSQL database the tests create starts with this, and only those are ever dropped. */
export const TEST_DATABASE_PREFIX = 'fedicap_test_';
let databasesNamed = 0;

/**
 * A database name of this run and process, not yet created (the code under test may create it):
 * `fedicap_test_<run>_<pid>_<n>`. Drop it with dropTestDatabase; globalSetup drops leftovers of the run.
 */
export function testDatabaseName(): string {
  return `${TEST_DATABASE_PREFIX}${RUN}_${process.pid}_${++databasesNamed}`;
}

/** The URL of database `name` on the test PostgreSQL. */
export const testDatabaseUrl = (name: string) => PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);

async function withAdmin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5_000 });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

/** Create a fresh database (CREATE fails rather than reuse one that exists); returns its name. */
export async function createTestDatabase(): Promise<string> {
  const name = testDatabaseName();
  await withAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  return name;
}

/** Drop a database the tests named (refuses any other name, so a typo cannot drop a user's). */
export async function dropTestDatabase(name: string): Promise<void> {
  if (!name.startsWith(TEST_DATABASE_PREFIX))
    throw new Error(`refusing to drop ${name}: not a test database`);
  await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/** Drop every database of a suite run (its globalSetup's teardown: what a crashed test left behind). */
export async function dropRunDatabases(run: string): Promise<string[]> {
  return withAdmin(async (c) => {
    const { rows } = await c.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE starts_with(datname, $1) AND datname ~ '^[a-z0-9_]+$'",
      [`${TEST_DATABASE_PREFIX}${run}_`],
    );
    for (const { datname } of rows) await c.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    return rows.map((r) => r.datname);
  });
}

const LOCK_PREFIX = 'fedicap:test-db:';
const LOCK_TTL_SEC = 900;

/**
 * Claim a Redis database index (1..15) for this test file: real Sidekiq reads plain keys, so runs are
 * isolated by index, not by key prefix. The claim is a key in database 0 that expires if the test
 * process dies. An index that holds keys is someone else's and is never used: only an empty index is
 * claimed, and release() empties only the index it claimed.
 */
export async function claimRedisDb(timeoutMs = 20_000): Promise<{ index: number; release(): Promise<void> }> {
  const lock = new Redis(`${REDIS_URL}/0`);
  const occupied = new Set<number>();
  try {
    for (let attempt = 0; attempt < Math.max(1, timeoutMs / 200); attempt++) {
      for (let index = 1; index <= 15; index++) {
        const ok = await lock.set(`${LOCK_PREFIX}${index}`, String(process.pid), 'EX', LOCK_TTL_SEC, 'NX');
        if (!ok) continue;
        if (await isEmpty(index)) return { index, release: () => release(index) };
        occupied.add(index);
        await lock.del(`${LOCK_PREFIX}${index}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const held = occupied.size
      ? `; indexes ${[...occupied].join(', ')} hold keys the tests did not create`
      : '';
    throw new Error(
      `no free empty Redis database index in 1..15 at ${REDIS_URL} after ${timeoutMs / 1000} s${held}`,
    );
  } finally {
    lock.disconnect();
  }
}

async function isEmpty(index: number): Promise<boolean> {
  const db = new Redis(`${REDIS_URL}/${index}`);
  try {
    return (await db.dbsize()) === 0;
  } finally {
    db.disconnect();
  }
}

/** Empty the claimed index (it was empty when claimed: everything in it is the tests') and unlock it. */
async function release(index: number): Promise<void> {
  const db = new Redis(`${REDIS_URL}/${index}`);
  await db.flushdb();
  db.disconnect();
  const lock = new Redis(`${REDIS_URL}/0`);
  await lock.del(`${LOCK_PREFIX}${index}`);
  lock.disconnect();
}

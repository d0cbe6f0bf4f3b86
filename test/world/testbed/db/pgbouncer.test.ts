import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgbouncerUnavailable, startPgBouncer, type PgBouncer } from '../../../support/pgbouncer.js';
import { testDatabaseName } from '../../../support/isolation.js';
import { startTestTestbed, type TestbedFixture } from '../../../support/testbed.js';

const unavailable = pgbouncerUnavailable();
if (unavailable) console.warn(`skipping PgBouncer tests: ${unavailable}`);

describe.skipIf(unavailable !== null)('testbed through PgBouncer in transaction mode', () => {
  let bouncer: PgBouncer;
  let tb: TestbedFixture;
  beforeAll(async () => {
    bouncer = await startPgBouncer(3);
    tb = await startTestTestbed({ databaseUrl: bouncer.urlFor(testDatabaseName()), dbPool: 12 });
  }, 30_000);
  afterAll(async () => {
    await tb?.stop();
    await bouncer?.stop();
  });

  it('migrates and serves many concurrent clients on 3 server connections', async () => {
    const versions = await tb.tb.db.query('SELECT version FROM schema_migrations ORDER BY version');
    expect(versions.rows.length).toBeGreaterThanOrEqual(4);
    // 12 pooled clients, 60 concurrent transactions, each holding its server connection briefly.
    const results = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const client = await tb.tb.db.connect();
        try {
          await client.query('BEGIN');
          const r = await client.query('SELECT $1::int AS i, pg_backend_pid() AS pid, timestamp_id() AS id', [
            i,
          ]);
          await client.query('SELECT pg_sleep(0.01)');
          await client.query('COMMIT');
          return r.rows[0] as { i: number; pid: number; id: string };
        } finally {
          client.release();
        }
      }),
    );
    expect(results.map((r) => r.i)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(new Set(results.map((r) => r.id)).size).toBe(60);
    // Transaction pooling: never more backends than default_pool_size.
    expect(new Set(results.map((r) => r.pid)).size).toBeLessThanOrEqual(3);
    const admin = new pg.Client({
      connectionString: `postgres://postgres@127.0.0.1:${bouncer.port}/pgbouncer`,
    });
    await admin.connect();
    const pools = await admin.query({ text: 'SHOW POOLS', rowMode: 'array' });
    await admin.end();
    expect(JSON.stringify(pools.rows)).toContain('transaction');
  });
});

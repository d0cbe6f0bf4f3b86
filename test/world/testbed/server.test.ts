import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MIGRATIONS } from '../../../world/testbed/db/migrations.js';
import { PG_ADMIN_URL, startTestTestbed, type TestbedFixture } from '../../support/testbed.js';

describe('testbed foundation', () => {
  let tb: TestbedFixture;
  beforeAll(async () => {
    tb = await startTestTestbed();
  });
  afterAll(async () => {
    await tb?.stop();
  });

  it('answers /health on loopback and has migrated its database', async () => {
    expect(tb.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${tb.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('OK');
    const versions = await tb.tb.db.query('SELECT version FROM schema_migrations ORDER BY version');
    expect(versions.rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    const ids = await tb.tb.db.query('SELECT timestamp_id() AS a, timestamp_id() AS b');
    expect(BigInt(ids.rows[0].b)).toBeGreaterThan(BigInt(ids.rows[0].a));
  });

  it('survives PostgreSQL ending its idle connections: the pool reconnects and the next request is served', async () => {
    const dbName = new URL(tb.databaseUrl).pathname.slice(1);
    await Promise.all(Array.from({ length: 3 }, () => tb.tb.db.query('SELECT pg_sleep(0.02)')));
    expect(tb.tb.db.idleCount).toBeGreaterThan(0);
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    try {
      const killed = await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [dbName],
      );
      expect(killed.rowCount).toBeGreaterThan(0);
    } finally {
      await admin.end();
    }
    await waitForIdleDrop(tb);
    expect(logged.mock.calls.flat().join(' ')).toContain('PostgreSQL closed an idle connection');
    logged.mockRestore();
    const res = await fetch(`${tb.url}/api/v1/instance`);
    expect(res.status).toBe(200);
  });
});

describe('testbed shutdown', () => {
  it('closes every PostgreSQL connection before close() returns, so the database can be dropped at once', async () => {
    const fx = await startTestTestbed();
    const dbName = new URL(fx.databaseUrl).pathname.slice(1);
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    try {
      await Promise.all(Array.from({ length: 4 }, () => fx.tb.db.query('SELECT pg_sleep(0.02)')));
      expect(fx.tb.db.totalCount).toBeGreaterThan(1);
      await fx.close();
      const left = await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [
        dbName,
      ]);
      expect(left.rows[0].n).toBe(0);
    } finally {
      await admin.end();
      await fx.stop();
    }
  });
});

/** The pool notices terminated idle connections asynchronously; wait until it has dropped them. */
async function waitForIdleDrop(fx: TestbedFixture): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (fx.tb.db.idleCount > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(fx.tb.db.idleCount).toBe(0);
}

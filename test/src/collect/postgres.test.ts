import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPLICATION_NAME, openReadOnlyClient, PostgresSampler } from '../../../src/collect/postgres.js';
import type { Sample } from '../../../src/collect/sample.js';
import { waitFor } from '../../support/helpers.js';
import {
  createTestDatabase,
  dropTestDatabase,
  PG_ADMIN_URL,
  testDatabaseUrl,
} from '../../support/isolation.js';

const TIME = '2026-08-01T12:00:00.000Z';

/** A database of this test file's own (CREATE EXTENSION must not touch a shared one). */
let dbName: string;
let dbUrl: string;

async function admin<T>(fn: (c: pg.Client) => Promise<T>, url = PG_ADMIN_URL): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const value = (samples: Sample[], metric: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.metric === metric && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value;

describe('PostgresSampler against the local PostgreSQL', () => {
  let sampler: PostgresSampler;
  beforeAll(async () => {
    dbName = await createTestDatabase();
    dbUrl = testDatabaseUrl(dbName);
    sampler = new PostgresSampler(dbUrl);
    await admin((c) => c.query('CREATE TABLE notes (id serial PRIMARY KEY, body text)'), dbUrl);
  });
  afterAll(async () => {
    await sampler?.close();
    if (dbName) await dropTestDatabase(dbName);
  });

  it("counts this database's connections by state, leaving itself out", async () => {
    const idle = new pg.Client({ connectionString: dbUrl });
    const inTx = new pg.Client({ connectionString: dbUrl });
    await idle.connect();
    await inTx.connect();
    try {
      await inTx.query('BEGIN');
      await inTx.query('SELECT 1');
      const samples = await sampler.sample(TIME);
      expect(value(samples, 'postgres_connections', { state: 'idle' })).toBe(1);
      expect(value(samples, 'postgres_connections', { state: 'idle in transaction' })).toBe(1);
      expect(value(samples, 'postgres_connections', { state: 'active' })).toBeUndefined();
      expect(value(samples, 'postgres_connections_total')).toBeGreaterThanOrEqual(2);
      for (const s of samples) expect(s).toMatchObject({ time: TIME, source: 'postgres' });
      expect(samples.every((s) => s.labels.database === dbName)).toBe(true);
    } finally {
      await inTx.query('ROLLBACK');
      await idle.end();
      await inTx.end();
    }
  });

  it('reports commits, rollbacks, tuples and blocks rising with the work done, and the database size', async () => {
    const before = await sampler.sample(TIME);
    const writer = new pg.Client({ connectionString: dbUrl });
    await writer.connect();
    for (let i = 0; i < 5; i++) await writer.query('INSERT INTO notes (body) VALUES ($1), ($1)', [`n${i}`]);
    for (let i = 0; i < 2; i++) {
      await writer.query('BEGIN');
      await writer.query("INSERT INTO notes (body) VALUES ('gone')");
      await writer.query('ROLLBACK');
    }
    await writer.query("UPDATE notes SET body = 'x' WHERE id <= 3");
    await writer.query('DELETE FROM notes WHERE id = 1');
    await writer.end(); // a backend flushes its statistics when it exits
    const rise = (after: Sample[], metric: string) => value(after, metric)! - value(before, metric)!;
    const after = await waitFor(
      async () => {
        const s = await sampler.sample(TIME);
        return rise(s, 'postgres_xact_rollback_total') >= 2 ? s : undefined;
      },
      'the writer statistics',
      15_000,
      200,
    );
    expect(rise(after, 'postgres_xact_commit_total')).toBeGreaterThanOrEqual(7);
    expect(rise(after, 'postgres_xact_rollback_total')).toBe(2);
    expect(rise(after, 'postgres_tup_inserted_total')).toBe(12); // rolled-back inserts count too
    expect(rise(after, 'postgres_tup_updated_total')).toBe(3);
    expect(rise(after, 'postgres_tup_deleted_total')).toBe(1);
    expect(rise(after, 'postgres_blks_hit_total')).toBeGreaterThan(0);
    expect(value(after, 'postgres_blks_read_total')).toBeGreaterThanOrEqual(0);
    expect(value(after, 'postgres_database_size_bytes')).toBeGreaterThan(1_000_000);
  });

  it('has a connection that refuses to write', async () => {
    const client = await openReadOnlyClient(dbUrl);
    try {
      await expect(client.query("INSERT INTO notes (body) VALUES ('no')")).rejects.toThrow(
        /read-only transaction/,
      );
      await expect(client.query('BEGIN; CREATE TABLE t (x int)')).rejects.toThrow(/read-only transaction/);
    } finally {
      await client.end();
    }
  });

  it('reports no statements without pg_stat_statements, nor when it is installed but not preloaded', async () => {
    const noStatements = (samples: Sample[]) =>
      samples.filter((s) => s.metric.startsWith('postgres_statement'));
    expect(noStatements(await sampler.sample(TIME))).toEqual([]);
    await admin((c) => c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements'), dbUrl);
    const preloaded = await admin(async (c) => (await c.query('SHOW shared_preload_libraries')).rows[0]);
    await sampler.close(); // a new connection looks for the extension again
    const samples = await sampler.sample(TIME);
    expect(value(samples, 'postgres_xact_commit_total')).toBeGreaterThan(0);
    if (String(preloaded.shared_preload_libraries).includes('pg_stat_statements')) {
      // A server with it loaded: the top statements, with their text.
      expect(samples.some((s) => s.metric === 'postgres_statement_calls_total' && s.labels.query)).toBe(true);
    } else {
      console.log('pg_stat_statements is not in shared_preload_libraries here: only its absence is tested');
      expect(noStatements(samples)).toEqual([]);
      expect(noStatements(await sampler.sample(TIME))).toEqual([]);
    }
  });

  it('is a gap while its connection is gone, and reconnects at the next sample', async () => {
    await sampler.sample(TIME);
    const killed = await admin(
      async (c) =>
        (
          await c.query(
            'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2',
            [dbName, APPLICATION_NAME],
          )
        ).rowCount,
    );
    expect(killed).toBe(1);
    await expect(sampler.sample(TIME)).rejects.toThrow(`${sampler.name}: `);
    expect(sampler.name).toBe(dbUrl.replace('postgres@', ''));
    expect(value(await sampler.sample(TIME), 'postgres_xact_commit_total')).toBeGreaterThan(0);
  });
});

describe('PostgresSampler gaps', () => {
  it('rejects an unreachable server and an unknown database, naming the URL without its password', async () => {
    const refused = new PostgresSampler('postgres://fedicap:hunter2@127.0.0.1:1/test');
    const err = await refused.sample(TIME).catch((e: Error) => e);
    expect(String(err)).toContain('postgres://127.0.0.1:1/test: ');
    expect(String(err)).toMatch(/ECONNREFUSED/);
    expect(String(err)).not.toContain('hunter2');
    await refused.close();
    const missing = new PostgresSampler(PG_ADMIN_URL.replace(/\/[^/]*$/, '/fedicap_no_such_db'));
    await expect(missing.sample(TIME)).rejects.toThrow(/database "fedicap_no_such_db" does not exist/);
    await missing.close();
  });
});

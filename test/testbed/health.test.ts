import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../testbed/db/migrations.js';
import { startTestTestbed, type TestbedFixture } from './support.js';

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
});

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startRedisServer } from './globalSetup.js';

/** isolation.ts against a Redis that holds someone's keys (as FEDICAP_TEST_REDIS may name one). */
describe('claimRedisDb on a Redis that is not the suite’s own', () => {
  let server: Awaited<ReturnType<typeof startRedisServer>>;
  let isolation: typeof import('./isolation.js');
  beforeAll(async () => {
    server = await startRedisServer();
    vi.stubEnv('FEDICAP_TEST_REDIS', server.url);
    vi.resetModules();
    isolation = await import('./isolation.js');
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await server?.stop();
  });

  it('claims only an empty index, leaves the others’ keys alone, and refuses when none is empty', async () => {
    expect(isolation.REDIS_URL).toBe(server.url);
    const owners: Redis[] = [];
    for (let index = 1; index <= 15; index++) owners.push(new Redis(`${server.url}/${index}`));
    try {
      for (const [i, r] of owners.entries()) if (i !== 6) await r.set('users:keep', `index ${i + 1}`);
      const claim = await isolation.claimRedisDb(1_000);
      expect(claim.index).toBe(7);
      await owners[6]!.set('the:tests', '1');
      await claim.release();
      expect(await owners[6]!.dbsize()).toBe(0);
      await owners[6]!.set('users:keep', 'index 7');
      await expect(isolation.claimRedisDb(400)).rejects.toThrow(
        /no free empty Redis database index in 1\.\.15 .* indexes 1, 2, .*, 15 hold keys the tests did not create/,
      );
      for (const [i, r] of owners.entries()) expect(await r.get('users:keep')).toBe(`index ${i + 1}`);
    } finally {
      for (const r of owners) r.disconnect();
    }
  });

  it('drops only databases named as the tests name them', async () => {
    await expect(isolation.dropTestDatabase('mastodon_production')).rejects.toThrow(
      'refusing to drop mastodon_production: not a test database',
    );
  });
});

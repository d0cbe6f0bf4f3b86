import { Redis } from 'ioredis';

/** Local services the tests and benchmarks use; override with FEDICAP_TEST_PG / FEDICAP_TEST_REDIS. */
export const PG_ADMIN_URL = process.env.FEDICAP_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.FEDICAP_TEST_REDIS ?? 'redis://127.0.0.1:6379';

/**
 * Claim a Redis database index (1..15) for this test file: real Sidekiq reads
 * plain keys, so runs are isolated by index, not by key prefix. The claim is
 * a key in database 0 that expires if the test process dies.
 */
export async function claimRedisDb(): Promise<{ index: number; release(): Promise<void> }> {
  const lock = new Redis(`${REDIS_URL}/0`);
  try {
    for (let attempt = 0; attempt < 100; attempt++) {
      for (let index = 1; index <= 15; index++) {
        const ok = await lock.set(`fedicap:test-db:${index}`, String(process.pid), 'EX', 900, 'NX');
        if (ok) {
          const db = new Redis(`${REDIS_URL}/${index}`);
          await db.flushdb();
          db.disconnect();
          return {
            index,
            release: async () => {
              const r = new Redis(`${REDIS_URL}/${index}`);
              await r.flushdb();
              r.disconnect();
              const l = new Redis(`${REDIS_URL}/0`);
              await l.del(`fedicap:test-db:${index}`);
              l.disconnect();
            },
          };
        }
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('no free Redis database index in 1..15 after 20 s');
  } finally {
    lock.disconnect();
  }
}

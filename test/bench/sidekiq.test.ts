import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { naiveBoundPerSec } from '../../bench/sidekiq/grid.js';
import { measureDrain } from '../../bench/sidekiq/measure.js';
import { isAlive, missingSidekiq, startPool } from '../../bench/sidekiq/pool.js';
import { claimRedisDb, REDIS_URL } from '../support/isolation.js';

const missing = missingSidekiq();
if (missing) console.log(`test/bench/sidekiq.test.ts skipped: ${missing}`);

describe('bench:sidekiq harness against real Sidekiq', () => {
  it.skipIf(missing !== undefined)(
    'drains every pushed job through one process -c 2, below the naive bound, and leaves nothing behind',
    async () => {
      const claim = await claimRedisDb();
      const url = `${REDIS_URL}/${claim.index}`;
      const redis = new Redis(url);
      const configuration = { name: 'smoke', processes: 1, threads: 2, cpuMs: 2, waitMs: 3 };
      let pids: readonly number[] = [];
      try {
        const pool = await startPool(configuration, url, redis);
        pids = pool.pids;
        let drain: Awaited<ReturnType<typeof measureDrain>>;
        try {
          drain = await measureDrain(redis, configuration, 200, 300, pool.pids);
        } finally {
          await pool.stop();
        }
        // Sidekiq flushes its counters at exit: every job pushed was processed, none failed.
        expect(Number(await redis.get('stat:processed'))).toBe(200);
        expect(Number((await redis.get('stat:failed')) ?? 0)).toBe(0);
        expect(drain.recorded).toBe(200);
        expect(drain.ratePerSec).toBeGreaterThan(0);
        expect(drain.ratePerSec).toBeLessThan(naiveBoundPerSec(configuration, 2) * 1.5);
      } finally {
        redis.disconnect();
        await claim.release();
      }
      expect(pids).toHaveLength(1);
      for (const pid of pids) expect(isAlive(pid)).toBe(false);
      const lock = new Redis(`${REDIS_URL}/0`);
      const holder = await lock.get(`fedicap:test-db:${claim.index}`);
      lock.disconnect();
      expect(holder).not.toBe(String(process.pid));
    },
  );
});

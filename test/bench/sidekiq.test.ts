import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { naiveBoundPerSec } from '../../bench/sidekiq/grid.js';
import { measureDrain } from '../../bench/sidekiq/measure.js';
import { isAlive, missingSidekiq, startPool } from '../../bench/sidekiq/pool.js';
import { type Row, shortfalls } from '../../bench/sidekiq/report.js';
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

describe('bench:sidekiq verdict', () => {
  it('names every configuration that lost, failed or did not record jobs, and none of a complete run', () => {
    const recorded = JSON.parse(
      readFileSync(new URL('../../fixtures/runs/sidekiq-grid-2026-12-03.json', import.meta.url), 'utf8'),
    ) as { rows: Row[] };
    expect(shortfalls(recorded.rows)).toEqual([]);
    const [first, second] = structuredClone(recorded.rows);
    first!.measured.processed -= 3;
    second!.measured.failed = 2;
    second!.measured.latency[1]!.recorded -= 1;
    const jobs = second!.measured.latency[1]!.jobs;
    expect(shortfalls([first!, second!])).toEqual([
      `${first!.measured.configuration.name}: pushed ${first!.measured.pushed}, processed ${first!.measured.pushed - 3}, failed 0`,
      `${second!.measured.configuration.name}: pushed ${second!.measured.pushed}, processed ${second!.measured.processed}, failed 2`,
      `${second!.measured.configuration.name}: latency at ${second!.measured.latency[1]!.offeredPerSec.toFixed(0)}/s recorded ${jobs - 1} of ${jobs} jobs`,
    ]);
  });
});

/**
 * One configuration end to end: start its processes, drain, two latency
 * steps, stop, and read Sidekiq's own counters (flushed at exit) to check
 * that every job pushed was processed and none failed.
 */
import type { Redis } from 'ioredis';
import { seededRng } from '../../src/shared/random.js';
import { type Configuration, expectedPerSec, naiveBoundPerSec, platformConfigurations } from './grid.js';
import {
  type Drain,
  type Latency,
  measureDrain,
  measureFrameworkCpu,
  measureLatency,
  measurePickup,
  type FrameworkCpu,
  type QueueWaits,
} from './measure.js';
import { type Pool, startPool } from './pool.js';

/** Sizes and durations of the steps; `--quick` shortens them. */
export interface Plan {
  drainSec: number;
  latencySec: number;
  /** At least this many jobs per latency step. */
  latencyJobs: number;
  /** Offered load of the latency steps as fractions of the measured drain rate. */
  loadFractions: readonly number[];
  frameworkJobs: number;
  cores: number;
}

export interface Measured {
  configuration: Configuration;
  naiveBoundPerSec: number;
  drain: Drain;
  latency: Latency[];
  /** From Sidekiq's stat:processed / stat:failed, read after the processes exited. */
  processed: number;
  failed: number;
  pushed: number;
}

/** The pool started by a step, so a SIGINT of the benchmark can stop it. */
export const running = new Set<Pool>();

async function withPool<T>(
  shape: Configuration,
  redisUrl: string,
  redis: Redis,
  body: (pool: Pool) => Promise<T>,
): Promise<T> {
  const pool = await startPool(shape, redisUrl, redis);
  running.add(pool);
  try {
    return await body(pool);
  } finally {
    await pool.stop();
    running.delete(pool);
  }
}

async function counters(redis: Redis): Promise<{ processed: number; failed: number }> {
  const [processed, failed] = await redis.mget('stat:processed', 'stat:failed');
  return { processed: Number(processed ?? 0), failed: Number(failed ?? 0) };
}

export async function runConfiguration(
  c: Configuration,
  plan: Plan,
  frameworkCpuMs: number,
  db: { url: string; redis: Redis },
): Promise<Measured> {
  const before = await counters(db.redis);
  const expected = expectedPerSec(c, plan.cores, frameworkCpuMs);
  const count = Math.max(100, Math.min(20_000, Math.round(expected * plan.drainSec)));
  const rng = seededRng(c.processes * 1000 + c.threads * 10 + c.cpuMs);
  const { drain, latency } = await withPool(c, db.url, db.redis, async (pool) => {
    const drain = await measureDrain(db.redis, c, count, expected, pool.pids);
    const latency: Latency[] = [];
    for (const fraction of plan.loadFractions) {
      latency.push(
        await measureLatency(
          db.redis,
          c,
          {
            ratePerSec: fraction * drain.ratePerSec,
            durationSec: plan.latencySec,
            minJobs: plan.latencyJobs,
          },
          rng,
          pool.pids,
        ),
      );
    }
    return { drain, latency };
  });
  const after = await counters(db.redis);
  return {
    configuration: c,
    naiveBoundPerSec: naiveBoundPerSec(c, plan.cores),
    drain,
    latency,
    processed: after.processed - before.processed,
    failed: after.failed - before.failed,
    pushed: drain.jobs + latency.reduce((n, l) => n + l.jobs, 0),
  };
}

/** Framework CPU per job (no-op jobs through one process with `-c 5`), then the idle pickup latency. */
export function runFrameworkCpu(
  plan: Plan,
  db: { url: string; redis: Redis },
): Promise<{ framework: FrameworkCpu; pickup: QueueWaits }> {
  const shape = { name: 'framework', processes: 1, threads: 5, cpuMs: 0, waitMs: 0 };
  return withPool(shape, db.url, db.redis, async (pool) => ({
    framework: await measureFrameworkCpu(db.redis, pool.pids[0]!, plan.frameworkJobs),
    pickup: await measurePickup(db.redis, 40, 100),
  }));
}

/** A drain of one of the platform's calibration pools. */
export interface PlatformRun {
  configuration: Configuration;
  drain: Drain;
}

export interface PlatformRuns {
  wakeup: PlatformRun;
  handoff: PlatformRun;
}

/** The pools of `platformConfigurations`, each drained once. */
export async function runPlatform(
  plan: Plan,
  frameworkCpuMs: number,
  db: { url: string; redis: Redis },
): Promise<PlatformRuns> {
  const drainOf = async (c: Configuration): Promise<PlatformRun> => {
    const expected = expectedPerSec(c, plan.cores, frameworkCpuMs);
    const count = Math.max(100, Math.round(expected * plan.drainSec));
    const drain = await withPool(c, db.url, db.redis, (pool) =>
      measureDrain(db.redis, c, count, expected, pool.pids),
    );
    return { configuration: c, drain };
  };
  const { wakeup, handoff } = platformConfigurations(plan.cores);
  return { wakeup: await drainOf(wakeup), handoff: await drainOf(handoff) };
}

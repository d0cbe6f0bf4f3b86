/**
 * The three measurements on a running pool: drain throughput of a pre-filled
 * queue, queue latency under open Poisson arrivals, and the framework's CPU
 * per job (Sidekiq's and Redis's) over a drain of no-op jobs.
 */
import type { Redis } from 'ioredis';
import { exponential, type Rng } from '../../src/shared/random.js';
import { percentile, sortedCopy } from '../testbed/clock.js';
import { awaitRecords, clearRecords, type JobRecord, type JobShape, pushAt, pushJobs } from './jobs.js';
import { type CoresUsed, coresUsed, redisCpuMs, sampleCpu } from './hostCpu.js';
import { processCpuMs } from './pool.js';

export interface Drain {
  jobs: number;
  recorded: number;
  /** Jobs finished per second between 10 % and 90 % of them finished. */
  ratePerSec: number;
  wallSec: number;
  /** Cores in use from the first push to the last record, by whom (others: the rest of a shared host). */
  cores: CoresUsed;
  /** The pool's CPU (every thread, user + system) per job over the drain: the job's own burn plus the framework's. */
  poolCpuMsPerJob: number;
}

/** Bounded wait for `count` jobs expected at `ratePerSec`: four times the expected time plus 15 s. */
const deadlineFor = (count: number, ratePerSec: number) => Date.now() + (count / ratePerSec) * 4000 + 15_000;

/** Pre-fill `count` jobs and time their completion. */
export async function measureDrain(
  redis: Redis,
  job: JobShape,
  count: number,
  expectedPerSec: number,
  pids: readonly number[],
): Promise<Drain> {
  await clearRecords(redis);
  const startMs = Date.now();
  const before = await sampleCpu(redis, pids);
  await pushJobs(redis, job, count);
  const records = await awaitRecords(redis, count, deadlineFor(count, expectedPerSec));
  const after = await sampleCpu(redis, pids);
  const ends = sortedCopy(records.map((r) => r.endMs));
  const lo = Math.floor(count * 0.1);
  const hi = Math.ceil(count * 0.9) - 1;
  const spanMs = (ends[hi] ?? Number.NaN) - (ends[lo] ?? Number.NaN);
  return {
    jobs: count,
    recorded: records.length,
    ratePerSec: ((hi - lo) * 1000) / spanMs,
    wallSec: ((ends.at(-1) ?? Number.NaN) - startMs) / 1000,
    cores: coresUsed(before, after),
    poolCpuMsPerJob: (after.poolMs - before.poolMs) / records.length,
  };
}

/** Queue latency (a job's start − its enqueued_at) under Poisson arrivals. */
export interface Latency extends QueueWaits {
  offeredPerSec: number;
  jobs: number;
  /** The pool's CPU per job at this load: the demand a calibration measures on a running instance. */
  poolCpuMsPerJob: number;
  /** Cores in use over the step, by whom. */
  cores: CoresUsed;
}

/**
 * Poisson arrivals at `ratePerSec` for at least `durationSec` and at least `minJobs` jobs (a p95 needs
 * many), at most 20,000, pushed as their times come.
 */
export async function measureLatency(
  redis: Redis,
  job: JobShape,
  arrivals: { ratePerSec: number; durationSec: number; minJobs: number },
  rng: Rng,
  pids: readonly number[],
): Promise<Latency> {
  const { ratePerSec, durationSec, minJobs } = arrivals;
  const count = Math.max(minJobs, Math.min(20_000, Math.round(ratePerSec * durationSec)));
  const arrivalsMs: number[] = [];
  let t = 0;
  for (let i = 0; i < count; i++) {
    t += exponential(rng, 1000 / ratePerSec);
    arrivalsMs.push(t);
  }
  await clearRecords(redis);
  const before = await sampleCpu(redis, pids);
  await pushAt(redis, job, arrivalsMs);
  const records = await awaitRecords(redis, count, deadlineFor(count, ratePerSec));
  const after = await sampleCpu(redis, pids);
  return {
    offeredPerSec: ratePerSec,
    jobs: count,
    poolCpuMsPerJob: (after.poolMs - before.poolMs) / records.length,
    cores: coresUsed(before, after),
    ...queueWaits(records),
  };
}

export interface QueueWaits {
  recorded: number;
  p50Ms: number;
  p95Ms: number;
  /** p95 of the first and of the second half of the jobs (by enqueue time): how well p95 is known. */
  p95HalvesMs: [number, number];
  meanMs: number;
}

const p95Of = (records: readonly JobRecord[]) =>
  percentile(sortedCopy(records.map((r) => r.startMs - r.enqueuedMs)), 95);

function queueWaits(records: readonly JobRecord[]): QueueWaits {
  const waits = sortedCopy(records.map((r) => r.startMs - r.enqueuedMs));
  const byEnqueue = [...records].sort((a, b) => a.enqueuedMs - b.enqueuedMs);
  const half = Math.floor(byEnqueue.length / 2);
  return {
    recorded: records.length,
    p50Ms: percentile(waits, 50),
    p95Ms: percentile(waits, 95),
    p95HalvesMs: [p95Of(byEnqueue.slice(0, half)), p95Of(byEnqueue.slice(half))],
    meanMs: waits.reduce((a, b) => a + b, 0) / waits.length,
  };
}

/**
 * Queue latency without queueing: no-op jobs `spacingMs` apart on an idle pool, so each finds a thread
 * waiting in BRPOP. What remains is the push, Redis's reply and waking the Ruby thread (and, on a loaded
 * host, waiting for a core at each step); a busy pool, whose threads and host are awake, picks up faster.
 */
export async function measurePickup(redis: Redis, count: number, spacingMs: number): Promise<QueueWaits> {
  await clearRecords(redis);
  const arrivalsMs = Array.from({ length: count }, (_, i) => (i + 1) * spacingMs);
  await pushAt(redis, { cpuMs: 0, waitMs: 0 }, arrivalsMs);
  return queueWaits(await awaitRecords(redis, count, Date.now() + 10_000));
}

export interface FrameworkCpu {
  jobs: number;
  recorded: number;
  wallSec: number;
  /** Sidekiq process CPU (user + system) per no-op job. */
  sidekiqCpuMsPerJob: number;
  /** Redis server CPU (used_cpu_user + used_cpu_sys) per job, the pushes included. */
  redisCpuMsPerJob: number;
}

/** Drain `count` no-op jobs through the process `pid` and charge its CPU and Redis's to them. */
export async function measureFrameworkCpu(redis: Redis, pid: number, count: number): Promise<FrameworkCpu> {
  await clearRecords(redis);
  const sidekiqBefore = processCpuMs(pid);
  const redisBefore = await redisCpuMs(redis);
  const startMs = Date.now();
  await pushJobs(redis, { cpuMs: 0, waitMs: 0 }, count);
  const records = await awaitRecords(redis, count, deadlineFor(count, 200));
  const wallSec = (Date.now() - startMs) / 1000;
  const sidekiqMs = processCpuMs(pid) - sidekiqBefore;
  const redisMs = (await redisCpuMs(redis)) - redisBefore;
  return {
    jobs: count,
    recorded: records.length,
    wallSec,
    sidekiqCpuMsPerJob: sidekiqMs / records.length,
    redisCpuMsPerJob: redisMs / records.length,
  };
}

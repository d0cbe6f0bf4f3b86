/**
 * Pushing benchmark jobs in Sidekiq's Redis layout (what Sidekiq::Client
 * writes: LPUSH queue:NAME the payload, SADD queues NAME) and reading back
 * what job.rb recorded for each job that succeeded.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { QUEUES_KEY, queueKey } from '../../world/testbed/sidekiq/layout.js';
import { sleep } from '../testbed/clock.js';
import { BENCH_QUEUE } from './pool.js';

/** job.rb's FedicapBench::RECORDS_KEY. */
export const RECORDS_KEY = 'fedicap:bench:records';
export const JOB_CLASS = 'FedicapBench::Job';
const PUSH_BATCH = 500;

/** What one job does: Ruby CPU under the interpreter lock, then an I/O-like wait. */
export interface JobShape {
  cpuMs: number;
  waitMs: number;
}

/** One succeeded job as job.rb recorded it (wall clock, ms since the epoch). */
export interface JobRecord {
  enqueuedMs: number;
  startMs: number;
  endMs: number;
}

function payload(job: JobShape, nowMs: number): string {
  const at = nowMs / 1000;
  return JSON.stringify({
    class: JOB_CLASS,
    args: [job.cpuMs, job.waitMs],
    jid: randomBytes(12).toString('hex'),
    queue: BENCH_QUEUE,
    retry: false,
    created_at: at,
    enqueued_at: at,
  });
}

/** Push `count` jobs now, in pipelined batches. */
export async function pushJobs(redis: Redis, job: JobShape, count: number): Promise<void> {
  await redis.sadd(QUEUES_KEY, BENCH_QUEUE);
  for (let done = 0; done < count; done += PUSH_BATCH) {
    const n = Math.min(PUSH_BATCH, count - done);
    const now = Date.now();
    await redis.lpush(queueKey(BENCH_QUEUE), ...Array.from({ length: n }, () => payload(job, now)));
  }
}

/** Push one job per arrival time (ms from `startMs`), each when its time comes; returns when all are pushed. */
export async function pushAt(redis: Redis, job: JobShape, arrivalsMs: readonly number[]): Promise<void> {
  await redis.sadd(QUEUES_KEY, BENCH_QUEUE);
  const startMs = Date.now();
  let next = 0;
  while (next < arrivalsMs.length) {
    const now = Date.now();
    const due: string[] = [];
    while (next < arrivalsMs.length && startMs + arrivalsMs[next]! <= now) {
      due.push(payload(job, Date.now()));
      next++;
    }
    if (due.length > 0) await redis.lpush(queueKey(BENCH_QUEUE), ...due);
    if (next < arrivalsMs.length) await sleep(Math.max(0, startMs + arrivalsMs[next]! - Date.now()));
  }
}

/** Forget earlier records before a measurement. */
export async function clearRecords(redis: Redis): Promise<void> {
  await redis.del(RECORDS_KEY);
}

/**
 * Wait until `count` jobs have been recorded (job.rb flushes every 100 ms) or the deadline passes;
 * returns the records there are.
 */
export async function awaitRecords(redis: Redis, count: number, deadlineMs: number): Promise<JobRecord[]> {
  while ((await redis.llen(RECORDS_KEY)) < count && Date.now() < deadlineMs) await sleep(50);
  const lines = await redis.lrange(RECORDS_KEY, 0, -1);
  return lines.map((line) => {
    const [enqueuedMs, startMs, endMs] = line.split(' ').map(Number);
    return { enqueuedMs: enqueuedMs!, startMs: startMs!, endMs: endMs! };
  });
}

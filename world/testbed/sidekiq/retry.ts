import type { ChainableCommander, Redis } from 'ioredis';
import {
  DEAD_KEY,
  DEAD_MAX_JOBS,
  DEAD_TIMEOUT_SEC,
  ERROR_MESSAGE_MAX,
  maxRetryAttempts,
  retryDelaySec,
  rubyTruthy,
} from './layout.js';
import type { SidekiqJob, WorkerClass } from './types.js';

/** What became of a failed job. */
export type FailureOutcome =
  | { kind: 'retry'; atSec: number; payload: string }
  | { kind: 'dead'; payload: string }
  | { kind: 'dropped' };

/**
 * An error's class and message as Sidekiq records them (error_class is the Ruby class name; here the JS
 * error's name).
 */
export function describeError(err: unknown): { errorClass: string; message: string } {
  if (err instanceof Error) {
    const name = err.name && err.name !== 'Error' ? err.name : err.constructor?.name || 'Error';
    return { errorClass: name, message: String(err.message).slice(0, ERROR_MESSAGE_MAX) };
  }
  return { errorClass: 'RuntimeError', message: String(err).slice(0, ERROR_MESSAGE_MAX) };
}

/** Raised for a job whose class the registry does not know, as Ruby's constantize raises NameError. */
export class UnknownJobClassError extends Error {
  override name = 'NameError';
  constructor(className: string) {
    super(`uninitialized constant ${className}`);
  }
}

/**
 * DeadSet#kill's commands, added to a MULTI: ZADD `dead` now, then trim it by
 * age (6 months) and by size. The size trim is Sidekiq's own
 * `ZREMRANGEBYRANK dead 0 -10000`, which keeps the newest 9,999 entries.
 */
export function addKill(m: ChainableCommander, jobstr: string, nowSec: number): ChainableCommander {
  return m
    .zadd(DEAD_KEY, String(nowSec), jobstr)
    .zremrangebyscore(DEAD_KEY, '-inf', String(nowSec - DEAD_TIMEOUT_SEC))
    .zremrangebyrank(DEAD_KEY, 0, -DEAD_MAX_JOBS);
}

/** DeadSet#kill. */
export async function killJob(redis: Redis, jobstr: string, nowSec: number): Promise<void> {
  await addKill(redis.multi(), jobstr, nowSec).exec();
}

/**
 * JobRetry (global and local handlers) for a job that raised — what to write,
 * not the writing (the processor writes it in one MULTI with the counters):
 * - the job's `retry` (or, when the JSON has none, the class's option) is
 *   Ruby-falsy (`false`): dropped — no retry, no dead entry;
 * - else `retry_count` is set to 0 (first failure, with `failed_at`) or
 *   incremented (with `retried_at`), `error_message` / `error_class` set,
 *   `queue` = `retry_queue` || the queue it ran on; while `retry_count` is
 *   below the allowed attempts (true → 25, a number → that number, 0 → none)
 *   it goes to `retry` scored now + delay, otherwise to `dead` (or nowhere
 *   when the job says `dead: false`).
 * `worker` is undefined for an unknown class (Sidekiq's global handler: the
 * JSON's `retry` alone decides, and the default delay applies).
 */
export function planFailure(args: {
  jobstr: string;
  queue: string;
  worker: WorkerClass | undefined;
  error: unknown;
  nowSec: number;
  jitterSec?: (count: number) => number;
}): FailureOutcome {
  let msg: SidekiqJob & { retry_queue?: string };
  try {
    msg = JSON.parse(args.jobstr) as SidekiqJob;
  } catch {
    return { kind: 'dead', payload: args.jobstr };
  }
  const retry: unknown = msg.retry ?? args.worker?.retry;
  if (!rubyTruthy(retry)) return { kind: 'dropped' };
  if (msg.retry === undefined || msg.retry === null) msg.retry = retry as boolean | number;

  msg.queue = msg.retry_queue || args.queue;
  const { errorClass, message } = describeError(args.error);
  msg.error_message = message;
  msg.error_class = errorClass;
  let count: number;
  if (typeof msg.retry_count === 'number') {
    msg.retried_at = args.nowSec;
    count = msg.retry_count += 1;
  } else {
    msg.failed_at = args.nowSec;
    count = msg.retry_count = 0;
  }

  if (count < maxRetryAttempts(retry)) {
    let custom: number | undefined;
    try {
      custom = args.worker?.retryIn?.(count);
    } catch {
      custom = undefined; // Sidekiq falls back to its default delay when sidekiq_retry_in raises
    }
    const atSec = args.nowSec + retryDelaySec(count, custom, args.jitterSec);
    return { kind: 'retry', atSec, payload: JSON.stringify(msg) };
  }
  // JobRetry#retries_exhausted: send_to_morgue unless msg["dead"] == false.
  if (msg.dead === false || (msg.dead === undefined && args.worker?.dead === false))
    return { kind: 'dropped' };
  return { kind: 'dead', payload: JSON.stringify(msg) };
}

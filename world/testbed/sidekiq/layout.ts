/**
 * Sidekiq's Redis layout and the small rules around it, as read in Sidekiq
 * 6.4.1's source (lib/sidekiq/{launcher,api,fetch,scheduled,job_retry}.rb),
 * the version Debian ships as ruby-sidekiq and the one the tests read back
 * with. Where Sidekiq 7 (what Mastodon 4.x runs) differs, the note says so.
 *
 * Pure helpers only: no Redis, no clock unless passed in.
 */

// The keys the read side shares live with it (src/mastodon/sidekiqState.ts); the write side's rules stay here.
export {
  DEAD_KEY,
  PROCESSES_KEY,
  QUEUES_KEY,
  queueKey,
  RETRY_KEY,
  SCHEDULE_KEY,
  workersKey,
  workKey7,
} from '../../../src/mastodon/sidekiqState.js';
/** Signals for a process (Sidekiq::Process#quiet! / #stop! LPUSH TSTP / TERM here). */
export const signalsKey = (identity: string) => `${identity}-signals`;

/** Launcher::STATS_TTL: per-day counters live five years. */
export const STATS_TTL_SEC = 5 * 365 * 24 * 60 * 60;
/** Launcher::BEAT_PAUSE. */
export const BEAT_PAUSE_SEC = 5;
/** TTL of the process hash and its work hash: a process silent for a minute is gone. */
export const PROCESS_TTL_SEC = 60;
/** BasicFetch::TIMEOUT (the testbed uses less so stop() is quick). */
export const SIDEKIQ_FETCH_TIMEOUT_SEC = 2;
/** Sidekiq's default shutdown timeout (`-t`, options[:timeout]). */
export const SIDEKIQ_SHUTDOWN_TIMEOUT_SEC = 25;
/** JobRetry::DEFAULT_MAX_RETRY_ATTEMPTS: `retry: true` means 25 retries. */
export const DEFAULT_MAX_RETRY_ATTEMPTS = 25;
/** DEFAULTS[:dead_max_jobs] and [:dead_timeout_in_seconds] (6 months). */
export const DEAD_MAX_JOBS = 10_000;
export const DEAD_TIMEOUT_SEC = 180 * 24 * 60 * 60;
/** JobRetry#exception_message keeps the first 10,000 characters. */
export const ERROR_MESSAGE_MAX = 10_000;

/** `stat:processed:YYYY-MM-DD` and `stat:failed:…` use the UTC date. */
export function utcDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * How many times a job is retried before it goes to `dead`
 * (JobRetry#retry_attempts_from): an integer `retry` is the count, anything
 * else truthy (true) means 25.
 */
export function maxRetryAttempts(retry: unknown): number {
  return typeof retry === 'number' && Number.isInteger(retry) ? retry : DEFAULT_MAX_RETRY_ATTEMPTS;
}

/**
 * Ruby truthiness of the job's `retry` option, which decides between "attempt
 * a retry" and "drop": only `false` and `nil` are false in Ruby, so `retry: 0`
 * IS retried-or-killed — with 0 attempts allowed it goes straight to `dead`
 * (Sidekiq's documented "retry: 0 sends the job to the Dead set"), while
 * `retry: false` drops the job without a trace.
 */
export function rubyTruthy(v: unknown): boolean {
  return v !== false && v !== null && v !== undefined;
}

/**
 * Delay before retry number `count` (0 on the first failure). Sidekiq 6.4's
 * JobRetry#delay_for is `count**4 + 15 + rand(10) * (count + 1)`, or a class's
 * `sidekiq_retry_in` value (when a positive integer) plus the same jitter.
 * The testbed uses a class's `retryIn` as the WHOLE delay, fractions allowed
 * and no jitter added, so a class owns its timing (and tests can retry in
 * 1 s); it differs from Sidekiq by at most 9 × (count + 1) s there.
 * `jitterSec` lets tests pin the default path's jitter.
 */
export function retryDelaySec(
  count: number,
  custom: number | undefined,
  jitterSec: (count: number) => number = sidekiqJitterSec,
): number {
  if (custom !== undefined && Number.isFinite(custom) && custom > 0) return custom;
  return count ** 4 + 15 + jitterSec(count);
}

/** `rand(10) * (count + 1)`: an integer 0..9 times (count + 1). */
export function sidekiqJitterSec(count: number, random: () => number = Math.random): number {
  return Math.floor(random() * 10) * (count + 1);
}

/**
 * BasicFetch#queues_cmd: the queue list has each queue repeated `weight`
 * times (CLI#parse_queue: at least once); every fetch shuffles it and keeps the
 * first occurrence of each name, so a queue comes first with probability
 * weight / total weight. If no queue has a weight > 0 Sidekiq is "strict":
 * queues in declared order, every time.
 */
export function expandQueues(queues: { name: string; weight: number }[]): {
  list: string[];
  strict: boolean;
} {
  const list: string[] = [];
  for (const q of queues) {
    const n = Math.max(Math.trunc(q.weight) || 0, 1);
    for (let i = 0; i < n; i++) list.push(q.name);
  }
  return { list, strict: !queues.some((q) => Math.trunc(q.weight) > 0) };
}

/** One fetch's BRPOP key order (names, without the `queue:` prefix). */
export function fetchOrder(
  expanded: { list: string[]; strict: boolean },
  random: () => number = Math.random,
): string[] {
  if (expanded.strict) return [...new Set(expanded.list)];
  const a = [...expanded.list];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return [...new Set(a)];
}

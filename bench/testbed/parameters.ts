/** The testbed benchmark's sizes, rates and deadlines (see ../testbed.ts for what each part measures). */
import { DEFAULT_QUEUE_WEIGHTS, QUEUES } from '../../src/mastodon/classes.js';
import type { SidekiqUnitConfig } from '../../world/testbed/sidekiq/types.js';

/** Part 1: warm actors (spread over WARM_HOSTS hosts), activities, inbox concurrency. */
export const WARM_ACTORS = 8;
export const WARM_HOSTS = 4;
export const WARM_ACTIVITIES = 2_000;
export const INBOX_CONCURRENCY = 16;
/**
 * Local followers of each remote actor: makes its Creates "related to local activity" (else Mastodon drops
 * them) and gives each a small fan-out.
 */
export const LOCAL_FOLLOWERS_PER_REMOTE = 2;
export const COLD_ACTIVITIES = 150;
/** Part 2: local accounts with tokens, follows each, statuses each (in every follower's home feed). */
export const LOCAL_ACCOUNTS = 200;
export const FOLLOWS_PER_ACCOUNT = 20;
export const STATUSES_PER_ACCOUNT = 20;
export const READER_LEVELS = [1, 2, 4, 8, 16, 32];
export const READER_LEVEL_MS = 3_000;
export const READ_P95_TARGET_MS = 100;
/** Part 3: the ingress pool, calibration burst, steps (percent of the measured capacity), sampling. */
export const KNEE_CALIBRATION_ACTIVITIES = 600;
export const KNEE_STEPS_PCT = [10, 30, 50, 70, 90, 110, 130, 150];
export const KNEE_STEP_SEC = 5;
export const KNEE_SAMPLE_MS = 500;
/**
 * Bisection for the sustainable open-loop rate: range as fractions of the pool's drain rate, probes, seconds
 * per probe.
 */
export const KNEE_PROBE_RANGE = [0.4, 1.2] as const;
export const KNEE_PROBES = 4;
export const KNEE_PROBE_SEC = 4;
/**
 * Open loop: at most this many requests in flight; an arrival beyond it is dropped and counted (k6's
 * dropped_iterations).
 */
export const OPEN_LOOP_MAX_IN_FLIGHT = 256;
/** Upper bound on the requests signed for the steps (bounds memory and signing time). */
export const KNEE_MAX_REQUESTS = 20_000;
/** Hachyderm 2024 treats queue latency under 250 ms as healthy (../shared/mastodon-facts.md). */
export const HEALTHY_QUEUE_LATENCY_SEC = 0.25;
/** A busy relay: about 3 posts/s (anecdotal, ../shared/mastodon-facts.md). */
export const BUSY_RELAY_POSTS_PER_SEC = 3;

/** Deadlines (ms) of the bounded waits. */
export const PROCESS_DEADLINE_MS = 90_000;
export const IDLE_DEADLINE_MS = 60_000;
export const CLIENT_TIMEOUT_MS = 30_000;
export const WHOLE_BENCH_DEADLINE_MS = 8 * 60_000;

/**
 * Part 3's pool: ingress alone on a small process, the rest (Mastodon's weights) on another: a common split.
 */
export const KNEE_SIDEKIQ: SidekiqUnitConfig[] = [
  { processes: 1, threads: 2, queues: [{ name: 'ingress', weight: 1 }] },
  {
    processes: 1,
    threads: 5,
    queues: QUEUES.filter((name) => name !== 'ingress').map((name) => ({
      name,
      weight: DEFAULT_QUEUE_WEIGHTS[name],
    })),
  },
];

/**
 * A unit as its Sidekiq command line: `sidekiq -c 5 -q default,8 -q pull` (weight 1 is left out, as in
 * sidekiq.yml).
 */
export function sidekiqCommandText(unit: SidekiqUnitConfig): string {
  const queues = unit.queues.map((q) => (q.weight === 1 ? `-q ${q.name}` : `-q ${q.name},${q.weight}`));
  return `sidekiq -c ${unit.threads} ${queues.join(' ')}`;
}

export const sidekiqPoolText = (units: SidekiqUnitConfig[]) => units.map(sidekiqCommandText).join('  +  ');

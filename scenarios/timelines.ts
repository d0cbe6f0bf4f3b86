/**
 * Timeline reads as clients make them: home, public (local, federated and
 * remote-only in turn), notifications, each paginated with max_id from the
 * Link header (a reader scrolls on with probability SCROLL, default 0.5, at
 * most PAGES pages, default 3), and a thread's context when a reader opens
 * one (THREAD_SHARE of home reads, default 0.1). LIMIT sets the page size
 * (default: the server's, as most clients).
 *
 * Rates: the profile's timelines/home, timelines/public and notifications
 * request rates (peak hour unless LOAD=mean) × SCALE, one request per
 * iteration, tokens in turn. setup() posts SEED_POSTS statuses (default 6)
 * so a fresh instance has something to read.
 *
 * Effect: the reads returned statuses (`effects{effect:timeline_statuses}`);
 * a run whose pages all came back empty fails (exit 99).
 *
 *   k6 run -e BASE_URL=https://staging.example -e TOKENS=/abs/tokens.json \
 *          -e PROFILE=/abs/profile.json -e SCALE=1 -e DURATION=5m scenarios/timelines.ts
 */
import type { Options } from 'k6/options';
import { durationSec, numberEnv, scale } from './lib/env.ts';
import { effectThresholds, verdictThresholds, warnFewSamples } from './lib/effects.ts';
import { constantRate, scenarios, sloThresholds } from './lib/options.ts';
import {
  readHome,
  readNotifications,
  readPublic,
  seedTimelines,
  clientContext,
  type ReadOptions,
} from './lib/workloads.ts';

const CTX = clientContext();
const SCALE = scale();
const DURATION = durationSec();
const READ: ReadOptions = {
  scroll: Math.min(1, numberEnv('SCROLL', 0.5)),
  pages: Math.max(1, Math.floor(numberEnv('PAGES', 3))),
  threadShare: Math.min(1, numberEnv('THREAD_SHARE', 0.1)),
  ...(__ENV.LIMIT ? { limit: Math.floor(numberEnv('LIMIT', 20)) } : {}),
};
const web = CTX.rates.web;

const SCENARIOS = scenarios({
  home: constantRate('home', (web['timelines/home'] ?? 0) * SCALE, DURATION, { iterationSec: 1 }),
  public_timelines: constantRate('publicTimelines', (web['timelines/public'] ?? 0) * SCALE, DURATION, {
    iterationSec: 1,
  }),
  notifications: constantRate('notificationsRead', (web.notifications ?? 0) * SCALE, DURATION, {
    iterationSec: 1,
  }),
});

export const options: Options = {
  scenarios: SCENARIOS,
  thresholds: {
    ...sloThresholds(CTX.rates, ['timelines/home', 'timelines/public', 'notifications', 'statuses/context']),
    ...verdictThresholds(SCENARIOS),
    // the reads returned statuses (effects{effect:timeline_statuses}, counted as pages arrive)
    ...effectThresholds(['timeline_statuses']),
  },
};

export async function setup(): Promise<{ posted: number }> {
  warnFewSamples(SCENARIOS);
  return { posted: await seedTimelines(CTX, Math.floor(numberEnv('SEED_POSTS', 6))) };
}

export async function home(): Promise<void> {
  await readHome(CTX, READ);
}

export async function publicTimelines(): Promise<void> {
  await readPublic(CTX, READ);
}

export async function notificationsRead(): Promise<void> {
  await readNotifications(CTX, READ);
}

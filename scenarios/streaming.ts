/**
 * Streaming: LISTENERS WebSocket connections (default: the profile's mean
 * streaming connections at the peak hour × SCALE, at most one per token and
 * at most MAX_LISTENERS, default 500) to /api/v1/streaming?stream=user,
 * each held for STREAM_WARMUP + DURATION + STREAM_DRAIN (defaults 2 s and 5 s), counting the events received
 * in the Counter
 * `streaming_events` (tagged event: update, notification, delete, …). The
 * token goes in the Authorization header, never in the URL (URLs end up in
 * the results as tags).
 *
 * So that there is something to stream, the `posters` scenario (starting
 * STREAM_WARMUP later, once the listeners have subscribed: an event published
 * before a subscription exists reaches nobody) posts statuses mentioning listeners at the profile's
 * streaming event rate × SCALE (at least one per DURATION): each mention is
 * a `notification` event for the mentioned listener, and an `update` in the
 * home streams of the poster's followers. In mixed.ts the other workloads
 * make the events.
 *
 * Effect: events received (`effects{effect:streaming_events}`); a server
 * without the streaming API, or one that publishes nothing, fails the run
 * (exit 99).
 */
import exec from 'k6/execution';
import type { Options } from 'k6/options';
import { instanceDomain } from './lib/discovery.ts';
import { durationSec, numberEnv, scale } from './lib/env.ts';
import { effectThresholds, verdictThresholds, warnFewSamples } from './lib/effects.ts';
import { constantRate, oncePerVu, scenarios } from './lib/options.ts';
import { holdUserStream, postMentions, clientContext } from './lib/workloads.ts';

const CTX = clientContext();
const SCALE = scale();
const DURATION = durationSec();
const MAX_LISTENERS = Math.floor(numberEnv('MAX_LISTENERS', 500));
/** Posters wait this long for the listeners to connect and subscribe. */
const WARMUP_SEC = numberEnv('STREAM_WARMUP', 2);
/**
 * Listeners stay this long after the posters stop, so events of the last posts (fan-out runs in Sidekiq)
 * still arrive.
 */
const DRAIN_SEC = numberEnv('STREAM_DRAIN', 5);
const LISTENERS = Math.max(
  1,
  Math.min(
    CTX.tokens.length,
    MAX_LISTENERS,
    Math.ceil(numberEnv('LISTENERS', CTX.rates.streaming.connections * SCALE)),
  ),
);

const SCENARIOS = scenarios({
  listeners: oncePerVu('listen', LISTENERS, WARMUP_SEC + DURATION + DRAIN_SEC + 15),
  posters: constantRate(
    'mention',
    Math.max(CTX.rates.streaming.eventsPerSec * SCALE, 1 / DURATION),
    DURATION,
    { startTime: `${WARMUP_SEC}s`, iterationSec: 1 },
  ),
});

export const options: Options = {
  scenarios: SCENARIOS,
  thresholds: {
    capacity_errors: ['rate<0.01'],
    ...verdictThresholds(SCENARIOS),
    // listeners that receive nothing while statuses mention them: streaming is broken (or absent), not slow
    ...effectThresholds(['streaming_events']),
  },
};

/** The target's account domain: mentions are written `@user@domain`. */
export async function setup(): Promise<{ domain: string }> {
  warnFewSamples(SCENARIOS);
  return { domain: await instanceDomain(CTX.base) };
}

export async function listen(): Promise<void> {
  // per-vu-iterations, one iteration per VU: iterationInTest is 0 … LISTENERS-1
  const t = CTX.tokens[exec.scenario.iterationInTest % CTX.tokens.length]!;
  await holdUserStream(CTX, t.token, WARMUP_SEC + DURATION + DRAIN_SEC);
}

export async function mention(data: { domain: string }): Promise<void> {
  await postMentions(CTX, LISTENERS, data.domain);
}

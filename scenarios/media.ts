/**
 * Image uploads as the web UI makes them: POST /api/v2/media (multipart,
 * built by hand with a boundary), poll GET /api/v1/media/:id while it
 * answers 202/206 (at most POLLS times, default 10, POLL_INTERVAL seconds
 * apart, default 1), then POST /api/v1/statuses with the attachment. Images
 * are generated PNGs of MEDIA_SIZE (default 640x480, about 0.9 MB), every
 * one different. The Trend media_processing_seconds is upload → processed.
 *
 * Rate: the profile's media/create rate × SCALE. POST /api/v2/media is rate
 * limited to 30 per 30 min per user by Rack::Attack: use many tokens or the
 * staging initializer (README); 429s are counted in rate_limited.
 *
 * Effects: images processed (`media_processed`) and statuses posted with
 * their attachment (`media_posted`); a run with neither fails (exit 99).
 */
import type { Options } from 'k6/options';
import { durationSec, mediaSize, numberEnv, scale } from './lib/env.ts';
import { effectThresholds, verdictThresholds, warnFewSamples } from './lib/effects.ts';
import { constantRate, scenarios, sloThresholds } from './lib/options.ts';
import { uploadAndPost, clientContext, type MediaOptions } from './lib/workloads.ts';

const CTX = clientContext();
const SCALE = scale();
const DURATION = durationSec();

/** MEDIA_SIZE=WIDTHxHEIGHT (default 640x480), POLLS, POLL_INTERVAL. */
export function mediaOptions(): MediaOptions {
  const { width, height } = mediaSize();
  return {
    width: Math.min(4096, Math.max(1, width)),
    height: Math.min(4096, Math.max(1, height)),
    polls: Math.max(1, Math.floor(numberEnv('POLLS', 10))),
    pollIntervalSec: numberEnv('POLL_INTERVAL', 1),
  };
}
const MEDIA = mediaOptions();

const SCENARIOS = scenarios({
  media: constantRate('upload', (CTX.rates.web['media/create'] ?? 0) * SCALE, DURATION, { iterationSec: 3 }),
});

export const options: Options = {
  scenarios: SCENARIOS,
  thresholds: {
    ...sloThresholds(CTX.rates, ['statuses/create']),
    ...verdictThresholds(SCENARIOS),
    ...effectThresholds(['media_processed', 'media_posted']),
  },
};

export function setup(): void {
  warnFewSamples(SCENARIOS);
}

export async function upload(): Promise<void> {
  await uploadAndPost(CTX, MEDIA);
}

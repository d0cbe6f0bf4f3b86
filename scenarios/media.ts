/**
 * Image uploads as the web UI makes them: POST /api/v2/media (multipart,
 * the file as http.file), poll GET /api/v1/media/:id while it answers
 * 202/206 (at most POLLS times, default 10, POLL_INTERVAL seconds apart,
 * default 1), then POST /api/v1/statuses with the attachment. The images are
 * the JPEGs in IMAGES (`fedicap run` generates them into OUT/images at the
 * profile's media.localImageBytes), opened in the init context; each upload
 * takes one by its share. The Trend media_processing_seconds is upload →
 * processed.
 *
 * Rate: the profile's media/create rate × SCALE. POST /api/v2/media is rate
 * limited to 30 per 30 min per user by Rack::Attack: use many tokens or the
 * staging initializer (README); 429s are counted in rate_limited.
 *
 * Effects: images processed (`media_processed`) and statuses posted with
 * their attachment (`media_posted`); a run with neither fails (exit 99).
 */
import type { Options } from 'k6/options';
import { durationSec, scale } from './lib/env.ts';
import { effectThresholds, verdictThresholds, warnFewSamples } from './lib/effects.ts';
import { constantRate, scenarios, sloThresholds } from './lib/options.ts';
import { uploadAndPost, clientContext, mediaOptions } from './lib/workloads.ts';

const CTX = clientContext();
const SCALE = scale();
const DURATION = durationSec();
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

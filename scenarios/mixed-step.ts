/**
 * Finding saturation: the workload mix of mixed.ts, every class on a
 * ramping-arrival-rate that climbs in STEPS plateaus (default 5) from
 * STEP_FROM (default 0.5) to STEP_TO (default 4) times the profile's rates
 * × SCALE, each plateau STEP_DURATION long (default DURATION). Streaming
 * listeners stay at the profile's level throughout.
 *
 * Read the result per plateau (k6.ndjson timestamps): the step where
 * http_req_duration{station:…} leaves the SLO or capacity_errors rises is
 * where that station saturates; `fedicap` calibrates the model from it.
 * The run stops early (abortOnFail) once more than 5 % of requests fail
 * for capacity reasons for a whole plateau.
 */
import type { Options } from 'k6/options';
import exec from 'k6/execution';
import { durationEnv, durationSec, numberEnv } from './lib/env.ts';
import { effectThresholds, verdictThresholds, warnFewSamples } from './lib/effects.ts';
import { oncePerVu, rampingSteps, scenarios, sloThresholds } from './lib/options.ts';
import { holdUserStream } from './lib/workloads.ts';
import {
  CTX,
  checkEffects,
  EXEC,
  ITERATION_SEC,
  LISTENERS,
  MIXED_STATIONS,
  mixedEffects,
  prepare,
  scaledRates,
  type MixedSetup,
} from './mixed.ts';

export {
  home,
  publicTimelines,
  notificationsRead,
  post,
  upload,
  interactions,
  inboundWarm,
  inboundCold,
  relayed,
} from './mixed.ts';

const STEPS = Math.max(1, Math.floor(numberEnv('STEPS', 5)));
const FROM = numberEnv('STEP_FROM', 0.5);
const TO = numberEnv('STEP_TO', 4);
const STEP_SEC = durationEnv('STEP_DURATION', durationSec());
const TOTAL_SEC = STEPS * STEP_SEC;

const ramps: Record<string, ReturnType<typeof rampingSteps>> = {};
for (const [name, perSec] of Object.entries(scaledRates())) {
  ramps[name] = rampingSteps(EXEC[name]!, perSec, STEP_SEC, STEPS, FROM, TO, {
    iterationSec: ITERATION_SEC[name] ?? 1,
  });
}

const SCENARIOS = scenarios({ ...ramps, listeners: oncePerVu('listen', LISTENERS, TOTAL_SEC + 15) });

export const options: Options = {
  // as mixed.ts: setup() discovers and introduces, teardown() waits for the effects
  setupTimeout: '5m',
  teardownTimeout: '3m',
  scenarios: SCENARIOS,
  thresholds: {
    ...sloThresholds(CTX.rates, MIXED_STATIONS),
    ...verdictThresholds(SCENARIOS),
    ...effectThresholds(mixedEffects(SCENARIOS)),
    capacity_errors: [
      { threshold: 'rate<0.05', abortOnFail: true, delayAbortEval: `${Math.ceil(STEP_SEC)}s` },
    ],
  },
};

export async function setup(): Promise<MixedSetup> {
  warnFewSamples(SCENARIOS);
  return prepare();
}

export async function teardown(data: MixedSetup): Promise<void> {
  await checkEffects(data, mixedEffects(SCENARIOS));
}

/** Listeners hold their connection for the whole ramp. */
export async function listen(): Promise<void> {
  const t = CTX.tokens[exec.scenario.iterationInTest % CTX.tokens.length]!;
  await holdUserStream(CTX, t.token, TOTAL_SEC);
}

/**
 * The whole instance at once, at the profile's rates × SCALE (peak hour
 * unless LOAD=mean), each workload class its own constant-arrival-rate
 * scenario so its rate holds whatever the others do:
 *
 *   home, public_timelines, notifications   timeline reads (Link pagination)
 *   posts                                   statuses/create without media
 *   media                                   upload + poll + post (media/create)
 *   interactions                            favourites and boosts (statuses/interact)
 *   inbound_warm, inbound_cold              federation from fleet actors (inbox, inbox-cold-actor)
 *   relay                                   relayed Creates/Announces (profile relays, or RATE)
 *   listeners                               streaming connections held for DURATION
 *
 * Inputs: BASE_URL, TOKENS, FLEET, PROFILE, SCALE, DURATION, LOAD, CONTENT,
 * POSTERS, DISCOVER, IMAGES, POLLS (see the single scenarios). Thresholds state
 * the profile's SLOs per station, the verdict thresholds (checks, unexpected
 * 4xx, dropped iterations) and the effects of the classes that run
 * (mixedEffects); `fedicap run` exits 99 when one fails. Streaming events
 * are not an effect here: whether a listener follows a poster is up to the
 * follow graph (streaming.ts makes them on purpose).
 */
import exec from 'k6/execution';
import type { Options } from 'k6/options';
import type { Scenario } from 'k6/options';
import { effectThresholds, verdictThresholds, warnFewSamples, type EffectName } from './lib/effects.ts';
import { willIterate } from './lib/verdict.ts';
import { durationSec, numberEnv, scale, stringEnv } from './lib/env.ts';
import {
  checkDeliveries,
  checkInboundEffects,
  inboundIteration,
  introduceWarmActors,
  relayIteration,
  seedLocalStatuses,
  startRun,
  federationContext,
  type FederationContext,
  type SetupData,
} from './lib/federation.ts';
import { constantRate, oncePerVu, scenarios, sloThresholds } from './lib/options.ts';
import {
  holdUserStream,
  interact,
  postStatus,
  readHome,
  readNotifications,
  readPublic,
  mediaOptions,
  uploadAndPost,
} from './lib/workloads.ts';

export const CTX: FederationContext = federationContext();
const SCALE = scale();
const DURATION = durationSec();
const POSTERS = Math.max(1, Math.min(CTX.tokens.length, Math.floor(numberEnv('POSTERS', 10))));

/** Iterations per second of each workload class at SCALE 1 (the profile's rates). */
export function workloadRates(): Record<string, number> {
  const w = CTX.rates.web;
  const inbound = CTX.rates.inbound;
  const media = w['media/create'] ?? 0;
  return {
    home: w['timelines/home'] ?? 0,
    public_timelines: w['timelines/public'] ?? 0,
    notifications: w.notifications ?? 0,
    // posts with an image are made by the media workload (one image per post)
    posts: Math.max(0, (w['statuses/create'] ?? 0) - media),
    media,
    interactions: w['statuses/interact'] ?? 0,
    inbound_warm: Math.max(0, inbound.createsPerSec + inbound.otherPerSec - inbound.coldPerSec),
    inbound_cold: inbound.coldPerSec,
    relay: inbound.relayPerSec,
  };
}

/** exec function of each workload class. */
export const EXEC: Record<string, string> = {
  home: 'home',
  public_timelines: 'publicTimelines',
  notifications: 'notificationsRead',
  posts: 'post',
  media: 'upload',
  interactions: 'interactions',
  inbound_warm: 'inboundWarm',
  inbound_cold: 'inboundCold',
  relay: 'relayed',
};
/** Expected iteration seconds (VU pre-allocation). */
export const ITERATION_SEC: Record<string, number> = { media: 3, inbound_cold: 3 };

/**
 * Iterations per second of each workload class in this run: × SCALE; RATE (per second, not scaled) overrides
 * the relay's.
 */
export function scaledRates(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, perSec] of Object.entries(workloadRates())) out[name] = perSec * SCALE;
  if (stringEnv('RATE', '')) out.relay = numberEnv('RATE', 1);
  return out;
}

const constant: Record<string, ReturnType<typeof constantRate>> = {};
for (const [name, perSec] of Object.entries(scaledRates())) {
  constant[name] = constantRate(EXEC[name]!, perSec, DURATION, { iterationSec: ITERATION_SEC[name] ?? 1 });
}
/** The images to upload, opened only when the media class runs (IMAGES is not needed otherwise). */
const MEDIA = (scaledRates().media ?? 0) > 0 ? mediaOptions() : undefined;

export const LISTENERS = Math.max(
  1,
  Math.min(
    CTX.tokens.length,
    Math.floor(numberEnv('MAX_LISTENERS', 500)),
    Math.ceil(CTX.rates.streaming.connections * SCALE),
  ),
);

/** The stations whose SLO thresholds the mixed scenarios state (mixed-step.ts too). */
export const MIXED_STATIONS = [
  'timelines/home',
  'timelines/public',
  'notifications',
  'statuses/create',
  'statuses/interact',
  'inbox',
];

const WARM_ACTORS = Math.min(CTX.fleet.warm.length, Math.floor(numberEnv('WARM_ACTORS', 2000)));

/** The effects a mix of workload classes promises, for the classes that will iterate (mixed-step.ts too). */
export function mixedEffects(classes: Record<string, Scenario>): EffectName[] {
  const has = (...names: string[]) => names.some((n) => classes[n] && willIterate(classes[n]));
  const out: EffectName[] = [];
  if (has('home', 'public_timelines', 'notifications')) out.push('timeline_statuses');
  if (has('media')) out.push('media_processed', 'media_posted');
  if (WARM_ACTORS > 0) out.push('follows_established');
  if (WARM_ACTORS > 0 && has('posts')) out.push('deliveries_recorded');
  if (has('inbound_warm')) out.push('inbound_statuses_stored');
  if (has('inbound_cold')) out.push('cold_actors_fetched');
  return out;
}

const SCENARIOS: Record<string, Scenario> = scenarios({
  ...constant,
  listeners: oncePerVu('listen', LISTENERS, DURATION + 15),
});

export const options: Options = {
  // setup() discovers accounts and introduces up to WARM_ACTORS actors, each fetched by the target
  setupTimeout: '5m',
  // teardown() waits up to EFFECT_WAIT for the queues to show each effect
  teardownTimeout: '3m',
  scenarios: SCENARIOS,
  thresholds: {
    ...sloThresholds(CTX.rates, MIXED_STATIONS),
    'http_req_duration{station:inbox-cold-actor}': ['p(95)<10000'],
    ...verdictThresholds(SCENARIOS),
    ...effectThresholds(mixedEffects(SCENARIOS)),
  },
};

export interface MixedSetup extends SetupData {
  statusIds: string[];
}

export async function setup(): Promise<MixedSetup> {
  warnFewSamples(SCENARIOS);
  return prepare();
}

/** setup() without its warnings: discovery, seed statuses, warm actors introduced. */
export async function prepare(): Promise<MixedSetup> {
  const run = await startRun(CTX, Math.max(POSTERS, Math.floor(numberEnv('DISCOVER', 50))));
  const localStatuses = await seedLocalStatuses(CTX, Math.floor(numberEnv('SEED_POSTS', 5)), run.runId);
  const introduced = await introduceWarmActors(CTX, run, POSTERS, WARM_ACTORS);
  return { ...run, localStatuses, introduced, statusIds: localStatuses.map((s) => s.id) };
}

/** The effects of the classes that ran: statuses stored, cold actors fetched, posts delivered. */
export async function teardown(data: MixedSetup): Promise<void> {
  await checkEffects(data, mixedEffects(SCENARIOS));
}

/** Observe the effects teardown() checks (mixed-step.ts checks its own list). */
export async function checkEffects(data: MixedSetup, effects: readonly EffectName[]): Promise<void> {
  await checkInboundEffects(CTX, data, {
    stored: effects.includes('inbound_statuses_stored') ? 'inbound_statuses_stored' : undefined,
    cold: effects.includes('cold_actors_fetched'),
  });
  if (effects.includes('deliveries_recorded')) await checkDeliveries(CTX, data);
}

export async function home(): Promise<void> {
  await readHome(CTX);
}
export async function publicTimelines(): Promise<void> {
  await readPublic(CTX);
}
export async function notificationsRead(): Promise<void> {
  await readNotifications(CTX);
}
export async function post(data: MixedSetup): Promise<void> {
  await postStatus(CTX, data.runId, POSTERS, CTX.fleet.pages, data.domain);
}
export async function upload(): Promise<void> {
  if (MEDIA) await uploadAndPost(CTX, MEDIA);
}
export async function interactions(data: MixedSetup): Promise<void> {
  await interact(CTX, data.statusIds);
}
// cold actors are shared by inbound_cold (even indexes) and relay (odd ones): each is still used once
export async function inboundWarm(data: MixedSetup): Promise<void> {
  await inboundIteration(CTX, data, 'warm', 'w');
}
export async function inboundCold(data: MixedSetup): Promise<void> {
  await inboundIteration(CTX, data, 'cold', 'c', 0, 2);
}
export async function relayed(data: MixedSetup): Promise<void> {
  await relayIteration(CTX, data, 'r', 1, 2);
}
export async function listen(): Promise<void> {
  const t = CTX.tokens[exec.scenario.iterationInTest % CTX.tokens.length]!;
  await holdUserStream(CTX, t.token, DURATION);
}

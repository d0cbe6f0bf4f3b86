/**
 * Inbound federation: signed Create (Notes with corpus text, links to fleet
 * pages, hashtags, mentions of local accounts, replies, attachments hosted
 * by the fleet), Announce, Like, Follow, Undo and Delete from fleet actors to
 * the target's shared inbox and to personal inboxes (/users/:username/inbox).
 *
 * setup() discovers DISCOVER local accounts (default 50) through WebFinger
 * and their actor documents: mentions carry their actor URIs, deliveries go
 * to the inboxes they advertise (Mastodon's /inbox and /users/:name/inbox,
 * another server's own shapes).
 *
 * Two populations, two scenarios, tagged `population`:
 * - inbound_warm: actors the target knows (setup() introduces each warm
 *   actor with one Follow of a local account), station `inbox`;
 * - inbound_cold: each iteration uses a cold actor never seen before
 *   (station `inbox-cold-actor`: WebFinger + actor + collections + avatar
 *   fetched inside the request), made by the fleet under this run's prefix.
 *
 * Effects (exit 99 when one is missing): the introductions' follows
 * established (`follows_established`: Accepts the fleet verified), this
 * run's Creates stored and in the federated timeline
 * (`inbound_statuses_stored`), this run's cold actors fetched
 * (`cold_actors_fetched`).
 *
 * Rates: the profile's inbound activities (remote accounts followed × posts
 * per account per day, × interactions per post; relays excluded: relay.ts)
 * split into warm and cold by coldActorFraction, peak hour unless LOAD=mean,
 * × SCALE.
 *
 *   k6 run -e BASE_URL=https://staging.example -e TOKENS=/abs/tokens.json -e FLEET=/abs/fleet.json \
 *          -e PROFILE=/abs/profile.json scenarios/federation-inbound.ts
 */
import type { Options } from 'k6/options';
import { effectThresholds, verdictThresholds, warnFewSamples, type EffectName } from './lib/effects.ts';
import { durationSec, numberEnv, scale } from './lib/env.ts';
import {
  checkInboundEffects,
  inboundIteration,
  introduceWarmActors,
  seedLocalStatuses,
  startRun,
  federationContext,
  type FederationContext,
  type SetupData,
} from './lib/federation.ts';
import { constantRate, scenarios, sloThresholds } from './lib/options.ts';

const CTX: FederationContext = federationContext();
const SCALE = scale();
const DURATION = durationSec();
const inbound = CTX.rates.inbound;
const totalPerSec = (inbound.createsPerSec + inbound.otherPerSec) * SCALE;
const coldPerSec = inbound.coldPerSec * SCALE;

const WARM_ACTORS = Math.min(CTX.fleet.warm.length, Math.floor(numberEnv('WARM_ACTORS', 2000)));
const SCENARIOS = scenarios({
  inbound_warm: constantRate('warm', Math.max(0, totalPerSec - coldPerSec), DURATION, { iterationSec: 1 }),
  inbound_cold: constantRate('cold', coldPerSec, DURATION, { iterationSec: 3 }),
});
const EFFECTS: EffectName[] = [
  ...(WARM_ACTORS > 0 ? (['follows_established'] as const) : []),
  ...(SCENARIOS.inbound_warm ? (['inbound_statuses_stored'] as const) : []),
  ...(SCENARIOS.inbound_cold ? (['cold_actors_fetched'] as const) : []),
];

export const options: Options = {
  // setup() discovers accounts and introduces up to WARM_ACTORS actors, each fetched by the target
  setupTimeout: '5m',
  // teardown() waits up to EFFECT_WAIT for the ingress queue to store what was sent
  teardownTimeout: '3m',
  scenarios: SCENARIOS,
  thresholds: {
    ...sloThresholds(CTX.rates, ['inbox']),
    // a cold actor costs a WebFinger and several fetches inside the request: bounded by Mastodon's 10 s read
    // timeout
    'http_req_duration{station:inbox-cold-actor}': ['p(95)<10000'],
    ...verdictThresholds(SCENARIOS),
    ...effectThresholds(EFFECTS),
  },
};

export async function setup(): Promise<SetupData> {
  warnFewSamples(SCENARIOS);
  const run = await startRun(CTX, Math.floor(numberEnv('DISCOVER', 50)));
  const localStatuses = await seedLocalStatuses(CTX, Math.floor(numberEnv('SEED_POSTS', 5)), run.runId);
  const introduced = await introduceWarmActors(CTX, run, run.locals.length, WARM_ACTORS);
  return { ...run, localStatuses, introduced };
}

export async function teardown(data: SetupData): Promise<void> {
  await checkInboundEffects(CTX, data, {
    stored: SCENARIOS.inbound_warm ? 'inbound_statuses_stored' : undefined,
    cold: !!SCENARIOS.inbound_cold,
  });
}

export async function warm(data: SetupData): Promise<void> {
  await inboundIteration(CTX, data, 'warm', 'w');
}

export async function cold(data: SetupData): Promise<void> {
  await inboundIteration(CTX, data, 'cold', 'c');
}

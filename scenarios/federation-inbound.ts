/**
 * Inbound federation: signed Create (Notes with corpus text, links to fleet
 * pages, hashtags, mentions of local accounts, replies, attachments hosted
 * by the fleet), Announce, Like, Follow, Undo and Delete from fleet actors to
 * the target's shared inbox and to personal inboxes (/users/:username/inbox).
 *
 * Two populations, two scenarios, tagged `population`:
 * - inbound_warm: actors the target knows (setup() introduces each warm
 *   actor with one Follow of a local account), station `inbox`;
 * - inbound_cold: each iteration uses a cold actor never seen before
 *   (station `inbox-cold-actor`: WebFinger + actor + collections + avatar
 *   fetched inside the request). Cold actors are used once each; when the
 *   fleet has too few the rest go out as warm (Counter cold_actors_exhausted).
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
import { durationSec, numberEnv, scale } from './lib/env.ts';
import {
  inboundIteration,
  introduceWarmActors,
  newRunId,
  seedLocalStatuses,
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

export const options: Options = {
  // setup() introduces up to WARM_ACTORS actors, each fetched by the target
  setupTimeout: '5m',
  scenarios: scenarios({
    inbound_warm: constantRate('warm', Math.max(0, totalPerSec - coldPerSec), DURATION, { iterationSec: 1 }),
    inbound_cold: constantRate('cold', coldPerSec, DURATION, { iterationSec: 3 }),
  }),
  thresholds: {
    ...sloThresholds(CTX.rates, ['inbox']),
    // a cold actor costs a WebFinger and several fetches inside the request: bounded by Mastodon's 10 s read
    // timeout
    'http_req_duration{station:inbox-cold-actor}': ['p(95)<10000'],
  },
};

export async function setup(): Promise<SetupData> {
  const runId = newRunId();
  const localStatuses = await seedLocalStatuses(CTX, Math.floor(numberEnv('SEED_POSTS', 5)), runId);
  const introduced = await introduceWarmActors(
    CTX,
    runId,
    CTX.tokens.length,
    Math.floor(numberEnv('WARM_ACTORS', 2000)),
  );
  return { runId, localStatuses, introduced };
}

export async function warm(data: SetupData): Promise<void> {
  await inboundIteration(CTX, data, 'warm', 'w');
}

export async function cold(data: SetupData): Promise<void> {
  await inboundIteration(CTX, data, 'cold', 'c');
}

/**
 * Outbound federation: local accounts post, and Mastodon delivers each post
 * to the inboxes of its remote followers (ActivityPub::DeliveryWorker on the
 * push queue); the fleet checks each delivery's signature and records it in
 * its deliveries file.
 *
 * setup() makes fleet actors follow the posting accounts by sending Follow
 * activities: warm actor i follows poster i mod POSTERS (the first POSTERS
 * accounts of TOKENS, default 10), so each poster has followers on many
 * fleet instances: one delivery per distinct shared inbox and post.
 *
 * Follow objects and mentions (`@user@domain`) use the accounts as
 * discovered through WebFinger in setup().
 *
 * Effects (exit 99 when one is missing): the follows established
 * (`follows_established`: Accepts the fleet verified) and the posts
 * delivered (`deliveries_recorded`: Creates the fleet verified since setup).
 *
 * Rates: statuses/create of the profile × SCALE (peak hour unless
 * LOAD=mean), and statuses/interact × SCALE: favourites and boosts of
 * statuses from the federated timeline (remote ones are delivered to their
 * authors' instances as Like / Announce).
 */
import type { Options } from 'k6/options';
import { api, jsonBody } from './lib/client.ts';
import { effectThresholds, verdictThresholds, warnFewSamples } from './lib/effects.ts';
import { durationSec, numberEnv, scale } from './lib/env.ts';
import {
  checkDeliveries,
  introduceWarmActors,
  seedLocalStatuses,
  startRun,
  federationContext,
  type FederationContext,
} from './lib/federation.ts';
import { constantRate, scenarios, sloThresholds } from './lib/options.ts';
import { publicTimeline } from './lib/requests.ts';
import { interact as interactOnce, postStatus } from './lib/workloads.ts';

const CTX: FederationContext = federationContext();
const SCALE = scale();
const DURATION = durationSec();
const POSTERS = Math.max(1, Math.min(CTX.tokens.length, Math.floor(numberEnv('POSTERS', 10))));

const SCENARIOS = scenarios({
  posts: constantRate('post', (CTX.rates.web['statuses/create'] ?? 0) * SCALE, DURATION, {
    iterationSec: 1,
  }),
  interactions: constantRate('interact', (CTX.rates.web['statuses/interact'] ?? 0) * SCALE, DURATION, {
    iterationSec: 1,
  }),
});

export const options: Options = {
  // setup() discovers the posters and introduces up to WARM_ACTORS actors, each fetched by the target
  setupTimeout: '5m',
  // teardown() waits up to EFFECT_WAIT for the push queue to deliver
  teardownTimeout: '2m',
  scenarios: SCENARIOS,
  thresholds: {
    ...sloThresholds(CTX.rates, ['statuses/create', 'statuses/interact']),
    ...verdictThresholds(SCENARIOS),
    ...effectThresholds([
      'follows_established',
      ...(SCENARIOS.posts ? (['deliveries_recorded'] as const) : []),
    ]),
  },
};

export interface OutboundSetup {
  runId: string;
  startedAtMs: number;
  domain: string;
  /** Follows accepted by the target (fleet actors following posters). */
  followers: number;
  /** Statuses to favourite or boost: remote ones from the federated timeline, else local seeds. */
  statusIds: string[];
}

export async function setup(): Promise<OutboundSetup> {
  warnFewSamples(SCENARIOS);
  const run = await startRun(CTX, POSTERS);
  const followers = await introduceWarmActors(CTX, run, POSTERS, Math.floor(numberEnv('WARM_ACTORS', 2000)));
  const res = await api(CTX.base, publicTimeline({ remote: true, limit: 40 }), CTX.tokens[0]!.token);
  let statusIds = (jsonBody<{ id?: string }[]>(res) ?? []).map((s) => String(s.id ?? '')).filter(Boolean);
  if (statusIds.length === 0) statusIds = (await seedLocalStatuses(CTX, 5, run.runId)).map((s) => s.id);
  return { runId: run.runId, startedAtMs: run.startedAtMs, domain: run.domain, followers, statusIds };
}

export async function teardown(data: OutboundSetup): Promise<void> {
  if (SCENARIOS.posts) await checkDeliveries(CTX, data);
}

export async function post(data: OutboundSetup): Promise<void> {
  await postStatus(CTX, data.runId, POSTERS, CTX.fleet.pages, data.domain);
}

export async function interact(data: OutboundSetup): Promise<void> {
  await interactOnce(CTX, data.statusIds);
}

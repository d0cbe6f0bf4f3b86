/**
 * A relay subscription: the fleet's relay actor pushes public activities to
 * the target's shared inbox at RATE per second (default: the profile's
 * relays, peak hour unless LOAD=mean, × SCALE; 1/s when the profile has no
 * relay), for DURATION:
 * - relayed Creates, HTTP-signed by the relay, whose `actor` is a fleet
 *   account (cold with the relay's coldActorFraction: Mastodon then fetches
 *   that actor inside the ingress job) and which carry that account's
 *   JSON-LD signature, made by the fleet (its ldSignUrl) and forwarded as
 *   made, without which Mastodon drops them;
 * - Announces by the relay (announceFraction), for which Mastodon fetches the
 *   original note from the fleet (pull work) without creating a boost.
 *
 * The target must have subscribed to the relay first (Administration →
 * Relays → the manifest's relay.inbox, or `fedicap testbed --relay URL`; the
 * fleet accepts the Follow): unsubscribed, Mastodon keeps no relayed post.
 * Activities go to the shared inbox of the target's instance actor,
 * discovered through WebFinger (acct:DOMAIN@DOMAIN) in setup().
 *
 * Effect: this run's relayed Creates stored and in the federated timeline
 * (`relayed_statuses_stored`; the first relayed activity is always a
 * Create). Unsubscribed, the run sends 202s and stores nothing: exit 99.
 */
import type { Options } from 'k6/options';
import { instanceDomain } from './lib/discovery.ts';
import { effectThresholds, verdictThresholds, warnFewSamples } from './lib/effects.ts';
import { durationSec, loadTokensIfGiven, numberEnv, scale } from './lib/env.ts';
import {
  checkInboundEffects,
  instanceInbox,
  newRunId,
  relayIteration,
  relaySigner,
  federationContext,
  type FederationContext,
  type SetupData,
} from './lib/federation.ts';
import { constantRate, scenarios, sloThresholds } from './lib/options.ts';

const CTX: FederationContext = federationContext(loadTokensIfGiven);
if (!CTX.fleet.relay)
  throw new Error('FLEET: the manifest has no relay actor (start the fleet with its relay)');
relaySigner(CTX);
const DURATION = durationSec();
const profileRate = CTX.rates.inbound.relayPerSec * scale();
const RATE = numberEnv('RATE', profileRate > 0 ? profileRate : 1);

const SCENARIOS = scenarios({ relay: constantRate('relayed', RATE, DURATION, { iterationSec: 1 }) });

export const options: Options = {
  // teardown() waits up to EFFECT_WAIT for the ingress queue to store what was relayed
  teardownTimeout: '2m',
  scenarios: SCENARIOS,
  thresholds: {
    ...sloThresholds(CTX.rates, ['inbox']),
    ...verdictThresholds(SCENARIOS),
    ...effectThresholds(['relayed_statuses_stored']),
  },
};

export async function setup(): Promise<SetupData> {
  warnFewSamples(SCENARIOS);
  const startedAtMs = Date.now();
  const domain = await instanceDomain(CTX.base);
  const sharedInbox = await instanceInbox(CTX.base, domain);
  return {
    runId: newRunId(),
    startedAtMs,
    domain,
    locals: [],
    sharedInbox,
    localStatuses: [],
    introduced: 0,
  };
}

export async function teardown(data: SetupData): Promise<void> {
  await checkInboundEffects(CTX, data, { stored: 'relayed_statuses_stored' });
}

export async function relayed(data: SetupData): Promise<void> {
  await relayIteration(CTX, data, 'r');
}

/**
 * Inbound federation traffic shared by federation-inbound.ts, relay.ts and
 * mixed.ts: which fleet actor sends what to which inbox, built from the
 * profile's mix and the content corpus, signed and delivered.
 *
 * Populations. Warm actors are introduced in setup() by one Follow each
 * (the target fetches them once, as for remote accounts it already knows);
 * cold actors are used once each (their first activity makes the target
 * fetch WebFinger, actor, collections, avatar and header synchronously:
 * station `inbox-cold-actor`). The i-th cold iteration of a scenario takes
 * cold actor `offset + i × stride`; when the manifest's cold actors run out
 * the iteration is sent by a warm actor and counted in `cold_actors_exhausted`.
 *
 * Activity mix of "other" inbound activities (besides Create), a scenario
 * assumption (the profile gives only their total, interactionsPerRemotePost):
 * Like 50 %, Announce 25 %, Undo 10 % (Like then Undo), Delete 10 %
 * (Create then Delete), Follow 5 %. 20 % of deliveries go to a personal
 * inbox (/users/:username/inbox), the rest to the shared inbox, as
 * implementations without shared inboxes do.
 */
import exec from 'k6/execution';
import {
  announceActivity,
  createActivity,
  deleteActivity,
  followActivity,
  likeActivity,
  localMention,
  personalInbox,
  sharedInbox,
  undoActivity,
  type Activity,
  type ActivityType,
  type NoteInput,
} from './activitypub.ts';
import { api, coldActorsExhausted, deliver, jsonBody, type DeliveryTags, type Response } from './client.ts';
import { postAt, renderText, type CorpusPost, type LocalMention } from './content.ts';
import {
  baseUrl,
  loadCorpus,
  loadFleet,
  loadRates,
  loadTokens,
  type FleetActor,
  type FleetInputs,
  type ProfileRates,
  type TokenEntry,
} from './env.ts';
import { ldSigned } from './ldSign.ts';
import { createStatus } from './requests.ts';
import { SigningKeyCache } from './signatures.ts';

export interface FederationContext {
  base: string;
  fleet: FleetInputs;
  tokens: TokenEntry[];
  corpus: CorpusPost[];
  rates: ProfileRates;
}

/**
 * The federation scenarios' inputs from __ENV (BASE_URL, TOKENS, FLEET, CORPUS, PROFILE), read in the init
 * context.
 */
export function federationContext(tokens: () => TokenEntry[] = loadTokens): FederationContext {
  return { base: baseUrl(), tokens: tokens(), fleet: loadFleet(), corpus: loadCorpus(), rates: loadRates() };
}

/** What setup() hands to every iteration. */
export interface SetupData {
  /** Unique per run: ids of activities and notes carry it. */
  runId: string;
  /** Local statuses (for Like, Announce and replies): id on the target, ActivityPub URI, author. */
  localStatuses: { id: string; uri: string; username: string }[];
  /** How many warm actors setup() introduced. */
  introduced: number;
}

export const OTHER_MIX: readonly [ActivityType, number][] = [
  ['Like', 0.5],
  ['Announce', 0.25],
  ['Undo', 0.1],
  ['Delete', 0.1],
  ['Follow', 0.05],
];
export const PERSONAL_INBOX_SHARE = 0.2;
/** Share of inbound Creates replying to a local status (a conversation with locals): scenario assumption. */
export const LOCAL_REPLY_SHARE = 0.15;

const keys = new SigningKeyCache();

/** A run id: base-36 time, safe in status ids ([A-Za-z0-9_-]). */
export function newRunId(): string {
  return `fc${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
}

/** A unique, fleet-servable status id for this iteration ([A-Za-z0-9_-]{1,64}). */
export function uniqId(data: SetupData, tag: string, n: number, suffix = ''): string {
  return `${data.runId}-${tag}${exec.vu.idInTest}-${n}${suffix}`.slice(0, 64);
}

const pick = <T>(list: ArrayLike<T>, n: number): T => list[((n % list.length) + list.length) % list.length]!;

/** The actor for an iteration of a population, with cold exhaustion handled. */
export function actorFor(
  ctx: FederationContext,
  population: 'warm' | 'cold',
  n: number,
  offset = 0,
  stride = 1,
): { actor: FleetActor; population: 'warm' | 'cold' } {
  if (population === 'cold') {
    const i = offset + n * stride;
    if (i < ctx.fleet.cold.length) return { actor: ctx.fleet.cold[i]!, population: 'cold' };
    coldActorsExhausted.add(1);
  }
  if (ctx.fleet.warm.length === 0)
    throw new Error('FLEET: the manifest has no warm actors (start the fleet with a cold fraction below 1)');
  return { actor: pick(ctx.fleet.warm, n * 7919 + exec.vu.idInTest), population: 'warm' };
}

/** An attachment URL on the actor's own host, unique so the target downloads it. */
function mediaFor(ctx: FederationContext, actor: FleetActor, uniq: string, k: number) {
  const m = pick(ctx.fleet.media, k + uniq.length);
  const path = (m as { path?: string }).path ?? m.url.replace(/^https?:\/\/[^/]+/, '');
  const scheme = /^https:/.test(actor.id) ? 'https' : 'http';
  return { ...m, url: `${scheme}://${actor.host}${path}?n=${encodeURIComponent(uniq)}-${k}` };
}

function mentionsFor(ctx: FederationContext, n: number, count: number): LocalMention[] {
  const out: LocalMention[] = [];
  for (let k = 0; k < Math.max(1, count); k++)
    out.push(localMention(ctx.base, pick(ctx.tokens, n * 31 + k * 17).username));
  return out;
}

/** A Create{Note} shaped by the corpus and the profile's media/link/reply shares. */
export function noteInput(
  ctx: FederationContext,
  data: SetupData,
  actor: FleetActor,
  uniq: string,
  n: number,
  addressLocal = true,
): NoteInput {
  let post = postAt(ctx.corpus, n * 13 + exec.vu.idInTest);
  const mix = ctx.rates.mix;
  if (!addressLocal || ctx.tokens.length === 0)
    post = { ...post, text: post.text.replace(/\{mention\}\s*/g, '').trim() || 'ok' };
  if (!post.text.includes('{link}') && Math.random() < mix.inboundLinkFraction)
    post = { ...post, text: `${post.text} {link}` };
  const mentionSlots = (post.text.match(/\{mention\}/g) ?? []).length;
  const mentions = addressLocal && ctx.tokens.length ? mentionsFor(ctx, n, mentionSlots) : [];
  let attachments: NoteInput['attachments'] = [];
  if (ctx.fleet.media.length && Math.random() < mix.inboundMediaFraction) {
    const per = mix.inboundAttachmentsPerMediaPost;
    const count = Math.min(4, Math.max(1, Math.floor(per) + (Math.random() < per - Math.floor(per) ? 1 : 0)));
    attachments = Array.from({ length: count }, (_, k) => mediaFor(ctx, actor, uniq, k));
  }
  let inReplyTo: string | null = null;
  const r = Math.random();
  if (r < mix.inboundReplyFraction) {
    // a parent the target does not have yet: ThreadResolveWorker fetches it from the fleet
    inReplyTo = `${pick(ctx.fleet.warm.length ? ctx.fleet.warm : [actor], n + 1).id}/statuses/${uniq}-p`;
  } else if (r < mix.inboundReplyFraction + LOCAL_REPLY_SHARE && data.localStatuses.length) {
    inReplyTo = pick(data.localStatuses, n).uri;
  }
  return {
    actor,
    uniq,
    post,
    mentions: mentionSlots ? mentions : [],
    links: ctx.fleet.pages.length ? [pick(ctx.fleet.pages, n)] : [],
    attachments,
    inReplyTo,
    // addressed to a local account even without a mention, so the target keeps it (related to local activity)
    ccLocal: mentionSlots || mentions.length === 0 ? [] : [mentions[0]!.uri],
  };
}

/** Choose Create or one of the other activities with the profile's ratio. */
export function chooseActivity(ctx: FederationContext): ActivityType {
  const { createsPerSec, otherPerSec } = ctx.rates.inbound;
  const total = createsPerSec + otherPerSec;
  if (total <= 0 || Math.random() < createsPerSec / total) return 'Create';
  let u = Math.random();
  for (const [type, share] of OTHER_MIX) {
    if (u < share) return type;
    u -= share;
  }
  return 'Like';
}

interface Target {
  url: string;
  name: string;
}

function inboxFor(ctx: FederationContext, localUsername: string): Target {
  if (Math.random() < PERSONAL_INBOX_SHARE)
    return { url: personalInbox(ctx.base, localUsername), name: '/users/{username}/inbox' };
  return { url: sharedInbox(ctx.base), name: '/inbox' };
}

/**
 * Sign (as `signer`, the actor itself unless relayed) and deliver. The
 * station is inbox-cold-actor for the first activity of an actor the target
 * does not know yet (`firstContact`), inbox otherwise.
 */
async function send(
  activity: Activity,
  target: Target,
  population: 'warm' | 'cold',
  firstContact: boolean,
  signer: FleetActor,
): Promise<Response> {
  const key = await keys.get(signer.keyId, signer.privateKeyPem);
  const tags: DeliveryTags = {
    station: firstContact ? 'inbox-cold-actor' : 'inbox',
    activity: activity.type,
    population,
    name: target.name,
  };
  return deliver(target.url, activity, key, tags);
}

/**
 * One inbound iteration: an activity (or a pair, for Undo and Delete) from
 * an actor of `population` to the shared or a personal inbox.
 */
export async function inboundIteration(
  ctx: FederationContext,
  data: SetupData,
  population: 'warm' | 'cold',
  tag: string,
  offset = 0,
  stride = 1,
  type?: ActivityType,
): Promise<void> {
  const n = exec.scenario.iterationInTest;
  const chosen = actorFor(ctx, population, n, offset, stride);
  const { actor } = chosen;
  const uniq = uniqId(data, tag, n);
  const kind = type ?? chooseActivity(ctx);
  const local = pick(ctx.tokens, n * 7 + exec.vu.idInTest);
  const target = inboxFor(ctx, local.username);
  const localStatus = data.localStatuses.length ? pick(data.localStatuses, n) : null;
  const objectUri =
    localStatus?.uri ??
    `${pick(ctx.fleet.warm.length ? ctx.fleet.warm : [actor], n + 3).id}/statuses/${uniq}-o`;
  const cold = chosen.population === 'cold';
  /** Send as the chosen actor; a follow-up (Undo, Delete) is never a first contact. */
  const sendAs = (activity: Activity, followUp = false) =>
    send(activity, target, chosen.population, cold && !followUp, actor);
  const accepted = (r: { status: number }) => r.status === 202 || r.status === 200;
  switch (kind) {
    case 'Create': {
      const input = noteInput(ctx, data, actor, uniq, n);
      if (target.name !== '/inbox')
        input.ccLocal = [...(input.ccLocal ?? []), localMention(ctx.base, local.username).uri];
      await sendAs(createActivity(input));
      return;
    }
    case 'Announce':
      await sendAs(announceActivity(actor, uniq, objectUri));
      return;
    case 'Like':
      await sendAs(likeActivity(actor, uniq, objectUri));
      return;
    case 'Follow':
      await sendAs(followActivity(actor, uniq, localMention(ctx.base, local.username).uri));
      return;
    case 'Undo': {
      const like = likeActivity(actor, uniq, objectUri);
      if (accepted(await sendAs(like))) await sendAs(undoActivity(actor, like), true);
      return;
    }
    case 'Delete': {
      const input = noteInput(ctx, data, actor, uniq, n);
      const create = createActivity(input);
      if (accepted(await sendAs(create)))
        await sendAs(deleteActivity(actor, (create.object as { id: string }).id), true);
      return;
    }
  }
}

/** Where relayed Creates get their author's JSON-LD signature; an error naming FLEET without one. */
export function relaySigner(ctx: FederationContext): string {
  if (!ctx.fleet.ldSignUrl)
    throw new Error(
      'FLEET: the manifest has no ldSignUrl (written by an older `fedicap fleet`): restart the fleet, relayed Creates need its JSON-LD signatures',
    );
  return ctx.fleet.ldSignUrl;
}

/**
 * One relayed activity: the relay actor signs the request; a Create carries
 * the original author (a fleet actor, cold with the profile's relay cold
 * share) as `actor` and the author's JSON-LD signature (made by the fleet,
 * forwarded unchanged), an Announce is the relay's own and makes the target
 * fetch the note from the fleet.
 */
export async function relayIteration(
  ctx: FederationContext,
  data: SetupData,
  tag: string,
  coldOffset = 0,
  coldStride = 1,
): Promise<void> {
  const relay = ctx.fleet.relay;
  if (!relay) throw new Error('FLEET: the manifest has no relay actor');
  const n = exec.scenario.iterationInTest;
  const { relayPerSec, relayColdPerSec } = ctx.rates.inbound;
  const coldShare = relayPerSec > 0 ? relayColdPerSec / relayPerSec : 0;
  const chosen = actorFor(ctx, Math.random() < coldShare ? 'cold' : 'warm', n, coldOffset, coldStride);
  const uniq = uniqId(data, tag, n);
  const target: Target = { url: sharedInbox(ctx.base), name: '/inbox' };
  if (Math.random() < ctx.rates.mix.relayAnnounceFraction) {
    const original = `${chosen.actor.id}/statuses/${uniq}`;
    await send(announceActivity(relay, uniq, original), target, chosen.population, false, relay);
    return;
  }
  // relayed posts are public posts of strangers: not addressed to anyone here; signed by their author
  const input = noteInput(ctx, data, chosen.actor, uniq, n, false);
  const signed = await ldSigned(relaySigner(ctx), createActivity(input));
  if (signed) await send(signed, target, chosen.population, false, relay);
}

// ---------------------------------------------------------------- setup helpers

/** Post `count` local statuses (for Likes, Announces and replies to point at). */
export async function seedLocalStatuses(
  ctx: Pick<FederationContext, 'base' | 'tokens' | 'corpus'>,
  count: number,
  runId: string,
): Promise<SetupData['localStatuses']> {
  const out: SetupData['localStatuses'] = [];
  const posters = Math.min(count, ctx.tokens.length);
  for (let i = 0; i < posters; i++) {
    const t = ctx.tokens[i]!;
    const text = renderText(postAt(ctx.corpus, i), [], []);
    const res = await api(
      ctx.base,
      createStatus({ status: `${text} (${runId} seed ${i})`, idempotencyKey: `${runId}-seed-${i}` }),
      t.token,
    );
    const s = jsonBody<{ id?: string; uri?: string }>(res);
    if (res.status === 200 && s?.id && s.uri) out.push({ id: s.id, uri: s.uri, username: t.username });
  }
  return out;
}

/**
 * Introduce warm actors: each sends one Follow of a local account (actor i
 * follows account i mod `posters` of TOKENS), so the target fetches it once
 * and, for federation-outbound, delivers those accounts' posts to the
 * fleet. Runs `concurrency` deliveries at a time; returns how many were
 * accepted. (Index access only: under k6, TOKENS is a SharedArray, which has
 * no slice or map.)
 */
export async function introduceWarmActors(
  ctx: FederationContext,
  runId: string,
  posters: number,
  limit = Infinity,
  concurrency = 16,
): Promise<number> {
  const warm = ctx.fleet.warm;
  const count = Math.min(warm.length, limit);
  let accepted = 0;
  for (let start = 0; start < count; start += concurrency) {
    const batch: Promise<Response>[] = [];
    for (let i = start; i < Math.min(count, start + concurrency); i++) {
      const actor = warm[i]!;
      const local = ctx.tokens[i % Math.max(1, Math.min(posters, ctx.tokens.length))]!;
      const follow = followActivity(actor, `${runId}-intro-${i}`, localMention(ctx.base, local.username).uri);
      // the target meets this actor now: its WebFinger/actor fetch happens inside this request
      batch.push(send(follow, { url: sharedInbox(ctx.base), name: '/inbox' }, 'warm', true, actor));
    }
    for (const res of await Promise.all(batch)) if (res.status === 202 || res.status === 200) accepted++;
  }
  return accepted;
}

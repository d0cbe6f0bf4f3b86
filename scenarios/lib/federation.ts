/**
 * Inbound federation traffic shared by federation-inbound.ts, relay.ts and
 * mixed.ts: which fleet actor sends what to which inbox, built from the
 * profile's mix and the content corpus, signed and delivered.
 *
 * Local accounts are discovered in setup() (discovery.ts): mentions carry
 * the actor URI the target's WebFinger advertises, deliveries go to the
 * inboxes its actor documents name.
 *
 * Populations. Warm actors are introduced in setup() by one Follow each
 * (the target fetches them once, as for remote accounts it already knows);
 * cold actors are used once each (their first activity makes the target
 * fetch WebFinger, actor, collections, avatar and header synchronously:
 * station `inbox-cold-actor`). Cold actors are made on demand by the fleet
 * under this run's prefix (`cold<RUN>x<N>`), so they are new to the target
 * on every run; the i-th cold iteration of a scenario takes actor
 * `offset + i × stride`.
 *
 * Activity mix of "other" inbound activities (besides Create), a scenario
 * assumption (the profile gives only their total, interactionsPerRemotePost):
 * Like 50 %, Announce 25 %, Undo 10 % (Like then Undo), Delete 10 %
 * (Create then Delete), Follow 5 %. 20 % of deliveries go to a personal
 * inbox (Mastodon's /users/:username/inbox), as implementations without
 * shared inboxes do, the rest to the shared inbox. The first warm (and relay)
 * iteration of a run is always a public Create addressed to a local account,
 * so that the run has a status whose storage teardown() can check.
 */
import exec from 'k6/execution';
import http from 'k6/http';
import {
  announceActivity,
  createActivity,
  deleteActivity,
  followActivity,
  likeActivity,
  undoActivity,
  type Activity,
  type ActivityType,
  type NoteInput,
} from './activitypub.ts';
import { api, deliver, jsonBody, record, type DeliveryTags, type Response } from './client.ts';
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
import {
  actorEndpoints,
  discoverAccounts,
  inboxName,
  instanceDomain,
  selfLink,
  type LocalAccount,
} from './discovery.ts';
import { effectWaitSec, fleetObserved, observeEffect, pollUntil } from './effects.ts';
import { ldSigned } from './ldSign.ts';
import { createStatus, publicTimeline, requestUrl } from './requests.ts';
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
  const fleet = loadFleet();
  if (!fleet.cold)
    throw new Error(
      'FLEET: the manifest has no "coldActors" (it was written by an older `fedicap fleet`; restart the fleet)',
    );
  return { base: baseUrl(), tokens: tokens(), fleet, corpus: loadCorpus(), rates: loadRates() };
}

/** What setup() hands to every iteration. */
export interface SetupData {
  /** Unique per run: ids of activities and notes carry it, and the names of its cold actors. */
  runId: string;
  /** When setup() started (ms since the epoch): effects are counted from then. */
  startedAtMs: number;
  /** The target's account domain. */
  domain: string;
  /** Local accounts as discovered (WebFinger + actor document); mentions and inboxes come from here. */
  locals: LocalAccount[];
  /** Where relayed activities go: the shared inbox of the target's instance actor. */
  sharedInbox: string;
  /** Local statuses (for Like, Announce and replies): id on the target, ActivityPub URI, author. */
  localStatuses: { id: string; uri: string; username: string }[];
  /** Follows of local accounts by warm actors that the target accepted. */
  introduced: number;
}

/** The run's id and start, the target's domain and `discover` local accounts resolved: setup()'s first step. */
export async function startRun(
  ctx: Pick<FederationContext, 'base' | 'tokens'>,
  discover: number,
): Promise<Pick<SetupData, 'runId' | 'startedAtMs' | 'domain' | 'locals' | 'sharedInbox'>> {
  const startedAtMs = Date.now();
  const runId = newRunId();
  const { domain, accounts } = await discoverAccounts(ctx.base, ctx.tokens, discover);
  const sharedInbox =
    accounts.find((a) => a.sharedInbox)?.sharedInbox ?? (await instanceInbox(ctx.base, domain));
  return { runId, startedAtMs, domain, locals: accounts, sharedInbox };
}

/** The instance actor's shared inbox (or inbox), through WebFinger acct:DOMAIN@DOMAIN, as relays see it. */
export async function instanceInbox(base: string, domain = ''): Promise<string> {
  const d = domain || (await instanceDomain(base));
  const get = async (url: string, accept: string, name: string) => {
    const tags = { station: 'discovery', endpoint: 'discovery#instance_actor', name };
    const res = await http.asyncRequest('GET', url, null, { headers: { Accept: accept }, tags });
    record(res, tags, [200]);
    return res.status === 200 ? (jsonBody<Record<string, unknown>>(res) ?? undefined) : undefined;
  };
  const jrd = await get(
    `${base}/.well-known/webfinger?resource=${encodeURIComponent(`acct:${d}@${d}`)}`,
    'application/jrd+json',
    '/.well-known/webfinger',
  );
  const self = selfLink(jrd);
  const ep = self ? actorEndpoints(await get(self, 'application/activity+json', '{actor}')) : undefined;
  if (!ep)
    throw new Error(
      `discovery: the instance actor of ${base} (acct:${d}@${d}) could not be resolved; its shared inbox takes relayed activities`,
    );
  return ep.sharedInbox ?? ep.inbox;
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

/** Username prefix of this run's cold actors: the fleet serves `<prefix><N>` on every instance. */
export function coldPrefix(ctx: Pick<FederationContext, 'fleet'>, runId: string): string {
  return `${ctx.fleet.cold!.usernamePrefix}${runId
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(0, 16)}x`;
}

/** Cold actor `k` of this run: made by the fleet on demand, never seen by the target before. */
export function coldActor(ctx: Pick<FederationContext, 'fleet'>, runId: string, k: number): FleetActor {
  const t = ctx.fleet.cold!;
  const host = pick(t.hosts, k);
  const username = `${coldPrefix(ctx, runId)}${k}`;
  const id = `${t.scheme}://${host}/users/${username}`;
  return {
    id,
    keyId: `${id}#main-key`,
    privateKeyPem: pick(t.keys, k),
    inbox: `${id}/inbox`,
    sharedInbox: `${t.scheme}://${host}/inbox`,
    host,
    username,
    population: 'cold',
  };
}

/** The actor for an iteration of a population: cold ones fresh for this run. */
export function actorFor(
  ctx: FederationContext,
  data: Pick<SetupData, 'runId'>,
  population: 'warm' | 'cold',
  n: number,
  offset = 0,
  stride = 1,
): { actor: FleetActor; population: 'warm' | 'cold' } {
  if (population === 'cold') return { actor: coldActor(ctx, data.runId, offset + n * stride), population };
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

function mentionsFor(data: SetupData, n: number, count: number): LocalMention[] {
  const out: LocalMention[] = [];
  for (let k = 0; k < Math.max(1, count); k++) out.push(pick(data.locals, n * 31 + k * 17));
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
  noReply = false,
): NoteInput {
  let post = postAt(ctx.corpus, n * 13 + exec.vu.idInTest);
  const mix = ctx.rates.mix;
  const canAddress = addressLocal && data.locals.length > 0;
  if (!canAddress) post = { ...post, text: post.text.replace(/\{mention\}\s*/g, '').trim() || 'ok' };
  if (!post.text.includes('{link}') && Math.random() < mix.inboundLinkFraction)
    post = { ...post, text: `${post.text} {link}` };
  const mentionSlots = (post.text.match(/\{mention\}/g) ?? []).length;
  const mentions = canAddress ? mentionsFor(data, n, mentionSlots) : [];
  let attachments: NoteInput['attachments'] = [];
  if (ctx.fleet.media.length && Math.random() < mix.inboundMediaFraction) {
    const per = mix.inboundAttachmentsPerMediaPost;
    const count = Math.min(4, Math.max(1, Math.floor(per) + (Math.random() < per - Math.floor(per) ? 1 : 0)));
    attachments = Array.from({ length: count }, (_, k) => mediaFor(ctx, actor, uniq, k));
  }
  let inReplyTo: string | null = null;
  // public timelines leave replies out: the run's first Create, checked in teardown(), is none
  const r = noReply ? 1 : Math.random();
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

const sharedTarget = (url: string): Target => ({ url, name: inboxName(url, '') });

/** The local account's personal inbox (PERSONAL_INBOX_SHARE), else its shared one, as discovered. */
function inboxFor(local: LocalAccount): Target {
  if (Math.random() < PERSONAL_INBOX_SHARE || !local.sharedInbox)
    return { url: local.inbox, name: inboxName(local.inbox, local.username) };
  return sharedTarget(local.sharedInbox);
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
  const chosen = actorFor(ctx, data, population, n, offset, stride);
  const { actor } = chosen;
  const uniq = uniqId(data, tag, n);
  const first = n === 0 && population === 'warm';
  const kind = type ?? (first ? 'Create' : chooseActivity(ctx));
  const local = pick(data.locals, n * 7 + exec.vu.idInTest);
  const target = inboxFor(local);
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
      const input = noteInput(ctx, data, actor, uniq, n, true, first);
      if (target.url === local.inbox) input.ccLocal = [...(input.ccLocal ?? []), local.uri];
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
      await sendAs(followActivity(actor, uniq, local.uri));
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
  const chosen = actorFor(ctx, data, Math.random() < coldShare ? 'cold' : 'warm', n, coldOffset, coldStride);
  const uniq = uniqId(data, tag, n);
  const target = sharedTarget(data.sharedInbox);
  // the run's first relayed activity is a Create, whose storage teardown() checks
  if (n > 0 && Math.random() < ctx.rates.mix.relayAnnounceFraction) {
    const original = `${chosen.actor.id}/statuses/${uniq}`;
    await send(announceActivity(relay, uniq, original), target, chosen.population, false, relay);
    return;
  }
  // relayed posts are public posts of strangers: not addressed to anyone here; signed by their author
  const input = noteInput(ctx, data, chosen.actor, uniq, n, false, n === 0);
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
 * Introduce warm actors: each sends one Follow of a discovered local account
 * (actor i follows account i mod `posters`), so the target fetches it once
 * and, for federation-outbound, delivers those accounts' posts to the fleet.
 * Runs `concurrency` deliveries at a time, then waits (EFFECT_WAIT) for the
 * target's Accepts to reach the fleet: returns how many follows were
 * established (Accepts the fleet verified), recorded as the effect
 * `follows_established`. A 202 alone proves nothing: a server that cannot
 * resolve the account queues the Follow and drops it.
 */
export async function introduceWarmActors(
  ctx: FederationContext,
  data: Pick<SetupData, 'runId' | 'startedAtMs' | 'locals'>,
  posters: number,
  limit = Infinity,
  concurrency = 16,
): Promise<number> {
  const warm = ctx.fleet.warm;
  const count = Math.min(warm.length, limit, data.locals.length ? Infinity : 0);
  const followed = Math.max(1, Math.min(posters, data.locals.length));
  let accepted = 0;
  for (let start = 0; start < count; start += concurrency) {
    const batch: Promise<Response>[] = [];
    for (let i = start; i < Math.min(count, start + concurrency); i++) {
      const actor = warm[i]!;
      const local = data.locals[i % followed]!;
      const follow = followActivity(actor, `${data.runId}-intro-${i}`, local.uri);
      // the target meets this actor now: its WebFinger/actor fetch happens inside this request
      batch.push(send(follow, sharedTarget(local.sharedInbox ?? local.inbox), 'warm', true, actor));
    }
    for (const res of await Promise.all(batch)) if (res.status === 202 || res.status === 200) accepted++;
  }
  if (count === 0) return 0;
  const seen = await pollUntil(
    () => fleetObserved(ctx.fleet.observedUrl, data.startedAtMs),
    (o) => (o?.deliveries.Accept ?? 0) >= accepted,
    effectWaitSec(),
  );
  const established = Math.min(count, seen?.deliveries.Accept ?? 0);
  observeEffect(
    'follows_established',
    established,
    seen
      ? `${established} of ${count} Follows accepted (${accepted} answered 202)`
      : `the fleet could not be asked at ${ctx.fleet.observedUrl}`,
  );
  return established;
}

// ---------------------------------------------------------------- teardown checks

/** Statuses of this run (their URI carries the run id) in the federated timeline's newest page. */
export async function runStatusesVisible(
  ctx: Pick<FederationContext, 'base' | 'tokens'>,
  runId: string,
): Promise<number> {
  const req = publicTimeline({ remote: true, limit: 40 });
  const token = ctx.tokens.length ? ctx.tokens[0]!.token : '';
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const tags = { ...req.tags, station: 'effects' };
  const res = await http.asyncRequest('GET', requestUrl(ctx.base, req), null, { headers, tags });
  const list = res.status === 200 ? (jsonBody<{ uri?: string }[]>(res) ?? []) : [];
  return Array.isArray(list) ? list.filter((s) => String(s.uri ?? '').includes(runId)).length : 0;
}

/** teardown(): this run's Creates stored (inbound or relayed), and its cold actors fetched. */
export async function checkInboundEffects(
  ctx: FederationContext,
  data: SetupData,
  which: { stored?: 'inbound_statuses_stored' | 'relayed_statuses_stored'; cold?: boolean },
): Promise<void> {
  const wait = effectWaitSec();
  if (which.stored) {
    const seen = await pollUntil(
      () => runStatusesVisible(ctx, data.runId),
      (n) => n > 0,
      wait,
    );
    observeEffect(
      which.stored,
      seen,
      `statuses of run ${data.runId} in GET /api/v1/timelines/public?remote=true`,
    );
  }
  if (which.cold) {
    const prefix = coldPrefix(ctx, data.runId);
    const o = await pollUntil(
      () => fleetObserved(ctx.fleet.observedUrl, data.startedAtMs, prefix),
      (x) => (x?.actorsFetched ?? 0) > 0,
      wait,
    );
    observeEffect(
      'cold_actors_fetched',
      o?.actorsFetched ?? 0,
      o
        ? `actors ${prefix}* fetched from the fleet`
        : `the fleet could not be asked at ${ctx.fleet.observedUrl}`,
    );
  }
}

/** teardown(): local posts delivered to the fleet (Creates it verified since setup). */
export async function checkDeliveries(ctx: FederationContext, data: Pick<SetupData, 'startedAtMs'>) {
  const o = await pollUntil(
    () => fleetObserved(ctx.fleet.observedUrl, data.startedAtMs),
    (x) => (x?.deliveries.Create ?? 0) > 0,
    effectWaitSec(),
  );
  observeEffect(
    'deliveries_recorded',
    o?.deliveries.Create ?? 0,
    o ? 'Creates the fleet verified since setup' : `the fleet could not be asked at ${ctx.fleet.observedUrl}`,
  );
}

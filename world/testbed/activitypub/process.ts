/**
 * Inbound activities: ActivityPub::ProcessingWorker (ingress, retry 8) runs
 * ActivityPub::ProcessCollectionService on the body the inbox accepted.
 * Create, Announce, Like, Follow, Undo, Delete, Update, Accept and Reject are
 * handled as Mastodon's ActivityPub::Activity::* classes do, reduced to the
 * tables the testbed has.
 */
import { PUBLIC_COLLECTION } from '../../../src/mastodon/activitypub.js';
import { randomInt, randomUUID } from 'node:crypto';
import type { Testbed } from '../context.js';
import { inTransaction, MEDIA_TYPE, PROCESSING, VISIBILITY } from '../db/pool.js';
import type { TestbedJobClass, TestbedWorker } from '../jobClasses.js';
import {
  accountById,
  accountFromUri,
  fetchResource,
  findOrFetchActor,
  processAccount,
  ResolveError,
  type AccountRow,
} from './accounts.js';
import { RELAY_STATE, enqueueDelivery } from './delivery.js';
import { HttpClientError } from './http.js';
import { ldSignedActor } from './ldSignature.js';
import { LINK_CRAWL_WORKER, statusLinks } from './linkCrawl.js';
import { isSupportedMediaType, mediaTypeFor } from '../mediaAttachment.js';
import { downloadRemoteMedia, removeMediaFiles } from './media.js';
import { acceptFollowActivity, answerFollowActivity, type StatusRow } from './serialize.js';
import { asArray, equalsOrIncludes, hostOf, isLocalUri, parseLocalUri, valueOrId } from './uris.js';
import { unfollow } from '../accounts.js';

export const PROCESSING_WORKER = 'ActivityPub::ProcessingWorker' satisfies TestbedJobClass;
export const REDOWNLOAD_MEDIA_WORKER = 'RedownloadMediaWorker' satisfies TestbedJobClass;
export const THREAD_RESOLVE_WORKER = 'ThreadResolveWorker' satisfies TestbedJobClass;
/** Local fan-out job implemented by the client API side (DistributionWorker, default queue). */
export const LOCAL_DISTRIBUTION_WORKER = 'DistributionWorker' satisfies TestbedJobClass;
/** MediaAttachment attachments per status (Status::MEDIA_ATTACHMENTS_LIMIT). */
export const MAX_ATTACHMENTS = 4;
/** Items of one inbound collection processed at most. */
export const MAX_COLLECTION_ITEMS = 100;
/** Status#within_realtime_window?: fetched statuses newer than this are distributed. */
export const REALTIME_WINDOW_MS = 6 * 3600 * 1000;
/** Delete-before-Create marker lifetime (delete_later!). */
export const DELETE_UPON_ARRIVAL_SEC = 6 * 3600;

const NOTE_TYPES = ['Note', 'Question'];
const CONVERTED_TYPES = ['Image', 'Video', 'Article', 'Page'];

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const typeIs = (v: unknown, names: string[]) =>
  asArray(isObject(v) ? v.type : undefined).some((t) => typeof t === 'string' && names.includes(t));
const str = (v: unknown) => (typeof v === 'string' ? v : '');

export interface ProcessOptions {
  /** The local account whose personal inbox received the activity. */
  deliveredToAccountId?: string | null;
}

interface Ctx {
  tb: Testbed;
  json: Json;
  /** The activity's actor (the signer, or the original actor of a relayed activity). */
  actor: AccountRow;
  /** The account whose HTTP signature was verified. */
  signer: AccountRow;
  /** Signed by an accepted relay for another actor. */
  relayed: boolean;
  opts: ProcessOptions;
}

// ---------------------------------------------------------------- worker

/**
 * ActivityPub::ProcessingWorker (ingress, retry 8): args
 * [actor_account_id, body, delivered_to_account_id | null, 'Account'].
 */
export function processingWorker(tb: Testbed): TestbedWorker<typeof PROCESSING_WORKER> {
  return {
    queue: 'ingress',
    retry: 8,
    perform: async ([actorId, body, deliveredToAccountId]) => {
      const actor = await accountById(tb, String(actorId));
      if (!actor) return;
      await processCollection(tb, typeof body === 'string' ? body : JSON.stringify(body), actor, {
        deliveredToAccountId: deliveredToAccountId == null ? null : String(deliveredToAccountId),
      });
    },
  };
}

/** ActivityPub::ProcessCollectionService. */
export async function processCollection(
  tb: Testbed,
  body: string,
  signer: AccountRow,
  opts: ProcessOptions = {},
): Promise<void> {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return; // Oj::ParseError → nil
  }
  if (!isObject(json) || signer.domain === null) return;
  let items: unknown[] = [json];
  if (typeIs(json, ['Collection', 'CollectionPage'])) items = asArray(json.items);
  else if (typeIs(json, ['OrderedCollection', 'OrderedCollectionPage'])) items = asArray(json.orderedItems);
  for (const item of items.slice(0, MAX_COLLECTION_ITEMS)) {
    if (isObject(item)) await processActivity(tb, item, signer, opts);
  }
}

async function isAcceptedRelay(tb: Testbed, account: AccountRow): Promise<boolean> {
  const inboxes = [account.inbox_url, account.shared_inbox_url].filter((x): x is string => !!x);
  if (inboxes.length === 0) return false;
  const { rowCount } = await tb.db.query('SELECT 1 FROM relays WHERE inbox_url = ANY($1) AND state = $2', [
    inboxes,
    RELAY_STATE.accepted,
  ]);
  return (rowCount ?? 0) > 0;
}

/**
 * One activity. When its actor is not the signer, Mastodon requires a
 * JSON-LD signature by the actor (ldSignature.ts: verified against the
 * actor's key, fetched synchronously if unknown; dropped without one); the
 * activity then counts as relayed when the signer is an accepted relay
 * (requested_through_relay?).
 */
export async function processActivity(
  tb: Testbed,
  json: Json,
  signer: AccountRow,
  opts: ProcessOptions = {},
): Promise<void> {
  const actorUri = valueOrId(asArray(json.actor)[0]);
  let actor = signer;
  let relayed = false;
  if (actorUri && actorUri !== signer.uri) {
    const original = await ldSignedActor(tb, json, actorUri, signer);
    if (!original) return;
    actor = original;
    relayed = await isAcceptedRelay(tb, signer);
  }
  const ctx: Ctx = { tb, json, actor, signer, relayed, opts };
  const type = asArray(json.type).find((t): t is string => typeof t === 'string');
  switch (type) {
    case 'Create':
      return onCreate(ctx);
    case 'Announce':
      return onAnnounce(ctx);
    case 'Like':
      return onLike(ctx);
    case 'Follow':
      return onFollow(ctx);
    case 'Undo':
      return onUndo(ctx);
    case 'Delete':
      return onDelete(ctx);
    case 'Update':
      return onUpdate(ctx);
    case 'Block':
      return onBlock(ctx);
    case 'Accept':
      return onAccept(ctx);
    case 'Reject':
      return onReject(ctx);
    default:
      return; // Add, Remove, Move, Flag, EmojiReact...: not modelled
  }
}

// ---------------------------------------------------------------- helpers

/** TagManager#uri_to_resource for statuses: stored URI, else a local status URI by id. */
export async function statusFromUri(tb: Testbed, uri: string | undefined): Promise<StatusRow | null> {
  if (!uri) return null;
  const { rows } = await tb.db.query<StatusRow>('SELECT * FROM statuses WHERE uri = $1', [uri]);
  if (rows[0]) return rows[0];
  const local = parseLocalUri(tb, uri);
  if (local?.kind === 'status') {
    const byId = await tb.db.query<StatusRow>('SELECT * FROM statuses WHERE id = $1 AND local', [local.id]);
    return byId.rows[0] ?? null;
  }
  return null;
}

const deleteKey = (accountId: string, uri: string) => `delete_upon_arrival:${accountId}:${uri}`;
const deleteArrivedFirst = async (tb: Testbed, accountId: string, uri: string | undefined) =>
  !!uri && (await tb.redis.exists(deleteKey(accountId, uri))) > 0;

async function followedByLocalAccounts(tb: Testbed, account: AccountRow): Promise<boolean> {
  const { rowCount } = await tb.db.query(
    'SELECT 1 FROM follows f JOIN accounts a ON a.id = f.account_id WHERE f.target_account_id = $1 AND a.domain IS NULL LIMIT 1',
    [account.id],
  );
  return (rowCount ?? 0) > 0;
}

export const LOCAL_NOTIFICATION_WORKER = 'LocalNotificationWorker' satisfies TestbedJobClass;
export const REMOVAL_WORKER = 'RemovalWorker' satisfies TestbedJobClass;

/**
 * Notify a local account as Mastodon's activity handlers do:
 * LocalNotificationWorker [receiver_id, activity_id, activity_class, type]
 * on the default queue (implemented on the client-API side); when that class
 * is not registered, the notification row is written directly.
 */
async function notifyLocal(
  tb: Testbed,
  receiverId: string,
  activity: { id: string; cls: 'Favourite' | 'Follow' | 'Status' | 'Mention' },
  type: string,
  fromAccountId: string,
  statusId: string | null,
): Promise<void> {
  if (tb.workers[LOCAL_NOTIFICATION_WORKER])
    await tb.sidekiq.push(LOCAL_NOTIFICATION_WORKER, [receiverId, activity.id, activity.cls, type]);
  else await notify(tb, receiverId, fromAccountId, type, statusId);
}

/** NotifyService, reduced to the notifications row (idempotent on redelivery). */
export async function notify(
  tb: Testbed,
  recipientId: string,
  fromAccountId: string,
  type: string,
  statusId: string | null,
): Promise<void> {
  if (recipientId === fromAccountId) return;
  await tb.db.query(
    `INSERT INTO notifications (account_id, from_account_id, type, status_id)
     SELECT $1, $2, $3, $4
      WHERE EXISTS (SELECT 1 FROM accounts WHERE id = $1 AND domain IS NULL)
        AND NOT EXISTS (SELECT 1 FROM notifications WHERE account_id = $1 AND from_account_id = $2 AND type = $3
                          AND status_id IS NOT DISTINCT FROM $4::bigint)`,
    [recipientId, fromAccountId, type, statusId],
  );
}

/** StatusParser#visibility: public, unlisted, private (to followers) or direct. */
function visibilityFromAudience(to: unknown, cc: unknown, actor: AccountRow): number {
  if (
    equalsOrIncludes(to, PUBLIC_COLLECTION) ||
    equalsOrIncludes(to, 'as:Public') ||
    equalsOrIncludes(to, 'Public')
  )
    return VISIBILITY.public;
  if (
    equalsOrIncludes(cc, PUBLIC_COLLECTION) ||
    equalsOrIncludes(cc, 'as:Public') ||
    equalsOrIncludes(cc, 'Public')
  )
    return VISIBILITY.unlisted;
  if (actor.followers_url && equalsOrIncludes(to, actor.followers_url)) return VISIBILITY.private;
  return VISIBILITY.direct;
}

const warned = new Set<TestbedJobClass>();

/**
 * Enqueue a follow-up job. A class this testbed does not register (the
 * local DistributionWorker lives on the client-API side) is skipped with a
 * one-time process warning rather than failing the ingress job.
 */
async function pushJob(
  tb: Testbed,
  className: TestbedJobClass,
  args: unknown[],
  delaySec?: number,
): Promise<void> {
  if (!tb.workers[className]) {
    if (!warned.has(className)) {
      warned.add(className);
      process.emitWarning(
        `testbed: job class ${className} is not registered; ActivityPub processing does not enqueue it`,
      );
    }
    return;
  }
  if (delaySec && delaySec > 0) await tb.sidekiq.pushIn(className, args, delaySec);
  else await tb.sidekiq.push(className, args);
}

// ---------------------------------------------------------------- statuses

interface StoreOptions {
  /** Arrived by delivery (Mastodon's override_timestamps): always distributed. */
  delivered: boolean;
  /** Skip the related-to-local-activity check (fetched on purpose). */
  fetched: boolean;
  relayed: boolean;
  /** Activity-level audience, used when the object has none. */
  activityTo?: unknown;
  activityCc?: unknown;
}

/**
 * ActivityPub::Activity::Create#process_status for a Note: the status row
 * (unique by URI, so redelivery is a no-op), mentions with notifications for
 * local accounts, attachments downloaded now (RedownloadMediaWorker later on
 * failure), then LinkCrawlWorker (delayed) when there is a link, the local
 * DistributionWorker, and ThreadResolveWorker for an unknown parent.
 */
export async function storeRemoteStatus(
  tb: Testbed,
  object: Json,
  actor: AccountRow,
  opts: StoreOptions,
): Promise<StatusRow | null> {
  const uri = str(object.id);
  if (!uri || !/^https?:\/\//.test(uri)) return null;
  if (!typeIs(object, [...NOTE_TYPES, ...CONVERTED_TYPES])) return null;
  if (hostOf(uri) !== hostOf(actor.uri)) return null; // invalid_origin?
  const existing = await statusFromUri(tb, uri);
  if (existing) return existing;

  const to = object.to ?? opts.activityTo;
  const cc = object.cc ?? opts.activityCc;
  const tags = asArray<Json>(object.tag).filter(isObject);
  const mentionHrefs = tags
    .filter((t) => typeIs(t, ['Mention']))
    .map((t) => str(t.href))
    .filter(Boolean);
  const inReplyToUri = valueOrId(object.inReplyTo);
  const parent = inReplyToUri ? await statusFromUri(tb, inReplyToUri) : null;

  if (!opts.fetched) {
    const audienceUris = [...asArray(to), ...asArray(cc)].map(valueOrId).filter((x): x is string => !!x);
    const related = await relatedToLocalActivity(tb, actor, parent, [...audienceUris, ...mentionHrefs], opts);
    if (!related) return null;
  }

  const status = await insertRemoteStatus(tb, object, actor, parent, visibilityFromAudience(to, cc, actor));
  if (!status) return statusFromUri(tb, uri); // a concurrent delivery won
  await tb.db.query('UPDATE accounts SET statuses_count = statuses_count + 1 WHERE id = $1', [actor.id]);
  if (parent)
    await tb.db.query('UPDATE statuses SET replies_count = replies_count + 1 WHERE id = $1', [parent.id]);
  await storeMentions(tb, status, actor, mentionHrefs);
  await storeAttachments(tb, status, actor, object);

  if (inReplyToUri && !parent) await pushJob(tb, THREAD_RESOLVE_WORKER, [status.id, inReplyToUri]);
  if (statusLinks(status.text, true).length > 0)
    await pushJob(tb, LINK_CRAWL_WORKER, [status.id], randomInt(1, 60));
  if (opts.delivered || Date.now() - new Date(status.created_at).getTime() < REALTIME_WINDOW_MS) {
    await pushJob(tb, LOCAL_DISTRIBUTION_WORKER, [status.id]);
  }
  return status;
}

/**
 * related_to_local_activity?: relayed, addressed to or mentioning a local
 * account, a reply to a local status or to one a local account follows the
 * author of, or by an author a local account follows.
 */
async function relatedToLocalActivity(
  tb: Testbed,
  actor: AccountRow,
  parent: StatusRow | null,
  addressedUris: string[],
  opts: StoreOptions,
): Promise<boolean> {
  const addressesLocal = addressedUris.some((u) => parseLocalUri(tb, u)?.kind === 'account');
  return (
    opts.relayed ||
    addressesLocal ||
    (parent !== null &&
      (parent.local || (await followedByLocalAccounts(tb, (await accountById(tb, parent.account_id))!)))) ||
    (await followedByLocalAccounts(tb, actor))
  );
}

/** The status row (unique by URI); undefined when a concurrent delivery inserted it first. */
async function insertRemoteStatus(
  tb: Testbed,
  object: Json,
  actor: AccountRow,
  parent: StatusRow | null,
  visibility: number,
): Promise<StatusRow | undefined> {
  const uri = str(object.id);
  const contentMap = isObject(object.contentMap) ? (object.contentMap as Record<string, unknown>) : {};
  const converted = !typeIs(object, NOTE_TYPES);
  const text = converted
    ? [str(object.name), valueOrId(asArray(object.url)[0]) ?? uri].filter(Boolean).join(' ')
    : str(object.content) || str(Object.values(contentMap)[0]);
  const summaryMap = isObject(object.summaryMap)
    ? Object.values(object.summaryMap as Record<string, unknown>)
    : [];
  const published = Date.parse(str(object.published));
  const createdAt = Number.isFinite(published) && published <= Date.now() ? new Date(published) : new Date();
  const url = valueOrId(asArray(object.url)[0]);
  const inserted = await tb.db.query<StatusRow>(
    `INSERT INTO statuses (uri, url, text, spoiler_text, sensitive, language, visibility, account_id, in_reply_to_id, in_reply_to_account_id, local, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, false, $11)
     ON CONFLICT (uri) DO NOTHING RETURNING *`,
    [
      uri,
      url && hostOf(url) === hostOf(actor.uri) ? url : uri,
      text,
      str(object.summary) || str(summaryMap[0]),
      object.sensitive === true,
      Object.keys(contentMap)[0] ?? null,
      visibility,
      actor.id,
      parent?.id ?? null,
      parent?.account_id ?? null,
      createdAt,
    ],
  );
  return inserted.rows[0];
}

/**
 * Mentions of accounts we know (unknown remote ones are not resolved here). Local
 * mentions are notified by the local DistributionWorker's fan-out
 * (LocalNotificationWorker per mention), directly when that class is absent.
 */
async function storeMentions(
  tb: Testbed,
  status: StatusRow,
  actor: AccountRow,
  hrefs: string[],
): Promise<void> {
  const fanOut = !!tb.workers[LOCAL_DISTRIBUTION_WORKER];
  for (const href of [...new Set(hrefs)]) {
    const account = await accountFromUri(tb, href);
    if (!account) continue;
    await tb.db.query('INSERT INTO mentions (status_id, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
      status.id,
      account.id,
    ]);
    if (account.domain === null && !fanOut) await notify(tb, account.id, actor.id, 'mention', status.id);
  }
}

/** Attachments, downloaded synchronously inside this job (RedownloadMediaWorker later on failure). */
async function storeAttachments(
  tb: Testbed,
  status: StatusRow,
  actor: AccountRow,
  object: Json,
): Promise<void> {
  const attachments = asArray<Json>(object.attachment).filter(
    (a) => isObject(a) && (valueOrId(asArray(a.url)[0]) ?? str(a.href)),
  );
  for (const attachment of attachments.slice(0, MAX_ATTACHMENTS)) {
    const remoteUrl = valueOrId(asArray(attachment.url)[0]) ?? str(attachment.href);
    let href: string;
    try {
      href = new URL(remoteUrl).href;
    } catch {
      continue;
    }
    const mime = str(attachment.mediaType);
    // processing stays "complete" (Mastodon leaves it unset for remote media): until the
    // file is cached, clients get the remote URL.
    const { rows } = await tb.db.query<{ id: string }>(
      `INSERT INTO media_attachments (status_id, account_id, type, remote_url, description, processing)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [
        status.id,
        actor.id,
        mime ? mediaTypeFor(mime) : MEDIA_TYPE.unknown,
        href,
        str(attachment.name) || null,
        PROCESSING.complete,
      ],
    );
    if (mime && !isSupportedMediaType(mime)) continue; // unsupported_media_type?: kept as a link, not downloaded
    try {
      await downloadRemoteMedia(tb, rows[0]!.id, mime || undefined);
    } catch {
      await pushJob(tb, REDOWNLOAD_MEDIA_WORKER, [rows[0]!.id], randomInt(30, 601));
    }
  }
}

/**
 * ActivityPub::FetchRemoteStatusService: GET the object (signed by the
 * instance actor), resolve its author (fetching an unknown one), store it.
 */
export async function fetchRemoteStatus(tb: Testbed, uri: string): Promise<StatusRow | null> {
  if (isLocalUri(tb, uri)) return statusFromUri(tb, uri);
  let object: Json | null;
  try {
    object = await fetchResource(tb, uri, true);
  } catch (e) {
    if (e instanceof HttpClientError || e instanceof ResolveError) return null;
    throw e;
  }
  if (!object) return null;
  const authorUri = valueOrId(asArray(object.attributedTo)[0]);
  if (!authorUri || hostOf(authorUri) !== hostOf(uri)) return null;
  const author = await findOrFetchActor(tb, authorUri);
  if (!author || author.domain === null) return null;
  return storeRemoteStatus(tb, object, author, { delivered: false, fetched: true, relayed: false });
}

async function onCreate(c: Ctx): Promise<void> {
  let object: unknown = c.json.object;
  if (typeof object === 'string') {
    // dereference_object!: fetch it, from the actor's own origin only
    if (hostOf(object) !== hostOf(c.actor.uri)) return;
    object = await fetchResource(c.tb, object, true).catch(() => null);
  }
  if (!isObject(object)) return;
  if (await deleteArrivedFirst(c.tb, c.actor.id, str(object.id))) return;
  await storeRemoteStatus(c.tb, object, c.actor, {
    delivered: true,
    fetched: false,
    relayed: c.relayed,
    activityTo: c.json.to,
    activityCc: c.json.cc,
  });
}

/**
 * ActivityPub::Activity::Announce: the original is looked up or fetched
 * synchronously; an Announce by an accepted relay stops there (no boost),
 * others store a reblog, notify a local author and fan out locally.
 */
async function onAnnounce(c: Ctx): Promise<void> {
  const { tb, json, actor } = c;
  const objectUri = valueOrId(json.object);
  if (!objectUri || (await deleteArrivedFirst(tb, actor.id, str(json.id)))) return;
  const throughRelay = c.relayed || (await isAcceptedRelay(tb, actor));
  const related =
    throughRelay ||
    parseLocalUri(tb, objectUri)?.kind === 'status' ||
    (await followedByLocalAccounts(tb, actor));
  if (!related) return;
  const original = (await statusFromUri(tb, objectUri)) ?? (await fetchRemoteStatus(tb, objectUri));
  if (!original || original.reblog_of_id) return;
  const announceable =
    original.visibility <= VISIBILITY.unlisted ||
    (original.visibility === VISIBILITY.private && original.account_id === actor.id);
  if (!announceable || throughRelay) return;
  const uri = str(json.id);
  if (!uri) return;
  const existing = await tb.db.query('SELECT 1 FROM statuses WHERE account_id = $1 AND reblog_of_id = $2', [
    actor.id,
    original.id,
  ]);
  if (existing.rowCount) return;
  const published = Date.parse(str(json.published));
  const { rows } = await tb.db.query<{ id: string }>(
    `INSERT INTO statuses (uri, url, text, visibility, account_id, reblog_of_id, local, created_at)
     VALUES ($1, $1, '', $2, $3, $4, false, $5) ON CONFLICT (uri) DO NOTHING RETURNING id`,
    [
      uri,
      visibilityFromAudience(json.to, json.cc, actor),
      actor.id,
      original.id,
      Number.isFinite(published) && published <= Date.now() ? new Date(published) : new Date(),
    ],
  );
  if (!rows[0]) return;
  await tb.db.query('UPDATE statuses SET reblogs_count = reblogs_count + 1 WHERE id = $1', [original.id]);
  if (original.local)
    await notifyLocal(
      tb,
      original.account_id,
      { id: rows[0].id, cls: 'Status' },
      'reblog',
      actor.id,
      original.id,
    );
  await pushJob(tb, LOCAL_DISTRIBUTION_WORKER, [rows[0].id]);
}

/** ActivityPub::Activity::Like: only statuses of local accounts. */
async function onLike(c: Ctx): Promise<void> {
  const { tb, json, actor } = c;
  const status = await statusFromUri(tb, valueOrId(json.object));
  if (!status?.local || status.reblog_of_id) return;
  const { rows } = await tb.db.query<{ id: string }>(
    'INSERT INTO favourites (account_id, status_id, uri) VALUES ($1, $2, $3) ON CONFLICT (account_id, status_id) DO NOTHING RETURNING id',
    [actor.id, status.id, str(json.id) || null],
  );
  if (!rows[0]) return;
  await tb.db.query('UPDATE statuses SET favourites_count = favourites_count + 1 WHERE id = $1', [status.id]);
  await notifyLocal(
    tb,
    status.account_id,
    { id: rows[0].id, cls: 'Favourite' },
    'favourite',
    actor.id,
    status.id,
  );
}

/**
 * ActivityPub::Activity::Follow of a local account: the follow is stored
 * (accounts here never require approval), the target notified, and an
 * Accept delivered to the follower's own inbox through the push queue.
 */
async function onFollow(c: Ctx): Promise<void> {
  const { tb, json, actor } = c;
  const target = await accountFromUri(tb, valueOrId(json.object));
  if (!target || target.domain !== null || String(target.id) === '-99') return;
  const followActivityId = str(json.id);
  // A local account that blocks the actor, or its domain, answers with Reject.
  const refused = await tb.db.query(
    `SELECT 1 FROM blocks WHERE account_id = $1 AND target_account_id = $2
     UNION ALL SELECT 1 FROM account_domain_blocks WHERE account_id = $1 AND domain = $3`,
    [target.id, actor.id, actor.domain],
  );
  if (refused.rowCount) {
    if (actor.inbox_url)
      await enqueueDelivery(
        tb,
        answerFollowActivity(tb, 'Reject', target, actor, randomUUID(), followActivityId),
        target,
        actor.inbox_url,
      );
    return;
  }
  const { rows } = await tb.db.query<{ id: string; inserted: boolean }>(
    `INSERT INTO follows (account_id, target_account_id, uri) VALUES ($1, $2, $3)
     ON CONFLICT (account_id, target_account_id) DO UPDATE SET uri = EXCLUDED.uri
     RETURNING id, (xmax = 0) AS inserted`,
    [actor.id, target.id, followActivityId || null],
  );
  const follow = rows[0]!;
  if (follow.inserted) {
    await tb.db.query('UPDATE accounts SET followers_count = followers_count + 1 WHERE id = $1', [target.id]);
    await tb.db.query('UPDATE accounts SET following_count = following_count + 1 WHERE id = $1', [actor.id]);
    await notifyLocal(tb, target.id, { id: follow.id, cls: 'Follow' }, 'follow', actor.id, null);
  }
  if (actor.inbox_url) {
    await enqueueDelivery(
      tb,
      acceptFollowActivity(tb, target, actor, follow.id, followActivityId),
      target,
      actor.inbox_url,
    );
  }
}

/**
 * ActivityPub::Activity::Block: a remote account blocks a local one. Follows
 * go both ways (and pending requests), then the block row with the
 * activity's URI. (Mastodon also sends an Undo of the local account's Follow.)
 */
async function onBlock(c: Ctx): Promise<void> {
  const { tb, json, actor } = c;
  const target = await accountFromUri(tb, valueOrId(json.object));
  if (!target || target.domain !== null) return;
  await unfollow(tb, actor.id, target.id);
  await unfollow(tb, target.id, actor.id);
  await tb.db.query(
    'DELETE FROM follow_requests WHERE (account_id = $1 AND target_account_id = $2) OR (account_id = $2 AND target_account_id = $1)',
    [actor.id, target.id],
  );
  await tb.db.query(
    'INSERT INTO blocks (account_id, target_account_id, uri) VALUES ($1, $2, $3) ON CONFLICT (account_id, target_account_id) DO UPDATE SET uri = EXCLUDED.uri',
    [actor.id, target.id, str(json.id) || null],
  );
}

/**
 * RemoveStatusService, run synchronously inside the ingress job as Mastodon
 * does for a remote Delete or Undo(Announce): cached media files (with their
 * small renditions) go first, then the client-API side's RemovalWorker logic
 * (home feeds, streaming, rows) when registered, else the rows directly.
 */
async function removeStatus(tb: Testbed, status: StatusRow): Promise<void> {
  const media = await tb.db.query<{ file_path: string }>(
    "SELECT file_path FROM media_attachments WHERE status_id = $1 AND file_path IS NOT NULL AND remote_url <> ''",
    [status.id],
  );
  for (const m of media.rows) removeMediaFiles(tb, m.file_path);
  const removal = tb.workers[REMOVAL_WORKER];
  if (removal) {
    await removal.perform([status.id, { redraft: false }], {
      jid: 'RemoveStatusService',
      queue: 'ingress',
      retryCount: 0,
    });
    return;
  }
  await tb.db.query('DELETE FROM media_attachments WHERE status_id = $1', [status.id]);
  await tb.db.query('DELETE FROM statuses WHERE id = $1', [status.id]);
  if (status.reblog_of_id) {
    await tb.db.query('UPDATE statuses SET reblogs_count = GREATEST(reblogs_count - 1, 0) WHERE id = $1', [
      status.reblog_of_id,
    ]);
  } else {
    await tb.db.query('UPDATE accounts SET statuses_count = GREATEST(statuses_count - 1, 0) WHERE id = $1', [
      status.account_id,
    ]);
  }
}

/** ActivityPub::Activity::Undo of Follow, Like or Announce. */
async function onUndo(c: Ctx): Promise<void> {
  const { tb, json, actor } = c;
  const object = json.object;
  const objectId = valueOrId(object);
  let kind = isObject(object)
    ? asArray(object.type).find((t): t is string => typeof t === 'string')
    : undefined;
  if (!kind && objectId) {
    if ((await tb.db.query('SELECT 1 FROM follows WHERE uri = $1', [objectId])).rowCount) kind = 'Follow';
    else if ((await tb.db.query('SELECT 1 FROM blocks WHERE uri = $1', [objectId])).rowCount) kind = 'Block';
    else if ((await tb.db.query('SELECT 1 FROM favourites WHERE uri = $1', [objectId])).rowCount)
      kind = 'Like';
    else kind = 'Announce';
  }
  if (kind === 'Follow') {
    const target = isObject(object) ? await accountFromUri(tb, valueOrId(object.object)) : null;
    const byUri = objectId
      ? await tb.db.query<{ target_account_id: string }>(
          'SELECT target_account_id FROM follows WHERE uri = $1 AND account_id = $2',
          [objectId, actor.id],
        )
      : null;
    const targetId = target?.id ?? byUri?.rows[0]?.target_account_id;
    if (targetId) await unfollow(tb, actor.id, String(targetId));
  } else if (kind === 'Block') {
    const target = isObject(object) ? await accountFromUri(tb, valueOrId(object.object)) : null;
    await tb.db.query('DELETE FROM blocks WHERE account_id = $1 AND (uri = $2 OR target_account_id = $3)', [
      actor.id,
      objectId ?? null,
      target?.id ?? null,
    ]);
  } else if (kind === 'Like') {
    const status = isObject(object) ? await statusFromUri(tb, valueOrId(object.object)) : null;
    const { rows } = await tb.db.query<{ status_id: string }>(
      'DELETE FROM favourites WHERE account_id = $1 AND (uri = $2 OR status_id = $3) RETURNING status_id',
      [actor.id, objectId ?? null, status?.id ?? null],
    );
    for (const r of rows)
      await tb.db.query(
        'UPDATE statuses SET favourites_count = GREATEST(favourites_count - 1, 0) WHERE id = $1',
        [r.status_id],
      );
  } else if (kind === 'Announce') {
    if (!objectId) return;
    const { rows } = await tb.db.query<StatusRow>(
      'SELECT * FROM statuses WHERE uri = $1 AND account_id = $2 AND reblog_of_id IS NOT NULL',
      [objectId, actor.id],
    );
    if (rows[0]) await removeStatus(tb, rows[0]);
  }
}

/**
 * ActivityPub::Activity::Delete: of the actor itself (the account and
 * everything it owns goes, synchronously in this job) or of one of its
 * statuses; a Delete that arrives before its Create is remembered for 6 h.
 */
async function onDelete(c: Ctx): Promise<void> {
  const { tb, json, actor } = c;
  const objectUri = valueOrId(json.object);
  if (!objectUri) return;
  if (objectUri === actor.uri) {
    const media = await tb.db.query<{ file_path: string }>(
      "SELECT file_path FROM media_attachments WHERE account_id = $1 AND file_path IS NOT NULL AND remote_url <> ''",
      [actor.id],
    );
    for (const m of media.rows) removeMediaFiles(tb, m.file_path);
    await tb.db.query('DELETE FROM accounts WHERE id = $1 AND domain IS NOT NULL', [actor.id]);
    return;
  }
  const { rows } = await tb.db.query<StatusRow>('SELECT * FROM statuses WHERE uri = $1 AND account_id = $2', [
    objectUri,
    actor.id,
  ]);
  if (rows[0]) await removeStatus(tb, rows[0]);
  else await tb.redis.setex(deleteKey(actor.id, objectUri), DELETE_UPON_ARRIVAL_SEC, objectUri);
}

/** ActivityPub::Activity::Update: the actor's profile or an edit of one of its statuses. */
async function onUpdate(c: Ctx): Promise<void> {
  const { tb, json, actor } = c;
  const object = json.object;
  if (!isObject(object)) return;
  if (str(object.id) === actor.uri && !typeIs(object, [...NOTE_TYPES, ...CONVERTED_TYPES])) {
    await processAccount(tb, actor.username, actor.domain!, object, { onlyKey: false });
    return;
  }
  if (!typeIs(object, [...NOTE_TYPES, ...CONVERTED_TYPES])) return;
  const { rows } = await tb.db.query<StatusRow>('SELECT * FROM statuses WHERE uri = $1 AND account_id = $2', [
    str(object.id),
    actor.id,
  ]);
  const status = rows[0];
  if (!status) return;
  const contentMap = isObject(object.contentMap) ? Object.values(object.contentMap) : [];
  const text = str(object.content) || str(contentMap[0]) || status.text;
  await tb.db.query(
    'UPDATE statuses SET text = $2, spoiler_text = $3, sensitive = $4, updated_at = now() WHERE id = $1',
    [status.id, text, str(object.summary), object.sensitive === true],
  );
  if (statusLinks(text, true)[0] !== statusLinks(status.text, true)[0]) {
    await tb.db.query('DELETE FROM preview_cards_statuses WHERE status_id = $1', [status.id]); // reset_preview_card!
    if (statusLinks(text, true).length > 0)
      await pushJob(tb, LINK_CRAWL_WORKER, [status.id], randomInt(1, 60));
  }
  await pushJob(tb, LOCAL_DISTRIBUTION_WORKER, [status.id, { update: true }]);
}

/** ActivityPub::Activity::Accept: of our relay Follow (relay → accepted) or of a local account's Follow. */
async function onAccept(c: Ctx): Promise<void> {
  const { tb, json, actor } = c;
  const object = json.object;
  const objectId = valueOrId(object);
  if (objectId) {
    const relay = await tb.db.query(
      'UPDATE relays SET state = $2 WHERE follow_activity_id = $1 AND state = $3 RETURNING id',
      [objectId, RELAY_STATE.accepted, RELAY_STATE.pending],
    );
    if (relay.rowCount) return;
  }
  // accept_follow: the follow request of a local account to this actor, found by the Follow's id or by the
  // pair
  const follower = isObject(object) ? await accountFromUri(tb, valueOrId(object.actor)) : null;
  const { rows } = await tb.db.query<{ id: string; account_id: string; uri: string | null }>(
    `SELECT id, account_id, uri FROM follow_requests
      WHERE target_account_id = $1 AND ((uri IS NOT NULL AND uri = $2) OR account_id = $3)`,
    [actor.id, objectId ?? null, follower?.domain === null ? follower.id : null],
  );
  const request = rows[0];
  if (request) await authorizeFollowRequest(tb, request, actor.id);
}

/**
 * FollowRequest#authorize!: the follow (with the request's URI), counters, and MergeWorker into the
 * follower's home feed.
 */
async function authorizeFollowRequest(
  tb: Testbed,
  request: { id: string; account_id: string; uri: string | null },
  targetId: string,
): Promise<void> {
  const followed = await inTransaction(tb.db, async (client) => {
    const del = await client.query('DELETE FROM follow_requests WHERE id = $1', [request.id]);
    if (!del.rowCount) return false;
    const ins = await client.query(
      'INSERT INTO follows (account_id, target_account_id, uri) VALUES ($1, $2, $3) ON CONFLICT (account_id, target_account_id) DO NOTHING',
      [request.account_id, targetId, request.uri],
    );
    if (!ins.rowCount) return false;
    await client.query('UPDATE accounts SET followers_count = followers_count + 1 WHERE id = $1', [targetId]);
    await client.query('UPDATE accounts SET following_count = following_count + 1 WHERE id = $1', [
      request.account_id,
    ]);
    return true;
  });
  if (followed) await pushJob(tb, 'MergeWorker', [targetId, request.account_id, 'home']);
}

/** ActivityPub::Activity::Reject: of our relay Follow (→ rejected) or of a local account's Follow. */
async function onReject(c: Ctx): Promise<void> {
  const { tb, json, actor } = c;
  const object = json.object;
  const objectId = valueOrId(object);
  if (objectId) {
    const relay = await tb.db.query(
      'UPDATE relays SET state = $2 WHERE follow_activity_id = $1 RETURNING id',
      [objectId, RELAY_STATE.rejected],
    );
    if (relay.rowCount) return;
  }
  const follower = isObject(object) ? await accountFromUri(tb, valueOrId(object.actor)) : null;
  await tb.db.query(
    'DELETE FROM follow_requests WHERE target_account_id = $1 AND ((uri IS NOT NULL AND uri = $2) OR account_id = $3)',
    [actor.id, objectId ?? null, follower?.domain === null ? follower.id : null],
  );
  if (follower && follower.domain === null) await unfollow(tb, follower.id, actor.id);
  else if (objectId) {
    const { rows } = await tb.db.query<{ account_id: string }>(
      'SELECT account_id FROM follows WHERE uri = $1 AND target_account_id = $2',
      [objectId, actor.id],
    );
    if (rows[0]) await unfollow(tb, rows[0].account_id, actor.id);
  }
}

// ---------------------------------------------------------------- pull jobs

/**
 * ThreadResolveWorker (pull, retry 3): [child_status_id, parent_uri] → fetch the parent and link the reply.
 */
export function threadResolveWorker(tb: Testbed): TestbedWorker<typeof THREAD_RESOLVE_WORKER> {
  return {
    queue: 'pull',
    retry: 3,
    perform: async ([childId, parentUri]) => {
      if (typeof parentUri !== 'string') return;
      const parent = (await statusFromUri(tb, parentUri)) ?? (await fetchRemoteStatus(tb, parentUri));
      if (!parent) return;
      await tb.db.query(
        'UPDATE statuses SET in_reply_to_id = $2, in_reply_to_account_id = $3 WHERE id = $1 AND in_reply_to_id IS NULL',
        [String(childId), parent.id, parent.account_id],
      );
    },
  };
}

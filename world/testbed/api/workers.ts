import { PUBLIC_COLLECTION } from '../../../src/mastodon/activitypub.js';
import { HOME_FEED_MAX_ITEMS } from '../../../src/mastodon/limits.js';
import { randomBytes } from 'node:crypto';
import type { Testbed } from '../context.js';
import { VISIBILITY } from '../db/pool.js';
import type { TestbedWorkers } from '../jobClasses.js';
import type { JobContext } from '../sidekiq/types.js';
import { buildCrutches, filterFromHome } from './feedFilter.js';
import { feedKey, pushToHome, regenerationKey, unpushFromHome, type FeedStatus } from './feeds.js';
import { enqueueBulk } from './jobs.js';
import { destroyMedia, postProcessMedia } from './media.js';
import { renderStatus, type MediaRow } from './serializers.js';
import { AS_CONTEXT } from '../activitypub/uris.js';
import { discardStatus, notify, removeFavourite } from './services.js';
import { extractHashtags } from './text.js';

/**
 * The Sidekiq job classes of local fan-out, named and queued as Mastodon's
 * (all on `default`). Args are JSON; ids travel as decimal strings because
 * Mastodon's bigint ids do not fit a JavaScript number (numbers are
 * accepted too).
 *
 * DistributionWorker [status_id, {update}?]   FanOutOnWriteService (local and remote statuses)
 * FeedInsertWorker [status_id, account_id, 'home', {update}?]
 * PushUpdateWorker [account_id, status_id, timeline_id, {update}?]   renders + PUBLISHes one update
 * LocalNotificationWorker [receiver_id, activity_id, activity_class, type]
 * MergeWorker / UnmergeWorker [from_account_id, into_account_id, 'home']
 * RegenerationWorker [account_id]   PrecomputeFeedService (a user back after USER_ACTIVE_DAYS)
 * BlockWorker / MuteWorker [account_id, target_account_id]   the target's statuses leave the home feed
 * RemovalWorker [status_id, {redraft}]  RemoveStatusService
 * UnfavouriteWorker [account_id, status_id]
 * PostProcessMediaWorker [media_attachment_id] (retry 1)
 */

interface FanOutRow extends FeedStatus {
  account_id: string;
  visibility: number;
  in_reply_to_id: string | null;
  in_reply_to_account_id: string | null;
  local: boolean;
  uri: string;
  domain: string | null;
  has_media: boolean;
  text: string;
  deleted_at: Date | null;
}

const FOLLOWER_BATCH = 1000;

async function loadFanOutStatus(
  tb: Testbed,
  id: string,
  includeDeleted = false,
): Promise<FanOutRow | undefined> {
  const res = await tb.db.query<FanOutRow>(
    `SELECT s.id, s.reblog_of_id, s.account_id, s.visibility, s.in_reply_to_id, s.in_reply_to_account_id, s.local, s.uri, s.text, s.deleted_at,
            a.domain, EXISTS (SELECT 1 FROM media_attachments m WHERE m.status_id = s.id) AS has_media
     FROM statuses s JOIN accounts a ON a.id = s.account_id
     WHERE s.id = $1${includeDeleted ? '' : ' AND s.deleted_at IS NULL'}`,
    [id],
  );
  return res.rows[0];
}

/**
 * Active local followers (signed in within USER_ACTIVE_DAYS), 1,000 at a time in id order (find_in_batches).
 */
async function forEachActiveFollowerBatch(
  tb: Testbed,
  accountId: string,
  fn: (ids: string[]) => Promise<void>,
): Promise<void> {
  let after = '0';
  for (;;) {
    const res = await tb.db.query<{ id: string }>(
      `SELECT f.account_id AS id FROM follows f
       JOIN accounts a ON a.id = f.account_id AND a.domain IS NULL
       JOIN users u ON u.account_id = a.id
       WHERE f.target_account_id = $1 AND u.current_sign_in_at > now() - make_interval(days => $2) AND f.account_id > $3
       ORDER BY f.account_id LIMIT ${FOLLOWER_BATCH}`,
      [accountId, tb.config.userActiveDays, after],
    );
    if (res.rows.length === 0) return;
    await fn(res.rows.map((r) => r.id));
    if (res.rows.length < FOLLOWER_BATCH) return;
    after = res.rows[res.rows.length - 1]!.id;
  }
}

/**
 * Publish to the public streaming channels as FanOutOnWriteService does for
 * broadcastable statuses (public, not a reblog): hashtags, then
 * timeline:public and timeline:public:local|remote unless it is a reply to
 * someone else, plus the :media variants when media is attached.
 */
async function broadcastToPublicStreams(tb: Testbed, s: FanOutRow, update: boolean): Promise<void> {
  const payload = await renderStatus(tb, s.id);
  if (!payload) return;
  const message = JSON.stringify({ event: update ? 'status.update' : 'update', payload });
  const where = s.local ? 'local' : 'remote';
  const channels: string[] = [];
  if (s.local) {
    for (const tag of extractHashtags(s.text))
      channels.push(`timeline:hashtag:${tag}`, `timeline:hashtag:${tag}:local`);
  }
  const replyToOther = s.in_reply_to_id !== null && s.in_reply_to_account_id !== s.account_id;
  if (!replyToOther) {
    channels.push('timeline:public', `timeline:public:${where}`);
    if (s.has_media) channels.push('timeline:public:media', `timeline:public:${where}:media`);
  }
  if (channels.length === 0) return;
  const multi = tb.redis.multi();
  for (const c of channels) multi.publish(c, message);
  await multi.exec();
}

/** FanOutOnWriteService#call (`update`: an edit, fanned out again as `status.update`). */
export async function fanOutOnWrite(tb: Testbed, s: FanOutRow, update = false): Promise<void> {
  const insertArgs = (accountId: string): unknown[] =>
    update ? [s.id, accountId, 'home', { update: true }] : [s.id, accountId, 'home'];
  if (s.domain === null) await pushToHome(tb, s.account_id, s, update);
  if (!s.reblog_of_id) {
    const mentions = await tb.db.query<{ id: string; account_id: string }>(
      `SELECT m.id, m.account_id FROM mentions m JOIN accounts a ON a.id = m.account_id
       WHERE m.status_id = $1 AND a.domain IS NULL AND m.account_id <> $2 ORDER BY m.id`,
      [s.id, s.account_id],
    );
    await enqueueBulk(
      tb,
      'LocalNotificationWorker',
      mentions.rows.map((m) => [m.account_id, m.id, 'Mention', 'mention']),
    );
  }
  if (s.visibility === VISIBILITY.direct) {
    // deliver_to_mentioned_followers!: mentioned, local, active, following the author
    const res = await tb.db.query<{ id: string }>(
      `SELECT m.account_id AS id FROM mentions m
       JOIN accounts a ON a.id = m.account_id AND a.domain IS NULL
       JOIN users u ON u.account_id = a.id
       JOIN follows f ON f.account_id = m.account_id AND f.target_account_id = $2
       WHERE m.status_id = $1 AND u.current_sign_in_at > now() - make_interval(days => $3)`,
      [s.id, s.account_id, tb.config.userActiveDays],
    );
    await enqueueBulk(
      tb,
      'FeedInsertWorker',
      res.rows.map((r) => insertArgs(r.id)),
    );
  } else {
    await forEachActiveFollowerBatch(tb, s.account_id, (ids) =>
      enqueueBulk(
        tb,
        'FeedInsertWorker',
        ids.map((id) => insertArgs(id)),
      ).then(() => undefined),
    );
  }
  if (s.visibility === VISIBILITY.public && !s.reblog_of_id) await broadcastToPublicStreams(tb, s, update);
}

const updateOption = (opts: unknown) =>
  Boolean(opts && typeof opts === 'object' && (opts as { update?: unknown }).update);

/** DistributionWorker [status_id, {update}]: RedisLock `distribute:<id>` around FanOutOnWriteService. */
async function distribute(tb: Testbed, [idArg, opts]: unknown[], ctx: JobContext): Promise<void> {
  const id = String(idArg);
  const lockKey = `distribute:${id}`;
  const token = `${ctx.jid}:${randomBytes(4).toString('hex')}`;
  if (!(await tb.redis.set(lockKey, token, 'PX', 15 * 60_000, 'NX')))
    throw new Error(`Mastodon::RaceConditionError: ${lockKey} is locked`);
  try {
    const s = await loadFanOutStatus(tb, id);
    if (s) await fanOutOnWrite(tb, s, updateOption(opts));
  } finally {
    if ((await tb.redis.get(lockKey)) === token) await tb.redis.del(lockKey);
  }
}

async function feedInsert(
  tb: Testbed,
  [statusArg, accountArg, type = 'home', opts]: unknown[],
): Promise<void> {
  if (type !== 'home') return; // lists are not modelled
  // Status.find, then build_crutches and filter_from_home, as Mastodon's FeedInsertWorker does.
  const res = await tb.db.query<
    FeedStatus & Pick<FanOutRow, 'account_id' | 'in_reply_to_id' | 'in_reply_to_account_id'>
  >(
    'SELECT id, reblog_of_id, account_id, in_reply_to_id, in_reply_to_account_id FROM statuses WHERE id = $1 AND deleted_at IS NULL',
    [String(statusArg)],
  );
  const s = res.rows[0];
  if (!s) return;
  const accountId = String(accountArg);
  if (filterFromHome(s, accountId, await buildCrutches(tb, accountId, [s]))) return;
  await pushToHome(tb, accountId, s, updateOption(opts));
}

/**
 * PushUpdateWorker: the status rendered for the receiver, PUBLISHed as Mastodon's streaming server expects
 * it.
 */
async function pushUpdate(tb: Testbed, [accountArg, statusArg, timelineArg, opts]: unknown[]): Promise<void> {
  const accountId = String(accountArg);
  const payload = await renderStatus(tb, String(statusArg), accountId);
  if (!payload) return;
  const channel = typeof timelineArg === 'string' && timelineArg ? timelineArg : `timeline:${accountId}`;
  const event = updateOption(opts) ? 'status.update' : 'update';
  await tb.redis.publish(channel, JSON.stringify({ event, payload, queued_at: Date.now() }));
}

/** LocalNotificationWorker → NotifyService. */
async function localNotification(
  tb: Testbed,
  [receiverArg, activityArg, classArg, typeArg]: unknown[],
): Promise<void> {
  const receiver = String(receiverArg);
  const activityId = String(activityArg);
  const cls = String(classArg);
  let from: string | undefined;
  let statusId: string | null = null;
  let type = typeof typeArg === 'string' ? typeArg : cls.toLowerCase();
  if (cls === 'Mention') {
    const r = await tb.db.query<{ account_id: string; status_id: string }>(
      'SELECT s.account_id, s.id AS status_id FROM mentions m JOIN statuses s ON s.id = m.status_id WHERE m.id = $1 AND s.deleted_at IS NULL',
      [activityId],
    );
    from = r.rows[0]?.account_id;
    statusId = r.rows[0]?.status_id ?? null;
    type = 'mention';
  } else if (cls === 'Favourite') {
    const r = await tb.db.query<{ account_id: string; status_id: string }>(
      'SELECT account_id, status_id FROM favourites WHERE id = $1',
      [activityId],
    );
    from = r.rows[0]?.account_id;
    statusId = r.rows[0]?.status_id ?? null;
  } else if (cls === 'Follow') {
    const r = await tb.db.query<{ account_id: string }>('SELECT account_id FROM follows WHERE id = $1', [
      activityId,
    ]);
    from = r.rows[0]?.account_id;
  } else if (cls === 'Status') {
    const r = await tb.db.query<{ account_id: string; reblog_of_id: string | null; id: string }>(
      'SELECT id, account_id, reblog_of_id FROM statuses WHERE id = $1 AND deleted_at IS NULL',
      [activityId],
    );
    from = r.rows[0]?.account_id;
    statusId = r.rows[0] ? (type === 'reblog' ? r.rows[0].reblog_of_id : r.rows[0].id) : null;
  }
  if (!from) return; // ActiveRecord::RecordNotFound → true
  await notify(tb, receiver, type, from, statusId);
}

/**
 * Up to `limit` of `from`'s latest statuses (not direct) into `into`'s home
 * feed, filtered as FeedManager does with one set of crutches for the batch;
 * when the feed already holds `limit` entries only statuses newer than its
 * oldest are worth reading.
 */
async function addLatestToHome(tb: Testbed, from: string, into: string, limit: number): Promise<void> {
  let floor = '0';
  if ((await tb.redis.zcard(feedKey(into))) >= limit)
    floor = (await tb.redis.zrange(feedKey(into), 0, 0))[0] ?? '0';
  const res = await tb.db.query<FanOutRow>(
    `SELECT id, reblog_of_id, account_id, in_reply_to_id, in_reply_to_account_id FROM statuses
     WHERE account_id = $1 AND visibility IN (0, 1, 2) AND deleted_at IS NULL AND id > $2
     ORDER BY id DESC LIMIT ${limit}`,
    [from, floor],
  );
  const crutches = await buildCrutches(tb, into, res.rows);
  for (const s of res.rows) {
    if (filterFromHome(s, into, crutches)) continue;
    await pushToHome(tb, into, s);
  }
}

/** FeedManager#merge_into_home: up to HOME_FEED_MAX_ITEMS / 4 of the followed account's statuses. */
async function merge(tb: Testbed, [fromArg, intoArg, type = 'home']: unknown[]): Promise<void> {
  if (type !== 'home') return;
  await addLatestToHome(tb, String(fromArg), String(intoArg), HOME_FEED_MAX_ITEMS / 4);
}

/**
 * RegenerationWorker [account_id] → PrecomputeFeedService → FeedManager#populate_home:
 * the account's own latest statuses, then each followed account's latest,
 * HOME_FEED_MAX_ITEMS / 2 at most each; the regeneration marker goes at the end.
 */
async function regenerate(tb: Testbed, [accountArg]: unknown[]): Promise<void> {
  const accountId = String(accountArg);
  const limit = HOME_FEED_MAX_ITEMS / 2;
  try {
    const own = await tb.db.query<FeedStatus>(
      `SELECT id, reblog_of_id FROM statuses WHERE account_id = $1 AND deleted_at IS NULL ORDER BY id DESC LIMIT ${limit}`,
      [accountId],
    );
    for (const s of own.rows) await pushToHome(tb, accountId, s);
    const following = await tb.db.query<{ target_account_id: string }>(
      'SELECT target_account_id FROM follows WHERE account_id = $1',
      [accountId],
    );
    for (const { target_account_id: target } of following.rows)
      await addLatestToHome(tb, target, accountId, limit);
  } finally {
    await tb.redis.del(regenerationKey(accountId));
  }
}

/** FeedManager#unmerge_from_home: the followed account's statuses among those in the feed. */
async function unmerge(tb: Testbed, [fromArg, intoArg, type = 'home']: unknown[]): Promise<void> {
  if (type !== 'home') return;
  const into = String(intoArg);
  const inFeed = await tb.redis.zrange(feedKey(into), 0, -1);
  if (inFeed.length === 0) return;
  const res = await tb.db.query<FeedStatus>(
    'SELECT id, reblog_of_id FROM statuses WHERE account_id = $1 AND id = ANY($2::bigint[])',
    [String(fromArg), inFeed],
  );
  for (const s of res.rows) await unpushFromHome(tb, into, s);
}

/**
 * FeedManager#clear_from_home (BlockWorker, MuteWorker): out of the feed go the
 * target's statuses, reblogs of them, and statuses mentioning the target.
 */
async function clearFromHome(tb: Testbed, [accountArg, targetArg]: unknown[]): Promise<void> {
  const into = String(accountArg);
  const target = String(targetArg);
  const inFeed = await tb.redis.zrange(feedKey(into), 0, -1);
  if (inFeed.length === 0) return;
  const res = await tb.db.query<FeedStatus>(
    `SELECT s.id, s.reblog_of_id FROM statuses s
      WHERE s.id = ANY($1::bigint[])
        AND (s.account_id = $2
             OR s.reblog_of_id IN (SELECT id FROM statuses WHERE account_id = $2)
             OR EXISTS (SELECT 1 FROM mentions m WHERE m.account_id = $2 AND m.status_id IN (s.id, s.reblog_of_id)))`,
    [inFeed, target],
  );
  for (const s of res.rows) await unpushFromHome(tb, into, s);
}

/**
 * RemovalWorker → RemoveStatusService: out of the author's, the local
 * followers' and the mentioned accounts' home feeds (each with a `delete`
 * event), `delete` on the public channels, Delete / Undo(Announce) to remote
 * followers' inboxes via ActivityPub::DeliveryWorker, then the rows go.
 */
async function removal(tb: Testbed, [idArg, optsArg]: unknown[]): Promise<void> {
  const s = await loadFanOutStatus(tb, String(idArg), true);
  if (!s) return;
  const opts = (optsArg && typeof optsArg === 'object' ? optsArg : {}) as { redraft?: boolean };
  if (!s.deleted_at) await discardStatus(tb, s);
  const reblogs = await tb.db.query<FeedStatus & { account_id: string }>(
    'SELECT id, reblog_of_id, account_id FROM statuses WHERE reblog_of_id = $1',
    [s.id],
  );
  for (const target of [s, ...reblogs.rows]) {
    if (s.domain === null || target !== s) await unpushFromHome(tb, target.account_id, target);
    await forEachActiveFollowerBatch(tb, target.account_id, async (ids) => {
      for (const id of ids) await unpushFromHome(tb, id, target);
    });
  }
  const mentioned = await tb.db.query<{ account_id: string }>(
    'SELECT m.account_id FROM mentions m JOIN accounts a ON a.id = m.account_id AND a.domain IS NULL WHERE m.status_id = $1',
    [s.id],
  );
  for (const m of mentioned.rows) await unpushFromHome(tb, m.account_id, s);

  if (s.visibility === VISIBILITY.public && !s.reblog_of_id) {
    const message = JSON.stringify({ event: 'delete', payload: s.id });
    const where = s.local ? 'local' : 'remote';
    const multi = tb.redis
      .multi()
      .publish('timeline:public', message)
      .publish(`timeline:public:${where}`, message);
    if (s.has_media)
      multi.publish('timeline:public:media', message).publish(`timeline:public:${where}:media`, message);
    await multi.exec();
  }

  if (s.domain === null) {
    const actor = await tb.db.query<{ uri: string }>('SELECT uri FROM accounts WHERE id = $1', [
      s.account_id,
    ]);
    const actorUri = actor.rows[0]?.uri;
    const inboxes = await tb.db.query<{ inbox: string }>(
      `SELECT DISTINCT COALESCE(a.shared_inbox_url, a.inbox_url) AS inbox FROM follows f JOIN accounts a ON a.id = f.account_id
       WHERE f.target_account_id = $1 AND a.domain IS NOT NULL AND COALESCE(a.shared_inbox_url, a.inbox_url) IS NOT NULL
       UNION
       SELECT COALESCE(a.shared_inbox_url, a.inbox_url) FROM mentions m JOIN accounts a ON a.id = m.account_id
       WHERE m.status_id = $2 AND a.domain IS NOT NULL AND COALESCE(a.shared_inbox_url, a.inbox_url) IS NOT NULL`,
      [s.account_id, s.id],
    );
    if (actorUri && inboxes.rows.length > 0) {
      let activity: Record<string, unknown>;
      if (s.reblog_of_id) {
        const orig = await tb.db.query<{ uri: string }>('SELECT uri FROM statuses WHERE id = $1', [
          s.reblog_of_id,
        ]);
        activity = {
          '@context': AS_CONTEXT,
          id: `${actorUri}#announces/${s.id}/undo`,
          type: 'Undo',
          actor: actorUri,
          object: { id: s.uri, type: 'Announce', actor: actorUri, object: orig.rows[0]?.uri ?? null },
        };
      } else {
        activity = {
          '@context': AS_CONTEXT,
          id: `${s.uri}#delete`,
          type: 'Delete',
          actor: actorUri,
          to: [PUBLIC_COLLECTION],
          object: { id: s.uri, type: 'Tombstone', atomUri: s.uri },
        };
      }
      const json = JSON.stringify(activity);
      await enqueueBulk(
        tb,
        'ActivityPub::DeliveryWorker',
        inboxes.rows.map((r) => [json, s.account_id, r.inbox]),
      );
    }
  }

  if (!opts.redraft) {
    const media = await tb.db.query<Pick<MediaRow, 'id' | 'file_path' | 'thumbnail_path'>>(
      'SELECT id, file_path, thumbnail_path FROM media_attachments WHERE status_id = $1',
      [s.id],
    );
    await destroyMedia(tb, media.rows);
  }
  await tb.db.query('DELETE FROM statuses WHERE id = ANY($1::bigint[])', [
    [s.id, ...reblogs.rows.map((r) => r.id)],
  ]);
}

export function clientApiWorkers(tb: Testbed): TestbedWorkers {
  return {
    DistributionWorker: { queue: 'default', retry: true, perform: (args, ctx) => distribute(tb, args, ctx) },
    FeedInsertWorker: { queue: 'default', retry: true, perform: (args) => feedInsert(tb, args) },
    PushUpdateWorker: { queue: 'default', retry: true, perform: (args) => pushUpdate(tb, args) },
    LocalNotificationWorker: {
      queue: 'default',
      retry: true,
      perform: (args) => localNotification(tb, args),
    },
    MergeWorker: { queue: 'default', retry: true, perform: (args) => merge(tb, args) },
    UnmergeWorker: { queue: 'default', retry: true, perform: (args) => unmerge(tb, args) },
    RegenerationWorker: { queue: 'default', retry: true, perform: (args) => regenerate(tb, args) },
    BlockWorker: { queue: 'default', retry: true, perform: (args) => clearFromHome(tb, args) },
    MuteWorker: { queue: 'default', retry: true, perform: (args) => clearFromHome(tb, args) },
    RemovalWorker: { queue: 'default', retry: true, perform: (args) => removal(tb, args) },
    UnfavouriteWorker: {
      queue: 'default',
      retry: true,
      perform: (args) => removeFavourite(tb, String(args[0]), String(args[1])),
    },
    // retry 1: the second attempt (retryCount 1) is the last; only then is the attachment marked failed
    PostProcessMediaWorker: {
      queue: 'default',
      retry: 1,
      perform: (args, ctx) => postProcessMedia(tb, args, { lastAttempt: ctx.retryCount >= 1 }),
    },
  };
}

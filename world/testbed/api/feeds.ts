import { HOME_FEED_MAX_ITEMS } from '../../../src/mastodon/limits.js';
import type { Testbed } from '../context.js';
import { enqueue } from './jobs.js';

/**
 * FeedManager (app/lib/feed_manager.rb), home feeds only.
 *
 * Redis layout, as Mastodon's:
 * - `feed:home:<account_id>`: sorted set of status ids scored by id, capped
 *   at HOME_FEED_MAX_ITEMS (ZREMRANGEBYRANK after every insert).
 * - `feed:home:<account_id>:reblogs`: original id → id of the reblog that
 *   represents it in the feed (reblog aggregation within REBLOG_FALLOFF).
 * - `feed:home:<account_id>:reblogs:<original_id>`: set of further reblogs.
 * - `subscribed:timeline:<account_id>`: set by the streaming server while a
 *   client listens; only then is a PushUpdateWorker enqueued.
 */
export const REBLOG_FALLOFF = 40;

export const feedKey = (accountId: string) => `feed:home:${accountId}`;
/** HomeFeed#regenerating?: set while RegenerationWorker rebuilds the feed (the home timeline answers 206). */
export const regenerationKey = (accountId: string) => `account:${accountId}:regeneration`;

/**
 * User#regenerate_feed!: a user back after USER_ACTIVE_DAYS finds the home
 * feed emptied (FeedCleanupScheduler) and RegenerationWorker rebuilds it;
 * the marker expires after a day, as Mastodon's does.
 */
export async function regenerateHomeFeed(tb: Testbed, accountId: string): Promise<void> {
  if (await tb.redis.set(regenerationKey(accountId), '1', 'EX', 86_400, 'NX'))
    await enqueue(tb, 'RegenerationWorker', [accountId]);
}
const reblogKey = (accountId: string) => `feed:home:${accountId}:reblogs`;
const reblogSetKey = (accountId: string, originalId: string) =>
  `feed:home:${accountId}:reblogs:${originalId}`;

export interface FeedStatus {
  id: string;
  reblog_of_id: string | null;
}

/** add_to_feed with reblog aggregation; true if the status entered the feed. */
async function addToFeed(tb: Testbed, accountId: string, status: FeedStatus): Promise<boolean> {
  const key = feedKey(accountId);
  if (status.reblog_of_id) {
    const rank = await tb.redis.zrevrank(key, status.reblog_of_id);
    if (rank !== null && rank < REBLOG_FALLOFF) return false;
    const added = await tb.redis.zadd(reblogKey(accountId), 'NX', status.id, status.reblog_of_id);
    if (Number(added) === 1) {
      await tb.redis.zadd(key, status.id, status.id);
      return true;
    }
    await tb.redis.sadd(reblogSetKey(accountId, status.reblog_of_id), status.id);
    return false;
  }
  // A reblog may arrive before its original: then the original stays out.
  if ((await tb.redis.zscore(reblogKey(accountId), status.id)) !== null) return false;
  await tb.redis.zadd(key, status.id, status.id);
  return true;
}

/** trim: keep the newest HOME_FEED_MAX_ITEMS, stop tracking reblogs that fell past REBLOG_FALLOFF. */
async function trim(tb: Testbed, accountId: string): Promise<void> {
  const key = feedKey(accountId);
  const [, falloff] = (await tb.redis
    .multi()
    .zremrangebyrank(key, 0, -(HOME_FEED_MAX_ITEMS + 1))
    .zrevrange(key, REBLOG_FALLOFF, REBLOG_FALLOFF, 'WITHSCORES')
    .exec())!.map((r) => r[1]) as [unknown, string[]];
  const falloffScore = falloff[1];
  if (falloffScore === undefined) return;
  const stale = await tb.redis.zrangebyscore(reblogKey(accountId), 0, falloffScore);
  if (stale.length === 0) return;
  const multi = tb.redis.multi();
  for (const originalId of stale) {
    multi.zrem(reblogKey(accountId), originalId);
    multi.del(reblogSetKey(accountId, originalId));
  }
  await multi.exec();
}

/**
 * push_to_home: insert, trim, and enqueue PushUpdateWorker only when the
 * account has a live streaming subscription (as Mastodon, the update is
 * rendered and published by that job, not here).
 */
export async function pushToHome(
  tb: Testbed,
  accountId: string,
  status: FeedStatus,
  update = false,
): Promise<boolean> {
  if (!(await addToFeed(tb, accountId, status))) return false;
  await trim(tb, accountId);
  if (await tb.redis.exists(`subscribed:timeline:${accountId}`)) {
    await enqueue(tb, 'PushUpdateWorker', [
      accountId,
      status.id,
      `timeline:${accountId}`,
      ...(update ? [{ update: true }] : []),
    ]);
  }
  return true;
}

/**
 * unpush_from_home: remove (re-inserting another reblog of the same original if any) and publish `delete`.
 */
export async function unpushFromHome(tb: Testbed, accountId: string, status: FeedStatus): Promise<boolean> {
  const key = feedKey(accountId);
  if (status.reblog_of_id) {
    if ((await tb.redis.zrevrank(key, status.id)) === null) return false;
    const setKey = reblogSetKey(accountId, status.reblog_of_id);
    await tb.redis.multi().srem(setKey, status.id).zrem(reblogKey(accountId), status.reblog_of_id).exec();
    const others = (await tb.redis.smembers(setKey)).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    const other = others[0];
    if (other) {
      await tb.redis
        .multi()
        .zadd(key, other, other)
        .zadd(reblogKey(accountId), other, status.reblog_of_id)
        .exec();
    }
  } else {
    await tb.redis
      .multi()
      .del(reblogSetKey(accountId, status.id))
      .zrem(reblogKey(accountId), status.id)
      .exec();
  }
  const removed = Number(await tb.redis.zrem(key, status.id)) > 0;
  if (removed)
    await tb.redis.publish(`timeline:${accountId}`, JSON.stringify({ event: 'delete', payload: status.id }));
  return removed;
}

/**
 * HomeFeed#get: ids newest first. With min_id, the `limit` ids right after
 * min_id (then returned newest first, as Mastodon renders them).
 */
export async function homeFeedIds(
  tb: Testbed,
  accountId: string,
  limit: number,
  maxId?: string,
  sinceId?: string,
  minId?: string,
): Promise<string[]> {
  const key = feedKey(accountId);
  const max = maxId ? `(${maxId}` : '+inf';
  if (minId) {
    const ids = await tb.redis.zrangebyscore(key, `(${minId}`, max, 'LIMIT', 0, limit);
    return ids.reverse();
  }
  const since = sinceId ? `(${sinceId}` : '-inf';
  return tb.redis.zrevrangebyscore(key, max, since, 'LIMIT', 0, limit);
}

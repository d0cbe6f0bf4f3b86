import { createHash, randomUUID } from 'node:crypto';
import { AS_CONTEXT } from '../activitypub/uris.js';
import type { Testbed } from '../context.js';
import { inTransaction, PROCESSING, VISIBILITY, type Visibility } from '../db/pool.js';
import type { AuthContext } from './auth.js';
import { ApiError, isId, notAllowed, notFound, raceCondition, validationFailed } from './http.js';
import { enqueue } from './jobs.js';
import { RateLimiter } from './rateLimit.js';
import {
  ACCOUNT_COLUMNS,
  renderNotifications,
  type AccountRow,
  type NotificationRow,
  type Relationship,
  type StatusRow,
} from './serializers.js';
import { MAX_CHARS, exceedsMaxChars, extractMentions, hasLinks } from './text.js';
import { unfollow } from '../accounts.js';

/**
 * The services behind the client API's write endpoints, after Mastodon's
 * PostStatusService, ReblogService, FavouriteService, FollowService,
 * UnfollowService and NotifyService: the same rows, counters and jobs, in
 * the same order (write in a transaction, then enqueue).
 */

export const MAX_MEDIA_ATTACHMENTS = 4;

/** SQL: can `$viewer` (NULL = anonymous) see status `s`? (StatusPolicy#show?) */
export function visibleSql(alias: string, viewerParam: string): string {
  const v = `${viewerParam}::bigint`;
  return `(${alias}.visibility IN (0, 1) OR (${v} IS NOT NULL AND (${alias}.account_id = ${v}
    OR (${alias}.visibility = 2 AND EXISTS (SELECT 1 FROM follows vf WHERE vf.account_id = ${v} AND vf.target_account_id = ${alias}.account_id))
    OR EXISTS (SELECT 1 FROM mentions vm WHERE vm.status_id = ${alias}.id AND vm.account_id = ${v}))))`;
}

const STATUS_COLS = `s.id, s.uri, s.url, s.text, s.spoiler_text, s.sensitive, s.language, s.visibility, s.account_id, s.in_reply_to_id,
  s.in_reply_to_account_id, s.reblog_of_id, s.local, s.replies_count, s.reblogs_count, s.favourites_count, s.created_at, s.deleted_at`;

/** Status.find + authorize :show?, 404 otherwise (Mastodon hides what you may not see). */
export async function findVisibleStatus(
  tb: Testbed,
  id: string,
  viewerId: string | undefined,
): Promise<StatusRow> {
  const res = await tb.db.query<StatusRow>(
    `SELECT ${STATUS_COLS} FROM statuses s WHERE s.id = $1 AND s.deleted_at IS NULL AND ${visibleSql('s', '$2')}`,
    [id, viewerId ?? null],
  );
  const row = res.rows[0];
  if (!row) throw notFound();
  return row;
}

export async function findAccount(tb: Testbed, id: string): Promise<AccountRow> {
  const res = await tb.db.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1`, [id]);
  if (!res.rows[0]) throw notFound();
  return res.rows[0];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- statuses

export interface PostStatusParams {
  text: string;
  visibility?: string;
  inReplyToId?: string;
  mediaIds: string[];
  spoilerText: string;
  sensitive?: boolean;
  language?: string;
}

export interface PostStatusResult {
  id: string;
  limiter?: RateLimiter;
}

/**
 * PostStatusService#call. The Idempotency-Key is stored as
 * `idempotency:status:<account_id>:<key>` → status id for 1 h, as
 * Mastodon does; unlike Mastodon, a concurrent request with the same key
 * waits for the first instead of racing it, so a retry storm never
 * creates duplicates.
 */
export async function postStatus(
  tb: Testbed,
  auth: AuthContext,
  p: PostStatusParams,
  idempotency?: string,
): Promise<PostStatusResult> {
  // First, before anything reads the text: the count stops just past the limit, so any size is cheap.
  if (exceedsMaxChars(p.spoilerText + p.text))
    throw validationFailed(`Text character limit of ${MAX_CHARS} exceeded`);
  if (!idempotency) return createStatus(tb, auth, p);
  const keyPart =
    idempotency.length > 200 ? createHash('sha256').update(idempotency).digest('hex') : idempotency;
  const key = `idempotency:status:${auth.accountId}:${keyPart}`;
  for (let attempt = 0; attempt < 200; attempt++) {
    const existing = await tb.redis.get(key);
    if (existing && existing !== 'pending') {
      const alive = await tb.db.query(
        'SELECT 1 FROM statuses WHERE id = $1 AND account_id = $2 AND deleted_at IS NULL',
        [existing, auth.accountId],
      );
      if (alive.rowCount) return { id: existing };
      await tb.redis.del(key);
    }
    // 'pending' expires quickly so a crashed request cannot block the key for the hour
    if (existing !== 'pending' && (await tb.redis.set(key, 'pending', 'EX', 30, 'NX'))) {
      try {
        const result = await createStatus(tb, auth, p);
        await tb.redis.set(key, result.id, 'EX', 3600);
        return result;
      } catch (err) {
        await tb.redis.del(key);
        throw err;
      }
    }
    await sleep(50);
  }
  throw raceCondition();
}

function parseVisibility(v: string | undefined): Visibility {
  if (v === undefined || v === '') return 'public';
  if (!(v in VISIBILITY)) throw validationFailed('Visibility is not included in the list');
  return v as Visibility;
}

/** StatusesController#set_thread: an id that is not one, or a status the author may not see, is a 404. */
async function findThread(tb: Testbed, id: string, viewerId: string): Promise<StatusRow> {
  const missing = () => new ApiError(404, 'The post you are trying to reply to does not appear to exist.');
  if (!isId(id)) throw missing();
  try {
    return await findVisibleStatus(tb, id, viewerId);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) throw missing();
    throw err;
  }
}

const LANGUAGE_RE = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$/;

async function createStatus(tb: Testbed, auth: AuthContext, p: PostStatusParams): Promise<PostStatusResult> {
  // validate_media!
  const mediaIds = p.mediaIds;
  let media: { id: string; processing: number; type: number }[] = [];
  if (mediaIds.length > 0) {
    if (mediaIds.length > MAX_MEDIA_ATTACHMENTS) throw new ApiError(422, 'Cannot attach more than 4 files');
    if (mediaIds.some((id) => !isId(id)))
      throw new ApiError(422, `Media ${mediaIds.join(', ')} not found or already attached to another post`);
    const res = await tb.db.query<{ id: string; processing: number; type: number }>(
      'SELECT id, processing, type FROM media_attachments WHERE account_id = $1 AND status_id IS NULL AND id = ANY($2::bigint[])',
      [auth.accountId, mediaIds],
    );
    media = res.rows;
    const missing = mediaIds.filter((id) => !media.some((m) => m.id === id));
    if (missing.length > 0)
      throw new ApiError(422, `Media ${missing.join(', ')} not found or already attached to another post`);
    if (media.length > 1 && media.some((m) => m.type !== 0))
      throw new ApiError(422, 'Cannot attach a video to a post that already contains images');
    if (media.some((m) => m.processing === PROCESSING.queued || m.processing === PROCESSING.in_progress)) {
      throw new ApiError(
        422,
        'Cannot attach files that have not finished processing. Try again in a moment!',
      );
    }
  }
  const visibility = parseVisibility(p.visibility);
  let thread: StatusRow | undefined;
  if (p.inReplyToId) thread = await findThread(tb, p.inReplyToId, auth.accountId);
  // Status validations (ActiveRecord::RecordInvalid → "Validation failed: …")
  if (p.text.trim() === '' && media.length === 0) throw validationFailed("Text can't be blank");
  const language = p.language && LANGUAGE_RE.test(p.language) ? p.language : null;
  const sensitive = (p.sensitive ?? false) || p.spoilerText.trim() !== '';

  const author = await findAccount(tb, auth.accountId);
  const mentioned = await resolveMentions(tb, p.text);

  const limiter = new RateLimiter(tb, auth.accountId, 'statuses');
  await limiter.record();
  let id: string;
  try {
    id = await inTransaction(tb.db, async (c) => {
      const ins = await c.query<{ id: string }>(
        `WITH i AS (SELECT timestamp_id() AS id)
         INSERT INTO statuses (id, uri, url, text, spoiler_text, sensitive, language, visibility, account_id, in_reply_to_id, in_reply_to_account_id, local)
         SELECT i.id, $1 || '/statuses/' || i.id, $2 || '/' || i.id, $3, $4, $5, $6, $7, $8, $9, $10, true FROM i
         RETURNING id`,
        [
          author.uri,
          `${tb.baseUrl}/@${author.username}`,
          p.text,
          p.spoilerText,
          sensitive,
          language,
          VISIBILITY[visibility],
          auth.accountId,
          thread?.id ?? null,
          thread?.account_id ?? null,
        ],
      );
      const statusId = ins.rows[0]!.id;
      if (mentioned.length > 0) {
        await c.query(
          'INSERT INTO mentions (status_id, account_id) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING',
          [statusId, mentioned.map((a) => a.id)],
        );
      }
      if (media.length > 0) {
        const upd = await c.query(
          'UPDATE media_attachments SET status_id = $1, updated_at = now() WHERE account_id = $2 AND status_id IS NULL AND id = ANY($3::bigint[])',
          [statusId, auth.accountId, media.map((m) => m.id)],
        );
        if (upd.rowCount !== media.length)
          throw new ApiError(422, 'Media not found or already attached to another post');
      }
      await c.query(
        'UPDATE accounts SET statuses_count = statuses_count + 1, updated_at = now() WHERE id = $1',
        [auth.accountId],
      );
      if (thread)
        await c.query('UPDATE statuses SET replies_count = replies_count + 1 WHERE id = $1', [thread.id]);
      return statusId;
    });
  } catch (err) {
    await limiter.rollback();
    throw err;
  }
  // postprocess_status!
  if (hasLinks(p.text)) await enqueue(tb, 'LinkCrawlWorker', [id]);
  await enqueue(tb, 'DistributionWorker', [id]);
  // every visibility: StatusReachFinder sends a direct status to its mentioned remote inboxes only
  await enqueue(tb, 'ActivityPub::DistributionWorker', [id]);
  return { id, limiter };
}

/**
 * ProcessMentionsService: `@user` is a local account, `@user@domain` a
 * known remote account or, if unknown, one resolved inside this request by
 * WebFinger and an actor fetch (tb.resolveAccount), as Mastodon does; a
 * handle that cannot be resolved stays plain text.
 */
async function resolveMentions(tb: Testbed, text: string): Promise<AccountRow[]> {
  const found = new Map<string, AccountRow>();
  const local = tb.domain.toLowerCase();
  const byHandle = (username: string, domain: string | null) =>
    tb.db.query<AccountRow>(
      `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE lower(username) = lower($1) AND COALESCE(lower(domain), '') = COALESCE($2, '')`,
      [username, domain],
    );
  for (const m of extractMentions(text)) {
    const domain = m.domain && m.domain.toLowerCase() !== local ? m.domain.toLowerCase() : null;
    let row = (await byHandle(m.username, domain)).rows[0];
    if (!row && domain && tb.resolveAccount) {
      const id = await tb.resolveAccount(m.username, domain);
      if (id)
        row = (await tb.db.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1`, [id]))
          .rows[0];
    }
    if (row) found.set(row.id, row);
  }
  return [...found.values()];
}

/**
 * Discard (soft-delete) a status with its reblogs and fix the counters, in
 * one transaction; RemovalWorker does the rest (feeds, streams, federation,
 * hard delete). Returns false if it was already discarded.
 */
export async function discardStatus(
  tb: Testbed,
  s: Pick<StatusRow, 'id' | 'account_id' | 'in_reply_to_id' | 'reblog_of_id'>,
): Promise<boolean> {
  return inTransaction(tb.db, async (c) => {
    const upd = await c.query('UPDATE statuses SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL', [
      s.id,
    ]);
    if (upd.rowCount === 0) return false;
    await c.query('UPDATE statuses SET deleted_at = now() WHERE reblog_of_id = $1 AND deleted_at IS NULL', [
      s.id,
    ]);
    await c.query('UPDATE accounts SET statuses_count = GREATEST(statuses_count - 1, 0) WHERE id = $1', [
      s.account_id,
    ]);
    if (s.in_reply_to_id)
      await c.query('UPDATE statuses SET replies_count = GREATEST(replies_count - 1, 0) WHERE id = $1', [
        s.in_reply_to_id,
      ]);
    if (s.reblog_of_id)
      await c.query('UPDATE statuses SET reblogs_count = GREATEST(reblogs_count - 1, 0) WHERE id = $1', [
        s.reblog_of_id,
      ]);
    return true;
  });
}

/** DELETE /api/v1/statuses/:id: discard now, RemovalWorker later. */
export async function deleteStatus(
  tb: Testbed,
  auth: AuthContext,
  id: string,
  deleteMedia: boolean,
): Promise<StatusRow> {
  const res = await tb.db.query<StatusRow>(
    `SELECT ${STATUS_COLS} FROM statuses s WHERE s.id = $1 AND s.account_id = $2 AND s.deleted_at IS NULL`,
    [id, auth.accountId],
  );
  const s = res.rows[0];
  if (!s) throw notFound();
  if (await discardStatus(tb, s)) await enqueue(tb, 'RemovalWorker', [s.id, { redraft: !deleteMedia }]);
  return s;
}

/** ReblogService: returns the reblog's id (an existing reblog is returned as is). */
export async function reblog(
  tb: Testbed,
  auth: AuthContext,
  statusId: string,
  visibilityParam?: string,
): Promise<{ id: string; limiter?: RateLimiter }> {
  let original = await findVisibleStatus(tb, statusId, auth.accountId);
  if (original.reblog_of_id) original = await findVisibleStatus(tb, original.reblog_of_id, auth.accountId);
  // StatusPolicy#reblog?: public and unlisted, or one's own private status
  const reblogable =
    original.visibility <= VISIBILITY.unlisted ||
    (original.visibility === VISIBILITY.private && original.account_id === auth.accountId);
  if (!reblogable) throw notAllowed();
  const existing = await tb.db.query<{ id: string }>(
    'SELECT id FROM statuses WHERE account_id = $1 AND reblog_of_id = $2 AND deleted_at IS NULL',
    [auth.accountId, original.id],
  );
  if (existing.rows[0]) return { id: existing.rows[0].id };
  let visibility: Visibility =
    original.visibility === VISIBILITY.private ? 'private' : parseVisibility(visibilityParam);
  if (visibility === 'direct') visibility = 'public';
  const author = await findAccount(tb, auth.accountId);
  const limiter = new RateLimiter(tb, auth.accountId, 'statuses');
  await limiter.record();
  let id: string | undefined;
  try {
    id = await inTransaction(tb.db, async (c) => {
      const ins = await c.query<{ id: string }>(
        `WITH i AS (SELECT timestamp_id() AS id)
         INSERT INTO statuses (id, uri, url, visibility, account_id, reblog_of_id, local)
         SELECT i.id, $1 || '/statuses/' || i.id || '/activity', $1 || '/statuses/' || i.id || '/activity', $2, $3, $4, true FROM i
         WHERE NOT EXISTS (SELECT 1 FROM statuses WHERE account_id = $3 AND reblog_of_id = $4 AND deleted_at IS NULL)
         RETURNING id`,
        [author.uri, VISIBILITY[visibility], auth.accountId, original.id],
      );
      const newId = ins.rows[0]?.id;
      if (!newId) return undefined;
      await c.query('UPDATE statuses SET reblogs_count = reblogs_count + 1 WHERE id = $1', [original.id]);
      await c.query('UPDATE accounts SET statuses_count = statuses_count + 1 WHERE id = $1', [
        auth.accountId,
      ]);
      return newId;
    });
  } catch (err) {
    await limiter.rollback();
    throw err;
  }
  if (!id) {
    await limiter.rollback();
    const again = await tb.db.query<{ id: string }>(
      'SELECT id FROM statuses WHERE account_id = $1 AND reblog_of_id = $2 AND deleted_at IS NULL',
      [auth.accountId, original.id],
    );
    if (!again.rows[0]) throw raceCondition();
    return { id: again.rows[0].id };
  }
  await enqueue(tb, 'DistributionWorker', [id]);
  await enqueue(tb, 'ActivityPub::DistributionWorker', [id]);
  if (original.account_id !== auth.accountId && (await isLocalAccount(tb, original.account_id))) {
    await enqueue(tb, 'LocalNotificationWorker', [original.account_id, id, 'Status', 'reblog']);
  }
  return { id, limiter };
}

/** POST /api/v1/statuses/:id/unreblog: discard the reblog (RemovalWorker finishes); answers the original. */
export async function unreblog(tb: Testbed, auth: AuthContext, statusId: string): Promise<string> {
  let original = await findVisibleStatus(tb, statusId, auth.accountId);
  if (original.reblog_of_id) original = await findVisibleStatus(tb, original.reblog_of_id, auth.accountId);
  const res = await tb.db.query<StatusRow>(
    `SELECT ${STATUS_COLS} FROM statuses s WHERE s.account_id = $1 AND s.reblog_of_id = $2 AND s.deleted_at IS NULL`,
    [auth.accountId, original.id],
  );
  const r = res.rows[0];
  if (r && (await discardStatus(tb, r))) await enqueue(tb, 'RemovalWorker', [r.id, {}]);
  return original.id;
}

async function isLocalAccount(tb: Testbed, accountId: string): Promise<boolean> {
  const res = await tb.db.query('SELECT 1 FROM accounts WHERE id = $1 AND domain IS NULL', [accountId]);
  return (res.rowCount ?? 0) > 0;
}

async function remoteInboxOf(
  tb: Testbed,
  accountId: string,
): Promise<{ uri: string; inbox: string } | undefined> {
  const res = await tb.db.query<{ uri: string; inbox_url: string | null; domain: string | null }>(
    'SELECT uri, inbox_url, domain FROM accounts WHERE id = $1',
    [accountId],
  );
  const a = res.rows[0];
  return a && a.domain !== null && a.inbox_url ? { uri: a.uri, inbox: a.inbox_url } : undefined;
}

/**
 * FavouriteService: a favourite row, the counter, and a notification (local author) or a Like (remote
 * author).
 */
export async function favourite(tb: Testbed, auth: AuthContext, statusId: string): Promise<string> {
  const s = await findVisibleStatus(tb, statusId, auth.accountId);
  const fav = await inTransaction(tb.db, async (c) => {
    const ins = await c.query<{ id: string }>(
      'INSERT INTO favourites (account_id, status_id) VALUES ($1, $2) ON CONFLICT (account_id, status_id) DO NOTHING RETURNING id',
      [auth.accountId, s.id],
    );
    if (ins.rows[0])
      await c.query('UPDATE statuses SET favourites_count = favourites_count + 1 WHERE id = $1', [s.id]);
    return ins.rows[0]?.id;
  });
  if (fav) {
    const remote = await remoteInboxOf(tb, s.account_id);
    if (remote) {
      const actor = (await findAccount(tb, auth.accountId)).uri;
      const like = {
        '@context': AS_CONTEXT,
        id: `${actor}#likes/${fav}`,
        type: 'Like',
        actor,
        object: s.uri,
      };
      await enqueue(tb, 'ActivityPub::DeliveryWorker', [JSON.stringify(like), auth.accountId, remote.inbox]);
    } else if (s.account_id !== auth.accountId) {
      await enqueue(tb, 'LocalNotificationWorker', [s.account_id, fav, 'Favourite', 'favourite']);
    }
  }
  return s.id;
}

/**
 * POST /api/v1/statuses/:id/unfavourite: as Mastodon, the work is done by
 * UnfavouriteWorker; the answer already shows favourited false and the
 * decremented count.
 */
export async function unfavourite(
  tb: Testbed,
  auth: AuthContext,
  statusId: string,
): Promise<{ id: string; overrides?: Record<string, unknown> }> {
  const s = await findVisibleStatus(tb, statusId, auth.accountId);
  const fav = await tb.db.query('SELECT 1 FROM favourites WHERE account_id = $1 AND status_id = $2', [
    auth.accountId,
    s.id,
  ]);
  if (!fav.rowCount) return { id: s.id };
  await enqueue(tb, 'UnfavouriteWorker', [auth.accountId, s.id]);
  return {
    id: s.id,
    overrides: { favourited: false, favourites_count: Math.max(s.favourites_count - 1, 0) },
  };
}

/** UnfavouriteWorker's work. */
export async function removeFavourite(tb: Testbed, accountId: string, statusId: string): Promise<void> {
  const removed = await inTransaction(tb.db, async (c) => {
    const del = await c.query<{ id: string }>(
      'DELETE FROM favourites WHERE account_id = $1 AND status_id = $2 RETURNING id',
      [accountId, statusId],
    );
    if (del.rows[0])
      await c.query(
        'UPDATE statuses SET favourites_count = GREATEST(favourites_count - 1, 0) WHERE id = $1',
        [statusId],
      );
    return del.rows[0]?.id;
  });
  if (!removed) return;
  const st = await tb.db.query<{ account_id: string; uri: string }>(
    'SELECT account_id, uri FROM statuses WHERE id = $1',
    [statusId],
  );
  const s = st.rows[0];
  const remote = s ? await remoteInboxOf(tb, s.account_id) : undefined;
  if (s && remote) {
    const actor = (await findAccount(tb, accountId)).uri;
    const like = { id: `${actor}#likes/${removed}`, type: 'Like', actor, object: s.uri };
    const undo = {
      '@context': AS_CONTEXT,
      id: `${actor}#likes/${removed}/undo`,
      type: 'Undo',
      actor,
      object: like,
    };
    await enqueue(tb, 'ActivityPub::DeliveryWorker', [JSON.stringify(undo), accountId, remote.inbox]);
  }
}

// ---------------------------------------------------------------- follows

export async function relationship(tb: Testbed, accountId: string, targetId: string): Promise<Relationship> {
  const res = await tb.db.query<{
    following: boolean;
    followed_by: boolean;
    requested: boolean;
    blocking: boolean;
    blocked_by: boolean;
    muting: boolean;
    muting_notifications: boolean;
  }>(
    `SELECT EXISTS (SELECT 1 FROM follows WHERE account_id = $1 AND target_account_id = $2) AS following,
            EXISTS (SELECT 1 FROM follows WHERE account_id = $2 AND target_account_id = $1) AS followed_by,
            EXISTS (SELECT 1 FROM follow_requests WHERE account_id = $1 AND target_account_id = $2) AS requested,
            EXISTS (SELECT 1 FROM blocks WHERE account_id = $1 AND target_account_id = $2) AS blocking,
            EXISTS (SELECT 1 FROM blocks WHERE account_id = $2 AND target_account_id = $1) AS blocked_by,
            EXISTS (SELECT 1 FROM mutes WHERE account_id = $1 AND target_account_id = $2) AS muting,
            EXISTS (SELECT 1 FROM mutes WHERE account_id = $1 AND target_account_id = $2 AND hide_notifications) AS muting_notifications`,
    [accountId, targetId],
  );
  const r = res.rows[0]!;
  return {
    following: r.following,
    followedBy: r.followed_by,
    requested: r.requested,
    blocking: r.blocking,
    blockedBy: r.blocked_by,
    muting: r.muting,
    mutingNotifications: r.muting_notifications,
  };
}

/**
 * FollowService. Local target: follow row, counters, a `follow`
 * notification (LocalNotificationWorker) and MergeWorker to fill the home
 * feed. Remote target (request_follow!): a follow request and a Follow
 * activity for ActivityPub::DeliveryWorker [json, sender_account_id,
 * inbox_url]; the follow exists once the remote Accept arrives
 * (ActivityPub::Activity::Accept → FollowRequest#authorize!).
 */
export async function followAccount(
  tb: Testbed,
  auth: AuthContext,
  targetId: string,
): Promise<{ limiter?: RateLimiter }> {
  const target = await findAccount(tb, targetId);
  if (target.id === auth.accountId) throw notAllowed();
  const rel = await relationship(tb, auth.accountId, target.id);
  if (rel.following || rel.requested) return {};
  const limiter = new RateLimiter(tb, auth.accountId, 'follows');
  await limiter.record();
  if (target.domain) {
    const uri = `${tb.baseUrl}/${randomUUID()}`;
    const ins = await tb.db.query(
      'INSERT INTO follow_requests (account_id, target_account_id, uri) VALUES ($1, $2, $3) ON CONFLICT (account_id, target_account_id) DO NOTHING',
      [auth.accountId, target.id, uri],
    );
    if (!ins.rowCount) {
      await limiter.rollback();
      return {};
    }
    if (target.inbox_url) {
      const source = await findAccount(tb, auth.accountId);
      const activity = {
        '@context': AS_CONTEXT,
        id: uri,
        type: 'Follow',
        actor: source.uri,
        object: target.uri,
      };
      await enqueue(tb, 'ActivityPub::DeliveryWorker', [
        JSON.stringify(activity),
        auth.accountId,
        target.inbox_url,
      ]);
    }
    return { limiter };
  }
  const followId = await inTransaction(tb.db, async (c) => {
    const ins = await c.query<{ id: string }>(
      'INSERT INTO follows (account_id, target_account_id) VALUES ($1, $2) ON CONFLICT (account_id, target_account_id) DO NOTHING RETURNING id',
      [auth.accountId, target.id],
    );
    if (!ins.rows[0]) return undefined;
    await c.query('UPDATE accounts SET following_count = following_count + 1 WHERE id = $1', [
      auth.accountId,
    ]);
    await c.query('UPDATE accounts SET followers_count = followers_count + 1 WHERE id = $1', [target.id]);
    return ins.rows[0].id;
  });
  if (!followId) {
    await limiter.rollback();
    return {};
  }
  await enqueue(tb, 'LocalNotificationWorker', [target.id, followId, 'Follow', 'follow']);
  await enqueue(tb, 'MergeWorker', [target.id, auth.accountId, 'home']);
  return { limiter };
}

/**
 * UnfollowService: remove the follow (counters, UnmergeWorker) or else the
 * pending follow request; a remote target gets an Undo of the Follow.
 */
export async function unfollowAccount(tb: Testbed, auth: AuthContext, targetId: string): Promise<void> {
  const target = await findAccount(tb, targetId);
  const removed = await unfollow(tb, auth.accountId, target.id);
  const request = removed
    ? undefined
    : (
        await tb.db.query<{ id: string; uri: string | null }>(
          'DELETE FROM follow_requests WHERE account_id = $1 AND target_account_id = $2 RETURNING id, uri',
          [auth.accountId, target.id],
        )
      ).rows[0];
  const gone = removed ?? request;
  if (!gone) return;
  if (target.domain && target.inbox_url) {
    const source = await findAccount(tb, auth.accountId);
    const followUri = gone.uri ?? `${source.uri}#follows/${gone.id}`;
    const undo = {
      '@context': AS_CONTEXT,
      id: `${followUri}/undo`,
      type: 'Undo',
      actor: source.uri,
      object: { id: followUri, type: 'Follow', actor: source.uri, object: target.uri },
    };
    await enqueue(tb, 'ActivityPub::DeliveryWorker', [
      JSON.stringify(undo),
      auth.accountId,
      target.inbox_url,
    ]);
  }
  if (removed) await enqueue(tb, 'UnmergeWorker', [target.id, auth.accountId, 'home']);
}

// ---------------------------------------------------------------- blocks and mutes

/**
 * BlockService: unfollow both ways (and drop pending requests), the block
 * row, BlockWorker to clear the target's statuses from the home feed, and a
 * Block activity to a remote target.
 */
export async function blockAccount(tb: Testbed, auth: AuthContext, targetId: string): Promise<void> {
  const target = await findAccount(tb, targetId);
  if (target.id === auth.accountId) throw notAllowed();
  await unfollowAccount(tb, auth, target.id);
  if (await unfollow(tb, target.id, auth.accountId))
    await enqueue(tb, 'UnmergeWorker', [auth.accountId, target.id, 'home']);
  await tb.db.query('DELETE FROM follow_requests WHERE account_id = $1 AND target_account_id = $2', [
    target.id,
    auth.accountId,
  ]);
  const uri = `${tb.baseUrl}/${randomUUID()}`;
  const ins = await tb.db.query(
    'INSERT INTO blocks (account_id, target_account_id, uri) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
    [auth.accountId, target.id, uri],
  );
  if (!ins.rowCount) return;
  await enqueue(tb, 'BlockWorker', [auth.accountId, target.id]);
  if (target.domain && target.inbox_url) {
    const source = await findAccount(tb, auth.accountId);
    const block = { '@context': AS_CONTEXT, id: uri, type: 'Block', actor: source.uri, object: target.uri };
    await enqueue(tb, 'ActivityPub::DeliveryWorker', [
      JSON.stringify(block),
      auth.accountId,
      target.inbox_url,
    ]);
  }
}

/** UnblockService: the row goes; a remote target gets an Undo of the Block. */
export async function unblockAccount(tb: Testbed, auth: AuthContext, targetId: string): Promise<void> {
  const target = await findAccount(tb, targetId);
  const del = await tb.db.query<{ uri: string | null }>(
    'DELETE FROM blocks WHERE account_id = $1 AND target_account_id = $2 RETURNING uri',
    [auth.accountId, target.id],
  );
  const removed = del.rows[0];
  if (!removed || !target.domain || !target.inbox_url) return;
  const source = await findAccount(tb, auth.accountId);
  const blockUri = removed.uri ?? `${source.uri}#blocks/${target.id}`;
  const undo = {
    '@context': AS_CONTEXT,
    id: `${blockUri}/undo`,
    type: 'Undo',
    actor: source.uri,
    object: { id: blockUri, type: 'Block', actor: source.uri, object: target.uri },
  };
  await enqueue(tb, 'ActivityPub::DeliveryWorker', [JSON.stringify(undo), auth.accountId, target.inbox_url]);
}

/**
 * MuteService: the row (notifications hidden unless told otherwise), then MuteWorker clears the home feed.
 */
export async function muteAccount(
  tb: Testbed,
  auth: AuthContext,
  targetId: string,
  hideNotifications: boolean,
): Promise<void> {
  const target = await findAccount(tb, targetId);
  if (target.id === auth.accountId) throw notAllowed();
  await tb.db.query(
    `INSERT INTO mutes (account_id, target_account_id, hide_notifications) VALUES ($1, $2, $3)
     ON CONFLICT (account_id, target_account_id) DO UPDATE SET hide_notifications = EXCLUDED.hide_notifications`,
    [auth.accountId, target.id, hideNotifications],
  );
  await enqueue(tb, 'MuteWorker', [auth.accountId, target.id]);
}

export async function unmuteAccount(tb: Testbed, auth: AuthContext, targetId: string): Promise<void> {
  const target = await findAccount(tb, targetId);
  await tb.db.query('DELETE FROM mutes WHERE account_id = $1 AND target_account_id = $2', [
    auth.accountId,
    target.id,
  ]);
}

// ---------------------------------------------------------------- notifications

/**
 * NotifyService: one notification per (recipient, type, sender, status);
 * pushed to `timeline:<id>:notifications` only when the recipient has a
 * streaming subscription (subscribed:timeline:<id>[:notifications]).
 */
export async function notify(
  tb: Testbed,
  recipientId: string,
  type: string,
  fromAccountId: string,
  statusId: string | null,
): Promise<void> {
  if (recipientId === fromAccountId) return;
  const res = await tb.db.query<NotificationRow>(
    `INSERT INTO notifications (account_id, from_account_id, type, status_id)
     SELECT $1, $2, $3, $4
     WHERE NOT EXISTS (SELECT 1 FROM notifications WHERE account_id = $1 AND from_account_id = $2 AND type = $3 AND status_id IS NOT DISTINCT FROM $4::bigint)
       AND EXISTS (SELECT 1 FROM accounts WHERE id = $1 AND domain IS NULL)
     RETURNING id, account_id, from_account_id, type, status_id, created_at`,
    [recipientId, fromAccountId, type, statusId],
  );
  const row = res.rows[0];
  if (!row) return;
  const subscribed = await tb.redis.exists(
    `subscribed:timeline:${recipientId}`,
    `subscribed:timeline:${recipientId}:notifications`,
  );
  if (!subscribed) return;
  const [payload] = await renderNotifications(tb, [row], recipientId);
  if (payload)
    await tb.redis.publish(
      `timeline:${recipientId}:notifications`,
      JSON.stringify({ event: 'notification', payload }),
    );
}

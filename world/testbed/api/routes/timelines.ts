import type { FastifyInstance } from 'fastify';
import type { Testbed } from '../../context.js';
import { optionalAuth, READ_NOTIFICATIONS, READ_STATUSES, requireAuth } from '../auth.js';
import { homeFeedIds, regenerationKey } from '../feeds.js';
import { bool, isId, limitParam, params, requestBase, setPaginationHeaders, str, strArray } from '../http.js';
import { renderNotifications, renderStatuses, type NotificationRow } from '../serializers.js';

const DEFAULT_STATUSES_LIMIT = 20;
const DEFAULT_NOTIFICATIONS_LIMIT = 40;

const idOrUndefined = (v: unknown) => {
  const s = str(v);
  return isId(s) ? s : undefined;
};

/**
 * max_id, since_id and min_id as conditions on `column`; returns min_id, with
 * which the page is read upwards (ascending) and then reversed.
 */
function pushIdWindow(p: Record<string, unknown>, column: string, where: string[], args: unknown[]) {
  const maxId = idOrUndefined(p.max_id);
  const sinceId = idOrUndefined(p.since_id);
  const minId = idOrUndefined(p.min_id);
  if (maxId) where.push(`${column} < $${args.push(maxId)}`);
  if (minId) where.push(`${column} > $${args.push(minId)}`);
  else if (sinceId) where.push(`${column} > $${args.push(sinceId)}`);
  return minId;
}

/** Api::V1::Timelines::HomeController, PublicController and Api::V1::NotificationsController. */
export function timelineRoutes(app: FastifyInstance, tb: Testbed): void {
  homeTimeline(app, tb);
  publicTimeline(app, tb);
  notifications(app, tb);
}

/**
 * HomeFeed: ids from `feed:home:<account_id>`, hydrated from PostgreSQL;
 * 206 (Partial Content) while RegenerationWorker rebuilds the feed of a
 * user back after USER_ACTIVE_DAYS.
 */
function homeTimeline(app: FastifyInstance, tb: Testbed): void {
  app.get(
    '/api/v1/timelines/home',
    { config: { controller: 'api/v1/timelines/home', action: 'show' } },
    async (request, reply) => {
      const auth = requireAuth(request, READ_STATUSES);
      const p = params(request);
      const limit = limitParam(p.limit, DEFAULT_STATUSES_LIMIT);
      const ids = await homeFeedIds(
        tb,
        auth.accountId,
        limit,
        idOrUndefined(p.max_id),
        idOrUndefined(p.since_id),
        idOrUndefined(p.min_id),
      );
      const statuses = await renderStatuses(tb, ids, auth.accountId);
      setPaginationHeaders(
        reply,
        requestBase(request, tb.baseUrl),
        '/api/v1/timelines/home',
        { limit: str(p.limit) },
        statuses.map((st) => st.id as string),
        limit,
      );
      if ((await tb.redis.exists(regenerationKey(auth.accountId))) > 0) reply.code(206);
      return statuses;
    },
  );
}

/** PublicFeed: public, not reblogs, not replies to others; ?local, ?remote, ?only_media. */
function publicTimeline(app: FastifyInstance, tb: Testbed): void {
  app.get(
    '/api/v1/timelines/public',
    { config: { controller: 'api/v1/timelines/public', action: 'show' } },
    async (request, reply) => {
      const auth = optionalAuth(request, READ_STATUSES);
      const p = params(request);
      const limit = limitParam(p.limit, DEFAULT_STATUSES_LIMIT);
      const local = bool(p.local) ?? false;
      const remote = bool(p.remote) ?? false;
      const onlyMedia = bool(p.only_media) ?? false;
      const where = [
        's.visibility = 0',
        's.deleted_at IS NULL',
        's.reblog_of_id IS NULL',
        '(s.in_reply_to_id IS NULL OR s.in_reply_to_account_id = s.account_id)',
      ];
      const args: unknown[] = [];
      if (local) where.push('s.local');
      else if (remote) where.push('NOT s.local');
      if (onlyMedia) where.push('EXISTS (SELECT 1 FROM media_attachments m WHERE m.status_id = s.id)');
      const minId = pushIdWindow(p, 's.id', where, args);
      const res = await tb.db.query<{ id: string }>(
        `SELECT s.id FROM statuses s WHERE ${where.join(' AND ')} ORDER BY s.id ${minId ? 'ASC' : 'DESC'} LIMIT ${limit}`,
        args,
      );
      const ids = res.rows.map((r) => r.id);
      if (minId) ids.reverse();
      const statuses = await renderStatuses(tb, ids, auth?.accountId);
      setPaginationHeaders(
        reply,
        requestBase(request, tb.baseUrl),
        '/api/v1/timelines/public',
        { local: str(p.local), remote: str(p.remote), only_media: str(p.only_media), limit: str(p.limit) },
        statuses.map((st) => st.id as string),
        limit,
      );
      return statuses;
    },
  );
}

function notifications(app: FastifyInstance, tb: Testbed): void {
  app.get(
    '/api/v1/notifications',
    { config: { controller: 'api/v1/notifications', action: 'index' } },
    async (request, reply) => {
      const auth = requireAuth(request, READ_NOTIFICATIONS);
      const p = params(request);
      const limit = limitParam(p.limit, DEFAULT_NOTIFICATIONS_LIMIT);
      const where = ['account_id = $1'];
      const args: unknown[] = [auth.accountId];
      const types = strArray(p.types);
      const exclude = strArray(p.exclude_types);
      if (types.length > 0) where.push(`type = ANY($${args.push(types)}::text[])`);
      if (exclude.length > 0) where.push(`NOT (type = ANY($${args.push(exclude)}::text[]))`);
      const fromAccount = idOrUndefined(p.account_id);
      if (fromAccount) where.push(`from_account_id = $${args.push(fromAccount)}`);
      const minId = pushIdWindow(p, 'id', where, args);
      const res = await tb.db.query<NotificationRow>(
        `SELECT id, account_id, from_account_id, type, status_id, created_at FROM notifications
       WHERE ${where.join(' AND ')} ORDER BY id ${minId ? 'ASC' : 'DESC'} LIMIT ${limit}`,
        args,
      );
      const rows = minId ? res.rows.reverse() : res.rows;
      const notifications = await renderNotifications(tb, rows, auth.accountId);
      // Mastodon paginates on the rows it loaded, before filtering unrenderable ones
      setPaginationHeaders(
        reply,
        requestBase(request, tb.baseUrl),
        '/api/v1/notifications',
        { limit: str(p.limit) },
        rows.map((r) => r.id),
        limit,
      );
      return notifications;
    },
  );
}

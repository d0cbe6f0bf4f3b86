import type { FastifyInstance } from 'fastify';
import type { Testbed } from '../../context.js';
import { optionalAuth, READ_STATUSES, requireAuth, WRITE_FAVOURITES, WRITE_STATUSES } from '../auth.js';
import { bool, idParam, notFound, params, str, strArray } from '../http.js';
import { renderStatus, renderStatuses, type RenderOptions } from '../serializers.js';
import {
  deleteStatus,
  favourite,
  findVisibleStatus,
  postStatus,
  reblog,
  unfavourite,
  unreblog,
  visibleSql,
} from '../services.js';

/** The status as the viewer sees it; 404 when it is gone (or its account or original is). */
async function statusOr404(tb: Testbed, id: string, viewerId?: string, opts: RenderOptions = {}) {
  const body = await renderStatus(tb, id, viewerId, opts);
  if (!body) throw notFound();
  return body;
}

/** StatusesController::CONTEXT_LIMIT: ancestors and descendants fetched at most. */
const CONTEXT_LIMIT = 4096;

/** Api::V1::StatusesController, Statuses::FavouritesController, Statuses::ReblogsController. */
export function statusRoutes(app: FastifyInstance, tb: Testbed): void {
  createStatus(app, tb);
  showStatus(app, tb);
  statusContext(app, tb);
  destroyStatus(app, tb);
  favouriteStatus(app, tb);
  unfavouriteStatus(app, tb);
  reblogStatus(app, tb);
  unreblogStatus(app, tb);
}

function createStatus(app: FastifyInstance, tb: Testbed): void {
  app.post(
    '/api/v1/statuses',
    { config: { controller: 'api/v1/statuses', action: 'create' } },
    async (request, reply) => {
      const auth = requireAuth(request, WRITE_STATUSES);
      const p = params(request);
      const idempotency = request.headers['idempotency-key'];
      const result = await postStatus(
        tb,
        auth,
        {
          text: str(p.status) ?? '',
          visibility: str(p.visibility),
          inReplyToId: str(p.in_reply_to_id) || undefined,
          mediaIds: strArray(p.media_ids),
          spoilerText: str(p.spoiler_text) ?? '',
          sensitive: bool(p.sensitive),
          language: str(p.language),
        },
        typeof idempotency === 'string' && idempotency !== '' ? idempotency : undefined,
      );
      await result.limiter?.applyHeaders(reply);
      return statusOr404(tb, result.id, auth.accountId);
    },
  );
}

function showStatus(app: FastifyInstance, tb: Testbed): void {
  app.get(
    '/api/v1/statuses/:id',
    { config: { controller: 'api/v1/statuses', action: 'show' } },
    async (request) => {
      const auth = optionalAuth(request, READ_STATUSES);
      const s = await findVisibleStatus(tb, idParam(request), auth?.accountId);
      return statusOr404(tb, s.id, auth?.accountId);
    },
  );
}

function statusContext(app: FastifyInstance, tb: Testbed): void {
  app.get(
    '/api/v1/statuses/:id/context',
    { config: { controller: 'api/v1/statuses', action: 'context' } },
    async (request) => {
      const auth = optionalAuth(request, READ_STATUSES);
      const s = await findVisibleStatus(tb, idParam(request), auth?.accountId);
      const viewer = auth?.accountId ?? null;
      const ancestors = s.in_reply_to_id
        ? await tb.db.query<{ id: string }>(
            `WITH RECURSIVE up(id, in_reply_to_id, depth) AS (
             SELECT id, in_reply_to_id, 0 FROM statuses WHERE id = $1
             UNION ALL
             SELECT s.id, s.in_reply_to_id, up.depth + 1 FROM statuses s JOIN up ON s.id = up.in_reply_to_id WHERE up.depth < ${CONTEXT_LIMIT}
           )
           SELECT s.id FROM up JOIN statuses s ON s.id = up.id
           WHERE s.deleted_at IS NULL AND ${visibleSql('s', '$2')} ORDER BY s.id ASC`,
            [s.in_reply_to_id, viewer],
          )
        : { rows: [] };
      const descendants = await tb.db.query<{ id: string }>(
        `WITH RECURSIVE down(id, depth) AS (
         SELECT id, 0 FROM statuses WHERE in_reply_to_id = $1
         UNION ALL
         SELECT s.id, down.depth + 1 FROM statuses s JOIN down ON s.in_reply_to_id = down.id WHERE down.depth < ${CONTEXT_LIMIT}
       )
       SELECT s.id FROM down JOIN statuses s ON s.id = down.id
       WHERE s.deleted_at IS NULL AND ${visibleSql('s', '$2')} ORDER BY s.id ASC LIMIT ${CONTEXT_LIMIT}`,
        [s.id, viewer],
      );
      return {
        ancestors: await renderStatuses(
          tb,
          ancestors.rows.map((r) => r.id),
          auth?.accountId,
        ),
        descendants: await renderStatuses(
          tb,
          descendants.rows.map((r) => r.id),
          auth?.accountId,
        ),
      };
    },
  );
}

function destroyStatus(app: FastifyInstance, tb: Testbed): void {
  app.delete(
    '/api/v1/statuses/:id',
    { config: { controller: 'api/v1/statuses', action: 'destroy' } },
    async (request) => {
      const auth = requireAuth(request, WRITE_STATUSES);
      const s = await deleteStatus(tb, auth, idParam(request), bool(params(request).delete_media) ?? false);
      // Mastodon answers the deleted status with `text` (its source) for redrafting, instead of `content`.
      return statusOr404(tb, s.id, auth.accountId, {
        includeDeleted: true,
        sourceRequested: true,
      });
    },
  );
}

function favouriteStatus(app: FastifyInstance, tb: Testbed): void {
  app.post(
    '/api/v1/statuses/:id/favourite',
    { config: { controller: 'api/v1/statuses/favourites', action: 'create' } },
    async (request) => {
      const auth = requireAuth(request, WRITE_FAVOURITES);
      const id = await favourite(tb, auth, idParam(request));
      return statusOr404(tb, id, auth.accountId);
    },
  );
}

function unfavouriteStatus(app: FastifyInstance, tb: Testbed): void {
  app.post(
    '/api/v1/statuses/:id/unfavourite',
    { config: { controller: 'api/v1/statuses/favourites', action: 'destroy' } },
    async (request) => {
      const auth = requireAuth(request, WRITE_FAVOURITES);
      const r = await unfavourite(tb, auth, idParam(request));
      return statusOr404(tb, r.id, auth.accountId, r.overrides ? { overrides: { [r.id]: r.overrides } } : {});
    },
  );
}

function reblogStatus(app: FastifyInstance, tb: Testbed): void {
  app.post(
    '/api/v1/statuses/:id/reblog',
    { config: { controller: 'api/v1/statuses/reblogs', action: 'create' } },
    async (request, reply) => {
      const auth = requireAuth(request, WRITE_STATUSES);
      const r = await reblog(tb, auth, idParam(request), str(params(request).visibility));
      await r.limiter?.applyHeaders(reply);
      return statusOr404(tb, r.id, auth.accountId);
    },
  );
}

function unreblogStatus(app: FastifyInstance, tb: Testbed): void {
  app.post(
    '/api/v1/statuses/:id/unreblog',
    { config: { controller: 'api/v1/statuses/reblogs', action: 'destroy' } },
    async (request) => {
      const auth = requireAuth(request, WRITE_STATUSES);
      const id = await unreblog(tb, auth, idParam(request));
      return statusOr404(tb, id, auth.accountId);
    },
  );
}

import type { FastifyInstance } from 'fastify';
import type { Testbed } from '../../context.js';
import { PROCESSING } from '../../db/pool.js';
import { requireAuth, WRITE_MEDIA } from '../auth.js';
import { ApiError, idParam, notFound } from '../http.js';
import { serveStoredFile, uploadMedia } from '../media.js';
import { serializeMedia, type MediaRow } from '../serializers.js';

/** Api::V2::MediaController#create, Api::V1::MediaController#create/#show, and the /system file store. */
export function mediaRoutes(app: FastifyInstance, tb: Testbed): void {
  app.post(
    '/api/v2/media',
    { config: { controller: 'api/v2/media', action: 'create' } },
    async (request, reply) => {
      const auth = requireAuth(request, WRITE_MEDIA);
      const { status, body } = await uploadMedia(tb, request, auth);
      return reply.code(status).send(body);
    },
  );

  /** v1 processes video inside the request too (no delay_processing), so it always answers 200. */
  app.post(
    '/api/v1/media',
    { config: { controller: 'api/v1/media', action: 'create' } },
    async (request, reply) => {
      const auth = requireAuth(request, WRITE_MEDIA);
      const { status, body } = await uploadMedia(tb, request, auth, { delayProcessing: false });
      return reply.code(status).send(body);
    },
  );

  app.get(
    '/api/v1/media/:id',
    { config: { controller: 'api/v1/media', action: 'show' } },
    async (request, reply) => {
      const auth = requireAuth(request, WRITE_MEDIA);
      const res = await tb.db.query<MediaRow>(
        'SELECT * FROM media_attachments WHERE id = $1 AND account_id = $2 AND status_id IS NULL',
        [idParam(request), auth.accountId],
      );
      const m = res.rows[0];
      if (!m) throw notFound();
      if (m.processing === PROCESSING.failed)
        throw new ApiError(422, 'Error processing thumbnail for uploaded media');
      const notProcessed = m.processing === PROCESSING.queued || m.processing === PROCESSING.in_progress;
      return reply.code(notProcessed ? 206 : 200).send(serializeMedia(m, tb.baseUrl));
    },
  );

  app.get('/system/*', { config: { controller: 'system', action: 'show' } }, async (request, reply) =>
    serveStoredFile(tb, (request.params as { '*': string })['*'], reply),
  );
}

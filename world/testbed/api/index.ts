import multipart from '@fastify/multipart';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { Testbed } from '../context.js';
import type { TestbedWorkers } from '../jobClasses.js';
import { TokenCache, tokenFromRequest } from './auth.js';
import { ApiError, badEncoding, params, parseFormBody, unparsable } from './http.js';
import { decodeUtf8, findUnstorable } from '../storableText.js';
import { VIDEO_LIMIT_BYTES } from '../mediaAttachment.js';
import { applyThrottles } from './rateLimit.js';
import { accountRoutes } from './routes/accounts.js';
import { instanceRoutes } from './routes/instance.js';
import { mediaRoutes } from './routes/media.js';
import { statusRoutes } from './routes/statuses.js';
import { timelineRoutes } from './routes/timelines.js';
import { clientApiWorkers } from './workers.js';

/**
 * Mastodon's client API, the subset that load and capacity depend on:
 * statuses, home/public timelines, notifications, media, follows, instance,
 * admin measures. (The streaming API, streaming.ts, runs in a process of its
 * own.) See the modules for the Mastodon classes each part follows.
 */
export async function registerClientApi(app: FastifyInstance, tb: Testbed): Promise<void> {
  const tokens = new TokenCache(tb);

  await app.register(async (api) => {
    await api.register(multipart, {
      limits: { fileSize: VIDEO_LIMIT_BYTES, files: 2, fields: 10, fieldSize: 16 * 1024, parts: 16 },
    });
    // Rails accepts empty JSON bodies and form-encoded params (`media_ids[]=1`) alike. Bytes that are
    // not UTF-8 fail Rails' JSON parser (ActionDispatch's ParseError): 400, as malformed JSON.
    api.removeContentTypeParser('application/json');
    api.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
      const text = decodeUtf8(body as Buffer);
      if (text === undefined) return done(unparsable(), undefined);
      if (text.trim() === '') return done(null, {});
      try {
        const parsed: unknown = JSON.parse(text);
        done(null, parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {});
      } catch {
        done(unparsable(), undefined);
      }
    });
    api.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'buffer' },
      (_req, body, done) => {
        const text = decodeUtf8(body as Buffer);
        const parsed = text === undefined ? undefined : parseFormBody(text);
        if (parsed === undefined) return done(badEncoding(), undefined);
        done(null, parsed);
      },
    );
    // What PostgreSQL cannot store is refused before anything is written (Mastodon would fail with a 500).
    api.addHook('preHandler', async (request) => {
      const found = findUnstorable(params(request));
      if (found) throw new ApiError(400, `Invalid request parameters: ${found.where} holds ${found.why}`);
    });

    // Doorkeeper's token lookup, then Rack::Attack (which runs before the controllers).
    api.addHook('onRequest', async (request, reply) => {
      const token = tokenFromRequest(request);
      if (token) {
        const auth = await tokens.lookup(token);
        if (auth) request.fedicapAuth = auth;
        else request.fedicapBadToken = true;
      }
      reply.header('Cache-Control', 'no-cache, no-store, max-age=0, must-revalidate');
      if (tb.config.rateLimits) await applyThrottles(tb, request, reply, request.fedicapAuth);
    });

    api.setErrorHandler((err: FastifyError | ApiError, request, reply) => {
      if (err instanceof ApiError)
        return reply.code(err.status).headers(err.headers).send({ error: err.message });
      const status = err.statusCode ?? 500;
      if (err.code === 'FST_REQ_FILE_TOO_LARGE' || status === 413)
        return reply.code(413).send({ error: 'Request Entity Too Large' });
      if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || status === 415)
        return reply.code(415).send({ error: 'Unsupported Media Type' });
      if (status >= 400 && status < 500)
        return reply.code(400).send({ error: 'Error occurred while parsing request parameters' });
      request.log.error({ err }, 'client API error');
      return reply.code(500).send({ error: "We're sorry, but something went wrong on our end." });
    });

    statusRoutes(api, tb);
    timelineRoutes(api, tb);
    accountRoutes(api, tb);
    mediaRoutes(api, tb);
    instanceRoutes(api, tb);
  });
}

/** The job classes the client API implements (see workers.ts), on Mastodon's queues. */
export function localWorkers(tb: Testbed): TestbedWorkers {
  return clientApiWorkers(tb);
}

/**
 * Federation endpoints, as Mastodon routes them: WebFinger and host-meta,
 * actor documents and their collections, statuses as Notes, the instance
 * actor, and the inboxes (shared, personal, instance actor's), which verify
 * the HTTP signature inside the request (fetching unknown keys
 * synchronously) and answer 202 after enqueueing ActivityPub::ProcessingWorker.
 */
import { MAX_ACTIVITY_JSON_BYTES } from '../../../src/mastodon/limits.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Testbed } from '../context.js';
import { isBigintId, VISIBILITY } from '../db/pool.js';
import { decodeUtf8, findUnstorable } from '../storableText.js';
import {
  accountFromUri,
  actorUriOf,
  ensureInstanceActor,
  keyResolver,
  localAccountByUsername,
  type AccountRow,
} from './accounts.js';
import { PROCESSING_WORKER } from './process.js';
import {
  actorDocument,
  announceActivity,
  createActivity,
  instanceActorDocument,
  loadNoteParts,
  noteDocument,
  type StatusRow,
} from './serialize.js';
import { verifyRequest } from '../../../src/mastodon/signatures.js';
import {
  AS_CONTEXT,
  followersUrlFor,
  followingUrlFor,
  instanceActorUri,
  outboxUrlFor,
  parseLocalUri,
  profileUrlFor,
} from './uris.js';

/** Outbox page size (ActivityPub::OutboxesController LIMIT). */
export const OUTBOX_PAGE_SIZE = 20;
/** Follower/following collection page size. */
export const COLLECTION_PAGE_SIZE = 40;

const AP_TYPE = 'application/activity+json; charset=utf-8';
const ACCEPTED_BODY_TYPES = ['application/activity+json', 'application/ld+json', 'application/json'];

const notFound = (reply: FastifyReply) =>
  reply.code(404).type('application/json; charset=utf-8').send({ error: 'Record not found' });
const sendAp = (reply: FastifyReply, doc: unknown) =>
  reply.code(200).type(AP_TYPE).header('Vary', 'Accept, Accept-Encoding').send(JSON.stringify(doc));

export async function registerRoutes(app: FastifyInstance, tb: Testbed): Promise<void> {
  webfinger(app, tb);
  hostMeta(app, tb);
  instanceActor(app, tb);
  instanceActorOutbox(app, tb);
  actor(app, tb);
  outbox(app, tb);
  followCollections(app, tb);
  statusDocuments(app, tb);
  await inboxes(app, tb);
}

function webfinger(app: FastifyInstance, tb: Testbed): void {
  app.get<{ Querystring: { resource?: string } }>(
    '/.well-known/webfinger',
    { config: { controller: 'well_known/webfinger', action: 'show' } },
    async (request, reply) => {
      const resource = request.query.resource;
      if (!resource) return reply.code(400).send();
      const account = await webfingerAccount(tb, resource);
      if (!account) return reply.code(404).send();
      const isInstance = String(account.id) === '-99';
      const uri = actorUriOf(tb, account);
      const profile = isInstance
        ? `${tb.baseUrl}/about/more?instance_actor=true`
        : profileUrlFor(tb, account.username);
      return reply
        .type('application/jrd+json; charset=utf-8')
        .header('Cache-Control', 'max-age=259200, public')
        .header('Vary', 'Origin')
        .send(
          JSON.stringify({
            subject: `acct:${isInstance ? tb.domain : account.username}@${tb.domain}`,
            aliases: isInstance ? [uri] : [profile, uri],
            links: [
              { rel: 'http://webfinger.net/rel/profile-page', type: 'text/html', href: profile },
              { rel: 'self', type: 'application/activity+json', href: uri },
              ...(isInstance
                ? []
                : [
                    {
                      rel: 'http://ostatus.org/schema/1.0/subscribe',
                      template: `${tb.baseUrl}/authorize_interaction?uri={uri}`,
                    },
                  ]),
            ],
          }),
        );
    },
  );
}

function hostMeta(app: FastifyInstance, tb: Testbed): void {
  app.get(
    '/.well-known/host-meta',
    { config: { controller: 'well_known/host_meta', action: 'show' } },
    async (_request, reply) =>
      reply
        .type('application/xrd+xml; charset=utf-8')
        .send(
          `<?xml version="1.0" encoding="UTF-8"?>\n<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n  <Link rel="lrdd" template="${tb.baseUrl}/.well-known/webfinger?resource={uri}"/>\n</XRD>\n`,
        ),
  );
}

function instanceActor(app: FastifyInstance, tb: Testbed): void {
  app.get('/actor', { config: { controller: 'instance_actors', action: 'show' } }, async (_request, reply) =>
    sendAp(reply, await instanceActorDocument(tb)),
  );
}

function instanceActorOutbox(app: FastifyInstance, tb: Testbed): void {
  app.get(
    '/actor/outbox',
    { config: { controller: 'activitypub/outboxes', action: 'show' } },
    async (_request, reply) =>
      sendAp(reply, {
        '@context': AS_CONTEXT,
        id: `${instanceActorUri(tb)}/outbox`,
        type: 'OrderedCollection',
        totalItems: 0,
        orderedItems: [],
      }),
  );
}

function actor(app: FastifyInstance, tb: Testbed): void {
  app.get<{ Params: { username: string } }>(
    '/users/:username',
    { config: { controller: 'accounts', action: 'show' } },
    async (request, reply) => {
      const account = await localAccountByUsername(tb, request.params.username);
      if (!account) return notFound(reply);
      return sendAp(reply, actorDocument(tb, account));
    },
  );
}

function outbox(app: FastifyInstance, tb: Testbed): void {
  app.get<{ Params: { username: string }; Querystring: { page?: string; max_id?: string; min_id?: string } }>(
    '/users/:username/outbox',
    { config: { controller: 'activitypub/outboxes', action: 'show' } },
    async (request, reply) => {
      const account = await localAccountByUsername(tb, request.params.username);
      if (!account) return notFound(reply);
      const outbox = outboxUrlFor(tb, account.username);
      if (request.query.page !== 'true') {
        const { rows } = await tb.db.query<{ n: string }>(
          'SELECT count(*) AS n FROM statuses WHERE account_id = $1 AND deleted_at IS NULL',
          [account.id],
        );
        return sendAp(reply, {
          '@context': AS_CONTEXT,
          id: outbox,
          type: 'OrderedCollection',
          totalItems: Number(rows[0]!.n),
          first: `${outbox}?page=true`,
          last: `${outbox}?min_id=0&page=true`,
        });
      }
      const maxId = isBigintId(request.query.max_id) ? request.query.max_id : null;
      const { rows } = await tb.db.query<StatusRow>(
        `SELECT * FROM statuses WHERE account_id = $1 AND deleted_at IS NULL AND visibility <= $2 AND ($3::bigint IS NULL OR id < $3)
          ORDER BY id DESC LIMIT $4`,
        [account.id, VISIBILITY.unlisted, maxId, OUTBOX_PAGE_SIZE],
      );
      const items: unknown[] = [];
      for (const status of rows) {
        if (status.reblog_of_id) {
          const a = await announceActivity(tb, status, account);
          if (a) items.push(withoutContext(a));
        } else {
          const parts = await loadNoteParts(tb, status.id);
          if (parts) items.push(withoutContext(createActivity(tb, parts)));
        }
      }
      const last = rows[rows.length - 1];
      return sendAp(reply, {
        '@context': AS_CONTEXT,
        id: `${outbox}?page=true${maxId ? `&max_id=${maxId}` : ''}`,
        type: 'OrderedCollectionPage',
        ...(rows.length === OUTBOX_PAGE_SIZE && last
          ? { next: `${outbox}?max_id=${last.id}&page=true` }
          : {}),
        partOf: outbox,
        orderedItems: items,
      });
    },
  );
}

function followCollections(app: FastifyInstance, tb: Testbed): void {
  for (const [kind, controller] of [
    ['followers', 'follower_accounts'],
    ['following', 'following_accounts'],
  ] as const) {
    app.get<{ Params: { username: string }; Querystring: { page?: string } }>(
      `/users/:username/${kind}`,
      { config: { controller, action: 'index' } },
      async (request, reply) => {
        const account = await localAccountByUsername(tb, request.params.username);
        if (!account) return notFound(reply);
        const id =
          kind === 'followers'
            ? followersUrlFor(tb, account.username)
            : followingUrlFor(tb, account.username);
        const [mine, other] =
          kind === 'followers' ? ['target_account_id', 'account_id'] : ['account_id', 'target_account_id'];
        const total = await tb.db.query<{ n: string }>(
          `SELECT count(*) AS n FROM follows WHERE ${mine} = $1`,
          [account.id],
        );
        const page = Number.parseInt(request.query.page ?? '', 10);
        if (!(page >= 1)) {
          return sendAp(reply, {
            '@context': AS_CONTEXT,
            id,
            type: 'OrderedCollection',
            totalItems: Number(total.rows[0]!.n),
            first: `${id}?page=1`,
          });
        }
        const { rows } = await tb.db.query<AccountRow>(
          `SELECT a.* FROM follows f JOIN accounts a ON a.id = f.${other} WHERE f.${mine} = $1 ORDER BY f.id DESC LIMIT $2 OFFSET $3`,
          [account.id, COLLECTION_PAGE_SIZE, (page - 1) * COLLECTION_PAGE_SIZE],
        );
        const n = Number(total.rows[0]!.n);
        return sendAp(reply, {
          '@context': AS_CONTEXT,
          id: `${id}?page=${page}`,
          type: 'OrderedCollectionPage',
          totalItems: n,
          partOf: id,
          ...(page * COLLECTION_PAGE_SIZE < n ? { next: `${id}?page=${page + 1}` } : {}),
          ...(page > 1 ? { prev: `${id}?page=${page - 1}` } : {}),
          orderedItems: rows.map((a) => actorUriOf(tb, a)),
        });
      },
    );
  }
}

function statusDocuments(app: FastifyInstance, tb: Testbed): void {
  for (const activity of [false, true]) {
    app.get<{ Params: { username: string; id: string } }>(
      `/users/:username/statuses/:id${activity ? '/activity' : ''}`,
      { config: { controller: 'statuses', action: activity ? 'activity' : 'show' } },
      async (request, reply) => {
        if (!isBigintId(request.params.id)) return notFound(reply);
        const parts = await loadNoteParts(tb, request.params.id);
        if (
          !parts?.status.local ||
          parts.status.reblog_of_id ||
          parts.status.visibility > VISIBILITY.unlisted ||
          parts.author.username.toLowerCase() !== request.params.username.toLowerCase()
        ) {
          return notFound(reply);
        }
        return sendAp(reply, activity ? createActivity(tb, parts) : noteDocument(tb, parts));
      },
    );
  }
}

async function inboxes(app: FastifyInstance, tb: Testbed): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: MAX_ACTIVITY_JSON_BYTES },
      (_request, body, done) => done(null, body),
    );
    scope.setErrorHandler((error: { statusCode?: number; message: string }, _request, reply) => {
      if (error.statusCode === 413) return reply.code(413).send(); // head 413
      if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
        return reply.code(error.statusCode).send({ error: error.message });
      }
      return reply.code(500).send({ error: 'Internal Server Error' });
    });
    const config = { controller: 'activitypub/inboxes', action: 'create' };
    scope.post('/inbox', { config }, (request, reply) => inbox(tb, request, reply, null));
    scope.post('/actor/inbox', { config }, (request, reply) => inbox(tb, request, reply, 'instance'));
    scope.post<{ Params: { username: string } }>('/users/:username/inbox', { config }, (request, reply) =>
      inbox(tb, request, reply, request.params.username),
    );
  });
}

const withoutContext = (doc: Record<string, unknown>) => {
  const { '@context': _, ...rest } = doc;
  return rest;
};

/** WebfingerResource: acct:user@domain, user@domain, or a local actor URL. */
async function webfingerAccount(tb: Testbed, resource: string): Promise<AccountRow | null> {
  const r = resource.trim();
  if (/^https?:\/\//i.test(r)) {
    const local = parseLocalUri(tb, r);
    if (!local || local.kind === 'status') return null;
    return local.kind === 'instance_actor'
      ? ensureInstanceActor(tb)
      : localAccountByUsername(tb, local.username);
  }
  const acct = r.replace(/^acct:/i, '');
  const at = acct.lastIndexOf('@');
  const username = at < 0 ? acct : acct.slice(0, at);
  const domain = at < 0 ? tb.domain : acct.slice(at + 1);
  const localHosts = [tb.domain.toLowerCase(), new URL(tb.baseUrl).host.toLowerCase()];
  if (!localHosts.includes(domain.toLowerCase())) return null;
  if (username.toLowerCase() === tb.domain.toLowerCase()) return ensureInstanceActor(tb);
  return localAccountByUsername(tb, username);
}

/**
 * ActivityPub::InboxesController#create: 413 over 1 MB (by the body parser),
 * 415 for a non-JSON body, 400 for malformed JSON or JSON PostgreSQL could
 * not store (not UTF-8, a NUL character, a lone surrogate), 404 for an unknown
 * personal inbox, 202 straight away for a Delete of an unknown actor by
 * itself (skip_unknown_actor_activity), 401 with `{ error }` when the
 * signature does not verify, else 202 after enqueueing
 * ActivityPub::ProcessingWorker [actor_id, body, delivered_to_account_id, 'Account'].
 */
async function inbox(
  tb: Testbed,
  request: FastifyRequest,
  reply: FastifyReply,
  target: string | 'instance' | null,
): Promise<FastifyReply> {
  const mime = String(request.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (!ACCEPTED_BODY_TYPES.includes(mime)) return reply.code(415).send({ error: 'Unsupported Media Type' });
  const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  const body = decodeUtf8(raw);
  if (body === undefined) return reply.code(400).send({ error: 'Error parsing JSON: the body is not UTF-8' });
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return reply.code(400).send({ error: 'Error parsing JSON' });
  }
  // Accepted means processed: what the job could never store is refused here, not retried for days.
  const bad = findUnstorable(json);
  if (bad) return reply.code(400).send({ error: `Error parsing JSON: ${bad.where} holds ${bad.why}` });

  let deliveredTo: AccountRow | null = null;
  if (target === 'instance') deliveredTo = null;
  else if (target !== null) {
    deliveredTo = await localAccountByUsername(tb, target);
    if (!deliveredTo) return reply.code(404).send({ error: 'Record not found' });
  }

  if (json && typeof json === 'object' && !Array.isArray(json)) {
    const j = json as Record<string, unknown>;
    const objectId = typeof j.object === 'string' ? j.object : (j.object as { id?: unknown } | null)?.id;
    if ((j.type === 'Delete' || j.type === 'Update') && typeof j.actor === 'string' && j.actor === objectId) {
      const known = await accountFromUri(tb, j.actor);
      if (!known) return reply.code(202).send();
    }
  }

  const outcome = await verifyRequest(
    { method: request.method, path: request.url, headers: request.headers, body: raw },
    keyResolver(tb),
  );
  if (!outcome.ok)
    return reply.code(outcome.status).type('application/json; charset=utf-8').send(outcome.body);
  await tb.sidekiq.push(PROCESSING_WORKER, [
    outcome.actor.account.id,
    body,
    deliveredTo?.id ?? null,
    'Account',
  ]);
  return reply.code(202).send();
}

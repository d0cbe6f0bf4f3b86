import type { FastifyInstance } from 'fastify';
import type { Testbed } from '../../context.js';
import { FOLLOW_SCOPES, READ_ACCOUNTS, READ_FOLLOWS, requireAuth } from '../auth.js';
import { idParam, params, strArray } from '../http.js';
import { serializeCredentialAccount, serializeRelationship } from '../serializers.js';
import { findAccount, followAccount, relationship, unfollowAccount } from '../services.js';

/** Api::V1::Accounts::CredentialsController#show, RelationshipsController#index and Api::V1::AccountsController#follow/#unfollow. */
const RELATIONSHIPS_LIMIT = 40;

export function accountRoutes(app: FastifyInstance, tb: Testbed): void {
  app.get('/api/v1/accounts/verify_credentials', { config: { controller: 'api/v1/accounts/credentials', action: 'show' } }, async (request) => {
    const auth = requireAuth(request, READ_ACCOUNTS);
    const account = await findAccount(tb, auth.accountId);
    return serializeCredentialAccount(account, auth.role, tb.baseUrl);
  });

  app.get('/api/v1/accounts/relationships', { config: { controller: 'api/v1/accounts/relationships', action: 'index' } }, async (request) => {
    const auth = requireAuth(request, READ_FOLLOWS);
    const ids = [...new Set(strArray(params(request).id).filter((id) => /^\d{1,19}$/.test(id)))].slice(0, RELATIONSHIPS_LIMIT);
    const known = (await tb.db.query<{ id: string }>('SELECT id FROM accounts WHERE id = ANY($1::bigint[])', [ids])).rows.map((r) => r.id);
    return Promise.all(ids.filter((id) => known.includes(id)).map(async (id) => serializeRelationship(id, await relationship(tb, auth.accountId, id))));
  });

  app.post('/api/v1/accounts/:id/follow', { config: { controller: 'api/v1/accounts', action: 'follow' } }, async (request, reply) => {
    const auth = requireAuth(request, FOLLOW_SCOPES);
    const targetId = idParam(request);
    const { limiter } = await followAccount(tb, auth, targetId);
    await limiter?.applyHeaders(reply);
    return serializeRelationship(targetId, await relationship(tb, auth.accountId, targetId));
  });

  app.post('/api/v1/accounts/:id/unfollow', { config: { controller: 'api/v1/accounts', action: 'unfollow' } }, async (request) => {
    const auth = requireAuth(request, FOLLOW_SCOPES);
    const targetId = idParam(request);
    await unfollowAccount(tb, auth, targetId);
    return serializeRelationship(targetId, await relationship(tb, auth.accountId, targetId));
  });
}

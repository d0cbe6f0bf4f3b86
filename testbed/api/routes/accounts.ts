import type { FastifyInstance } from 'fastify';
import type { Testbed } from '../../context.js';
import { FOLLOW_SCOPES, READ_ACCOUNTS, requireAuth } from '../auth.js';
import { idParam } from '../http.js';
import { serializeCredentialAccount, serializeRelationship } from '../serializers.js';
import { findAccount, followAccount, relationship, unfollowAccount } from '../services.js';

/** Api::V1::Accounts::CredentialsController#show and Api::V1::AccountsController#follow/#unfollow. */
export function accountRoutes(app: FastifyInstance, tb: Testbed): void {
  app.get('/api/v1/accounts/verify_credentials', { config: { controller: 'api/v1/accounts/credentials', action: 'show' } }, async (request) => {
    const auth = requireAuth(request, READ_ACCOUNTS);
    const account = await findAccount(tb, auth.accountId);
    return serializeCredentialAccount(account, auth.role, tb.baseUrl);
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

import type { FastifyInstance } from 'fastify';
import type { Testbed } from '../../context.js';
import {
  BLOCK_SCOPES,
  FOLLOW_SCOPES,
  MUTE_SCOPES,
  READ_ACCOUNTS,
  READ_FOLLOWS,
  requireAuth,
} from '../auth.js';
import { bool, idParam, isId, params, strArray } from '../http.js';
import { serializeCredentialAccount, serializeRelationship } from '../serializers.js';
import {
  blockAccount,
  findAccount,
  followAccount,
  muteAccount,
  relationship,
  unblockAccount,
  unfollowAccount,
  unmuteAccount,
} from '../services.js';

/**
 * Api::V1::Accounts::CredentialsController#show, RelationshipsController#index and
 * Api::V1::AccountsController#follow/#unfollow/#block/#unblock/#mute/#unmute.
 */
const RELATIONSHIPS_LIMIT = 40;

export function accountRoutes(app: FastifyInstance, tb: Testbed): void {
  app.get(
    '/api/v1/accounts/verify_credentials',
    { config: { controller: 'api/v1/accounts/credentials', action: 'show' } },
    async (request) => {
      const auth = requireAuth(request, READ_ACCOUNTS);
      const account = await findAccount(tb, auth.accountId);
      return serializeCredentialAccount(account, auth.role, tb.baseUrl);
    },
  );

  app.get(
    '/api/v1/accounts/relationships',
    { config: { controller: 'api/v1/accounts/relationships', action: 'index' } },
    async (request) => {
      const auth = requireAuth(request, READ_FOLLOWS);
      const ids = [...new Set(strArray(params(request).id).filter(isId))].slice(0, RELATIONSHIPS_LIMIT);
      const known = (
        await tb.db.query<{ id: string }>('SELECT id FROM accounts WHERE id = ANY($1::bigint[])', [ids])
      ).rows.map((r) => r.id);
      return Promise.all(
        ids
          .filter((id) => known.includes(id))
          .map(async (id) => serializeRelationship(id, await relationship(tb, auth.accountId, id))),
      );
    },
  );

  app.post(
    '/api/v1/accounts/:id/follow',
    { config: { controller: 'api/v1/accounts', action: 'follow' } },
    async (request, reply) => {
      const auth = requireAuth(request, FOLLOW_SCOPES);
      const targetId = idParam(request);
      const { limiter } = await followAccount(tb, auth, targetId);
      await limiter?.applyHeaders(reply);
      return serializeRelationship(targetId, await relationship(tb, auth.accountId, targetId));
    },
  );

  /**
   * POST /api/v1/accounts/:id/ACTION answering the relationship afterwards (AccountsController#unfollow,
   * #block, …).
   */
  const relationshipAction = (
    action: string,
    scopes: string[],
    run: (
      auth: ReturnType<typeof requireAuth>,
      targetId: string,
      p: Record<string, unknown>,
    ) => Promise<void>,
  ) =>
    app.post(
      `/api/v1/accounts/:id/${action}`,
      { config: { controller: 'api/v1/accounts', action } },
      async (request) => {
        const auth = requireAuth(request, scopes);
        const targetId = idParam(request);
        await run(auth, targetId, params(request));
        return serializeRelationship(targetId, await relationship(tb, auth.accountId, targetId));
      },
    );
  relationshipAction('unfollow', FOLLOW_SCOPES, (auth, id) => unfollowAccount(tb, auth, id));
  relationshipAction('block', BLOCK_SCOPES, (auth, id) => blockAccount(tb, auth, id));
  relationshipAction('unblock', BLOCK_SCOPES, (auth, id) => unblockAccount(tb, auth, id));
  relationshipAction('mute', MUTE_SCOPES, (auth, id, p) =>
    muteAccount(tb, auth, id, bool(p.notifications) ?? true),
  );
  relationshipAction('unmute', MUTE_SCOPES, (auth, id) => unmuteAccount(tb, auth, id));
}

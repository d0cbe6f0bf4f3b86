import type { FastifyRequest } from 'fastify';
import type { Testbed } from '../context.js';
import { ApiError, invalidToken, outsideScopes } from './http.js';
import { regenerateHomeFeed } from './feeds.js';

/** Who a Bearer token belongs to (Doorkeeper token + its User + Account). */
export interface AuthContext {
  tokenId: string;
  userId: string;
  accountId: string;
  scopes: ReadonlySet<string>;
  role: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The token's owner, resolved once per request by the client API's onRequest hook (undefined: no valid
     * token).
     */
    fedicapAuth?: AuthContext;
    /** A token was presented but is unknown or revoked. */
    fedicapBadToken?: boolean;
  }
}

/**
 * The token from `Authorization: Bearer`, `?access_token=` or `?bearer_token=`
 * (Doorkeeper's access_token_methods in Mastodon's config).
 */
export function tokenFromRequest(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header) {
    const m = /^Bearer\s+(.+)$/i.exec(header.trim());
    return m ? m[1]!.trim() : undefined;
  }
  const q = request.query as Record<string, unknown> | undefined;
  const t = q?.access_token ?? q?.bearer_token;
  return typeof t === 'string' && t !== '' ? t : undefined;
}

/** Mastodon updates current_sign_in_at at most once per 24 h (User::SIGN_IN_UPDATE_FREQUENCY). */
const SIGN_IN_UPDATE_FREQUENCY_MS = 24 * 3600_000;

/**
 * Token → owner, cached for a few seconds per testbed. Mastodon looks the
 * token up on every request; the cache keeps the testbed's own overhead out
 * of the measurement. A revoked token can therefore work for up to TTL.
 */
export class TokenCache {
  private readonly entries = new Map<string, { auth: AuthContext; expiresAt: number }>();
  constructor(
    private readonly tb: Testbed,
    private readonly ttlMs = 10_000,
    private readonly maxEntries = 100_000,
  ) {}

  async lookup(token: string): Promise<AuthContext | undefined> {
    const now = Date.now();
    const hit = this.entries.get(token);
    if (hit && hit.expiresAt > now) return hit.auth;
    if (hit) this.entries.delete(token);
    if (token.length > 512) return undefined;
    const res = await this.tb.db.query<{
      id: string;
      scopes: string;
      user_id: string;
      account_id: string;
      role: string;
      current_sign_in_at: Date | null;
    }>(
      `SELECT t.id, t.scopes, u.id AS user_id, u.account_id, u.role, u.current_sign_in_at
       FROM oauth_access_tokens t JOIN users u ON u.id = t.resource_owner_id
       WHERE t.token = $1 AND t.revoked_at IS NULL`,
      [token],
    );
    const row = res.rows[0];
    if (!row) return undefined;
    if (!row.current_sign_in_at || now - row.current_sign_in_at.getTime() > SIGN_IN_UPDATE_FREQUENCY_MS) {
      // Api::BaseController#require_user! → set_user_activity: a returning user becomes active again,
      // and one away longer than USER_ACTIVE_DAYS gets the home feed rebuilt (prepare_returning_user!).
      await this.tb.db.query('UPDATE users SET current_sign_in_at = now() WHERE id = $1', [row.user_id]);
      const awayMs = row.current_sign_in_at ? now - row.current_sign_in_at.getTime() : 0;
      if (awayMs > this.tb.config.userActiveDays * 86_400_000)
        await regenerateHomeFeed(this.tb, row.account_id);
    }
    const auth: AuthContext = {
      tokenId: row.id,
      userId: row.user_id,
      accountId: row.account_id,
      scopes: new Set(row.scopes.split(/\s+/).filter(Boolean)),
      role: row.role,
    };
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(token, { auth, expiresAt: now + this.ttlMs });
    return auth;
  }
}

/** Doorkeeper's scope check: any one of the listed scopes suffices. */
export function hasScope(auth: AuthContext, scopes: string[]): boolean {
  return scopes.some((s) => auth.scopes.has(s));
}

/** doorkeeper_authorize! + require_user!: a valid token with one of `scopes`, else 401/403. */
export function requireAuth(request: FastifyRequest, scopes: string[]): AuthContext {
  const auth = request.fedicapAuth;
  if (!auth) throw invalidToken();
  if (!hasScope(auth, scopes)) throw outsideScopes();
  return auth;
}

/** authorize_if_got_token!: anonymous is fine; a token must carry one of `scopes`. */
export function optionalAuth(request: FastifyRequest, scopes: string[]): AuthContext | undefined {
  const auth = request.fedicapAuth;
  if (auth && !hasScope(auth, scopes)) throw outsideScopes();
  return auth;
}

/** Admin API: an admin:read (or admin:write) token of a user whose role may view the dashboard. */
export function requireAdmin(request: FastifyRequest, scopes: string[]): AuthContext {
  const auth = requireAuth(request, scopes);
  if (!['admin', 'owner'].includes(auth.role)) throw new ApiError(403, 'This action is not allowed');
  return auth;
}

export const READ_STATUSES = ['read', 'read:statuses'];
export const WRITE_STATUSES = ['write', 'write:statuses'];
export const READ_NOTIFICATIONS = ['read', 'read:notifications'];
export const WRITE_MEDIA = ['write', 'write:media'];
export const WRITE_FAVOURITES = ['write', 'write:favourites'];
export const FOLLOW_SCOPES = ['follow', 'write', 'write:follows'];
export const BLOCK_SCOPES = ['follow', 'write', 'write:blocks'];
export const MUTE_SCOPES = ['follow', 'write', 'write:mutes'];
export const READ_ACCOUNTS = ['read', 'read:accounts', 'profile'];
export const READ_FOLLOWS = ['read', 'read:follows'];

import { randomBytes } from 'node:crypto';
import type { Testbed } from './context.js';
import { inTransaction } from './db/pool.js';
import { KeyPool, type KeyPair } from '../keys.js';

/**
 * Seeding local accounts the way Mastodon's sign-up leaves them: an account
 * row with its ActivityPub URLs and RSA key, a confirmed user who signed in
 * now (so fan-out counts them as active), and an OAuth access token.
 *
 * Tokens are secrets: they are returned to the caller and never logged.
 */

export interface LocalAccount {
  accountId: string;
  userId: string;
  username: string;
  /** Bearer token (32 random bytes, base64url, as Doorkeeper makes them). */
  token: string;
}

export interface CreateLocalAccountOptions {
  username: string;
  displayName?: string;
  /** users.role = 'admin' and a token that also has admin:read admin:write. */
  admin?: boolean;
  /**
   * users.current_sign_in_at (default now): older than USER_ACTIVE_DAYS makes the user inactive for fan-out.
   */
  signedInAt?: Date;
}

/** Mastodon's Account::USERNAME_RE (local part) and its 30-character limit. */
const USERNAME_RE = /^[a-z0-9_]+([a-z0-9_.-]+[a-z0-9_]+)?$/i;
export const DEFAULT_SCOPES = 'read write follow push';
export const ADMIN_SCOPES = 'read write follow push admin:read admin:write';

const keyPools = new WeakMap<Testbed, KeyPool>();
function keyPool(tb: Testbed): KeyPool {
  let pool = keyPools.get(tb);
  if (!pool) {
    pool = new KeyPool(8);
    keyPools.set(tb, pool);
  }
  return pool;
}

/** Doorkeeper's token: SecureRandom.urlsafe_base64(32). */
export const newAccessToken = () => randomBytes(32).toString('base64url');

function checkUsername(username: string): void {
  // Length first: the expression's overlapping runs backtrack polynomially on a long name.
  if (username.length > 30 || !USERNAME_RE.test(username)) {
    throw new Error(
      `username "${username}" must be 1–30 letters, digits, _ (and . or - inside), as Mastodon requires`,
    );
  }
}

function emailHost(tb: Testbed): string {
  return (tb.domain || 'testbed.invalid').replace(/:\d+$/, '');
}

/** Create one local account with user and token. */
export async function createLocalAccount(
  tb: Testbed,
  opts: CreateLocalAccountOptions,
): Promise<LocalAccount> {
  const [account] = await insertAccounts(tb, [opts]);
  return account!;
}

/**
 * Create `n` local accounts named `${prefix}${i}` (i = 1..n) in batched
 * INSERTs of 1,000 rows: thousands of accounts take seconds, not minutes.
 * Keys come from a small shared pool (see KeyPool).
 */
export async function createLocalAccounts(
  tb: Testbed,
  n: number,
  prefix: string,
  opts: Omit<CreateLocalAccountOptions, 'username'> = {},
): Promise<LocalAccount[]> {
  return createNamedAccounts(
    tb,
    Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`),
    opts,
  );
}

/** Create local accounts with these usernames, in batched INSERTs of 1,000 rows. */
export async function createNamedAccounts(
  tb: Testbed,
  usernames: readonly string[],
  opts: Omit<CreateLocalAccountOptions, 'username'> = {},
): Promise<LocalAccount[]> {
  const all: LocalAccount[] = [];
  for (let start = 0; start < usernames.length; start += 1000) {
    const batch = usernames.slice(start, start + 1000).map((username) => ({ ...opts, username }));
    all.push(...(await insertAccounts(tb, batch)));
  }
  return all;
}

/**
 * The local accounts among `usernames` that exist, each with a new access token (Doorkeeper issues one per
 * sign-in; older tokens stay valid): how seeding reuses the accounts of an earlier start.
 */
export async function reissueTokens(tb: Testbed, usernames: readonly string[]): Promise<LocalAccount[]> {
  return inTransaction(tb.db, async (client) => {
    const { rows } = await client.query<{
      account_id: string;
      user_id: string;
      username: string;
      role: string;
    }>(
      `SELECT a.id AS account_id, u.id AS user_id, a.username, u.role
       FROM accounts a JOIN users u ON u.account_id = a.id
       WHERE a.domain IS NULL AND a.username = ANY($1::text[])`,
      [usernames],
    );
    const tokens = rows.map(() => newAccessToken());
    await client.query(
      `INSERT INTO oauth_access_tokens (token, resource_owner_id, scopes)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])`,
      [
        tokens,
        rows.map((r) => r.user_id),
        rows.map((r) => (r.role === 'admin' ? ADMIN_SCOPES : DEFAULT_SCOPES)),
      ],
    );
    return rows.map((r, i) => ({
      accountId: r.account_id,
      userId: r.user_id,
      username: r.username,
      token: tokens[i]!,
    }));
  });
}

async function insertAccounts(tb: Testbed, specs: CreateLocalAccountOptions[]): Promise<LocalAccount[]> {
  if (!tb.baseUrl) throw new Error('createLocalAccount needs a listening testbed (tb.baseUrl is empty)');
  for (const s of specs) checkUsername(s.username);
  const pool = keyPool(tb);
  const keyCount = Math.min(8, specs.length);
  const keys: KeyPair[] = await Promise.all(Array.from({ length: keyCount }, () => pool.take()));
  const base = tb.baseUrl;
  const host = emailHost(tb);
  const usernames = specs.map((s) => s.username);
  const displayNames = specs.map((s) => s.displayName ?? '');
  const keyIndex = specs.map((_, i) => (i % keyCount) + 1);
  const signedIn = specs.map((s) => (s.signedInAt ?? new Date()).toISOString());
  const roles = specs.map((s) => (s.admin ? 'admin' : 'user'));
  const tokens = specs.map(() => newAccessToken());
  const scopes = specs.map((s) => (s.admin ? ADMIN_SCOPES : DEFAULT_SCOPES));

  return inTransaction(tb.db, async (client) => {
    const accounts = await client.query<{ id: string; username: string }>(
      `INSERT INTO accounts (username, display_name, uri, url, inbox_url, shared_inbox_url, outbox_url, followers_url, key_id, public_key, private_key)
       SELECT t.u, t.d, $4 || '/users/' || t.u, $4 || '/@' || t.u, $4 || '/users/' || t.u || '/inbox', $4 || '/inbox',
              $4 || '/users/' || t.u || '/outbox', $4 || '/users/' || t.u || '/followers', $4 || '/users/' || t.u || '#main-key',
              ($5::text[])[t.k], ($6::text[])[t.k]
       FROM unnest($1::text[], $2::text[], $3::int[]) AS t(u, d, k)
       RETURNING id, username`,
      [
        usernames,
        displayNames,
        keyIndex,
        base,
        keys.map((k) => k.publicKeyPem),
        keys.map((k) => k.privateKeyPem),
      ],
    );
    const accountIdByName = new Map(accounts.rows.map((r) => [r.username, r.id]));
    const accountIds = usernames.map((u) => accountIdByName.get(u)!);
    const users = await client.query<{ id: string; account_id: string }>(
      `INSERT INTO users (account_id, email, current_sign_in_at, role)
       SELECT t.a, lower(t.u) || '@' || $5, t.s, t.r
       FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[]) AS t(a, u, s, r)
       RETURNING id, account_id`,
      [accountIds, usernames, signedIn, roles, host],
    );
    const userIdByAccount = new Map(users.rows.map((r) => [r.account_id, r.id]));
    const userIds = accountIds.map((a) => userIdByAccount.get(a)!);
    await client.query(
      `INSERT INTO oauth_access_tokens (token, resource_owner_id, scopes)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])`,
      [tokens, userIds, scopes],
    );
    return specs.map((s, i) => ({
      accountId: accountIds[i]!,
      userId: userIds[i]!,
      username: s.username,
      token: tokens[i]!,
    }));
  });
}

/**
 * A follow row and the follower/following counters, as a seeding shortcut.
 * The HTTP API's POST /api/v1/accounts/:id/follow does more (notification,
 * MergeWorker, a Follow delivery to remote targets). Returns false if the
 * follow already existed.
 */
export async function follow(tb: Testbed, followerId: string, targetId: string): Promise<boolean> {
  return (await followMany(tb, [[followerId, targetId]])) === 1;
}

/** Many follows ([follower, target] pairs) in batched INSERTs; returns how many were new. */
export async function followMany(tb: Testbed, pairs: [string, string][]): Promise<number> {
  let created = 0;
  for (let i = 0; i < pairs.length; i += 5000) {
    const batch = pairs.slice(i, i + 5000);
    const res = await tb.db.query<{ n: string }>(
      `WITH ins AS (
         INSERT INTO follows (account_id, target_account_id)
         SELECT * FROM unnest($1::bigint[], $2::bigint[])
         ON CONFLICT (account_id, target_account_id) DO NOTHING
         RETURNING account_id, target_account_id
       ), counters AS (
         -- one UPDATE per row: an account can be follower and target in the same batch
         UPDATE accounts a SET following_count = a.following_count + c.fing, followers_count = a.followers_count + c.fers
         FROM (SELECT id, sum(fing)::int AS fing, sum(fers)::int AS fers
               FROM (SELECT account_id AS id, 1 AS fing, 0 AS fers FROM ins
                     UNION ALL SELECT target_account_id, 0, 1 FROM ins) x
               GROUP BY id) c
         WHERE a.id = c.id
       )
       SELECT count(*) AS n FROM ins`,
      [batch.map((p) => p[0]), batch.map((p) => p[1])],
    );
    created += Number(res.rows[0]!.n);
  }
  return created;
}

/**
 * Remove a follow row with the follower/following counters, in one transaction; the removed row, if there was
 * one.
 */
export async function unfollow(
  tb: Testbed,
  followerId: string,
  targetId: string,
): Promise<{ id: string; uri: string | null } | undefined> {
  return inTransaction(tb.db, async (c) => {
    const del = await c.query<{ id: string; uri: string | null }>(
      'DELETE FROM follows WHERE account_id = $1 AND target_account_id = $2 RETURNING id, uri',
      [followerId, targetId],
    );
    if (!del.rows[0]) return undefined;
    await c.query('UPDATE accounts SET following_count = GREATEST(following_count - 1, 0) WHERE id = $1', [
      followerId,
    ]);
    await c.query('UPDATE accounts SET followers_count = GREATEST(followers_count - 1, 0) WHERE id = $1', [
      targetId,
    ]);
    return del.rows[0];
  });
}

/** Set users.current_sign_in_at: who counts as an active follower for fan-out. */
export async function setSignedInAt(tb: Testbed, accountIds: string[], at: Date): Promise<void> {
  await tb.db.query('UPDATE users SET current_sign_in_at = $2 WHERE account_id = ANY($1::bigint[])', [
    accountIds,
    at.toISOString(),
  ]);
}

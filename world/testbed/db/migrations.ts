import type { Pool, PoolClient } from 'pg';
import { inTransaction } from './pool.js';

/**
 * A table of one account's relation to another (follows, follow_requests,
 * blocks, mutes): one row per pair, with one column of its own, looked up by
 * target when `indexTarget`.
 */
function accountPairTable(table: string, column: string, opts: { indexTarget: boolean }): string {
  const create = `CREATE TABLE ${table} (
        id bigint PRIMARY KEY DEFAULT timestamp_id(),
        account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        target_account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        ${column},
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (account_id, target_account_id)
      );`;
  if (!opts.indexTarget) return create;
  return `${create}
      CREATE INDEX index_${table}_on_target_account_id ON ${table} (target_account_id);`;
}

/**
 * The testbed's schema: the subset of Mastodon's tables that its load and
 * capacity behaviour depends on. Ids are Mastodon-style time-ordered
 * bigints (milliseconds << 16 | sequence), so max_id/since_id pagination
 * works as in Mastodon. Each migration runs once, in order, in a transaction.
 */
export const MIGRATIONS: { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'timestamp ids',
    sql: `
      CREATE SEQUENCE IF NOT EXISTS timestamp_id_seq;
      CREATE OR REPLACE FUNCTION timestamp_id() RETURNS bigint AS $$
        SELECT (floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint << 16)
             | (nextval('timestamp_id_seq') & 65535);
      $$ LANGUAGE sql VOLATILE;`,
  },
  {
    version: 2,
    name: 'accounts, users, tokens',
    sql: `
      CREATE TABLE accounts (
        id bigint PRIMARY KEY DEFAULT timestamp_id(),
        username text NOT NULL,
        domain text,
        display_name text NOT NULL DEFAULT '',
        note text NOT NULL DEFAULT '',
        uri text NOT NULL,
        url text,
        inbox_url text,
        shared_inbox_url text,
        outbox_url text,
        followers_url text,
        key_id text,
        public_key text NOT NULL DEFAULT '',
        private_key text,
        actor_type text NOT NULL DEFAULT 'Person',
        followers_count integer NOT NULL DEFAULT 0,
        following_count integer NOT NULL DEFAULT 0,
        statuses_count integer NOT NULL DEFAULT 0,
        last_webfingered_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX index_accounts_on_username_and_domain ON accounts (lower(username), COALESCE(lower(domain), ''));
      CREATE UNIQUE INDEX index_accounts_on_uri ON accounts (uri);
      CREATE UNIQUE INDEX index_accounts_on_key_id ON accounts (key_id) WHERE key_id IS NOT NULL;
      CREATE TABLE users (
        id bigserial PRIMARY KEY,
        account_id bigint NOT NULL UNIQUE REFERENCES accounts (id) ON DELETE CASCADE,
        email text NOT NULL UNIQUE,
        current_sign_in_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE oauth_access_tokens (
        id bigserial PRIMARY KEY,
        token text NOT NULL UNIQUE,
        resource_owner_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        scopes text NOT NULL DEFAULT 'read write follow push',
        revoked_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      );`,
  },
  {
    version: 3,
    name: 'follows, statuses, favourites, mentions',
    sql: `
      ${accountPairTable('follows', 'uri text', { indexTarget: true })}
      CREATE TABLE statuses (
        id bigint PRIMARY KEY DEFAULT timestamp_id(),
        uri text NOT NULL,
        url text,
        text text NOT NULL DEFAULT '',
        spoiler_text text NOT NULL DEFAULT '',
        sensitive boolean NOT NULL DEFAULT false,
        language text,
        visibility smallint NOT NULL DEFAULT 0,
        account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        in_reply_to_id bigint,
        in_reply_to_account_id bigint,
        reblog_of_id bigint REFERENCES statuses (id) ON DELETE CASCADE,
        local boolean NOT NULL DEFAULT false,
        replies_count integer NOT NULL DEFAULT 0,
        reblogs_count integer NOT NULL DEFAULT 0,
        favourites_count integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz
      );
      CREATE UNIQUE INDEX index_statuses_on_uri ON statuses (uri);
      CREATE INDEX index_statuses_on_account_id_id ON statuses (account_id, id DESC);
      CREATE INDEX index_statuses_public_local ON statuses (id DESC) WHERE visibility = 0 AND deleted_at IS NULL AND reblog_of_id IS NULL;
      CREATE INDEX index_statuses_on_in_reply_to_id ON statuses (in_reply_to_id) WHERE in_reply_to_id IS NOT NULL;
      CREATE INDEX index_statuses_on_reblog_of_id ON statuses (reblog_of_id) WHERE reblog_of_id IS NOT NULL;
      CREATE TABLE favourites (
        id bigint PRIMARY KEY DEFAULT timestamp_id(),
        account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        status_id bigint NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
        uri text,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (account_id, status_id)
      );
      CREATE TABLE mentions (
        id bigserial PRIMARY KEY,
        status_id bigint NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
        account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        UNIQUE (account_id, status_id)
      );`,
  },
  {
    version: 4,
    name: 'media, preview cards, notifications, relays',
    sql: `
      CREATE TABLE media_attachments (
        id bigint PRIMARY KEY DEFAULT timestamp_id(),
        status_id bigint REFERENCES statuses (id) ON DELETE SET NULL,
        account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        type smallint NOT NULL DEFAULT 0,
        file_path text,
        file_size bigint NOT NULL DEFAULT 0,
        thumbnail_path text,
        thumbnail_size bigint NOT NULL DEFAULT 0,
        remote_url text NOT NULL DEFAULT '',
        processing smallint NOT NULL DEFAULT 2,
        description text,
        meta jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX index_media_attachments_on_status_id ON media_attachments (status_id);
      CREATE INDEX index_media_attachments_remote_created ON media_attachments (created_at) WHERE remote_url <> '' AND file_path IS NOT NULL;
      CREATE TABLE preview_cards (
        id bigserial PRIMARY KEY,
        url text NOT NULL UNIQUE,
        title text NOT NULL DEFAULT '',
        description text NOT NULL DEFAULT '',
        image_path text,
        image_size bigint NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE preview_cards_statuses (
        preview_card_id bigint NOT NULL REFERENCES preview_cards (id) ON DELETE CASCADE,
        status_id bigint NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
        PRIMARY KEY (status_id, preview_card_id)
      );
      CREATE TABLE notifications (
        id bigint PRIMARY KEY DEFAULT timestamp_id(),
        account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        from_account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        type text NOT NULL,
        status_id bigint REFERENCES statuses (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX index_notifications_on_account_id_id ON notifications (account_id, id DESC);
      CREATE TABLE relays (
        id bigserial PRIMARY KEY,
        inbox_url text NOT NULL UNIQUE,
        follow_activity_id text,
        state smallint NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now()
      );`,
  },
  {
    version: 5,
    name: 'user roles',
    // Mastodon has user_roles with permission bitmasks; the testbed needs only
    // "may this token's user read admin measures": 'user', 'moderator', 'admin', 'owner'.
    sql: `
      ALTER TABLE users ADD COLUMN role text NOT NULL DEFAULT 'user';`,
  },
  {
    version: 6,
    name: 'follow requests',
    // Mastodon's FollowService requests every ActivityPub follow; the remote Accept turns it into a follow.
    sql: `
      ${accountPairTable('follow_requests', 'uri text', { indexTarget: true })}`,
  },
  {
    version: 7,
    name: 'blocks, mutes, domain blocks, reblog-hiding follows',
    // What FeedManager#build_crutches looks up for every home-feed insert.
    sql: `
      ALTER TABLE follows ADD COLUMN show_reblogs boolean NOT NULL DEFAULT true;
      ${accountPairTable('blocks', 'uri text', { indexTarget: true })}
      ${accountPairTable('mutes', 'hide_notifications boolean NOT NULL DEFAULT true', { indexTarget: false })}
      CREATE TABLE account_domain_blocks (
        id bigint PRIMARY KEY DEFAULT timestamp_id(),
        account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        domain text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (account_id, domain)
      );`,
  },
];

/**
 * Apply pending migrations. Each runs in its own transaction holding a
 * transaction-level advisory lock, so concurrent runners serialise and it
 * works through PgBouncer in transaction mode (a session-level lock could be
 * taken on one server connection and released on another).
 */
export async function migrate(pool: Pool): Promise<number[]> {
  const applied: number[] = [];
  const inLockedTransaction = (work: (client: PoolClient) => Promise<void>) =>
    inTransaction(pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(7412034)');
      await work(client);
    });
  await inLockedTransaction(async (client) => {
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
  });
  for (const m of MIGRATIONS) {
    await inLockedTransaction(async (client) => {
      const done = await client.query('SELECT 1 FROM schema_migrations WHERE version = $1', [m.version]);
      if (done.rowCount) return;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    });
  }
  return applied;
}

import type { Testbed } from '../context.js';
import type * as Row from '../db/rows.js';
import { MEDIA_TYPE_NAME, PROCESSING, VISIBILITY_NAME } from '../db/pool.js';
import { extractHashtags, renderContent, escapeHtml } from './text.js';

/**
 * REST serializers (app/serializers/rest/*): the JSON the client API
 * answers with, shaped as openapi.json's Status, Account, CredentialAccount,
 * MediaAttachment, Notification and Relationship entities. Ids are strings,
 * times ISO 8601; everything the testbed does not model is present as
 * null, false or empty, so required fields are always there.
 *
 * The loaders hydrate from PostgreSQL the way Mastodon's cache_collection
 * and StatusRelationshipsPresenter do: a handful of queries per page
 * (statuses, reblogged originals, accounts, media, mentions, and the
 * viewer's favourites and reblogs).
 */

/** The columns ACCOUNT_COLUMNS and STATUS_COLUMNS select. */
export type AccountRow = Pick<
  Row.AccountRow,
  | 'id'
  | 'username'
  | 'domain'
  | 'display_name'
  | 'note'
  | 'uri'
  | 'url'
  | 'inbox_url'
  | 'shared_inbox_url'
  | 'actor_type'
  | 'followers_count'
  | 'following_count'
  | 'statuses_count'
  | 'created_at'
>;
export type StatusRow = Omit<Row.StatusRow, 'updated_at'>;
export type MediaRow = Omit<Row.MediaAttachmentRow, 'updated_at'>;
export type NotificationRow = Row.NotificationRow;

type Json = Record<string, unknown>;

const STATUS_COLUMNS = `id, uri, url, text, spoiler_text, sensitive, language, visibility, account_id, in_reply_to_id,
  in_reply_to_account_id, reblog_of_id, local, replies_count, reblogs_count, favourites_count, created_at, deleted_at`;
export const ACCOUNT_COLUMNS = `id, username, domain, display_name, note, uri, url, inbox_url, shared_inbox_url, actor_type,
  followers_count, following_count, statuses_count, created_at`;

/** Where a stored file under config.mediaDir is served (Mastodon's local storage serves /system). */
export const mediaFileUrl = (base: string, relPath: string) =>
  `${base}/system/${relPath.split('/').map(encodeURIComponent).join('/')}`;

export function accountAcct(a: Pick<AccountRow, 'username' | 'domain'>): string {
  return a.domain ? `${a.username}@${a.domain}` : a.username;
}

function accountUrl(a: AccountRow, base: string): string {
  return a.url ?? (a.domain ? a.uri : `${base}/@${a.username}`);
}

/** REST::AccountSerializer. created_at is rounded to midnight as Mastodon does. */
export function serializeAccount(a: AccountRow, base: string): Json {
  const c = a.created_at;
  const midnight = new Date(Date.UTC(c.getUTCFullYear(), c.getUTCMonth(), c.getUTCDate())).toISOString();
  const local = a.domain === null;
  return {
    id: a.id,
    username: a.username,
    acct: accountAcct(a),
    display_name: a.display_name,
    locked: false,
    bot: a.actor_type === 'Application' || a.actor_type === 'Service',
    discoverable: true,
    indexable: false,
    group: a.actor_type === 'Group',
    created_at: midnight,
    note: local && a.note !== '' ? `<p>${escapeHtml(a.note)}</p>` : a.note,
    url: accountUrl(a, base),
    uri: a.uri,
    avatar: `${base}/avatars/original/missing.png`,
    avatar_static: `${base}/avatars/original/missing.png`,
    avatar_description: '',
    header: `${base}/headers/original/missing.png`,
    header_static: `${base}/headers/original/missing.png`,
    header_description: '',
    followers_count: a.followers_count,
    following_count: a.following_count,
    statuses_count: a.statuses_count,
    last_status_at: null,
    hide_collections: false,
    ...(local ? { noindex: false, roles: [] } : { roles: null }),
    emojis: [],
    fields: [],
  };
}

const ROLES: Record<string, Json> = {
  user: { id: '-99', name: '', permissions: '65536', color: '', highlighted: false },
  moderator: { id: '1', name: 'Moderator', permissions: '1308', color: '', highlighted: true },
  admin: { id: '2', name: 'Admin', permissions: '983036', color: '', highlighted: true },
  owner: { id: '3', name: 'Owner', permissions: '1', color: '', highlighted: true },
};

/** REST::CredentialAccountSerializer: the account plus `source` and `role`. */
export function serializeCredentialAccount(a: AccountRow, role: string, base: string): Json {
  return {
    ...serializeAccount(a, base),
    source: {
      privacy: 'public',
      sensitive: false,
      language: null,
      note: a.note,
      fields: [],
      follow_requests_count: 0,
      hide_collections: false,
      discoverable: true,
      indexable: false,
      attribution_domains: [],
      quote_policy: 'public',
    },
    role: ROLES[role] ?? ROLES.user,
  };
}

/** REST::MediaAttachmentSerializer. url is null until processing completes (202/206 until then). */
export function serializeMedia(m: MediaRow, base: string): Json {
  const notProcessed = m.processing === PROCESSING.queued || m.processing === PROCESSING.in_progress;
  const fileUrl = m.file_path ? mediaFileUrl(base, m.file_path) : m.remote_url || null;
  const { original, small, focus, blurhash } = m.meta as {
    original?: unknown;
    small?: unknown;
    focus?: unknown;
    blurhash?: unknown;
  };
  const meta: Json = {};
  if (original) meta.original = original;
  if (small) meta.small = small;
  if (focus) meta.focus = focus;
  return {
    id: m.id,
    type: MEDIA_TYPE_NAME[m.type] ?? 'unknown',
    url: notProcessed ? null : fileUrl,
    preview_url: m.thumbnail_path ? mediaFileUrl(base, m.thumbnail_path) : null,
    remote_url: m.remote_url || null,
    preview_remote_url: null,
    text_url: null,
    meta,
    description: m.description,
    blurhash: typeof blurhash === 'string' ? blurhash : null,
  };
}

/** Who follows, blocks and mutes whom, between the viewer and one account (services.relationship). */
export interface Relationship {
  following: boolean;
  followedBy: boolean;
  /** A Follow sent to a remote account that has not answered with Accept yet. */
  requested: boolean;
  blocking: boolean;
  blockedBy: boolean;
  muting: boolean;
  mutingNotifications: boolean;
}

export function serializeRelationship(targetId: string, rel: Relationship): Json {
  return {
    id: targetId,
    following: rel.following,
    showing_reblogs: rel.following,
    notifying: false,
    languages: null,
    followed_by: rel.followedBy,
    blocking: rel.blocking,
    blocked_by: rel.blockedBy,
    muting: rel.muting,
    muting_notifications: rel.mutingNotifications,
    requested: rel.requested,
    requested_by: false,
    domain_blocking: false,
    endorsed: false,
    note: '',
  };
}

export async function loadAccounts(tb: Testbed, ids: Iterable<string>): Promise<Map<string, AccountRow>> {
  const list = [...new Set(ids)];
  if (list.length === 0) return new Map();
  const res = await tb.db.query<AccountRow>(
    `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = ANY($1::bigint[])`,
    [list],
  );
  return new Map(res.rows.map((r) => [r.id, r]));
}

export interface RenderOptions {
  /** Render discarded statuses too (the DELETE response). */
  includeDeleted?: boolean;
  /** Mastodon's source_requested: `text` instead of `content` (DELETE answers this way for redrafting). */
  sourceRequested?: boolean;
  /** Per-status overrides (e.g. favourites_count after an unfavourite still being processed). */
  overrides?: Record<string, Json>;
}

/**
 * What rendering a page of statuses needs, loaded with a handful of queries (StatusRelationshipsPresenter).
 */
interface StatusPage {
  tb: Testbed;
  viewerId: string | undefined;
  opts: RenderOptions;
  byId: Map<string, StatusRow>;
  accounts: Map<string, AccountRow>;
  mentionsByStatus: Map<string, AccountRow[]>;
  mediaByStatus: Map<string, MediaRow[]>;
  favourited: Set<string>;
  reblogged: Set<string>;
}

/** The statuses asked for, and the originals of the reblogs among them. */
async function loadStatusRows(
  tb: Testbed,
  ids: string[],
  opts: RenderOptions,
): Promise<Map<string, StatusRow>> {
  const deleted = opts.includeDeleted ? '' : ' AND deleted_at IS NULL';
  const rows = await tb.db.query<StatusRow>(
    `SELECT ${STATUS_COLUMNS} FROM statuses WHERE id = ANY($1::bigint[])${deleted}`,
    [ids],
  );
  const byId = new Map(rows.rows.map((r) => [r.id, r]));
  const originals = [
    ...new Set(rows.rows.map((r) => r.reblog_of_id).filter((x): x is string => x !== null && !byId.has(x))),
  ];
  if (originals.length > 0) {
    const more = await tb.db.query<StatusRow>(
      `SELECT ${STATUS_COLUMNS} FROM statuses WHERE id = ANY($1::bigint[]) AND deleted_at IS NULL`,
      [originals],
    );
    for (const r of more.rows) byId.set(r.id, r);
  }
  return byId;
}

function groupBy<T>(rows: T[], key: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const r of rows) {
    const list = groups.get(key(r)) ?? [];
    list.push(r);
    groups.set(key(r), list);
  }
  return groups;
}

/** Which of the statuses the viewer has favourited and reblogged (nothing for an anonymous viewer). */
async function viewerInteractions(tb: Testbed, viewerId: string | undefined, statusIds: string[]) {
  if (!viewerId) return { favourited: new Set<string>(), reblogged: new Set<string>() };
  const fav = await tb.db.query<{ status_id: string }>(
    'SELECT status_id FROM favourites WHERE account_id = $1 AND status_id = ANY($2::bigint[])',
    [viewerId, statusIds],
  );
  const reb = await tb.db.query<{ reblog_of_id: string }>(
    'SELECT reblog_of_id FROM statuses WHERE account_id = $1 AND reblog_of_id = ANY($2::bigint[]) AND deleted_at IS NULL',
    [viewerId, statusIds],
  );
  return {
    favourited: new Set(fav.rows.map((r) => r.status_id)),
    reblogged: new Set(reb.rows.map((r) => r.reblog_of_id)),
  };
}

async function loadStatusPage(
  tb: Testbed,
  ids: string[],
  viewerId: string | undefined,
  opts: RenderOptions,
): Promise<StatusPage> {
  const byId = await loadStatusRows(tb, ids, opts);
  const statusIds = [...byId.keys()];
  const mentionRows = await tb.db.query<{ status_id: string } & AccountRow>(
    `SELECT m.status_id, ${ACCOUNT_COLUMNS.split(',')
      .map((c) => `a.${c.trim()}`)
      .join(', ')}
     FROM mentions m JOIN accounts a ON a.id = m.account_id WHERE m.status_id = ANY($1::bigint[]) ORDER BY m.id`,
    [statusIds],
  );
  const mediaRows = await tb.db.query<MediaRow>(
    'SELECT * FROM media_attachments WHERE status_id = ANY($1::bigint[]) ORDER BY id',
    [statusIds],
  );
  const accounts = await loadAccounts(
    tb,
    [...byId.values()].map((s) => s.account_id),
  );
  return {
    tb,
    viewerId,
    opts,
    byId,
    accounts,
    mentionsByStatus: groupBy(mentionRows.rows, (r) => r.status_id),
    mediaByStatus: groupBy(mediaRows.rows, (m) => m.status_id!),
    ...(await viewerInteractions(tb, viewerId, statusIds)),
  };
}

/** The fields only a signed-in viewer gets. */
function viewerFields(page: StatusPage, s: StatusRow): Json {
  const { viewerId } = page;
  if (!viewerId) return {};
  return {
    favourited: page.favourited.has(s.id),
    reblogged: page.reblogged.has(s.id),
    muted: false,
    bookmarked: false,
    ...(s.account_id === viewerId && s.visibility <= 2 && !s.reblog_of_id ? { pinned: false } : {}),
    filtered: [],
  };
}

/** REST::StatusSerializer; undefined when its account, or the original of a reblog, is missing. */
function statusJson(page: StatusPage, s: StatusRow): Json | undefined {
  const { tb, opts } = page;
  const base = tb.baseUrl;
  const account = page.accounts.get(s.account_id);
  if (!account) return undefined;
  let reblog: Json | null = null;
  if (s.reblog_of_id) {
    const original = page.byId.get(s.reblog_of_id);
    const r = original ? statusJson(page, original) : undefined;
    if (!r) return undefined;
    reblog = r;
  }
  const mentions = page.mentionsByStatus.get(s.id) ?? [];
  const content = s.local
    ? renderContent(
        s.text,
        mentions.map((m) => ({ username: m.username, domain: m.domain, url: accountUrl(m, base) })),
        base,
        tb.domain,
      )
    : s.text;
  return {
    id: s.id,
    created_at: s.created_at.toISOString(),
    in_reply_to_id: s.in_reply_to_id,
    in_reply_to_account_id: s.in_reply_to_account_id,
    sensitive: s.sensitive,
    spoiler_text: s.spoiler_text,
    visibility: VISIBILITY_NAME[s.visibility] ?? 'public',
    language: s.language,
    uri: s.uri,
    url: s.url,
    replies_count: s.replies_count,
    reblogs_count: s.reblogs_count,
    favourites_count: s.favourites_count,
    quotes_count: 0,
    edited_at: null,
    ...viewerFields(page, s),
    ...(opts.sourceRequested ? { text: s.text } : { content }),
    reblog,
    account: serializeAccount(account, base),
    media_attachments: (page.mediaByStatus.get(s.id) ?? []).map((m) => serializeMedia(m, base)),
    mentions: mentions.map((m) => ({
      id: m.id,
      username: m.username,
      url: accountUrl(m, base),
      acct: accountAcct(m),
    })),
    tags: s.local
      ? extractHashtags(s.text).map((name) => ({ name, url: `${base}/tags/${encodeURIComponent(name)}` }))
      : [],
    emojis: [],
    quote: null,
    card: null,
    poll: null,
    ...(opts.overrides?.[s.id] ?? {}),
  };
}

/**
 * Statuses by id, rendered for `viewerId` (favourited/reblogged) or
 * anonymously, in the order given; missing or deleted ones are skipped.
 */
export async function renderStatuses(
  tb: Testbed,
  ids: string[],
  viewerId?: string,
  opts: RenderOptions = {},
): Promise<Json[]> {
  if (ids.length === 0) return [];
  const page = await loadStatusPage(tb, ids, viewerId, opts);
  const out: Json[] = [];
  for (const id of ids) {
    const s = page.byId.get(id);
    if (!s) continue;
    const json = statusJson(page, s);
    if (json) out.push(json);
  }
  return out;
}

export async function renderStatus(
  tb: Testbed,
  id: string,
  viewerId?: string,
  opts: RenderOptions = {},
): Promise<Json | undefined> {
  return (await renderStatuses(tb, [id], viewerId, opts))[0];
}

/** REST::NotificationSerializer (ungrouped). Notifications whose status is gone are skipped. */
export async function renderNotifications(
  tb: Testbed,
  rows: NotificationRow[],
  viewerId: string,
): Promise<Json[]> {
  const accounts = await loadAccounts(
    tb,
    rows.map((n) => n.from_account_id),
  );
  const statusIds = [...new Set(rows.map((n) => n.status_id).filter((x): x is string => x !== null))];
  const statuses = new Map((await renderStatuses(tb, statusIds, viewerId)).map((s) => [s.id as string, s]));
  const out: Json[] = [];
  for (const n of rows) {
    const account = accounts.get(n.from_account_id);
    if (!account) continue;
    const status = n.status_id ? statuses.get(n.status_id) : undefined;
    if (n.status_id && !status) continue;
    out.push({
      id: n.id,
      type: n.type,
      created_at: n.created_at.toISOString(),
      group_key: `ungrouped-${n.id}`,
      account: serializeAccount(account, tb.baseUrl),
      ...(status ? { status } : {}),
    });
  }
  return out;
}

/**
 * ActivityStreams documents for local objects, shaped like Mastodon's
 * ActivityPub serializers (ActorSerializer, NoteSerializer,
 * ActivitySerializer, AcceptFollowSerializer, ...). Audience (to/cc) follows
 * ActivityPub::TagManager#to and #cc.
 */
import { PUBLIC_COLLECTION } from '../../../src/mastodon/activitypub.js';
import type { Testbed } from '../context.js';
import { MEDIA_TYPE, VISIBILITY, VISIBILITY_NAME } from '../db/pool.js';
import { actorUriOf, ensureInstanceActor, type AccountRow } from './accounts.js';
import {
  AS_CONTEXT,
  INSTANCE_ACTOR_ID,
  SECURITY_CONTEXT,
  activityUriFor,
  followersUrlFor,
  followingUrlFor,
  inboxUrlFor,
  keyIdFor,
  mediaUrlFor,
  outboxUrlFor,
  profileUrlFor,
  sharedInboxUrl,
  statusUriFor,
} from './uris.js';

import type { MediaAttachmentRow as MediaRowFull, StatusRow } from '../db/rows.js';

export type { StatusRow };
/** The columns an outgoing Note's attachments need. */
export type MediaAttachmentRow = Pick<
  MediaRowFull,
  'id' | 'type' | 'file_path' | 'remote_url' | 'description' | 'meta'
>;

export type Json = Record<string, unknown>;

/** The JSON-LD context Mastodon puts on actors. */
export const ACTOR_CONTEXT: unknown[] = [
  AS_CONTEXT,
  SECURITY_CONTEXT,
  {
    manuallyApprovesFollowers: 'as:manuallyApprovesFollowers',
    toot: 'http://joinmastodon.org/ns#',
    featured: { '@id': 'toot:featured', '@type': '@id' },
    discoverable: 'toot:discoverable',
    indexable: 'toot:indexable',
    memorial: 'toot:memorial',
  },
];

/** The JSON-LD context Mastodon puts on notes and activities carrying them. */
export const NOTE_CONTEXT: unknown[] = [
  AS_CONTEXT,
  {
    ostatus: 'http://ostatus.org#',
    atomUri: 'ostatus:atomUri',
    inReplyToAtomUri: 'ostatus:inReplyToAtomUri',
    conversation: 'ostatus:conversation',
    sensitive: 'as:sensitive',
    toot: 'http://joinmastodon.org/ns#',
    blurhash: 'toot:blurhash',
    Hashtag: 'as:Hashtag',
  },
];

const iso = (d: Date | string) => new Date(d).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The status URI: the stored one, else TagManager's /users/:username/statuses/:id. */
export function statusUriOf(
  tb: Testbed,
  status: Pick<StatusRow, 'id' | 'uri'>,
  author: Pick<AccountRow, 'username'>,
): string {
  return status.uri || statusUriFor(tb, author.username, status.id);
}

// ---------------------------------------------------------------- actors

/** ActivityPub::ActorSerializer for a local account. */
export function actorDocument(tb: Testbed, account: AccountRow): Json {
  const uri = actorUriOf(tb, account);
  const u = account.username;
  return {
    '@context': ACTOR_CONTEXT,
    id: uri,
    type: account.actor_type || 'Person',
    following: followingUrlFor(tb, u),
    followers: followersUrlFor(tb, u),
    inbox: inboxUrlFor(tb, u),
    outbox: outboxUrlFor(tb, u),
    featured: `${uri}/collections/featured`,
    preferredUsername: u,
    name: account.display_name ?? '',
    summary: account.note ?? '',
    url: profileUrlFor(tb, u),
    manuallyApprovesFollowers: false,
    discoverable: true,
    indexable: false,
    published: iso(account.created_at),
    memorial: false,
    publicKey: { id: keyIdFor(uri), owner: uri, publicKeyPem: account.public_key },
    tag: [],
    attachment: [],
    endpoints: { sharedInbox: sharedInboxUrl(tb) },
  };
}

/** The instance actor (InstanceActorSerializer): Application, username = domain. */
export async function instanceActorDocument(tb: Testbed): Promise<Json> {
  const actor = await ensureInstanceActor(tb);
  const uri = actorUriOf(tb, actor);
  return {
    '@context': ACTOR_CONTEXT,
    id: uri,
    type: 'Application',
    inbox: `${uri}/inbox`,
    outbox: `${uri}/outbox`,
    preferredUsername: tb.domain,
    url: `${tb.baseUrl}/about/more?instance_actor=true`,
    manuallyApprovesFollowers: true,
    publicKey: { id: keyIdFor(uri), owner: uri, publicKeyPem: actor.public_key },
    endpoints: { sharedInbox: sharedInboxUrl(tb) },
  };
}

// ---------------------------------------------------------------- content

const escapeHtml = (s: string) =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');

/**
 * TextFormatter, reduced: plain local text to Mastodon's HTML — paragraphs on
 * blank lines, <br /> on newlines, links for URLs, h-card links for mentions
 * of known accounts.
 */
export function formatLocalText(tb: Testbed, text: string, mentions: AccountRow[] = []): string {
  const byAcct = new Map<string, AccountRow>();
  for (const m of mentions) {
    byAcct.set(`${m.username}@${m.domain ?? tb.domain}`.toLowerCase(), m);
    if (m.domain === null) byAcct.set(m.username.toLowerCase(), m);
  }
  const token =
    /(https?:\/\/[^\s<>"]+)|(@([A-Za-z0-9_]+(?:\.[A-Za-z0-9_-]+)*)(?:@([A-Za-z0-9.-]+(?::\d+)?))?)/g;
  const formatLine = (line: string) => {
    let out = '';
    let last = 0;
    for (const m of line.matchAll(token)) {
      out += escapeHtml(line.slice(last, m.index));
      last = m.index! + m[0].length;
      if (m[1]) {
        const href = escapeHtml(m[1]);
        out += `<a href="${href}" target="_blank" rel="nofollow noopener" translate="no">${href}</a>`;
        continue;
      }
      const acct = (m[4] ? `${m[3]}@${m[4]}` : m[3]!).toLowerCase();
      const account = byAcct.get(acct);
      if (!account) {
        out += escapeHtml(m[0]);
        continue;
      }
      const href = escapeHtml(account.url || actorUriOf(tb, account));
      out += `<span class="h-card" translate="no"><a href="${href}" class="u-url mention">@<span>${escapeHtml(account.username)}</span></a></span>`;
    }
    return out + escapeHtml(line.slice(last));
  };
  return text
    .replace(/\r\n?/g, '\n')
    .split(/\n{2,}/)
    .filter((p) => p.length > 0)
    .map((p) => `<p>${p.split('\n').map(formatLine).join('<br />')}</p>`)
    .join('');
}

// ---------------------------------------------------------------- statuses

/** TagManager#to and #cc for a status. */
export function audience(
  tb: Testbed,
  status: Pick<StatusRow, 'visibility'>,
  author: AccountRow,
  mentioned: AccountRow[],
  reblogAuthor?: AccountRow,
): { to: string[]; cc: string[] } {
  const followers = followersUrlFor(tb, author.username);
  const mentionUris = mentioned.map((a) => actorUriOf(tb, a));
  const cc: string[] = reblogAuthor ? [actorUriOf(tb, reblogAuthor)] : [];
  switch (VISIBILITY_NAME[status.visibility] ?? 'direct') {
    case 'public':
      return { to: [PUBLIC_COLLECTION], cc: [...cc, followers, ...mentionUris] };
    case 'unlisted':
      return { to: [followers], cc: [...cc, PUBLIC_COLLECTION, ...mentionUris] };
    case 'private':
      return { to: [followers], cc: [...cc, ...mentionUris] };
    default:
      return { to: mentionUris, cc };
  }
}

export interface NoteParts {
  status: StatusRow;
  author: AccountRow;
  mentions: AccountRow[];
  media: MediaAttachmentRow[];
  inReplyToUri: string | null;
}

/** Load what a Note of a local status needs. */
export async function loadNoteParts(tb: Testbed, statusId: string): Promise<NoteParts | null> {
  const s = await tb.db.query<StatusRow>('SELECT * FROM statuses WHERE id = $1 AND deleted_at IS NULL', [
    statusId,
  ]);
  const status = s.rows[0];
  if (!status) return null;
  const [author, mentions, media, parent] = await Promise.all([
    tb.db.query<AccountRow>('SELECT * FROM accounts WHERE id = $1', [status.account_id]),
    tb.db.query<AccountRow>(
      'SELECT a.* FROM mentions m JOIN accounts a ON a.id = m.account_id WHERE m.status_id = $1 ORDER BY m.id',
      [statusId],
    ),
    tb.db.query<MediaAttachmentRow>(
      'SELECT id, type, file_path, remote_url, description, meta FROM media_attachments WHERE status_id = $1 ORDER BY id',
      [statusId],
    ),
    status.in_reply_to_id
      ? tb.db.query<{ uri: string; id: string; username: string }>(
          'SELECT s.uri, s.id, a.username FROM statuses s JOIN accounts a ON a.id = s.account_id WHERE s.id = $1',
          [status.in_reply_to_id],
        )
      : Promise.resolve({ rows: [] as { uri: string; id: string; username: string }[] }),
  ]);
  if (!author.rows[0]) return null;
  const p = parent.rows[0];
  return {
    status,
    author: author.rows[0],
    mentions: mentions.rows,
    media: media.rows,
    inReplyToUri: p ? p.uri || statusUriFor(tb, p.username, p.id) : null,
  };
}

const MIME_BY_EXT: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  mp4: 'video/mp4',
  webm: 'video/webm',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
};

/** ActivityPub::NoteSerializer. */
export function noteDocument(tb: Testbed, parts: NoteParts, withContext = true): Json {
  const { status, author, mentions, media } = parts;
  const uri = statusUriOf(tb, status, author);
  const { to, cc } = audience(tb, status, author, mentions);
  const content = status.local ? formatLocalText(tb, status.text, mentions) : status.text;
  const note: Json = {
    ...(withContext ? { '@context': NOTE_CONTEXT } : {}),
    id: uri,
    type: 'Note',
    summary: status.spoiler_text || null,
    inReplyTo: parts.inReplyToUri,
    published: iso(status.created_at),
    url: status.url || `${tb.baseUrl}/@${author.username}/${status.id}`,
    attributedTo: actorUriOf(tb, author),
    to,
    cc,
    sensitive: status.sensitive,
    atomUri: uri,
    inReplyToAtomUri: parts.inReplyToUri,
    content,
    ...(status.language ? { contentMap: { [status.language]: content } } : {}),
    attachment: media.map((m) => {
      const url = m.file_path ? mediaUrlFor(tb, m.file_path) : m.remote_url;
      const ext = /\.([a-z0-9]+)$/i.exec(url)?.[1]?.toLowerCase() ?? '';
      return {
        type: 'Document',
        mediaType:
          MIME_BY_EXT[ext] ?? (m.type === MEDIA_TYPE.image ? 'image/jpeg' : 'application/octet-stream'),
        url,
        name: m.description,
        ...(m.meta?.original?.width ? { width: m.meta.original.width, height: m.meta.original.height } : {}),
      };
    }),
    tag: mentions.map((a) => ({
      type: 'Mention',
      href: actorUriOf(tb, a),
      name: `@${a.username}@${a.domain ?? tb.domain}`,
    })),
  };
  return note;
}

/** ActivityPub::ActivitySerializer for a Create of a Note. */
export function createActivity(tb: Testbed, parts: NoteParts): Json {
  const note = noteDocument(tb, parts, false);
  return {
    '@context': NOTE_CONTEXT,
    id: activityUriFor(note.id as string),
    type: 'Create',
    actor: actorUriOf(tb, parts.author),
    published: note.published,
    to: note.to,
    cc: note.cc,
    object: note,
  };
}

/** An Announce of a reblog (status with reblog_of_id), as ActivitySerializer writes it. */
export async function announceActivity(
  tb: Testbed,
  reblog: StatusRow,
  author: AccountRow,
): Promise<Json | null> {
  const { rows } = await tb.db.query<
    StatusRow & { username: string; a_domain: string | null; a_uri: string }
  >(
    'SELECT s.*, a.username, a.domain AS a_domain, a.uri AS a_uri FROM statuses s JOIN accounts a ON a.id = s.account_id WHERE s.id = $1',
    [reblog.reblog_of_id],
  );
  const original = rows[0];
  if (!original) return null;
  const originalAuthor = (
    await tb.db.query<AccountRow>('SELECT * FROM accounts WHERE id = $1', [original.account_id])
  ).rows[0]!;
  const uri = statusUriOf(tb, reblog, author);
  const { to, cc } = audience(tb, reblog, author, [], originalAuthor);
  return {
    '@context': AS_CONTEXT,
    id: activityUriFor(uri),
    type: 'Announce',
    actor: actorUriOf(tb, author),
    published: iso(reblog.created_at),
    to,
    cc,
    object: statusUriOf(tb, original, { username: original.username }),
  };
}

/** ActivityPub::AcceptFollowSerializer. */
export function acceptFollowActivity(
  tb: Testbed,
  target: AccountRow,
  follower: AccountRow,
  followId: string,
  followActivityId: string,
): Json {
  return answerFollowActivity(tb, 'Accept', target, follower, followId, followActivityId);
}

/** ActivityPub::AcceptFollowSerializer / RejectFollowSerializer. */
export function answerFollowActivity(
  tb: Testbed,
  type: 'Accept' | 'Reject',
  target: AccountRow,
  follower: AccountRow,
  followId: string,
  followActivityId: string,
): Json {
  const targetUri = actorUriOf(tb, target);
  return {
    '@context': AS_CONTEXT,
    id: `${targetUri}#${type === 'Accept' ? 'accepts' : 'rejects'}/follows/${followId}`,
    type,
    actor: targetUri,
    object: { id: followActivityId, type: 'Follow', actor: follower.uri, object: targetUri },
  };
}

/** ActivityPub::FollowSerializer: a local account follows a remote one. */
export function followActivity(tb: Testbed, follower: AccountRow, target: AccountRow, id: string): Json {
  return {
    '@context': AS_CONTEXT,
    id,
    type: 'Follow',
    actor: actorUriOf(tb, follower),
    object: actorUriOf(tb, target),
  };
}

/** ActivityPub::UndoFollowSerializer. */
export function undoFollowActivity(
  tb: Testbed,
  follower: AccountRow,
  target: AccountRow,
  followId: string,
): Json {
  const actor = actorUriOf(tb, follower);
  return {
    '@context': AS_CONTEXT,
    id: `${followId}/undo`,
    type: 'Undo',
    actor,
    object: followActivity(tb, follower, target, followId),
  };
}

/** ActivityPub::DeleteSerializer for a local status (a Tombstone). */
export function deleteStatusActivity(
  tb: Testbed,
  status: Pick<StatusRow, 'id' | 'uri'>,
  author: AccountRow,
): Json {
  const uri = statusUriOf(tb, status, author);
  return {
    '@context': AS_CONTEXT,
    id: `${uri}#delete`,
    type: 'Delete',
    actor: actorUriOf(tb, author),
    object: { id: uri, type: 'Tombstone', atomUri: uri },
    to: [PUBLIC_COLLECTION],
  };
}

/** Whether a status goes to relays (StatusReachFinder#relay_inboxes: public only). */
export const isPublic = (status: Pick<StatusRow, 'visibility'>) => status.visibility === VISIBILITY.public;
export const isInstanceActor = (account: Pick<AccountRow, 'id'>) => String(account.id) === INSTANCE_ACTOR_ID;

/**
 * Local URIs, as Mastodon's ActivityPub::TagManager builds them, rooted at
 * the testbed's base URL (http://127.0.0.1:PORT in tests): the fleet reaches
 * the testbed there, so actors, keys and statuses are dereferenceable.
 */
import type { Testbed } from '../context.js';

export const AS_CONTEXT = 'https://www.w3.org/ns/activitystreams';
export const SECURITY_CONTEXT = 'https://w3id.org/security/v1';
/** Mastodon's Account.representative (the instance actor) has id -99. */
export const INSTANCE_ACTOR_ID = '-99';

export const accountUri = (tb: Testbed, username: string) =>
  `${tb.baseUrl}/users/${encodeURIComponent(username)}`;
export const keyIdFor = (actorUri: string) => `${actorUri}#main-key`;
export const inboxUrlFor = (tb: Testbed, username: string) => `${accountUri(tb, username)}/inbox`;
export const outboxUrlFor = (tb: Testbed, username: string) => `${accountUri(tb, username)}/outbox`;
export const followersUrlFor = (tb: Testbed, username: string) => `${accountUri(tb, username)}/followers`;
export const followingUrlFor = (tb: Testbed, username: string) => `${accountUri(tb, username)}/following`;
export const profileUrlFor = (tb: Testbed, username: string) =>
  `${tb.baseUrl}/@${encodeURIComponent(username)}`;
export const sharedInboxUrl = (tb: Testbed) => `${tb.baseUrl}/inbox`;
export const statusUriFor = (tb: Testbed, username: string, statusId: string) =>
  `${accountUri(tb, username)}/statuses/${statusId}`;
export const activityUriFor = (statusUri: string) => `${statusUri}/activity`;
export const instanceActorUri = (tb: Testbed) => `${tb.baseUrl}/actor`;
/** Where a local media file is served from (Mastodon: /system/...). */
export const mediaUrlFor = (tb: Testbed, filePath: string) =>
  `${tb.baseUrl}/system/${filePath.replace(/^\/+/, '')}`;

export type LocalResource =
  | { kind: 'account'; username: string }
  | { kind: 'status'; username: string; id: string }
  | { kind: 'instance_actor' };

/** Whether a URI belongs to this instance (TagManager#local_uri?). */
export function isLocalUri(tb: Testbed, uri: string): boolean {
  try {
    const u = new URL(uri);
    const base = new URL(tb.baseUrl);
    return (
      u.host.toLowerCase() === base.host.toLowerCase() || u.host.toLowerCase() === tb.domain.toLowerCase()
    );
  } catch {
    return false;
  }
}

/** What a local URI names, or null (TagManager#uri_to_local_id). */
export function parseLocalUri(tb: Testbed, uri: string): LocalResource | null {
  if (!isLocalUri(tb, uri)) return null;
  const path = new URL(uri).pathname;
  if (path === '/actor') return { kind: 'instance_actor' };
  let m = /^\/users\/([^/]+)\/statuses\/(\d+)(?:\/activity)?$/.exec(path);
  if (m) return { kind: 'status', username: decodeURIComponent(m[1]!), id: m[2]! };
  m = /^\/users\/([^/]+)$/.exec(path) ?? /^\/@([^/]+)$/.exec(path);
  if (m) return { kind: 'account', username: decodeURIComponent(m[1]!) };
  return null;
}

/** Mastodon's value_or_id: a JSON-LD reference is a string or an object with id. */
export function valueOrId(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { id?: unknown }).id === 'string')
    return (value as { id: string }).id;
  return undefined;
}

/** as_array. */
export function asArray<T = unknown>(value: unknown): T[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]) as T[];
}

/** equals_or_includes?. */
export function equalsOrIncludes(haystack: unknown, needle: string): boolean {
  return asArray(haystack).some((v) => valueOrId(v) === needle);
}

/** Host of a URL (with a non-default port), lower-case; '' when unparsable. */
export function hostOf(uri: string): string {
  try {
    return new URL(uri).host.toLowerCase();
  } catch {
    return '';
  }
}

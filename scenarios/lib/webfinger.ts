/**
 * Reading WebFinger and actor documents (pure: the tests import it): the
 * ActivityPub `self` link, an actor's id, profile URL, inbox and shared
 * inbox, and the `name` tag of an inbox URL.
 */

const JSON_TYPES = /application\/(activity\+json|ld\+json|json|jrd\+json)/;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The `self` link of a WebFinger document (an ActivityPub actor). */
export function selfLink(jrd: Record<string, unknown> | undefined): string | undefined {
  const links = Array.isArray(jrd?.links) ? (jrd.links as Record<string, unknown>[]) : [];
  const self = links.find((l) => l && l.rel === 'self' && JSON_TYPES.test(String(l.type ?? '')));
  return str(self?.href);
}

/** Actor URI, profile URL, inbox and shared inbox from an actor document. */
export function actorEndpoints(
  actor: Record<string, unknown> | undefined,
): { id: string; url: string; inbox: string; sharedInbox: string | null } | undefined {
  const id = str(actor?.id);
  const inbox = str(actor?.inbox);
  if (!id || !inbox) return undefined;
  const endpoints = actor?.endpoints as Record<string, unknown> | undefined;
  const url = Array.isArray(actor?.url) ? str((actor.url as unknown[])[0]) : str(actor?.url);
  return { id, url: url ?? id, inbox, sharedInbox: str(endpoints?.sharedInbox) ?? null };
}

/** The URL template of an inbox for the `name` tag: the account's name replaced by {username}. */
export function inboxName(inbox: string, username: string): string {
  const path = inbox.replace(/^https?:\/\/[^/]+/, '') || '/';
  return username ? path.split(encodeURIComponent(username)).join('{username}') : path;
}

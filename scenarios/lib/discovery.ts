/**
 * Discover, don't guess: the target's local accounts as ActivityPub sees
 * them, resolved in setup() the way a remote server resolves them. The
 * domain comes from GET /api/v2/instance (`domain`, Mastodon's LOCAL_DOMAIN;
 * /api/v1/instance `uri` on older servers; the BASE_URL host otherwise); each
 * account through WebFinger (`acct:NAME@DOMAIN`, the `self` link) and then its
 * actor document (Accept: application/activity+json) for the actor URI, the
 * profile URL, the inbox and the shared inbox. Mastodon's are
 * BASE/users/NAME and BASE/inbox; other servers differ (e.g. BASE/@NAME).
 */
import http from 'k6/http';
import { record, type Response } from './client.ts';
import type { LocalMention } from './content.ts';
import { actorEndpoints, selfLink } from './webfinger.ts';

export { actorEndpoints, inboxName, selfLink } from './webfinger.ts';

/** A local account of the target, as a remote server addresses it. */
export interface LocalAccount extends LocalMention {
  /** Index of the account in TOKENS. */
  tokenIndex: number;
  inbox: string;
  /** The shared inbox the actor advertises (endpoints.sharedInbox), else null. */
  sharedInbox: string | null;
}

export interface Discovery {
  /** The target's account domain (Mastodon's LOCAL_DOMAIN), e.g. social.example. */
  domain: string;
  accounts: LocalAccount[];
}

const discoveryTags = (endpoint: string, name: string) => ({
  station: 'discovery',
  endpoint,
  name,
});

async function getJson(
  url: string,
  accept: string,
  tags: Record<string, string>,
  expected: readonly number[] = [200],
): Promise<{ res: Response; doc: Record<string, unknown> | undefined }> {
  const res = await http.asyncRequest('GET', url, null, {
    headers: { Accept: accept },
    tags,
    timeout: '30s',
    responseType: 'text',
  });
  record(res, tags, expected);
  let doc: Record<string, unknown> | undefined;
  if (res.status === 200 && typeof res.body === 'string') {
    try {
      const parsed = JSON.parse(res.body) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
        doc = parsed as Record<string, unknown>;
    } catch {
      doc = undefined;
    }
  }
  return { res, doc };
}

/** The account domain of the target: /api/v2/instance `domain`, /api/v1/instance `uri`, or BASE_URL's host. */
export async function instanceDomain(base: string): Promise<string> {
  const v2 = await getJson(
    `${base}/api/v2/instance`,
    'application/json',
    discoveryTags('api/v2/instances#show', '/api/v2/instance'),
    [200, 404],
  );
  if (typeof v2.doc?.domain === 'string' && v2.doc.domain) return v2.doc.domain;
  const v1 = await getJson(
    `${base}/api/v1/instance`,
    'application/json',
    discoveryTags('api/v1/instances#show', '/api/v1/instance'),
    [200, 404],
  );
  if (typeof v1.doc?.uri === 'string' && v1.doc.uri) return v1.doc.uri.replace(/^https?:\/\//, '');
  return base.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
}

/** Resolve one account; a string saying what failed when it cannot be. */
export async function discoverAccount(
  base: string,
  domain: string,
  username: string,
  tokenIndex: number,
): Promise<LocalAccount | string> {
  const acct = `${username}@${domain}`;
  const wf = await getJson(
    `${base}/.well-known/webfinger?resource=${encodeURIComponent(`acct:${acct}`)}`,
    'application/jrd+json, application/json',
    discoveryTags('well_known/webfinger#show', '/.well-known/webfinger'),
  );
  const self = selfLink(wf.doc);
  if (!self) return `WebFinger acct:${acct} answered ${wf.res.status} without an ActivityPub self link`;
  const doc = await getJson(
    self,
    'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
    discoveryTags('activitypub/actors#show', '{actor}'),
  );
  const ep = actorEndpoints(doc.doc);
  if (!ep) return `actor ${self} (of acct:${acct}) answered ${doc.res.status} without id and inbox`;
  return {
    username,
    acct,
    uri: ep.id,
    url: ep.url,
    inbox: ep.inbox,
    sharedInbox: ep.sharedInbox,
    tokenIndex,
  };
}

/**
 * Resolve the first `count` accounts of TOKENS, `concurrency` at a time. Throws when none resolves
 * (nothing could be addressed); warns, naming the first failure, when some do not.
 */
export async function discoverAccounts(
  base: string,
  tokens: ArrayLike<{ username: string }>,
  count: number,
  concurrency = 16,
): Promise<Discovery> {
  const domain = await instanceDomain(base);
  const n = Math.min(tokens.length, Math.max(0, Math.floor(count)));
  const accounts: LocalAccount[] = [];
  const failures: string[] = [];
  for (let start = 0; start < n; start += concurrency) {
    const batch: Promise<LocalAccount | string>[] = [];
    for (let i = start; i < Math.min(n, start + concurrency); i++)
      batch.push(discoverAccount(base, domain, tokens[i]!.username, i));
    for (const r of await Promise.all(batch)) {
      if (typeof r === 'string') failures.push(r);
      else accounts.push(r);
    }
  }
  if (n > 0 && accounts.length === 0)
    throw new Error(`discovery: no local account of ${base} could be resolved (${failures[0]})`);
  if (failures.length)
    console.warn(
      `discovery: ${failures.length} of ${n} accounts not resolved, left out (first: ${failures[0]})`,
    );
  return { domain, accounts };
}

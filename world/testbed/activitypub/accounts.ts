/**
 * Accounts as ActivityPub sees them: local accounts and the instance actor,
 * and remote actors fetched and cached as Mastodon does
 * (ActivityPub::FetchRemoteKeyService → FetchRemoteActorService with a
 * WebFinger round trip → ProcessAccountService, which also reads the
 * outbox/followers/following totals and downloads avatar and header).
 */
import type { Testbed } from '../context.js';
import { newRsaKeyPair } from '../../keys.js';
import { HttpClientError, type FederationResponse } from './http.js';
import { downloadProfileImage } from './media.js';
import { SignatureError, type KeyHolder, type KeyResolver } from '../../../src/mastodon/signatures.js';
import { federation } from './state.js';
import {
  INSTANCE_ACTOR_ID,
  accountUri,
  asArray,
  hostOf,
  instanceActorUri,
  isLocalUri,
  keyIdFor,
  parseLocalUri,
  valueOrId,
} from './uris.js';
import type { AccountRow } from '../db/rows.js';

export type { AccountRow };

/** An account that verified a request (KeyHolder for signatures.ts). */
export interface SignedActor extends KeyHolder {
  account: AccountRow;
}

/** ActivityPub::FetchRemoteActorService::Error (and FetchRemoteKeyService::Error, Webfinger::Error). */
export class ResolveError extends Error {
  override name = 'ResolveError';
}

/** FetchRemoteActorService::SUPPORTED_TYPES. */
export const ACTOR_TYPES = ['Application', 'Group', 'Organization', 'Person', 'Service'];
/** Accept header of Mastodon's JSON-LD fetches. */
export const AP_ACCEPT =
  'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"';
/** Account#possibly_stale?: last WebFinger more than a day ago. */
export const STALE_AFTER_MS = 24 * 3600 * 1000;

export const isLocal = (a: Pick<AccountRow, 'domain'>) => a.domain === null;

/** The actor URI of an account (computed for local ones, as TagManager#uri_for). */
export function actorUriOf(
  tb: Testbed,
  account: Pick<AccountRow, 'id' | 'username' | 'domain' | 'uri'>,
): string {
  if (account.domain !== null) return account.uri;
  if (String(account.id) === INSTANCE_ACTOR_ID) return instanceActorUri(tb);
  return accountUri(tb, account.username);
}

/** Account#preferred_inbox_url: the shared inbox when the remote has one. */
export function preferredInbox(account: Pick<AccountRow, 'shared_inbox_url' | 'inbox_url'>): string {
  return account.shared_inbox_url || account.inbox_url || '';
}

/** `username@domain` for messages (to_log_human_identifier). */
export function acctOf(tb: Testbed, a: Pick<AccountRow, 'username' | 'domain'>): string {
  return `${a.username}@${a.domain ?? tb.domain}`;
}

// ---------------------------------------------------------------- lookups

export async function accountById(tb: Testbed, id: string | number): Promise<AccountRow | null> {
  const { rows } = await tb.db.query<AccountRow>('SELECT * FROM accounts WHERE id = $1', [String(id)]);
  return rows[0] ?? null;
}

export async function localAccountByUsername(tb: Testbed, username: string): Promise<AccountRow | null> {
  const { rows } = await tb.db.query<AccountRow>(
    'SELECT * FROM accounts WHERE lower(username) = lower($1) AND domain IS NULL AND id <> $2',
    [username, INSTANCE_ACTOR_ID],
  );
  return rows[0] ?? null;
}

/** TagManager#uri_to_actor: local URIs by path, remote ones by uri (fragment dropped). */
export async function accountFromUri(tb: Testbed, uri: string | undefined): Promise<AccountRow | null> {
  if (!uri) return null;
  const local = parseLocalUri(tb, uri);
  if (local) {
    if (local.kind === 'instance_actor') return ensureInstanceActor(tb);
    if (local.kind === 'account') return localAccountByUsername(tb, local.username);
    return null;
  }
  const bare = uri.split('#')[0]!;
  const { rows } = await tb.db.query<AccountRow>('SELECT * FROM accounts WHERE uri = $1', [bare]);
  if (rows[0]) return rows[0];
  if (isLocalUri(tb, uri)) {
    const byUri = await tb.db.query<AccountRow>('SELECT * FROM accounts WHERE uri = $1 AND domain IS NULL', [
      uri,
    ]);
    return byUri.rows[0] ?? null;
  }
  return null;
}

/** The remote account owning keyId (by key_id, then by the keyId's URI without fragment). */
export async function accountByKeyId(tb: Testbed, keyId: string): Promise<AccountRow | null> {
  const { rows } = await tb.db.query<AccountRow>(
    'SELECT * FROM accounts WHERE domain IS NOT NULL AND (key_id = $1 OR uri = $2) ORDER BY (key_id = $1) DESC NULLS LAST LIMIT 1',
    [keyId, keyId.split('#')[0]],
  );
  return rows[0] ?? null;
}

// ---------------------------------------------------------------- instance actor

const instanceActors = new WeakMap<Testbed, Promise<AccountRow>>();

/**
 * Account.representative: the instance actor (id -99, type Application,
 * username = the domain). Signs fetches and relay subscriptions. Created on
 * first use with its own RSA key; its URI follows the current base URL.
 */
export function ensureInstanceActor(tb: Testbed): Promise<AccountRow> {
  let p = instanceActors.get(tb);
  if (!p) {
    p = (async () => {
      const uri = instanceActorUri(tb);
      let { rows } = await tb.db.query<AccountRow>('SELECT * FROM accounts WHERE id = $1', [
        INSTANCE_ACTOR_ID,
      ]);
      if (!rows[0]) {
        const keys = await newRsaKeyPair();
        await tb.db.query(
          `INSERT INTO accounts (id, username, domain, uri, url, inbox_url, outbox_url, public_key, private_key, actor_type, key_id)
           VALUES ($1, $2, NULL, $3, $4, $5, $6, $7, $8, 'Application', NULL) ON CONFLICT DO NOTHING`,
          [
            INSTANCE_ACTOR_ID,
            tb.domain,
            uri,
            `${tb.baseUrl}/about/more?instance_actor=true`,
            `${uri}/inbox`,
            `${uri}/outbox`,
            keys.publicKeyPem,
            keys.privateKeyPem,
          ],
        );
        ({ rows } = await tb.db.query<AccountRow>('SELECT * FROM accounts WHERE id = $1', [
          INSTANCE_ACTOR_ID,
        ]));
      }
      let actor = rows[0];
      if (!actor) throw new Error('could not create the instance actor (accounts id -99)');
      if (actor.uri !== uri || actor.username !== tb.domain) {
        const updated = await tb.db.query<AccountRow>(
          'UPDATE accounts SET uri = $2, username = $3, url = $4, inbox_url = $5, outbox_url = $6, updated_at = now() WHERE id = $1 RETURNING *',
          [
            INSTANCE_ACTOR_ID,
            uri,
            tb.domain,
            `${tb.baseUrl}/about/more?instance_actor=true`,
            `${uri}/inbox`,
            `${uri}/outbox`,
          ],
        );
        actor = updated.rows[0]!;
      }
      return actor;
    })();
    p.catch(() => instanceActors.delete(tb));
    instanceActors.set(tb, p);
  }
  return p;
}

/** Request signer for a local account (on_behalf_of). */
export function signerFor(tb: Testbed, account: AccountRow): { keyId: string; privateKeyPem: string } {
  if (!account.private_key) throw new Error(`account ${account.id} has no private key (not local)`);
  return { keyId: keyIdFor(actorUriOf(tb, account)), privateKeyPem: account.private_key };
}

// ---------------------------------------------------------------- fetching

/** Mastodon's valid_activitypub_content_type?. */
export function isActivityPubContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const [mime, ...params] = contentType.split(';').map((s) => s.trim());
  if (mime?.toLowerCase() === 'application/activity+json') return true;
  if (mime?.toLowerCase() !== 'application/ld+json') return false;
  return params.some(
    (p) =>
      p.startsWith('profile="') &&
      p.slice(9, -1).split(/\s+/).includes('https://www.w3.org/ns/activitystreams'),
  );
}

type Json = Record<string, unknown>;

/**
 * JsonLdHelper#fetch_resource_without_id_validation: a GET signed by the
 * instance actor; the JSON object on 200 with an ActivityPub content type,
 * else null. Connection errors throw.
 */
export async function fetchResourceWithoutIdValidation(tb: Testbed, uri: string): Promise<Json | null> {
  const actor = await ensureInstanceActor(tb);
  const res = await federation(tb).http.request({
    url: uri,
    headers: { Accept: AP_ACCEPT },
    signAs: signerFor(tb, actor),
  });
  if (res.status !== 200 || !isActivityPubContentType(String(res.headers['content-type'] ?? ''))) return null;
  try {
    const json = JSON.parse(res.body.toString('utf8')) as unknown;
    return json && typeof json === 'object' && !Array.isArray(json) ? (json as Json) : null;
  } catch {
    return null;
  }
}

/**
 * JsonLdHelper#fetch_resource: when the id is not known, fetch once, take the
 * document's id, and fetch again by that id (so a cold key costs two GETs of
 * the actor); the result must carry the id it was fetched by.
 */
export async function fetchResource(tb: Testbed, uri: string, idIsKnown: boolean): Promise<Json | null> {
  let target = uri;
  if (!idIsKnown) {
    const first = await fetchResourceWithoutIdValidation(tb, uri);
    const id = first?.id;
    if (typeof id !== 'string' || !/^https?:\/\//.test(id)) return null;
    target = id;
  }
  const json = await fetchResourceWithoutIdValidation(tb, target);
  return json && json.id === target ? json : null;
}

function isActorType(json: Json): boolean {
  return asArray(json.type).some((t) => typeof t === 'string' && ACTOR_TYPES.includes(t));
}

/**
 * ActivityPub::FetchRemoteKeyService: fetch the key document (normally the
 * actor itself, `#main-key` dropped by HTTP); a bare key object leads to its
 * owner, who must list that key. Returns the (created or updated) account.
 */
export async function fetchRemoteKey(tb: Testbed, keyId: string): Promise<AccountRow> {
  if (!keyId) throw new ResolveError('No key URI given');
  const json = await fetchResource(tb, keyId, false);
  if (!json) throw new ResolveError(`Unable to fetch key JSON at ${keyId}`);
  if (isActorType(json)) return fetchRemoteActor(tb, json.id as string, { prefetched: json });
  if (!(typeof json.publicKeyPem === 'string' && json.owner))
    throw new ResolveError(`Unexpected object type for key ${keyId}`);
  const ownerUri = valueOrId(json.owner)!;
  const owner = await fetchResource(tb, ownerUri, true);
  if (!owner) throw new ResolveError(`Unable to fetch actor JSON ${ownerUri}`);
  if (!isActorType(owner))
    throw new ResolveError(
      `Unexpected object type for actor ${ownerUri} (expected any of: ${ACTOR_TYPES.join(', ')})`,
    );
  const listed = asArray(owner.publicKey).map(valueOrId);
  if (!listed.includes(json.id as string))
    throw new ResolveError(`publicKey id for ${ownerUri} does not correspond to ${String(json.id)}`);
  return fetchRemoteActor(tb, ownerUri, { prefetched: owner });
}

/**
 * ActivityPub::FetchRemoteActorService: fetch (unless prefetched), check the
 * document, WebFinger round trip (unless onlyKey), then ProcessAccountService.
 */
export async function fetchRemoteActor(
  tb: Testbed,
  uri: string,
  opts: { prefetched?: Json; onlyKey?: boolean } = {},
): Promise<AccountRow> {
  if (isLocalUri(tb, uri)) {
    const local = await accountFromUri(tb, uri);
    if (!local) throw new ResolveError(`Local actor ${uri} not found`);
    return local;
  }
  const json = opts.prefetched ?? (await fetchResource(tb, uri, true));
  if (!json) throw new ResolveError(`Error fetching actor JSON at ${uri}`);
  if (!isActorType(json))
    throw new ResolveError(
      `Unexpected object type for actor ${uri} (expected any of: ${ACTOR_TYPES.join(', ')})`,
    );
  const username = json.preferredUsername;
  if (typeof username !== 'string' || !username) {
    throw new ResolveError(
      `Actor ${uri} has no 'preferredUsername', which is a requirement for Mastodon compatibility`,
    );
  }
  const actorUri = json.id as string;
  let domain = hostOf(actorUri);
  if (!opts.onlyKey) domain = await checkWebfinger(tb, username, domain, actorUri);
  return processAccount(tb, username, domain, json, { onlyKey: opts.onlyKey ?? false });
}

interface Jrd {
  subject?: string;
  links?: { rel?: string; type?: string; href?: string }[];
}

/** Webfinger#perform: GET https://DOMAIN/.well-known/webfinger?resource=acct:USER@DOMAIN (unsigned). */
export async function webfinger(tb: Testbed, acct: string): Promise<Jrd> {
  const domain = acct.split('@').pop()!;
  const url = `https://${domain}/.well-known/webfinger?resource=${encodeURIComponent(`acct:${acct}`)}`;
  let res: FederationResponse;
  try {
    res = await federation(tb).http.request({
      url,
      headers: { Accept: 'application/jrd+json, application/json' },
    });
  } catch (e) {
    throw new ResolveError(`Webfinger error when resolving ${acct}: ${(e as Error).message}`);
  }
  if (res.status !== 200)
    throw new ResolveError(
      `Webfinger error when resolving ${acct}: request for ${url} returned HTTP ${res.status}`,
    );
  try {
    return JSON.parse(res.body.toString('utf8')) as Jrd;
  } catch {
    throw new ResolveError(`Webfinger error when resolving ${acct}: invalid JSON in response for ${url}`);
  }
}

/**
 * ResolveAccountService for an unknown `username@domain`: WebFinger for the
 * actor's URI, then FetchRemoteActorService (which checks WebFinger again,
 * as Mastodon's does). Runs inside the request that needed the account.
 */
export async function resolveAccount(tb: Testbed, username: string, domain: string): Promise<AccountRow> {
  const href = selfLink(await webfinger(tb, `${username}@${domain}`));
  if (!href)
    throw new ResolveError(`Webfinger response for ${username}@${domain} has no ActivityPub self link`);
  return fetchRemoteActor(tb, href);
}

const selfLink = (jrd: Jrd) =>
  jrd.links?.find(
    (l) =>
      l.rel === 'self' &&
      (l.type === 'application/activity+json' || (l.type ?? '').startsWith('application/ld+json')),
  )?.href;

function splitAcct(subject: string | undefined): [string, string] {
  const s = (subject ?? '').replace(/^acct:/, '');
  const at = s.lastIndexOf('@');
  return at < 0 ? [s, ''] : [s.slice(0, at), s.slice(at + 1)];
}

/**
 * FetchRemoteActorService#check_webfinger!: the handle must loop back to the actor URI; returns the confirmed
 * domain.
 */
async function checkWebfinger(tb: Testbed, username: string, domain: string, uri: string): Promise<string> {
  let jrd = await webfinger(tb, `${username}@${domain}`);
  let [u, d] = splitAcct(jrd.subject);
  if (u.toLowerCase() !== username.toLowerCase() || d.toLowerCase() !== domain.toLowerCase()) {
    jrd = await webfinger(tb, `${u}@${d}`);
    const [u2, d2] = splitAcct(jrd.subject);
    if (u2.toLowerCase() !== u.toLowerCase() || d2.toLowerCase() !== d.toLowerCase()) {
      throw new ResolveError(`Too many webfinger redirects for URI ${uri} (stopped at ${u2}@${d2})`);
    }
    [u, d] = [u2, d2];
  }
  if (selfLink(jrd) !== uri)
    throw new ResolveError(`Webfinger response for ${u}@${d} does not loop back to ${uri}`);
  return d.toLowerCase();
}

function publicKeyOf(json: Json): { id?: string; pem?: string } {
  const first = asArray(json.publicKey)[0];
  if (first && typeof first === 'object') {
    const k = first as { id?: unknown; publicKeyPem?: unknown };
    return {
      id: typeof k.id === 'string' ? k.id : undefined,
      pem: typeof k.publicKeyPem === 'string' ? k.publicKeyPem : undefined,
    };
  }
  return {};
}

function imageUrl(value: unknown): string | undefined {
  const first = asArray(value)[0];
  if (typeof first === 'string') return first;
  if (first && typeof first === 'object') {
    const url = (first as { url?: unknown }).url;
    return valueOrId(asArray(url)[0]) ?? (typeof url === 'string' ? url : undefined);
  }
  return undefined;
}

async function collectionTotal(tb: Testbed, url: unknown): Promise<number | null> {
  if (typeof url !== 'string' || !url) return null;
  try {
    const c = await fetchResourceWithoutIdValidation(tb, url);
    return c && typeof c.totalItems === 'number' ? c.totalItems : null;
  } catch {
    return null; // HTTP::Error is ignored for collection totals
  }
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

/**
 * ActivityPub::ProcessAccountService: create or update the remote account
 * from its actor document. Unless onlyKey: statuses/following/followers
 * totals from the collections (three signed GETs) and avatar and header
 * downloaded (synchronously, as save_with_optional_media! does).
 */
export async function processAccount(
  tb: Testbed,
  username: string,
  domain: string,
  json: Json,
  opts: { onlyKey: boolean },
): Promise<AccountRow> {
  const uri = json.id as string;
  const key = publicKeyOf(json);
  if (opts.onlyKey) {
    const { rows } = await tb.db.query<AccountRow>(
      'UPDATE accounts SET public_key = $2, key_id = $3, updated_at = now() WHERE uri = $1 AND domain IS NOT NULL RETURNING *',
      [uri, key.pem ?? '', key.id ?? null],
    );
    if (rows[0]) return rows[0];
  }
  if (!json.inbox) throw new ResolveError(`Actor ${uri} has no inbox`);
  const endpoints = json.endpoints && typeof json.endpoints === 'object' ? (json.endpoints as Json) : {};
  const [statuses, following, followers] = opts.onlyKey
    ? [null, null, null]
    : await Promise.all([
        collectionTotal(tb, json.outbox),
        collectionTotal(tb, json.following),
        collectionTotal(tb, json.followers),
      ]);
  const actorType = asArray<string>(json.type).find((t) => ACTOR_TYPES.includes(t)) ?? 'Person';
  const values = [
    username,
    domain,
    str(json.name),
    str(json.summary),
    uri,
    valueOrId(asArray(json.url)[0]) ?? uri,
    str(json.inbox),
    str(endpoints.sharedInbox) || str(json.sharedInbox),
    str(json.outbox),
    str(json.followers),
    key.id ?? null,
    key.pem ?? '',
    actorType,
    followers,
    following,
    statuses,
    opts.onlyKey ? null : new Date(),
  ];
  const set = `display_name = $3, note = $4, uri = $5, url = $6, inbox_url = $7, shared_inbox_url = $8, outbox_url = $9,
    followers_url = $10, key_id = $11, public_key = $12, actor_type = $13,
    followers_count = COALESCE($14, accounts.followers_count), following_count = COALESCE($15, accounts.following_count),
    statuses_count = COALESCE($16, accounts.statuses_count), last_webfingered_at = COALESCE($17, accounts.last_webfingered_at), updated_at = now()`;
  let account: AccountRow | undefined;
  for (let attempt = 0; attempt < 2 && !account; attempt++) {
    const existing = await tb.db.query<{ id: string }>(
      'SELECT id FROM accounts WHERE uri = $1 OR (lower(username) = lower($2) AND lower(domain) = lower($3)) ORDER BY (uri = $1) DESC LIMIT 1',
      [uri, username, domain],
    );
    try {
      if (existing.rows[0]) {
        const { rows } = await tb.db.query<AccountRow>(
          `UPDATE accounts SET username = $1, domain = $2, ${set} WHERE id = $18 RETURNING *`,
          [...values, existing.rows[0].id],
        );
        account = rows[0];
      } else {
        const { rows } = await tb.db.query<AccountRow>(
          `INSERT INTO accounts (username, domain, display_name, note, uri, url, inbox_url, shared_inbox_url, outbox_url, followers_url,
             key_id, public_key, actor_type, followers_count, following_count, statuses_count, last_webfingered_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, COALESCE($14, 0), COALESCE($15, 0), COALESCE($16, 0), $17)
           ON CONFLICT (uri) DO UPDATE SET ${set} RETURNING *`,
          values,
        );
        account = rows[0];
      }
    } catch (e) {
      if ((e as { code?: string }).code !== '23505' || attempt > 0) throw e; // raced on username/domain: retry as update
    }
  }
  if (!account) throw new ResolveError(`could not store actor ${uri}`);
  if (!opts.onlyKey) {
    await Promise.all([
      downloadProfileImage(tb, account.id, 'avatar', imageUrl(json.icon)),
      downloadProfileImage(tb, account.id, 'header', imageUrl(json.image)),
    ]);
  }
  return account;
}

/** Account#refresh!: re-resolve a stale actor completely. */
export async function refreshAccount(tb: Testbed, account: AccountRow): Promise<AccountRow> {
  return fetchRemoteActor(tb, account.uri);
}

/**
 * An actor by URI: the stored one, or fetched and stored now (synchronously,
 * as Mastodon does inside the request or job that needs it).
 */
export async function findOrFetchActor(tb: Testbed, uri: string | undefined): Promise<AccountRow | null> {
  if (!uri) return null;
  const known = await accountFromUri(tb, uri);
  if (known) return known;
  if (isLocalUri(tb, uri)) return null;
  try {
    return await fetchRemoteActor(tb, uri.split('#')[0]!);
  } catch (e) {
    if (e instanceof ResolveError || e instanceof HttpClientError) return null;
    throw e;
  }
}

const toHolder = (tb: Testbed, account: AccountRow): SignedActor => ({
  account,
  publicKeyPem: account.public_key,
  label: `${acctOf(tb, account)} ${account.uri}`,
});

/**
 * The inbox's key resolver (SignatureVerification#actor_from_key_id and
 * #actor_refresh_key!): a stored key, or the key fetched synchronously; on a
 * failed verification the key is refetched once (a full refresh when the
 * account is stale, else only the key).
 */
export function keyResolver(tb: Testbed): KeyResolver<SignedActor> {
  const wrap = async (work: () => Promise<AccountRow | null>): Promise<AccountRow | null> => {
    try {
      return await work();
    } catch (e) {
      if (e instanceof ResolveError) throw new SignatureError(e.message);
      if (e instanceof HttpClientError && e.code === 'host_validation')
        throw new SignatureError(`Requests to private network addresses are disallowed (${e.message})`);
      throw e;
    }
  };
  return {
    lookup: async (keyId) => {
      if (keyId.startsWith('acct:')) throw new SignatureError(`Public key not found for key ${keyId}`);
      if (isLocalUri(tb, keyId)) return null;
      const account = (await accountByKeyId(tb, keyId)) ?? (await wrap(() => fetchRemoteKey(tb, keyId)));
      return account ? toHolder(tb, account) : null;
    },
    refresh: async (_keyId, stale) => {
      const a = stale.account;
      const possiblyStale =
        !a.last_webfingered_at || Date.now() - new Date(a.last_webfingered_at).getTime() > STALE_AFTER_MS;
      const account = await wrap(() =>
        possiblyStale ? refreshAccount(tb, a) : fetchRemoteActor(tb, a.uri, { onlyKey: true }),
      );
      return account ? toHolder(tb, account) : null;
    },
  };
}

/**
 * ActivityPub::ProcessCollectionService#verify_account!: an activity whose
 * actor is not the account that signed the HTTP request (a relay forwarding
 * it, a server forwarding a reply) is processed only when it carries a valid
 * JSON-LD signature (RsaSignature2017) by its actor; otherwise it is dropped.
 * The creator's key is found as Mastodon finds it (a stored account, else
 * ActivityPub::FetchRemoteKeyService, synchronously inside the job).
 *
 * Each drop is counted in fedicap_testbed_activitypub_ld_signature_drops_total{reason}
 * and logged as one JSON line on stderr.
 */
import { Counter } from 'prom-client';
import { LdSignatureError, ldSignatureOf, verifyLd } from '../../../src/mastodon/ldSignature.js';
import type { Testbed } from '../context.js';
import { accountByKeyId, fetchRemoteKey, ResolveError, type AccountRow } from './accounts.js';
import { HttpClientError } from './http.js';
import { isLocalUri } from './uris.js';

/**
 * Why an activity signed by someone other than its actor was dropped: no RsaSignature2017 (missing), a
 * creator key that cannot be found or is local (unresolved_creator), a signature that does not verify
 * (invalid), a document that cannot be canonicalised, e.g. an unknown context (uncanonicalisable), or a
 * valid signature by another actor than the activity's (creator_not_actor).
 */
export type LdDropReason =
  | 'missing'
  | 'unresolved_creator'
  | 'invalid'
  | 'uncanonicalisable'
  | 'creator_not_actor';

export const LD_DROPS_METRIC = 'fedicap_testbed_activitypub_ld_signature_drops_total';

const counters = new WeakMap<Testbed, Counter<'reason'>>();

function dropCounter(tb: Testbed): Counter<'reason'> {
  let c = counters.get(tb);
  if (!c) {
    c = new Counter({
      name: LD_DROPS_METRIC,
      help: 'Inbound activities signed (HTTP) by another account than their actor and dropped for want of a valid JSON-LD signature by the actor, by reason',
      labelNames: ['reason'],
      registers: [tb.metrics],
    });
    counters.set(tb, c);
  }
  return c;
}

type Json = Record<string, unknown>;

function drop(
  tb: Testbed,
  reason: LdDropReason,
  json: Json,
  signer: AccountRow,
  actorUri: string,
  detail?: string,
): null {
  dropCounter(tb).inc({ reason });
  const line = {
    level: 'info',
    event: 'activitypub.ld_signature_drop',
    reason,
    activity: typeof json.id === 'string' ? json.id : null,
    type: typeof json.type === 'string' ? json.type : null,
    actor: actorUri,
    signer: signer.uri,
    ...(detail ? { detail } : {}),
  };
  process.stderr.write(`${JSON.stringify(line)}\n`);
  return null;
}

/** LinkedDataSignature#verify_actor!'s creator: stored by key id, else fetched; null when neither. */
async function creatorOf(tb: Testbed, keyId: string): Promise<AccountRow | string> {
  if (isLocalUri(tb, keyId)) return `${keyId} is local`;
  try {
    const account = (await accountByKeyId(tb, keyId)) ?? (await fetchRemoteKey(tb, keyId));
    return account.domain === null ? `${keyId} is local` : account;
  } catch (e) {
    if (e instanceof ResolveError || e instanceof HttpClientError) return e.message;
    throw e;
  }
}

/**
 * The activity's actor, when `json` carries its valid JSON-LD signature; else null (dropped, counted,
 * logged).
 */
export async function ldSignedActor(
  tb: Testbed,
  json: Json,
  actorUri: string,
  signer: AccountRow,
): Promise<AccountRow | null> {
  const signature = ldSignatureOf(json);
  if (!signature) return drop(tb, 'missing', json, signer, actorUri);
  const creator = await creatorOf(tb, signature.creator);
  if (typeof creator === 'string') return drop(tb, 'unresolved_creator', json, signer, actorUri, creator);
  let valid: boolean;
  try {
    valid = await verifyLd(json, creator.public_key);
  } catch (e) {
    if (!(e instanceof LdSignatureError)) throw e;
    return drop(tb, 'uncanonicalisable', json, signer, actorUri, e.message);
  }
  if (!valid) return drop(tb, 'invalid', json, signer, actorUri, `creator ${signature.creator}`);
  // Mastodon goes on as the creator whoever the actor is; an activity attributed to someone else than
  // its signer is not one the fleet sends, so the testbed drops it.
  if (creator.uri !== actorUri)
    return drop(tb, 'creator_not_actor', json, signer, actorUri, `creator ${creator.uri}`);
  return creator;
}

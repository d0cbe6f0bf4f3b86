/**
 * JSON-LD signatures (RsaSignature2017) as Mastodon makes and checks them
 * (app/lib/activitypub/linked_data_signature.rb): a public Create carries
 * one by its author, so that a relay can forward it and the receiver can
 * trust an activity whose actor is not the HTTP signer.
 *
 * to-be-signed = hex SHA-256 of the canonical options (the signature's
 * fields but type, id and signatureValue, with the identity context) +
 * hex SHA-256 of the canonical document without its signature; signed
 * RSA-SHA256 (PKCS#1 v1.5), base64. Canonical = the RDF dataset of the
 * JSON-LD, canonicalised with URDNA2015 (standardised as RDFC-1.0, same
 * output) into N-Quads by the `jsonld` library.
 *
 * Contexts come from ./contexts (their origins are noted there), never from
 * the network: a document naming any other context URL is refused with
 * LdSignatureError.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import jsonld from 'jsonld';
import activitystreams from './contexts/activitystreams.json' with { type: 'json' };
import identityV1 from './contexts/identity-v1.json' with { type: 'json' };
import securityV1 from './contexts/security-v1.json' with { type: 'json' };

export const LD_SIGNATURE_TYPE = 'RsaSignature2017';
/** ActivityPub::LinkedDataSignature::CONTEXT: the context of the signature options. */
export const IDENTITY_CONTEXT = 'https://w3id.org/identity/v1';

/** A context or canonicalisation problem: the document can be neither signed nor verified. */
export class LdSignatureError extends Error {
  override readonly name = 'LdSignatureError';
}

type Json = Record<string, unknown>;

/** Every URL under which a shipped context is known (with and without TLS, AS also with .jsonld). */
const CONTEXTS = new Map<string, unknown>();
for (const [urls, doc] of [
  [
    [
      'https://www.w3.org/ns/activitystreams',
      'http://www.w3.org/ns/activitystreams',
      'https://www.w3.org/ns/activitystreams.jsonld',
    ],
    activitystreams,
  ],
  [['https://w3id.org/security/v1', 'http://w3id.org/security/v1'], securityV1],
  [[IDENTITY_CONTEXT, 'http://w3id.org/identity/v1'], identityV1],
] as const)
  for (const url of urls) CONTEXTS.set(url, doc);

/** The URLs of the shipped contexts. */
export const KNOWN_CONTEXTS: readonly string[] = [...CONTEXTS.keys()];

/** jsonld's document loader: the shipped contexts, and nothing else. */
async function documentLoader(url: string) {
  const document = CONTEXTS.get(url);
  if (document === undefined)
    throw new LdSignatureError(
      `unknown JSON-LD context ${url}: only ${[...new Set(KNOWN_CONTEXTS.map((u) => u.replace(/^http:/, 'https:')))].join(', ')} are known (no context is fetched)`,
    );
  return { contextUrl: undefined, documentUrl: url, document: structuredClone(document) as Json };
}

/**
 * The URDNA2015 N-Quads of a JSON-LD document. `strict` (jsonld's safe mode) refuses what would not
 * be in the dataset (terms no context defines, relative IRIs): for signing, so that nothing is sent
 * unsigned; verification is lenient, as Mastodon's Ruby json-ld, which drops them.
 */
export async function canonicalNQuads(doc: Json, strict: boolean): Promise<string> {
  try {
    const out = await jsonld.canonize(
      doc as jsonld.JsonLdDocument,
      {
        algorithm: 'URDNA2015',
        format: 'application/n-quads',
        documentLoader,
        safe: strict,
      } as jsonld.Options.Normalize,
    );
    return out;
  } catch (e) {
    if (e instanceof LdSignatureError) throw e;
    const cause = (e as { details?: { cause?: unknown } }).details?.cause;
    if (cause instanceof LdSignatureError) throw cause;
    const details = (e as { details?: { event?: { message?: string } } }).details?.event?.message;
    throw new LdSignatureError(
      `cannot canonicalise the document: ${(e as Error).message}${details ? ` (${details})` : ''}`,
    );
  }
}

const sha256Hex = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

export interface LdSignature {
  type: string;
  creator: string;
  created?: string;
  signatureValue: string;
  [field: string]: unknown;
}

/** What is signed: hash of the options (with the identity context) then hash of the document. */
async function toBeSigned(doc: Json, options: Json, strict: boolean): Promise<string> {
  const { type: _t, id: _i, signatureValue: _v, ...rest } = options;
  const { signature: _s, ...document } = doc;
  const [o, d] = await Promise.all([
    canonicalNQuads({ ...rest, '@context': IDENTITY_CONTEXT }, strict),
    canonicalNQuads(document, strict),
  ]);
  return sha256Hex(o) + sha256Hex(d);
}

/**
 * LinkedDataSignature#sign!: the document with a `signature` by `keyId`. Throws LdSignatureError when
 * part of it would not be covered (an undefined term, an unknown context).
 */
export async function signLd<T extends Json>(
  doc: T,
  signer: { keyId: string; privateKeyPem: string },
  created = new Date(),
): Promise<T & { signature: LdSignature }> {
  const options = {
    type: LD_SIGNATURE_TYPE,
    creator: signer.keyId,
    // Time#iso8601: seconds, UTC
    created: created.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  const data = await toBeSigned(doc, options, true);
  const signatureValue = sign('sha256', Buffer.from(data, 'utf8'), createPrivateKey(signer.privateKeyPem));
  return { ...doc, signature: { ...options, signatureValue: signatureValue.toString('base64') } };
}

/** The document's RsaSignature2017, or null when it has none (or another kind). */
export function ldSignatureOf(doc: Json): LdSignature | null {
  const s = doc.signature;
  if (!s || typeof s !== 'object' || Array.isArray(s)) return null;
  const sig = s as Json;
  if (sig.type !== LD_SIGNATURE_TYPE) return null;
  if (typeof sig.creator !== 'string' || typeof sig.signatureValue !== 'string') return null;
  return sig as LdSignature;
}

/**
 * LinkedDataSignature#verify_actor!'s check: whether the document's signature verifies with
 * `publicKeyPem`. Throws LdSignatureError when the document cannot be canonicalised.
 */
export async function verifyLd(doc: Json, publicKeyPem: string): Promise<boolean> {
  const sig = ldSignatureOf(doc);
  if (!sig) return false;
  const data = await toBeSigned(doc, sig, false);
  let key: ReturnType<typeof createPublicKey>;
  try {
    key = createPublicKey(publicKeyPem);
  } catch {
    return false;
  }
  return verify('sha256', Buffer.from(data, 'utf8'), key, Buffer.from(sig.signatureValue, 'base64'));
}

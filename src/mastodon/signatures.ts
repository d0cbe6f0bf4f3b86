/**
 * HTTP Signatures (draft-cavage-http-signatures), signed and verified the way
 * Mastodon does it (app/lib/request.rb signs; app/controllers/concerns/
 * signature_verification.rb verifies). Only node:crypto: no fastify, no
 * database, so the fleet and the k6 scenarios' tests can reuse it.
 *
 * Signing string: one `name: value` line per signed header, joined by "\n";
 * `(request-target)` is `method path` (lower-case method, path without the
 * query, as Mastodon signs), `(created)`/`(expires)` come from the
 * Signature parameters (hs2019 only).
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';

export const REQUEST_TARGET = '(request-target)';
/**
 * SignatureVerification::EXPIRATION_WINDOW_LIMIT: a signature is never valid longer than 12 h after it was
 * made.
 */
export const EXPIRATION_WINDOW_LIMIT_SEC = 12 * 3600;
/** SignatureVerification::CLOCK_SKEW_MARGIN: 1 h either way. */
export const CLOCK_SKEW_MARGIN_SEC = 3600;
/**
 * Without an `expires` parameter a signature expires 5 min after it was made (plus the 1 h margin: 65 min).
 */
export const DEFAULT_EXPIRY_SEC = 300;
export const SUPPORTED_ALGORITHMS = ['rsa-sha256', 'hs2019'] as const;
export type SignatureAlgorithm = (typeof SUPPORTED_ALGORITHMS)[number];

/** A verification failure: Mastodon answers `status` with `{ "error": message, ... }`. */
export class SignatureError extends Error {
  constructor(
    message: string,
    readonly status = 401,
    readonly details: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'SignatureError';
  }
  /** The JSON body Mastodon renders (`{ error: message }` merged with details). */
  toJSON(): Record<string, string> {
    return { error: this.message, ...this.details };
  }
}

// ---------------------------------------------------------------- keys

const keyCache = new Map<string, KeyObject>();
const KEY_CACHE_MAX = 2048;

function cachedKey(pem: string, kind: 'public' | 'private'): KeyObject {
  const cacheKey = kind[1] + pem;
  let key = keyCache.get(cacheKey);
  if (!key) {
    key = kind === 'public' ? createPublicKey(pem) : createPrivateKey(pem);
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value!);
    keyCache.set(cacheKey, key);
  }
  return key;
}

// ---------------------------------------------------------------- helpers

/** base64 of SHA-256 of the body: the value after `SHA-256=` in Digest. */
export function bodyDigest(body: string | Buffer | Uint8Array = ''): string {
  return createHash('sha256').update(body).digest('base64');
}

/** The Digest header Mastodon sends with every POST: `SHA-256=<base64>`. */
export function digestHeader(body: string | Buffer | Uint8Array = ''): string {
  return `SHA-256=${bodyDigest(body)}`;
}

/** RFC 7231 IMF-fixdate, as Ruby's Time#httpdate writes it. */
export function httpDate(at: Date = new Date()): string {
  return at.toUTCString();
}

/**
 * Parse a Signature header into its parameters (keyId, algorithm, headers,
 * signature, created, expires). Accepts token or quoted-string values and the
 * "Signature " prefix old node-http-signature versions add, like Mastodon's
 * SignatureParamsParser. Throws SignatureError on a malformed header.
 */
export function parseSignatureHeader(raw: string): Record<string, string> {
  const params: Record<string, string> = {};
  let s = raw.trim();
  if (s.startsWith('Signature ')) s = s.slice('Signature '.length);
  let i = 0;
  const fail = (): never => {
    throw new SignatureError('Error parsing signature parameters');
  };
  const skipWs = () => {
    while (i < s.length && /\s/.test(s[i]!)) i++;
  };
  const tokenChar = /[0-9A-Za-z!#$%&'*+.^_`|~-]/;
  for (;;) {
    skipWs();
    const keyStart = i;
    while (i < s.length && tokenChar.test(s[i]!)) i++;
    if (i === keyStart) fail();
    const key = s.slice(keyStart, i);
    skipWs();
    if (s[i] !== '=') fail();
    i++;
    skipWs();
    let value = '';
    if (s[i] === '"') {
      i++;
      let closed = false;
      while (i < s.length) {
        const c = s[i]!;
        if (c === '\\' && i + 1 < s.length) {
          value += s[i + 1];
          i += 2;
        } else if (c === '"') {
          i++;
          closed = true;
          break;
        } else {
          value += c;
          i++;
        }
      }
      if (!closed) fail();
    } else {
      const start = i;
      while (i < s.length && tokenChar.test(s[i]!)) i++;
      if (i === start) fail();
      value = s.slice(start, i);
    }
    params[key] = value;
    skipWs();
    if (i >= s.length) break;
    if (s[i] !== ',') fail();
    i++;
  }
  return params;
}

/** Format parameters as a Signature header value (`k="v",...`). */
export function formatSignatureHeader(params: Record<string, string | number | undefined>): string {
  return Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) =>
      typeof v === 'number' ? `${k}=${v}` : `${k}="${String(v).replace(/["\\]/g, (c) => `\\${c}`)}"`,
    )
    .join(',');
}

type HeaderBag = Record<string, string | string[] | number | undefined>;

function headerValue(headers: HeaderBag, name: string): string | undefined {
  const lower = name.toLowerCase();
  let v = headers[lower];
  if (v === undefined) {
    for (const [k, val] of Object.entries(headers)) {
      if (k.toLowerCase() === lower) {
        v = val;
        break;
      }
    }
  }
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(', ') : String(v);
}

/**
 * The signing string for `signedHeaders` (lower-case names). `pseudo` supplies
 * `(created)` / `(expires)` values; missing headers sign as an empty value,
 * as Mastodon's build_signed_string does.
 */
export function buildSigningString(
  signedHeaders: readonly string[],
  request: { method: string; path: string; headers: HeaderBag },
  pseudo: { created?: string | number; expires?: string | number } = {},
): string {
  return signedHeaders
    .map((h) => {
      if (h === REQUEST_TARGET) return `${REQUEST_TARGET}: ${request.method.toLowerCase()} ${request.path}`;
      if (h === '(created)') return `(created): ${pseudo.created ?? ''}`;
      if (h === '(expires)') return `(expires): ${pseudo.expires ?? ''}`;
      return `${h}: ${headerValue(request.headers, h) ?? ''}`;
    })
    .join('\n');
}

// ---------------------------------------------------------------- signing

export interface SignRequestOptions {
  /** e.g. https://example.com/users/alice#main-key */
  keyId: string;
  privateKeyPem: string | KeyObject;
  method: string;
  url: string | URL;
  /** Headers to send besides Host/Date/Digest/Signature (Content-Type, Accept...); signed unless excluded. */
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** rsa-sha256 (what Mastodon sends) or hs2019 (adds `(created)`). */
  algorithm?: SignatureAlgorithm;
  now?: Date;
  /** Override the signed header list (lower-case, pseudo-headers included). */
  signedHeaders?: string[];
  /** hs2019 only: add `(expires)` this many seconds after `(created)`. */
  expiresInSec?: number;
  /** Sign `(request-target)` with the query string (Mastodon signs the path only). */
  includeQuery?: boolean;
}

/** Headers never signed, as Mastodon's Request#signed_headers leaves out. */
const UNSIGNED = new Set(['user-agent', 'accept-encoding', 'signature', 'content-length', 'connection']);

/**
 * Sign a request like Mastodon's Request#on_behalf_of: sets Host (from the
 * URL), Date, Digest (when there is a body, POST always) and Signature over
 * `(request-target) host date [digest] [other headers]`. Returns all headers to
 * send, canonical capitalisation. (Node's fetch cannot send a Host header:
 * drop it there when the URL's host is already the signed one.)
 */
export function signRequest(opts: SignRequestOptions): Record<string, string> {
  const url = typeof opts.url === 'string' ? new URL(opts.url) : opts.url;
  const method = opts.method.toUpperCase();
  const algorithm = opts.algorithm ?? 'rsa-sha256';
  const now = opts.now ?? new Date();
  const out: Record<string, string> = { Host: url.host, Date: httpDate(now) };
  if (opts.body !== undefined || method === 'POST') out.Digest = digestHeader(opts.body ?? '');
  for (const [k, v] of Object.entries(opts.headers ?? {})) {
    for (const existing of Object.keys(out))
      if (existing.toLowerCase() === k.toLowerCase()) delete out[existing];
    out[k] = v; // a caller's Date/Host/Digest replaces ours
  }

  const created = Math.floor(now.getTime() / 1000);
  const expires = opts.expiresInSec !== undefined ? created + opts.expiresInSec : undefined;
  let signed = opts.signedHeaders;
  if (!signed) {
    signed = [REQUEST_TARGET];
    if (algorithm === 'hs2019') signed.push('(created)');
    if (expires !== undefined && algorithm === 'hs2019') signed.push('(expires)');
    for (const k of Object.keys(out)) if (!UNSIGNED.has(k.toLowerCase())) signed.push(k.toLowerCase());
  }
  const path = opts.includeQuery ? url.pathname + url.search : url.pathname;
  const signingString = buildSigningString(signed, { method, path, headers: out }, { created, expires });
  const key =
    typeof opts.privateKeyPem === 'string' ? cachedKey(opts.privateKeyPem, 'private') : opts.privateKeyPem;
  const signature = cryptoSign('sha256', Buffer.from(signingString), key).toString('base64');
  out.Signature = formatSignatureHeader({
    keyId: opts.keyId,
    algorithm,
    headers: signed.join(' '),
    ...(signed.includes('(created)') ? { created } : {}),
    ...(signed.includes('(expires)') ? { expires } : {}),
    signature,
  });
  return out;
}

// ---------------------------------------------------------------- verification

/** What the verifier needs of an incoming request (node's IncomingMessage fits). */
export interface IncomingSignedRequest {
  method: string;
  /** Path as received, may include `?query`. */
  path: string;
  /** Header names in any case (node gives lower-case). */
  headers: HeaderBag;
  /** Raw body bytes (needed when `digest` is signed). */
  body?: string | Buffer;
}

/** The parsed, checked Signature before the key is known. */
export interface CheckedSignature {
  keyId: string;
  algorithm: SignatureAlgorithm;
  signedHeaders: string[];
  signature: Buffer;
  /** Candidate signing strings: path only (Mastodon), then path with query. */
  signingStrings: string[];
}

function signatureAlgorithm(params: Record<string, string>): string {
  return params.algorithm ?? 'hs2019';
}

function signedHeaderList(params: Record<string, string>): string[] {
  const raw = params.headers ?? (signatureAlgorithm(params) === 'hs2019' ? '(created)' : 'date');
  return raw.toLowerCase().split(/\s+/).filter(Boolean);
}

function parseHttpDate(value: string): number {
  // Time.httpdate is strict; Date.parse is lenient, but refuses garbage.
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new SignatureError(`Invalid Date header: ${value}`);
  return t;
}

/**
 * Mastodon's matches_time_window?: created = `(created)` (hs2019) or Date;
 * expires = `expires` or created + 5 min, never past created + 12 h; refused
 * when created is more than 1 h ahead or now is more than 1 h past expires.
 */
export function matchesTimeWindow(
  params: Record<string, string>,
  headers: HeaderBag,
  now: Date = new Date(),
): boolean {
  let createdMs: number | undefined;
  const date = headerValue(headers, 'date');
  if (signatureAlgorithm(params) === 'hs2019' && params.created)
    createdMs = Number.parseInt(params.created, 10) * 1000;
  else if (date) createdMs = parseHttpDate(date);
  let expiresMs = params.expires ? Number.parseInt(params.expires, 10) * 1000 : undefined;
  if (createdMs !== undefined) {
    expiresMs ??= createdMs + DEFAULT_EXPIRY_SEC * 1000;
    expiresMs = Math.min(expiresMs, createdMs + EXPIRATION_WINDOW_LIMIT_SEC * 1000);
  }
  const nowMs = now.getTime();
  if (createdMs !== undefined && createdMs > nowMs + CLOCK_SKEW_MARGIN_SEC * 1000) return false;
  if (expiresMs !== undefined && nowMs > expiresMs + CLOCK_SKEW_MARGIN_SEC * 1000) return false;
  return true;
}

/**
 * Everything Mastodon checks before it looks up the key, in its order:
 * presence, keyId/signature, algorithm, time window, required signed headers
 * (date or (created); digest or (request-target); host for GET; digest for
 * POST), then the Digest against the body. Throws SignatureError with
 * Mastodon's messages.
 */
export function checkSignature(req: IncomingSignedRequest, now: Date = new Date()): CheckedSignature {
  const raw = headerValue(req.headers, 'signature');
  if (!raw) throw new SignatureError('Request not signed');
  const params = parseSignatureHeader(raw);
  if (!params.keyId || !params.signature)
    throw new SignatureError('Incompatible request signature. keyId and signature are required');
  const algorithm = signatureAlgorithm(params);
  if (!(SUPPORTED_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new SignatureError('Unsupported signature algorithm (only rsa-sha256 and hs2019 are supported)');
  }
  if (!matchesTimeWindow(params, req.headers, now))
    throw new SignatureError('Signed request date outside acceptable time window');

  const signed = signedHeaderList(params);
  const method = req.method.toUpperCase();
  if (!signed.includes('date') && !signed.includes('(created)')) {
    throw new SignatureError('Mastodon requires the Date header or (created) pseudo-header to be signed');
  }
  if (!signed.includes(REQUEST_TARGET) && !signed.includes('digest')) {
    throw new SignatureError(
      'Mastodon requires the Digest header or (request-target) pseudo-header to be signed',
    );
  }
  if (method === 'GET' && !signed.includes('host'))
    throw new SignatureError('Mastodon requires the Host header to be signed when doing a GET request');
  if (method === 'POST' && !signed.includes('digest'))
    throw new SignatureError('Mastodon requires the Digest header to be signed when doing a POST request');

  if (signed.includes('digest')) verifyBodyDigest(req);

  for (const pseudo of ['(created)', '(expires)'] as const) {
    if (!signed.includes(pseudo)) continue;
    if (algorithm !== 'hs2019') throw new SignatureError(`Invalid pseudo-header ${pseudo} for rsa-sha256`);
    const value = pseudo === '(created)' ? params.created : params.expires;
    if (!value) throw new SignatureError(`Pseudo-header ${pseudo} used but corresponding argument missing`);
  }

  const [pathOnly, query] = splitPath(req.path);
  const pseudo = { created: params.created, expires: params.expires };
  const signingStrings = [
    buildSigningString(signed, { method, path: pathOnly, headers: req.headers }, pseudo),
  ];
  if (query !== undefined && signed.includes(REQUEST_TARGET)) {
    signingStrings.push(
      buildSigningString(signed, { method, path: `${pathOnly}?${query}`, headers: req.headers }, pseudo),
    );
  }
  return {
    keyId: params.keyId,
    algorithm: algorithm as SignatureAlgorithm,
    signedHeaders: signed,
    signature: Buffer.from(params.signature, 'base64'),
    signingStrings,
  };
}

function splitPath(path: string): [string, string | undefined] {
  const q = path.indexOf('?');
  return q < 0 ? [path, undefined] : [path.slice(0, q), path.slice(q + 1)];
}

function verifyBodyDigest(req: IncomingSignedRequest): void {
  const header = headerValue(req.headers, 'digest');
  if (header === undefined) throw new SignatureError('Digest header missing');
  const digests = header.split(',').map((d) => {
    const eq = d.indexOf('=');
    return eq < 0 ? [d.trim().toLowerCase(), ''] : [d.slice(0, eq).trim().toLowerCase(), d.slice(eq + 1)];
  });
  const sha256 = digests.find(([k]) => k === 'sha-256');
  if (!sha256) {
    throw new SignatureError(
      `Mastodon only supports SHA-256 in Digest header. Offered algorithms: ${digests.map(([k]) => k).join(', ')}`,
    );
  }
  const given = sha256[1]!;
  const computed = bodyDigest(req.body ?? '');
  if (given === computed) return;
  const trimmed = given.trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(trimmed) || trimmed.length % 4 !== 0) {
    throw new SignatureError(
      `Invalid Digest value. The provided Digest value is not a valid base64 string. Given digest: ${given}`,
    );
  }
  if (Buffer.from(trimmed, 'base64').length !== 32) {
    throw new SignatureError(
      `Invalid Digest value. The provided Digest value is not a SHA-256 digest. Given digest: ${given}`,
    );
  }
  throw new SignatureError(`Invalid Digest value. Computed SHA-256 digest: ${computed}; given: ${given}`);
}

/** RSASSA-PKCS1-v1_5 with SHA-256 (what both rsa-sha256 and Mastodon's hs2019 mean). */
export function verifySigningString(
  signingString: string,
  signature: Buffer,
  publicKeyPem: string | KeyObject,
): boolean {
  try {
    const key = typeof publicKeyPem === 'string' ? cachedKey(publicKeyPem, 'public') : publicKeyPem;
    return cryptoVerify('sha256', Buffer.from(signingString), key, signature);
  } catch {
    return false; // unparsable key: OpenSSL::PKey::RSAError → nil
  }
}

/** An actor (or anything) holding a public key. */
export interface KeyHolder {
  publicKeyPem: string;
  /** For messages: "alice@example.com https://example.com/users/alice". */
  label?: string;
}

/**
 * Where the verifier gets keys. `lookup` returns the cached key or fetches
 * it (Mastodon fetches an unknown keyId synchronously); `refresh` is called
 * once when verification with the known key fails (key rotation). Either may
 * throw SignatureError (its message is answered) or any error (answered as
 * "Failed to fetch remote data: ...").
 */
export interface KeyResolver<T extends KeyHolder> {
  lookup(keyId: string): Promise<T | null>;
  refresh?(keyId: string, stale: T): Promise<T | null>;
}

export type VerifyOutcome<T> =
  | { ok: true; actor: T; keyId: string }
  | { ok: false; status: number; error: string; body: Record<string, string> };

/**
 * Verify a request as Mastodon's SignatureVerification#signed_request_actor:
 * checks, key lookup, verify, on failure refresh the key once and verify again.
 */
export async function verifyRequest<T extends KeyHolder>(
  req: IncomingSignedRequest,
  resolver: KeyResolver<T>,
  opts: { now?: Date } = {},
): Promise<VerifyOutcome<T>> {
  const fail = (e: SignatureError): VerifyOutcome<T> => ({
    ok: false,
    status: e.status,
    error: e.message,
    body: e.toJSON(),
  });
  let checked: CheckedSignature;
  try {
    checked = checkSignature(req, opts.now);
  } catch (e) {
    if (e instanceof SignatureError) return fail(e);
    throw e;
  }
  const verifies = (holder: T) =>
    checked.signingStrings.some((s) => verifySigningString(s, checked.signature, holder.publicKeyPem));
  try {
    let actor = await resolver.lookup(checked.keyId);
    if (!actor) throw new SignatureError(`Public key not found for key ${checked.keyId}`);
    if (verifies(actor)) return { ok: true, actor, keyId: checked.keyId };
    if (resolver.refresh) {
      const refreshed = await resolver.refresh(checked.keyId, actor);
      if (!refreshed) throw new SignatureError(`Could not refresh public key ${checked.keyId}`);
      actor = refreshed;
      if (verifies(actor)) return { ok: true, actor, keyId: checked.keyId };
    }
    throw new SignatureError(
      `Verification failed for ${actor.label ?? checked.keyId} using rsa-sha256 (RSASSA-PKCS1-v1_5 with SHA-256)`,
      401,
      { signed_string: checked.signingStrings[0]!, signature: checked.signature.toString('base64') },
    );
  } catch (e) {
    if (e instanceof SignatureError) return fail(e);
    return fail(new SignatureError(`Failed to fetch remote data: ${(e as Error).message}`));
  }
}

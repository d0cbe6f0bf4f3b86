/**
 * HTTP Signatures (draft-cavage) with WebCrypto, signed exactly as
 * src/mastodon/signatures.ts (and Mastodon's Request#on_behalf_of) does:
 * Date, Digest (`SHA-256=` base64 of the body) and Signature over
 * `(request-target) host date digest content-type`, RSASSA-PKCS1-v1_5 with
 * SHA-256, algorithm "rsa-sha256". Uses the global `crypto.subtle` that k6
 * (≥ 1.0) and Node both provide, so the same code runs in a k6 VU and in the
 * tests (test/scenarios/signatures.test.ts verifies it with src/mastodon
 * and joyent's http-signature).
 *
 * Byte arguments are passed as Uint8Array, not ArrayBuffer: WebCrypto takes
 * either, and a typed array also crosses JavaScript realms (the local
 * executor runs each VU in a node:vm context, where Node refuses an
 * ArrayBuffer made in another realm).
 *
 * The Host header is signed but not set here: k6 and Node both send the
 * URL's host, which is what is signed (Node's fetch refuses a Host header).
 */
import { base64Encode, privateKeyPemToPkcs8, splitUrl, utf8Encode } from './encoding.ts';

const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };

export type SigningCryptoKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

export interface SigningKey {
  /** e.g. https://a.fleet.test/users/alice#main-key */
  keyId: string;
  key: SigningCryptoKey;
}

/** Import a PEM private key (PKCS#8, or PKCS#1 wrapped) for signing. */
export async function importSigningKey(keyId: string, privateKeyPem: string): Promise<SigningKey> {
  const der = privateKeyPemToPkcs8(privateKeyPem);
  const key = await crypto.subtle.importKey('pkcs8', der, RSA, false, ['sign']);
  return { keyId, key };
}

/** A small per-VU cache: warm actors sign many requests, importKey once each. */
export class SigningKeyCache {
  private readonly keys = new Map<string, Promise<SigningKey>>();
  constructor(private readonly max = 512) {}

  get(keyId: string, privateKeyPem: string): Promise<SigningKey> {
    let k = this.keys.get(keyId);
    if (!k) {
      if (this.keys.size >= this.max) this.keys.delete(this.keys.keys().next().value!);
      k = importSigningKey(keyId, privateKeyPem);
      this.keys.set(keyId, k);
    }
    return k;
  }
}

/** `SHA-256=<base64>` of the UTF-8 body. */
export async function digestHeader(body: string): Promise<string> {
  const hash = await crypto.subtle.digest('SHA-256', utf8Encode(body));
  return `SHA-256=${base64Encode(new Uint8Array(hash))}`;
}

/** Ruby's Time#httpdate: "Thu, 27 Nov 2025 09:00:00 GMT". */
export function httpDate(at: Date = new Date()): string {
  return at.toUTCString();
}

export interface SignOptions {
  key: SigningKey;
  method: string;
  url: string;
  /** The exact body that will be sent (its UTF-8 bytes are digested). */
  body?: string;
  /** Extra headers to send and sign (default Content-Type: application/activity+json for bodies). */
  headers?: Record<string, string>;
  now?: Date;
}

export interface SignedRequest {
  /** Headers to send: Date, Digest, Content-Type, Signature (and the extras). Host comes from the URL. */
  headers: Record<string, string>;
  /** Lower-case names in the signed order, pseudo-header first. */
  signedHeaders: string[];
  signingString: string;
}

const quote = (v: string) => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`;

/** Sign a request as Mastodon's Request#on_behalf_of does (rsa-sha256). */
export async function signRequest(opts: SignOptions): Promise<SignedRequest> {
  const method = opts.method.toUpperCase();
  const { host, path } = splitUrl(opts.url);
  const values: [string, string][] = [
    ['host', host],
    ['date', httpDate(opts.now)],
  ];
  const send: Record<string, string> = { Date: values[1]![1] };
  if (opts.body !== undefined || method === 'POST') {
    const digest = await digestHeader(opts.body ?? '');
    values.push(['digest', digest]);
    send.Digest = digest;
  }
  const extra =
    opts.headers ?? (opts.body !== undefined ? { 'Content-Type': 'application/activity+json' } : {});
  for (const [name, value] of Object.entries(extra)) {
    values.push([name.toLowerCase(), value]);
    send[name] = value;
  }
  const signedHeaders = ['(request-target)', ...values.map(([k]) => k)];
  const signingString = [
    `(request-target): ${method.toLowerCase()} ${path}`,
    ...values.map(([k, v]) => `${k}: ${v}`),
  ].join('\n');
  const signature = await crypto.subtle.sign({ name: RSA.name }, opts.key.key, utf8Encode(signingString));
  send.Signature = [
    `keyId=${quote(opts.key.keyId)}`,
    'algorithm="rsa-sha256"',
    `headers=${quote(signedHeaders.join(' '))}`,
    `signature=${quote(base64Encode(new Uint8Array(signature)))}`,
  ].join(',');
  return { headers: send, signedHeaders, signingString };
}

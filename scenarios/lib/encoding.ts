/**
 * Byte helpers that run the same under k6 (no TextEncoder, no btoa, no URL
 * guaranteed) and Node: UTF-8, base64, PEM → DER, and a small URL splitter.
 * Pure functions, no k6 imports: the tests drive them directly.
 */

/** UTF-8 bytes of a string (lone surrogates become U+FFFD, as TextEncoder does). */
export function utf8Encode(text: string): Uint8Array<ArrayBuffer> {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else c = 0xfffd;
    } else if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard base64 with padding (what Digest and Signature carry). */
export function base64Encode(input: Uint8Array | ArrayBuffer): string {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i]!;
    const b = i + 1 < bytes.length ? bytes[i + 1]! : 0;
    const c = i + 2 < bytes.length ? bytes[i + 2]! : 0;
    out += B64[a >> 2]! + B64[((a & 3) << 4) | (b >> 4)]!;
    out += i + 1 < bytes.length ? B64[((b & 15) << 2) | (c >> 6)]! : '=';
    out += i + 2 < bytes.length ? B64[c & 63]! : '=';
  }
  return out;
}

/** Decode standard base64 (whitespace ignored); throws on other characters. */
export function base64Decode(text: string): Uint8Array<ArrayBuffer> {
  const clean = text.replace(/\s+/g, '').replace(/=+$/, '');
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const ch of clean) {
    const v = B64.indexOf(ch);
    if (v < 0) throw new Error(`invalid base64 character ${JSON.stringify(ch)}`);
    buffer = (buffer << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((buffer >> bits) & 0xff);
    }
  }
  return Uint8Array.from(out);
}

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

/** AlgorithmIdentifier { rsaEncryption, NULL }. */
const RSA_ALGORITHM_ID = [
  0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];

/** Wrap a PKCS#1 RSAPrivateKey in a PKCS#8 PrivateKeyInfo (WebCrypto imports only pkcs8). */
export function pkcs1ToPkcs8(pkcs1: Uint8Array): Uint8Array<ArrayBuffer> {
  const octet = [0x04, ...derLength(pkcs1.length)];
  const inner = [0x02, 0x01, 0x00, ...RSA_ALGORITHM_ID, ...octet];
  const total = inner.length + pkcs1.length;
  const out = new Uint8Array(1 + derLength(total).length + total);
  const head = [0x30, ...derLength(total), ...inner];
  out.set(head, 0);
  out.set(pkcs1, head.length);
  return out;
}

/**
 * DER bytes of a PEM private key as PKCS#8: a PKCS#8 block as is, a PKCS#1
 * (RSA) block wrapped. Throws with a plain message otherwise.
 */
export function privateKeyPemToPkcs8(pem: string): Uint8Array<ArrayBuffer> {
  const m = /-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END \1-----/.exec(pem);
  if (!m) throw new Error('not a PEM block (expected a PEM "PRIVATE KEY" block, PKCS#8)');
  const der = base64Decode(m[2]!);
  if (m[1] === 'PRIVATE KEY') return der;
  if (m[1] === 'RSA PRIVATE KEY') return pkcs1ToPkcs8(der);
  throw new Error(`unsupported PEM block "${m[1]}" (expected PRIVATE KEY or RSA PRIVATE KEY)`);
}

export interface UrlParts {
  /** http: or https: (lower case). */
  protocol: string;
  /** host[:port] as written (lower case), what the Host header carries. */
  host: string;
  /** scheme://host[:port] */
  origin: string;
  /** Path without the query, "/" at least. */
  path: string;
  /** Query without "?", "" when none. */
  query: string;
}

/** Split an absolute http(s) URL; k6 has no global URL class. */
export function splitUrl(url: string): UrlParts {
  const m = /^(https?):\/\/(?:[^@/?#]*@)?([^/?#]+)([^?#]*)(?:\?([^#]*))?/i.exec(url);
  if (!m) throw new Error(`not an absolute http(s) URL: ${url}`);
  const protocol = `${m[1]!.toLowerCase()}:`;
  const host = m[2]!.toLowerCase();
  return { protocol, host, origin: `${protocol}//${host}`, path: m[3] || '/', query: m[4] ?? '' };
}

/** encodeURIComponent for each key and value of a query. */
export function queryString(params: Record<string, string | number | boolean | undefined>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.join('&');
}

/** Parse a query string into a plain record (last value wins). */
export function parseQuery(query: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of query.replace(/^\?/, '').split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const k = decodeURIComponent((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, ' '));
    out[k] = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '));
  }
  return out;
}

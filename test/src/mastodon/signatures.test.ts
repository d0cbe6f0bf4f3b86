import http from 'node:http';
import httpSignature from 'http-signature';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLoopbackAddress } from '../../../src/shared/loopback.js';
import { FederationHttp, HttpClientError, targetFor } from '../../../world/testbed/activitypub/http.js';
import {
  buildSigningString,
  checkSignature,
  digestHeader,
  matchesTimeWindow,
  parseSignatureHeader,
  signRequest,
  verifyRequest,
  type IncomingSignedRequest,
  type KeyHolder,
} from '../../../src/mastodon/signatures.js';
import { newRsaKeyPair, type KeyPair } from '../../../world/keys.js';

/** The request a server would see for headers produced by signRequest. */
const incoming = (
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): IncomingSignedRequest => ({
  method,
  path,
  headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
  body,
});

describe('HTTP Signatures (draft-cavage, as Mastodon)', () => {
  let key: KeyPair;
  let other: KeyPair;
  const keyId = 'https://a.example/users/alice#main-key';
  const url = 'https://b.example/users/bob/inbox';
  const body = JSON.stringify({ type: 'Create', id: 'https://a.example/1' });
  const resolver = (pem: () => string) => ({
    lookup: async (): Promise<KeyHolder> => ({ publicKeyPem: pem(), label: 'alice@a.example' }),
  });

  beforeAll(async () => {
    [key, other] = await Promise.all([newRsaKeyPair(), newRsaKeyPair()]);
  });

  it('signs POSTs over (request-target) host date digest and other headers, and verifies them', async () => {
    const headers = signRequest({
      keyId,
      privateKeyPem: key.privateKeyPem,
      method: 'POST',
      url,
      body,
      headers: { 'Content-Type': 'application/activity+json' },
    });
    expect(headers.Host).toBe('b.example');
    expect(headers.Digest).toBe(digestHeader(body));
    const params = parseSignatureHeader(headers.Signature!);
    expect(params).toMatchObject({
      keyId,
      algorithm: 'rsa-sha256',
      headers: '(request-target) host date digest content-type',
    });
    const ok = await verifyRequest(
      incoming('POST', '/users/bob/inbox', headers, body),
      resolver(() => key.publicKeyPem),
    );
    expect(ok).toMatchObject({ ok: true, keyId });
    const bad = await verifyRequest(
      incoming('POST', '/users/bob/inbox', headers, body),
      resolver(() => other.publicKeyPem),
    );
    expect(bad).toMatchObject({
      ok: false,
      status: 401,
      error: 'Verification failed for alice@a.example using rsa-sha256 (RSASSA-PKCS1-v1_5 with SHA-256)',
    });
    // A different path is a different signed string.
    expect(
      (
        await verifyRequest(
          incoming('POST', '/inbox', headers, body),
          resolver(() => key.publicKeyPem),
        )
      ).ok,
    ).toBe(false);
  });

  it('signs GETs over (request-target) host date (plus Accept), and requires host on GET', async () => {
    const headers = signRequest({
      keyId,
      privateKeyPem: key.privateKeyPem,
      method: 'GET',
      url: 'https://b.example/users/bob#main-key',
      headers: { Accept: 'application/activity+json' },
    });
    expect(headers.Digest).toBeUndefined();
    expect(parseSignatureHeader(headers.Signature!).headers).toBe('(request-target) host date accept');
    expect(
      (
        await verifyRequest(
          incoming('GET', '/users/bob', headers),
          resolver(() => key.publicKeyPem),
        )
      ).ok,
    ).toBe(true);
    const noHost = signRequest({
      keyId,
      privateKeyPem: key.privateKeyPem,
      method: 'GET',
      url: 'https://b.example/x',
      signedHeaders: ['(request-target)', 'date'],
    });
    expect(() => checkSignature(incoming('GET', '/x', noHost))).toThrow(
      'Mastodon requires the Host header to be signed when doing a GET request',
    );
  });

  it('re-fetches the key once when verification fails (rotation)', async () => {
    let refreshed = 0;
    const res = await verifyRequest(
      incoming(
        'POST',
        '/inbox',
        signRequest({
          keyId,
          privateKeyPem: key.privateKeyPem,
          method: 'POST',
          url: 'https://b.example/inbox',
          body,
        }),
        body,
      ),
      {
        lookup: async () => ({ publicKeyPem: other.publicKeyPem }),
        refresh: async () => {
          refreshed++;
          return { publicKeyPem: key.publicKeyPem };
        },
      },
    );
    expect(res.ok).toBe(true);
    expect(refreshed).toBe(1);
  });

  it('supports hs2019 with (created) and (expires)', async () => {
    const now = new Date();
    const headers = signRequest({
      keyId,
      privateKeyPem: key.privateKeyPem,
      method: 'POST',
      url,
      body,
      algorithm: 'hs2019',
      expiresInSec: 120,
      now,
    });
    const params = parseSignatureHeader(headers.Signature!);
    expect(params.algorithm).toBe('hs2019');
    expect(params.headers).toBe('(request-target) (created) (expires) host date digest');
    expect(Number(params.created)).toBe(Math.floor(now.getTime() / 1000));
    expect(
      (
        await verifyRequest(
          incoming('POST', '/users/bob/inbox', headers, body),
          resolver(() => key.publicKeyPem),
        )
      ).ok,
    ).toBe(true);
    // (created) with rsa-sha256 is refused
    const forged = headers.Signature!.replace('algorithm="hs2019"', 'algorithm="rsa-sha256"');
    expect(() =>
      checkSignature(incoming('POST', '/users/bob/inbox', { ...headers, Signature: forged }, body)),
    ).toThrow('Invalid pseudo-header (created) for rsa-sha256');
  });

  it("applies Mastodon's checks in order with its messages", () => {
    const signed = (over: Partial<Parameters<typeof signRequest>[0]> = {}) =>
      signRequest({ keyId, privateKeyPem: key.privateKeyPem, method: 'POST', url, body, ...over });
    const check =
      (headers: Record<string, string>, b = body) =>
      () =>
        checkSignature(incoming('POST', '/users/bob/inbox', headers, b));
    expect(check({ Date: new Date().toUTCString() })).toThrow('Request not signed');
    expect(check({ Signature: 'keyId="x"' })).toThrow(
      'Incompatible request signature. keyId and signature are required',
    );
    expect(check({ Signature: 'keyId="x",algorithm="ed25519",signature="AAAA"' })).toThrow(
      /Unsupported signature algorithm/,
    );
    expect(check({ Signature: 'keyId="x" signature' })).toThrow('Error parsing signature parameters');
    expect(check(signed({ signedHeaders: ['(request-target)', 'host', 'digest'] }))).toThrow(
      'Mastodon requires the Date header or (created) pseudo-header to be signed',
    );
    expect(check(signed({ signedHeaders: ['host', 'date'] }))).toThrow(
      'Mastodon requires the Digest header or (request-target) pseudo-header to be signed',
    );
    expect(check(signed({ signedHeaders: ['(request-target)', 'host', 'date'] }))).toThrow(
      'Mastodon requires the Digest header to be signed when doing a POST request',
    );
    const h = signed();
    expect(check({ ...h, Digest: 'MD5=abc' })).toThrow(
      'Mastodon only supports SHA-256 in Digest header. Offered algorithms: md5',
    );
    expect(check({ ...h, Digest: 'SHA-256=not base64!' })).toThrow(/not a valid base64 string/);
    expect(check({ ...h, Digest: 'SHA-256=AAAA' })).toThrow(/not a SHA-256 digest/);
    expect(check(h, `${body} `)).toThrow(/^Invalid Digest value\. Computed SHA-256 digest/);
    const { Digest: _d, ...noDigest } = h;
    expect(check(noDigest)).toThrow('Digest header missing');
  });

  it('accepts Date up to 1 h ahead and 65 min old (CLOCK_SKEW_MARGIN 1 h, default expiry 5 min, limit 12 h)', () => {
    const now = new Date('2026-08-01T12:00:00Z');
    const at = (min: number) => ({ date: new Date(now.getTime() + min * 60_000).toUTCString() });
    expect(matchesTimeWindow({}, at(59), now)).toBe(true);
    expect(matchesTimeWindow({}, at(61), now)).toBe(false);
    expect(matchesTimeWindow({}, at(-64), now)).toBe(true);
    expect(matchesTimeWindow({}, at(-66), now)).toBe(false);
    // An explicit expires extends the window, never past 12 h after created.
    const created = Math.floor(now.getTime() / 1000) - 5 * 3600;
    const hs = { algorithm: 'hs2019', created: String(created) };
    expect(matchesTimeWindow({ ...hs, expires: String(created + 6 * 3600) }, {}, now)).toBe(true);
    expect(
      matchesTimeWindow(
        { ...hs, expires: String(created + 30 * 3600) },
        {},
        new Date(now.getTime() + 9 * 3600_000),
      ),
    ).toBe(false);
    expect(() => matchesTimeWindow({}, { date: 'yesterday-ish' }, now)).toThrow(
      'Invalid Date header: yesterday-ish',
    );
  });

  it('parses token and quoted values, escapes, and the old "Signature " prefix', () => {
    expect(
      parseSignatureHeader('Signature keyId="a\\"b",algorithm=hs2019, headers="date",signature="c2ln"'),
    ).toEqual({
      keyId: 'a"b',
      algorithm: 'hs2019',
      headers: 'date',
      signature: 'c2ln',
    });
    expect(
      buildSigningString(['(request-target)', 'host', 'x-missing'], {
        method: 'POST',
        path: '/inbox',
        headers: { Host: 'h' },
      }),
    ).toBe('(request-target): post /inbox\nhost: h\nx-missing: ');
  });

  it('is interoperable with joyent http-signature in both directions', async () => {
    const headers = signRequest({
      keyId,
      privateKeyPem: key.privateKeyPem,
      method: 'POST',
      url,
      body,
      headers: { 'Content-Type': 'application/activity+json' },
    });
    const parsed = httpSignature.parseRequest({
      method: 'POST',
      url: '/users/bob/inbox',
      headers: incoming('POST', '', headers).headers as Record<string, string>,
    });
    expect(parsed.keyId).toBe(keyId);
    expect(httpSignature.verifySignature(parsed, key.publicKeyPem)).toBe(true);
    expect(httpSignature.verifySignature(parsed, other.publicKeyPem)).toBe(false);

    // joyent's signer through a real request to a local server, verified by ours.
    let seen: IncomingSignedRequest | undefined;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen = { method: req.method!, path: req.url!, headers: req.headers, body: Buffer.concat(chunks) };
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      await new Promise<void>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, path: '/inbox?x=1', method: 'POST' }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.setHeader('Digest', digestHeader(body));
        req.setHeader('Host', `127.0.0.1:${port}`);
        httpSignature.signRequest(req, {
          keyId,
          key: key.privateKeyPem,
          headers: ['(request-target)', 'host', 'date', 'digest'],
        });
        req.end(body);
      });
      // joyent signs the path with its query; ours tries the Mastodon form first, then with the query.
      expect(seen!.headers.authorization).toMatch(/^Signature keyId=/);
      const asSignature = {
        ...seen!,
        headers: { ...seen!.headers, signature: String(seen!.headers.authorization) },
      };
      expect(
        await verifyRequest(
          asSignature,
          resolver(() => key.publicKeyPem),
        ),
      ).toMatchObject({ ok: true });
    } finally {
      server.close();
    }
  });
});

describe('outgoing HTTP client', () => {
  const rules = [{ suffix: 'remote.test', host: '127.0.0.1', port: 1234 }];
  let server: http.Server;
  let port: number;
  let client: FederationHttp;
  const seenHosts: string[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seenHosts.push(String(req.headers.host));
      const u = new URL(req.url!, 'http://x');
      if (u.pathname === '/big') {
        res.writeHead(200, { 'Content-Type': 'application/activity+json' });
        res.end('x'.repeat(2 * 1024 * 1024));
      } else if (u.pathname === '/slow') {
        setTimeout(() => res.end('late'), 1_000).unref();
      } else if (u.pathname === '/redirect') {
        res.writeHead(302, { Location: 'https://b.remote.test/final' });
        res.end();
      } else {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end(`hello ${req.headers.host}`);
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
    client = new FederationHttp({
      resolve: [{ suffix: 'remote.test', host: '127.0.0.1', port }],
      timeoutsMs: { connect: 500, read: 200 },
      userAgent: () => 'test',
    });
  });
  afterAll(() => {
    client?.close();
    server.closeAllConnections();
    server.close();
  });

  it('maps resolve-rule hosts to loopback over http with the Host header kept; refuses everything but loopback', () => {
    expect(targetFor(rules, new URL('https://a.remote.test/inbox'))).toMatchObject({
      protocol: 'http:',
      connectHost: '127.0.0.1',
      port: 1234,
      hostHeader: 'a.remote.test',
    });
    expect(targetFor(rules, new URL('https://remote.test/'))).toMatchObject({ protocol: 'http:' });
    // a name no rule covers is refused before any DNS lookup (rules match whole labels)
    expect(() => targetFor(rules, new URL('https://xremote.test/'))).toThrow(/not covered by a resolve rule/);
    expect(() => targetFor(rules, new URL('http://example.org/'))).toThrow(HttpClientError);
    expect(() => targetFor(rules, new URL('http://127.0.0.1:3000/'))).toThrow(
      /plain http is only used for hosts matched by a resolve rule/,
    );
    expect(() => targetFor(rules, new URL('https://8.8.8.8/'))).toThrow(/non-loopback/);
    expect(() =>
      targetFor([{ suffix: 'x.test', host: '10.0.0.1', port: 80 }], new URL('https://a.x.test/')),
    ).toThrow(/not a loopback address/);
    expect(targetFor(rules, new URL('https://127.0.0.2:8443/'))).toMatchObject({
      protocol: 'https:',
      connectHost: '127.0.0.2',
      port: 8443,
    });
    expect([
      isLoopbackAddress('127.9.9.9'),
      isLoopbackAddress('::1'),
      isLoopbackAddress('::ffff:127.0.0.1'),
      isLoopbackAddress('192.168.1.1'),
    ]).toEqual([true, true, true, false]);
  });

  it('reaches a.remote.test at the rule target, caps bodies at 1 MB, times out, follows redirects', async () => {
    const res = await client.request({ url: 'https://a.remote.test/hello' });
    expect(res.body.toString()).toBe('hello a.remote.test');
    await expect(client.request({ url: 'https://a.remote.test/big' })).rejects.toMatchObject({
      code: 'length',
    });
    const truncated = await client.request({ url: 'https://a.remote.test/big', truncate: true });
    expect(truncated.bytes).toBe(1024 * 1024);
    await expect(client.request({ url: 'https://a.remote.test/slow' })).rejects.toMatchObject({
      code: 'timeout',
    });
    const redirected = await client.request({ url: 'https://a.remote.test/redirect' });
    expect([redirected.status, redirected.url, redirected.body.toString()]).toEqual([
      200,
      'https://b.remote.test/final',
      'hello b.remote.test',
    ]);
    await expect(client.request({ url: 'https://nowhere.invalid/' })).rejects.toBeInstanceOf(HttpClientError);
  });
});

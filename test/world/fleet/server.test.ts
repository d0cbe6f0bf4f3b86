import { createPublicKey, createPrivateKey, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyRequest } from '../../../src/mastodon/signatures.js';
import type { DeliveryRecord, FleetManifest } from '../../../world/fleet/manifest.js';
import { startFleet, type RunningFleet } from '../../../world/fleet/server.js';
import { KeyServer, postSigned, request, waitFor } from '../../support/fleet.js';
import { PUBLIC_COLLECTION } from '../../../src/mastodon/activitypub.js';

const KB = 1024;

describe('fleet: documents per Host', () => {
  let fleet: RunningFleet;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fedicap-fleet-'));
    fleet = await startFleet({
      instances: 3,
      actorsPerInstance: 4,
      coldFraction: 0.5,
      mediaSizesBytes: [16 * KB, 200 * KB],
      manifestOut: join(dir, 'fleet.json'),
      pagesPerInstance: 2,
      seed: 7,
    });
  });
  afterAll(async () => {
    await fleet?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the manifest owner-only, parseable, with warm and cold actors and working private keys', async () => {
    const file = join(dir, 'fleet.json');
    expect(fleet.manifestPath).toBe(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const m = JSON.parse(readFileSync(file, 'utf8')) as FleetManifest;
    expect(m).toEqual(fleet.manifest);
    expect(m).toMatchObject({
      version: 1,
      fleetUrl: fleet.url,
      scheme: 'http',
      hostSuffix: 'fleet.test',
      slowDelayMs: 12_000,
      failStatus: 503,
    });
    expect(m.instances.map((i) => i.host)).toEqual(['i1.fleet.test', 'i2.fleet.test', 'i3.fleet.test']);
    expect(
      m.instances.every((i) => i.behaviour === 'normal' && i.sharedInbox === `http://${i.host}/inbox`),
    ).toBe(true);
    expect(m.actors).toHaveLength(12);
    for (const host of ['i1.fleet.test', 'i2.fleet.test', 'i3.fleet.test']) {
      const pops = m.actors.filter((a) => a.host === host).map((a) => a.population);
      expect(pops).toEqual(['warm', 'warm', 'cold', 'cold']);
    }
    expect(new Set(m.actors.map((a) => `${a.host}/${a.username}`)).size).toBe(12);
    for (const a of m.actors) {
      expect(a.username).toMatch(/^[a-z0-9_]{1,30}$/);
      expect(a).toMatchObject({
        id: `http://${a.host}/users/${a.username}`,
        keyId: `http://${a.host}/users/${a.username}#main-key`,
        inbox: `http://${a.host}/users/${a.username}/inbox`,
        sharedInbox: `http://${a.host}/inbox`,
      });
      expect(createPrivateKey(a.privateKeyPem).asymmetricKeyType).toBe('rsa');
    }
    expect(m.relay).toMatchObject({
      id: 'http://relay.fleet.test/actor',
      inbox: 'http://relay.fleet.test/inbox',
      host: 'relay.fleet.test',
      username: 'relay',
    });
    expect(m.media.map((x) => x.path)).toEqual(['/media/16KB.jpg', '/media/200KB.jpg']);
    expect(m.pages).toHaveLength(6);
    expect(m.pages[0]).toMatchObject({ url: 'http://i1.fleet.test/pages/1', host: 'i1.fleet.test' });
    // The same seed gives the same people.
    const again = await startFleet({
      instances: 3,
      actorsPerInstance: 4,
      mediaSizesBytes: [16 * KB],
      seed: 7,
    });
    try {
      expect(again.manifest.actors.map((a) => a.username)).toEqual(m.actors.map((a) => a.username));
    } finally {
      await again.stop();
    }
  });

  it('serves WebFinger, the actor (with a key matching the manifest), collections and notes for each host', async () => {
    const a = fleet.manifest.actors.find((x) => x.host === 'i2.fleet.test')!;
    const wf = await request(
      fleet.url,
      a.host,
      `/.well-known/webfinger?resource=${encodeURIComponent(`acct:${a.username}@${a.host}`)}`,
    );
    expect(wf.status).toBe(200);
    expect(wf.headers['content-type']).toMatch(/^application\/jrd\+json/);
    expect(wf.json()).toMatchObject({
      subject: `acct:${a.username}@${a.host}`,
      links: expect.arrayContaining([{ rel: 'self', type: 'application/activity+json', href: a.id }]),
    });
    // By actor URL too; another host does not know the account.
    expect(
      (await request(fleet.url, a.host, `/.well-known/webfinger?resource=${encodeURIComponent(a.id)}`))
        .status,
    ).toBe(200);
    expect(
      (
        await request(
          fleet.url,
          'i1.fleet.test',
          `/.well-known/webfinger?resource=acct:${a.username}@${a.host}`,
        )
      ).status,
    ).toBe(404);
    expect(
      (await request(fleet.url, a.host, '/.well-known/webfinger?resource=acct:nobody@i2.fleet.test')).status,
    ).toBe(404);

    const actor = await request(fleet.url, a.host, `/users/${a.username}`, {
      headers: { Accept: 'application/activity+json' },
    });
    expect(actor.status).toBe(200);
    expect(actor.headers['content-type']).toMatch(/^application\/activity\+json/);
    const doc = actor.json<{ publicKey: { publicKeyPem: string } }>();
    expect(doc).toMatchObject({
      id: a.id,
      type: 'Person',
      preferredUsername: a.username,
      inbox: a.inbox,
      outbox: `${a.id}/outbox`,
      followers: `${a.id}/followers`,
      following: `${a.id}/following`,
      endpoints: { sharedInbox: a.sharedInbox },
      publicKey: { id: a.keyId, owner: a.id },
      icon: { type: 'Image', url: `http://${a.host}/system/avatars/${a.username}.png` },
      image: { type: 'Image', url: `http://${a.host}/system/headers/${a.username}.jpg` },
    });
    const pub = createPublicKey(doc.publicKey.publicKeyPem).export({ format: 'der', type: 'spki' });
    expect(
      createPublicKey(createPrivateKey(a.privateKeyPem)).export({ format: 'der', type: 'spki' }).equals(pub),
    ).toBe(true);
    // Same path, other host: not there.
    expect((await request(fleet.url, 'i3.fleet.test', `/users/${a.username}`)).status).toBe(404);
    expect((await request(fleet.url, 'elsewhere.example', `/users/${a.username}`)).status).toBe(404);

    for (const kind of ['outbox', 'followers', 'following']) {
      const c = await request(fleet.url, a.host, `/users/${a.username}/${kind}`);
      expect(c.status).toBe(200);
      expect(c.json()).toMatchObject({
        id: `${a.id}/${kind}`,
        type: 'OrderedCollection',
        totalItems: expect.any(Number),
      });
    }
    const note = await request(fleet.url, a.host, `/users/${a.username}/statuses/1722000000000`);
    expect(note.json()).toMatchObject({
      id: `${a.id}/statuses/1722000000000`,
      type: 'Note',
      attributedTo: a.id,
      to: [PUBLIC_COLLECTION],
      published: new Date(1722000000000).toISOString(),
    });
    expect((await request(fleet.url, a.host, `/users/${a.username}/statuses/1722000000000`)).text).toBe(
      note.text,
    ); // deterministic
    expect(
      (await request(fleet.url, a.host, `/users/${a.username}/statuses/abc/activity`)).json(),
    ).toMatchObject({ type: 'Create', actor: a.id, object: { id: `${a.id}/statuses/abc` } });

    const relay = await request(fleet.url, 'relay.fleet.test', '/actor');
    expect(relay.json()).toMatchObject({
      id: 'http://relay.fleet.test/actor',
      type: 'Application',
      inbox: 'http://relay.fleet.test/inbox',
      preferredUsername: 'relay',
    });
    expect(
      (
        await request(
          fleet.url,
          'relay.fleet.test',
          '/.well-known/webfinger?resource=acct:relay@relay.fleet.test',
        )
      ).json(),
    ).toMatchObject({
      links: expect.arrayContaining([
        expect.objectContaining({ rel: 'self', href: 'http://relay.fleet.test/actor' }),
      ]),
    });
    expect(fleet.stats().actorsFetched).toBe(1);
  });

  it('serves real images of about the requested sizes, avatars, headers and pages with OpenGraph tags', async () => {
    for (const m of fleet.manifest.media) {
      const res = await request(fleet.url, 'i3.fleet.test', `${m.path}?n=42`);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('image/jpeg');
      expect(res.body.length).toBe(m.bytes);
      const requested = Number(/(\d+)KB/.exec(m.path!)![1]) * KB;
      expect(Math.abs(m.bytes - requested) / requested).toBeLessThanOrEqual(0.1);
      expect(await sharp(res.body).metadata()).toMatchObject({
        format: 'jpeg',
        width: m.width,
        height: m.height,
      });
    }
    const a = fleet.manifest.actors[0]!;
    const avatar = await request(fleet.url, a.host, `/system/avatars/${a.username}.png`);
    expect(await sharp(avatar.body).metadata()).toMatchObject({ format: 'png', width: 400, height: 400 });
    const header = await request(fleet.url, a.host, `/system/headers/${a.username}.jpg`);
    expect(await sharp(header.body).metadata()).toMatchObject({ format: 'jpeg', width: 1500, height: 500 });
    expect((await request(fleet.url, a.host, '/media/nope.jpg')).status).toBe(404);

    const page = await request(fleet.url, 'i2.fleet.test', '/pages/1');
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    const title = fleet.manifest.pages.find((p) => p.url === 'http://i2.fleet.test/pages/1')!.title;
    expect(page.text).toContain(`<meta property="og:title" content="${title}">`);
    expect(page.text).toMatch(/<meta property="og:description" content="[^"]+">/);
    expect(page.text).toContain('<meta property="og:image" content="http://i2.fleet.test/media/16KB.jpg">');
    expect((await request(fleet.url, 'i2.fleet.test', '/pages/987654')).status).toBe(200); // any page number, for unique links
  });
});

describe('fleet: inboxes', () => {
  let fleet: RunningFleet;
  let target: KeyServer;
  let dir: string;
  const logged: string[] = [];

  const create = (id: string, published = new Date(Date.now() - 1500).toISOString()) => ({
    '@context': 'https://www.w3.org/ns/activitystreams',
    id: `${target.actorId}/statuses/${id}/activity`,
    type: 'Create',
    actor: target.actorId,
    to: [PUBLIC_COLLECTION],
    object: {
      id: `${target.actorId}/statuses/${id}`,
      type: 'Note',
      attributedTo: target.actorId,
      published,
      content: '<p>hi</p>',
      to: [PUBLIC_COLLECTION],
    },
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fedicap-fleet-inbox-'));
    target = await new KeyServer().start();
    fleet = await startFleet({
      instances: 4,
      actorsPerInstance: 2,
      slowInstances: 1,
      failingInstances: 1,
      slowDelayMs: 400,
      mediaSizesBytes: [8 * KB],
      deliveriesOut: join(dir, 'deliveries.ndjson'),
      captureRequests: 50,
      log: (l) => logged.push(l),
    });
  });
  afterAll(async () => {
    await fleet?.stop();
    await target?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const find = (activityId: string) => fleet.deliveries().find((d) => d.activityId === activityId);

  it('records a delivery signed by a key it fetches from the target (202), and a tampered one as unsigned (401)', async () => {
    const published = new Date(Date.now() - 1500).toISOString();
    const ok = create('1', published);
    const res = await postSigned(fleet.url, 'http://i1.fleet.test/inbox', ok, target.signer);
    expect(res.status).toBe(202);
    expect(find(ok.id)).toEqual<DeliveryRecord>({
      activityId: ok.id,
      type: 'Create',
      inbox: 'http://i1.fleet.test/inbox',
      host: 'i1.fleet.test',
      originTimeMs: Date.parse(published),
      receivedAtMs: expect.any(Number),
      signatureOk: true,
      keyId: target.keyId,
      status: 202,
    });
    expect(find(ok.id)!.receivedAtMs).toBeGreaterThanOrEqual(Date.parse(published));

    const bad = create('2');
    const tampered = await postSigned(fleet.url, 'http://i1.fleet.test/inbox', bad, target.signer, {
      tamperBody: (b) => b.replace('<p>hi</p>', '<p>HI</p>'),
    });
    expect(tampered.status).toBe(401);
    expect(tampered.json()).toMatchObject({ error: expect.stringMatching(/Digest/) });
    expect(find(bad.id)).toMatchObject({ signatureOk: false, status: 401, keyId: target.keyId });

    // A signature over other headers than sent (Date changed after signing) fails verification itself.
    const forged = create('3');
    const r3 = await postSigned(fleet.url, 'http://i1.fleet.test/inbox', forged, target.signer, {
      headers: { Date: new Date(Date.now() - 60_000).toUTCString() },
    });
    expect(r3.status).toBe(401);
    expect(r3.json()).toMatchObject({ error: expect.stringMatching(/^Verification failed/) });
    expect(find(forged.id)).toMatchObject({ signatureOk: false, status: 401 });

    // Unsigned: 401, recorded with no keyId.
    const unsigned = create('4');
    const r4 = await request(fleet.url, 'i1.fleet.test', '/inbox', {
      method: 'POST',
      headers: { 'Content-Type': 'application/activity+json' },
      body: JSON.stringify(unsigned),
    });
    expect(r4.status).toBe(401);
    expect(find(unsigned.id)).toMatchObject({ signatureOk: false, keyId: null, status: 401 });

    // The key was fetched once and cached; the failed verification did not refetch it again within 10 s.
    expect(target.gets).toBe(1);
  });

  it('accepts personal inboxes of existing actors only', async () => {
    const a = fleet.manifest.actors.find((x) => x.host === 'i2.fleet.test')!;
    const act = create('5');
    expect((await postSigned(fleet.url, a.inbox, act, target.signer)).status).toBe(202);
    expect(find(act.id)).toMatchObject({
      inbox: a.inbox,
      host: 'i2.fleet.test',
      signatureOk: true,
      status: 202,
    });
    const nobody = create('6');
    expect(
      (await postSigned(fleet.url, 'http://i2.fleet.test/users/nobody/inbox', nobody, target.signer)).status,
    ).toBe(404);
    expect(find(nobody.id)).toMatchObject({ status: 404 });
  });

  it('holds deliveries to slow instances for the configured delay, and records a client that gave up as 499', async () => {
    const slow = fleet.manifest.instances.find((i) => i.behaviour === 'slow')!;
    expect(slow.host).toBe('i3.fleet.test');
    const act = create('7');
    const res = await postSigned(fleet.url, slow.sharedInbox, act, target.signer);
    expect(res.status).toBe(202);
    expect(res.elapsedMs).toBeGreaterThanOrEqual(380);
    expect(find(act.id)).toMatchObject({ host: 'i3.fleet.test', signatureOk: true, status: 202 });

    const gaveUp = create('8');
    const aborted = await postSigned(fleet.url, slow.sharedInbox, gaveUp, target.signer, {
      abortAfterMs: 100,
    });
    expect(aborted.status).toBe(0);
    const record = await waitFor(() => find(gaveUp.id), 'the record of the abandoned delivery', 2_000);
    expect(record).toMatchObject({ status: 499, signatureOk: true });
    expect(fleet.stats().held).toBe(0);
  });

  it('answers failing instances with 503 (still recording who sent what)', async () => {
    const failing = fleet.manifest.instances.find((i) => i.behaviour === 'failing')!;
    expect(failing.host).toBe('i4.fleet.test');
    const act = create('9');
    expect((await postSigned(fleet.url, failing.sharedInbox, act, target.signer)).status).toBe(503);
    expect(find(act.id)).toMatchObject({ host: 'i4.fleet.test', status: 503, signatureOk: true });
  });

  it('refuses bodies over 1 MB (413) and malformed JSON (400)', async () => {
    const big = { ...create('10'), padding: 'x'.repeat(1024 * 1024 + 10) };
    const res = await postSigned(fleet.url, 'http://i1.fleet.test/inbox', big, target.signer);
    expect(res.status).toBe(413);
    expect(fleet.deliveries().some((d) => d.status === 413)).toBe(true);
    const garbled = await request(fleet.url, 'i1.fleet.test', '/inbox', {
      method: 'POST',
      headers: { 'Content-Type': 'application/activity+json' },
      body: '{nope',
    });
    expect(garbled.status).toBe(400);
  });

  it('never contacts a non-loopback key host', async () => {
    const act = { ...create('11'), actor: 'https://10.1.2.3/users/x' };
    const signer = { keyId: 'https://10.1.2.3/users/x#main-key', privateKeyPem: target.keys.privateKeyPem };
    const t0 = Date.now();
    const res = await postSigned(fleet.url, 'http://i1.fleet.test/inbox', act, signer);
    expect(res.status).toBe(401);
    expect(Date.now() - t0).toBeLessThan(1_000); // refused before connecting, not timed out
    expect(res.json()).toMatchObject({ error: expect.stringMatching(/not a loopback address/) });
    expect(find(act.id)).toMatchObject({
      signatureOk: false,
      keyId: 'https://10.1.2.3/users/x#main-key',
      status: 401,
    });
  });

  it('answers a Follow of a fleet actor with an Accept signed by that actor, delivered to the follower', async () => {
    const followed = fleet.manifest.actors.find((x) => x.host === 'i1.fleet.test')!;
    const follow = {
      '@context': 'https://www.w3.org/ns/activitystreams',
      id: `${target.actorId}#follows/1`,
      type: 'Follow',
      actor: target.actorId,
      object: followed.id,
    };
    expect((await postSigned(fleet.url, followed.inbox, follow, target.signer)).status).toBe(202);
    const accept = await waitFor(() => target.received.find((r) => r.json.type === 'Accept'), 'the Accept');
    expect(accept.path).toBe('/users/tester/inbox');
    expect(accept.json).toMatchObject({
      type: 'Accept',
      actor: followed.id,
      object: { id: follow.id, type: 'Follow', actor: target.actorId, object: followed.id },
    });
    // Verify the Accept's signature with the key the fleet publishes for that actor.
    const publicKeyPem = (await request(fleet.url, followed.host, `/users/${followed.username}`)).json<{
      publicKey: { publicKeyPem: string };
    }>().publicKey.publicKeyPem;
    const verified = await verifyRequest(
      { method: 'POST', path: accept.path, headers: accept.headers, body: accept.body },
      { lookup: async (keyId) => (keyId === followed.keyId ? { publicKeyPem } : null) },
    );
    expect(verified.ok).toBe(true);
    expect(fleet.stats().accepts).toMatchObject({ sent: 1, failed: 0 });
  });

  it('serves cold actors on demand under any run prefix, with pool keys, and reports what the target fetched', async () => {
    const m = fleet.manifest;
    expect(m.coldActors?.usernamePrefix).toBe('cold');
    expect(m.coldActors?.keys.length).toBe(m.keyPoolSize);
    expect(m.observedUrl).toBe(`${fleet.url}/.fedicap/observed`);
    const since = Date.now();
    const host = 'i3.fleet.test';
    const get = (name: string) =>
      request(fleet.url, host, `/users/${name}`, { headers: { Accept: 'application/activity+json' } });
    const wf = await request(fleet.url, host, `/.well-known/webfinger?resource=acct:coldrun1x5@${host}`);
    expect(wf.status).toBe(200);
    const res = await get('coldrun1x5');
    expect(res.status).toBe(200);
    const doc = res.json<{ id: string; name: string; inbox: string; publicKey: { publicKeyPem: string } }>();
    expect(doc).toMatchObject({
      id: `http://${host}/users/coldrun1x5`,
      inbox: `http://${host}/users/coldrun1x5/inbox`,
    });
    // signed with pool key 5 mod K, as the scenario computes it
    const spki = (key: string | KeyObject) => createPublicKey(key).export({ type: 'spki', format: 'pem' });
    const pool = m.coldActors!.keys;
    expect(spki(doc.publicKey.publicKeyPem)).toBe(spki(createPrivateKey(pool[5 % pool.length]!)));
    // the same person whenever fetched (drawn from the seed and the name); another run's is another
    expect((await get('coldrun1x5')).json<{ name: string }>().name).toBe(doc.name);
    expect((await get('coldrun2x5')).status).toBe(200);
    expect((await get('coldrun1x')).status).toBe(404);
    expect((await get('warmrun1x5')).status).toBe(404);
    const observed = async (prefix: string) =>
      (await request(fleet.url, '127.0.0.1', `/.fedicap/observed?since=${since}&prefix=${prefix}`)).json<{
        actorsFetched: number;
        deliveries: Record<string, number>;
      }>();
    expect((await observed('coldrun1x')).actorsFetched).toBe(1);
    expect((await observed('coldrun')).actorsFetched).toBe(2);
    expect((await observed('coldrun3x')).actorsFetched).toBe(0);
    // verified deliveries by type since a time (the Accept and Creates of the tests above came earlier)
    const all = (await request(fleet.url, 'x', '/.fedicap/observed?since=0')).json<{
      deliveries: Record<string, number>;
    }>();
    expect(all.deliveries.Create).toBeGreaterThanOrEqual(1);
    expect((await observed('x')).deliveries).toEqual({});
  });

  it('flushes the deliveries file as NDJSON within a second, and on stop', async () => {
    const file = join(dir, 'deliveries.ndjson');
    const first = create('12a');
    await postSigned(fleet.url, 'http://i1.fleet.test/inbox', first, target.signer);
    const t0 = Date.now();
    await waitFor(() => readFileSync(file, 'utf8').includes(first.id), 'the periodic flush', 3_000);
    expect(Date.now() - t0).toBeLessThan(1_500);
    const act = create('12');
    await postSigned(fleet.url, 'http://i1.fleet.test/inbox', act, target.signer);
    await fleet.stop();
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as DeliveryRecord);
    expect(lines).toEqual(fleet.deliveries());
    expect(lines.at(-1)).toMatchObject({ activityId: act.id, signatureOk: true });
    expect(fleet.requests().length).toBeGreaterThan(0);
  });
});

describe('fleet: stop', () => {
  it('ends requests held by a slow instance at once (recorded as 499) and flushes the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedicap-fleet-stop-'));
    const target = await new KeyServer().start();
    const fleet = await startFleet({
      instances: 1,
      actorsPerInstance: 1,
      slowInstances: 1,
      slowDelayMs: 60_000,
      mediaSizesBytes: [2048],
      deliveriesOut: join(dir, 'd.ndjson'),
    });
    try {
      const act = {
        id: `${target.actorId}/statuses/1/activity`,
        type: 'Create',
        actor: target.actorId,
        published: new Date().toISOString(),
      };
      const pending = postSigned(fleet.url, 'http://i1.fleet.test/inbox', act, target.signer).catch(
        (e: Error) => e,
      );
      await waitFor(() => fleet.stats().held === 1, 'the request to be held', 5_000);
      const t0 = Date.now();
      await fleet.stop();
      expect(Date.now() - t0).toBeLessThan(3_000);
      expect(await pending).toBeInstanceOf(Error); // the connection was closed without an answer
      const lines = readFileSync(join(dir, 'd.ndjson'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as DeliveryRecord);
      expect(lines).toEqual([
        expect.objectContaining({ activityId: act.id, status: 499, signatureOk: true }),
      ]);
      await fleet.stop(); // idempotent
    } finally {
      await fleet.stop();
      await target.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

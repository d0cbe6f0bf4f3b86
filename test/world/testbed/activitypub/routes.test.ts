import { existsSync, statSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import httpSignature from 'http-signature';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountRow } from '../../../../world/testbed/activitypub/accounts.js';
import { digestHeader, verifyRequest } from '../../../../src/mastodon/signatures.js';
import { accountUri } from '../../../../world/testbed/activitypub/uris.js';
import {
  AS,
  PUBLIC,
  createLocalAccount,
  createLocalStatus,
  drain,
  errorsOf,
  noteCreate,
  png,
  postSigned,
  queued,
  scheduledJobs,
  settle,
  startFederation,
  type FederationFixture,
  type RemoteActor,
} from '../../../support/activitypub.js';

/** A remote actor's Follow of `object`. */
const followOf = (actor: RemoteActor, object: string) => ({
  '@context': AS,
  id: `${actor.uri}#follows/1`,
  type: 'Follow',
  actor: actor.uri,
  object,
});

describe('ActivityPub inbox and processing', () => {
  let f: FederationFixture;
  let alice: AccountRow;
  let aliceUri: string;
  let bob: RemoteActor;
  let pngBytes: Buffer;
  let pngUrl: string;

  const health = async () => (await fetch(`${f.fx.url}/health`)).status;
  const accountIdOf = async (uri: string) =>
    (await f.tb.db.query<{ id: string }>('SELECT id FROM accounts WHERE uri = $1', [uri])).rows[0]?.id;

  beforeAll(async () => {
    f = await startFederation();
    alice = await createLocalAccount(f.tb, 'alice');
    aliceUri = accountUri(f.tb, 'alice');
    bob = await f.remote.addActor('a.remote.test', 'bob');
    pngBytes = await png(64, 48);
    pngUrl = f.remote.serve('a.remote.test', '/media/cat.png', pngBytes, 'image/png');
  });
  afterAll(async () => {
    await f?.stop();
  });

  it('verifies, stores and processes a signed Create with a downloaded attachment and a mention notification', async () => {
    const activity = noteCreate(bob, '1', {
      content: `<p>hi <span class="h-card"><a href="${aliceUri}" class="u-url mention">@<span>alice</span></a></span> see <a href="https://news.remote.test/story">story</a></p>`,
      tag: [{ type: 'Mention', href: aliceUri, name: `@alice@${f.tb.domain}` }],
      attachment: [{ type: 'Document', mediaType: 'image/png', url: pngUrl, name: 'a cat' }],
    });
    const res = await postSigned(f.fx, '/inbox', activity, bob);
    expect(res.status).toBe(202);

    const jobs = await queued(f.tb, 'ingress');
    expect(jobs).toHaveLength(1);
    const bobId = await accountIdOf(bob.uri);
    expect(jobs[0]).toMatchObject({ class: 'ActivityPub::ProcessingWorker', queue: 'ingress', retry: 8 });
    expect(jobs[0]!.args).toEqual([bobId, JSON.stringify(activity), null, 'Account']);

    const performed = await drain(f.tb, 'ingress');
    expect(performed.map((p) => p.error)).toEqual([undefined]);

    const noteId = (activity.object as { id: string }).id;
    const status = (await f.tb.db.query('SELECT * FROM statuses WHERE uri = $1', [noteId])).rows[0];
    expect(status).toMatchObject({ account_id: bobId, local: false, visibility: 0 });
    expect(status.text).toContain('see <a href="https://news.remote.test/story">');

    const media = (await f.tb.db.query('SELECT * FROM media_attachments WHERE status_id = $1', [status.id]))
      .rows;
    expect(media).toHaveLength(1);
    expect(media[0]).toMatchObject({
      remote_url: pngUrl,
      type: 0,
      processing: 2,
      description: 'a cat',
      file_size: String(pngBytes.length),
    });
    const file = join(f.fx.mediaDir, media[0].file_path);
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).size).toBe(pngBytes.length);
    expect(media[0].meta.original).toMatchObject({ width: 64, height: 48 });
    expect(media[0].thumbnail_path).toBe(media[0].file_path.replace('/original/', '/small/'));
    expect(Number(media[0].thumbnail_size)).toBe(statSync(join(f.fx.mediaDir, media[0].thumbnail_path)).size);
    expect(media[0].meta.small).toMatchObject({ width: 64, height: 48 });

    const mentions = (
      await f.tb.db.query('SELECT account_id FROM mentions WHERE status_id = $1', [status.id])
    ).rows;
    expect(mentions).toEqual([{ account_id: alice.id }]);

    // Follow-up jobs: local fan-out now, link crawl delayed (Mastodon: 1–59 s).
    const local = await queued(f.tb, 'default');
    expect(local.map((j) => [j.class, j.args])).toEqual([['DistributionWorker', [status.id]]]);
    const later = (await scheduledJobs(f.tb)).filter((j) => j.class === 'LinkCrawlWorker');
    expect(later.map((j) => j.args)).toEqual([[status.id]]);
    expect(later[0]!.queue).toBe('pull');

    // The local fan-out (DistributionWorker → LocalNotificationWorker) notifies the mentioned account.
    expect(errorsOf(await settle(f.tb))).toEqual([]);
    const notes = (await f.tb.db.query('SELECT * FROM notifications WHERE account_id = $1', [alice.id])).rows;
    expect(notes).toEqual([
      expect.objectContaining({ type: 'mention', from_account_id: bobId, status_id: status.id }),
    ]);

    // Redelivery (new signature, same activity) is accepted and changes nothing.
    expect((await postSigned(f.fx, '/inbox', activity, bob)).status).toBe(202);
    expect((await drain(f.tb, 'ingress')).map((p) => p.error)).toEqual([undefined]);
    expect(await queued(f.tb, 'default')).toEqual([]);
    expect(
      (await f.tb.db.query('SELECT count(*)::int AS n FROM statuses WHERE uri = $1', [noteId])).rows[0].n,
    ).toBe(1);
    expect(
      (await f.tb.db.query('SELECT count(*)::int AS n FROM notifications WHERE account_id = $1', [alice.id]))
        .rows[0].n,
    ).toBe(1);
    expect(
      (
        await f.tb.db.query('SELECT count(*)::int AS n FROM media_attachments WHERE status_id = $1', [
          status.id,
        ])
      ).rows[0].n,
    ).toBe(1);
    await f.tb.redis.del('queue:default', 'schedule');
  });

  it('fetches an unknown key once, synchronously inside the request, then serves from the database', async () => {
    const avatar = f.remote.serve('b.remote.test', '/avatars/carol.png', await png(32, 32), 'image/png');
    const carol = await f.remote.addActor('b.remote.test', 'carol', { icon: avatar });
    f.remote.clearLog();
    const activity = noteCreate(carol, '1', { tag: [{ type: 'Mention', href: aliceUri }] });
    expect((await postSigned(f.fx, '/inbox', activity, carol)).status).toBe(202);

    const cold = f.remote.seen((r) => r.host === 'b.remote.test').map((r) => `${r.method} ${r.url}`);
    // FetchRemoteKeyService: the key URI (actor document), then the document again by its id (fetch_resource
    // with id: false),
    // WebFinger, the three collection totals and the avatar — all before the 202.
    expect(cold.sort()).toEqual(
      [
        'GET /users/carol',
        'GET /users/carol',
        `GET /.well-known/webfinger?resource=${encodeURIComponent('acct:carol@b.remote.test')}`,
        'GET /users/carol/outbox',
        'GET /users/carol/followers',
        'GET /users/carol/following',
        'GET /avatars/carol.png',
      ].sort(),
    );
    // The key fetches are signed GETs by the instance actor, and verify.
    const keyFetch = f.remote.seen((r) => r.host === 'b.remote.test' && r.path === '/users/carol')[0]!;
    const check = await verifyRequest(
      { method: 'GET', path: keyFetch.url, headers: keyFetch.headers },
      {
        lookup: async (keyId) => {
          expect(keyId).toBe(`${f.tb.baseUrl}/actor#main-key`);
          const doc = (await (await fetch(keyId.split('#')[0]!)).json()) as {
            publicKey: { publicKeyPem: string };
          };
          return { publicKeyPem: doc.publicKey.publicKeyPem };
        },
      },
    );
    expect(check.ok).toBe(true);

    const row = (await f.tb.db.query('SELECT * FROM accounts WHERE uri = $1', [carol.uri])).rows[0];
    expect(row).toMatchObject({
      username: 'carol',
      domain: 'b.remote.test',
      inbox_url: carol.inbox,
      shared_inbox_url: 'https://b.remote.test/inbox',
      key_id: carol.keyId,
      public_key: carol.keys.publicKeyPem,
      statuses_count: 12,
      followers_count: 34,
      following_count: 56,
    });
    expect(row.last_webfingered_at).not.toBeNull();

    f.remote.clearLog();
    expect((await postSigned(f.fx, '/inbox', noteCreate(carol, '2'), carol)).status).toBe(202);
    expect(f.remote.seen()).toHaveLength(0);
    await f.tb.redis.del('queue:ingress');
  });

  it('answers 401/400/413 with Mastodon error JSON for bad requests and keeps serving', async () => {
    const activity = noteCreate(bob, 'bad');
    const body = JSON.stringify(activity);

    const unsigned = await fetch(`${f.fx.url}/inbox`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/activity+json' },
      body,
    });
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toEqual({ error: 'Request not signed' });
    expect(await health()).toBe(200);

    // Signed with a key that is not bob's: verification fails, the key is refetched once (rotation), still
    // fails.
    const impostor = { ...bob, keys: (await f.remote.addActor('x.remote.test', 'x')).keys };
    f.remote.clearLog();
    const bad = await postSigned(f.fx, '/inbox', activity, impostor);
    expect(bad.status).toBe(401);
    expect(JSON.parse(bad.body).error).toBe(
      `Verification failed for bob@a.remote.test ${bob.uri} using rsa-sha256 (RSASSA-PKCS1-v1_5 with SHA-256)`,
    );
    expect(f.remote.seen((r) => r.host === 'a.remote.test').map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /users/bob',
    ]);
    expect(await health()).toBe(200);

    const tampered = await postSigned(f.fx, '/inbox', activity, bob, {
      sendBody: body.replace('hello', 'HELLO'),
    });
    expect(tampered.status).toBe(401);
    const signedDigest = digestHeader(body).slice('SHA-256='.length);
    const wrongDigest = await postSigned(f.fx, '/inbox', activity, bob, {
      headers: (h) => ({ ...h, Digest: `SHA-256=${digestHeader('other').slice(8)}` }),
    });
    expect(wrongDigest.status).toBe(401);
    expect(JSON.parse(wrongDigest.body).error).toMatch(/^Invalid Digest value\. Computed SHA-256 digest: /);
    expect(JSON.parse(tampered.body).error).toContain(`given: ${signedDigest}`);
    expect(await health()).toBe(200);

    const stale = await postSigned(f.fx, '/inbox', activity, bob, {
      date: new Date(Date.now() - 2 * 3600_000),
    });
    expect(stale.status).toBe(401);
    expect(JSON.parse(stale.body)).toEqual({ error: 'Signed request date outside acceptable time window' });
    expect(await health()).toBe(200);

    const big = JSON.stringify({ ...activity, padding: 'x'.repeat(1024 * 1024) });
    const oversized = await postSigned(f.fx, '/inbox', null, bob, { body: big });
    expect(oversized.status).toBe(413);
    expect(await health()).toBe(200);

    const malformed = await postSigned(f.fx, '/inbox', null, bob, { body: '{"type": "Create",' });
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.body)).toEqual({ error: 'Error parsing JSON' });
    expect(await health()).toBe(200);

    const notJson = await postSigned(f.fx, '/inbox', activity, bob, { contentType: 'text/plain' });
    expect(notJson.status).toBe(415);

    // An unknown key whose server cannot be reached: 401, the web request does not hang.
    const unreachable = { ...bob, keyId: 'https://x.dead.test/users/ghost#main-key' };
    const down = await postSigned(f.fx, '/inbox', activity, unreachable);
    expect(down.status).toBe(401);
    expect(JSON.parse(down.body).error).toMatch(/^Failed to fetch remote data: .*x\.dead\.test/);
    expect(await health()).toBe(200);

    expect((await postSigned(f.fx, '/users/nobody/inbox', activity, bob)).status).toBe(404);
    expect(await queued(f.tb, 'ingress')).toHaveLength(0);
    expect(await health()).toBe(200);
  });

  it('accepts a key rotation: a new key verifies after one refetch', async () => {
    const dan = await f.remote.addActor('a.remote.test', 'dan');
    expect((await postSigned(f.fx, '/inbox', noteCreate(dan, '1'), dan)).status).toBe(202);
    await f.remote.rotateKey(dan);
    f.remote.clearLog();
    expect((await postSigned(f.fx, '/inbox', noteCreate(dan, '2'), dan)).status).toBe(202);
    expect(f.remote.seen().map((r) => `${r.method} ${r.path}`)).toEqual(['GET /users/dan']);
    expect(
      (await f.tb.db.query('SELECT public_key FROM accounts WHERE uri = $1', [dan.uri])).rows[0].public_key,
    ).toBe(dan.keys.publicKeyPem);
    await f.tb.redis.del('queue:ingress');
  });

  it('accepts a request signed by joyent http-signature (Signature header with the old "Signature " prefix)', async () => {
    const body = JSON.stringify(noteCreate(bob, 'joyent'));
    const url = new URL(`${f.fx.url}/users/alice/inbox`);
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST' },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.setHeader('Host', url.host);
      req.setHeader('Content-Type', 'application/activity+json');
      req.setHeader('Digest', digestHeader(body));
      httpSignature.signRequest(req, {
        keyId: bob.keyId,
        key: bob.keys.privateKeyPem,
        headers: ['(request-target)', 'host', 'date', 'digest'],
        authorizationHeaderName: 'Signature',
      });
      req.end(body);
    });
    expect(status).toBe(202);
    const [job] = await queued(f.tb, 'ingress');
    expect(job!.args[2]).toBe(alice.id); // delivered_to_account_id of the personal inbox
    await f.tb.redis.del('queue:ingress');
  });

  it('Follow → follows row, notification and an Accept delivered to the follower; Undo removes it', async () => {
    const erin = await f.remote.addActor('c.remote.test', 'erin', { sharedInbox: false });
    const follow = followOf(erin, aliceUri);
    expect((await postSigned(f.fx, '/users/alice/inbox', follow, erin)).status).toBe(202);
    expect((await drain(f.tb, 'ingress')).map((p) => p.error)).toEqual([undefined]);
    const erinId = await accountIdOf(erin.uri);
    const followId = (await f.tb.db.query('SELECT id FROM follows WHERE account_id = $1', [erinId])).rows[0]
      .id;
    expect((await queued(f.tb, 'default')).map((j) => [j.class, j.args])).toEqual([
      ['LocalNotificationWorker', [alice.id, followId, 'Follow', 'follow']],
    ]);
    expect(errorsOf(await settle(f.tb))).toEqual([]);
    expect(
      (
        await f.tb.db.query('SELECT uri FROM follows WHERE account_id = $1 AND target_account_id = $2', [
          erinId,
          alice.id,
        ])
      ).rows,
    ).toEqual([{ uri: follow.id }]);
    expect(
      (
        await f.tb.db.query(
          "SELECT count(*)::int AS n FROM notifications WHERE account_id = $1 AND type = 'follow'",
          [alice.id],
        )
      ).rows[0].n,
    ).toBe(1);
    expect(
      (await f.tb.db.query('SELECT followers_count FROM accounts WHERE id = $1', [alice.id])).rows[0]
        .followers_count,
    ).toBe(1);

    const push = await queued(f.tb, 'push');
    expect(push.map((j) => [j.class, j.args[1], j.args[2]])).toEqual([
      ['ActivityPub::DeliveryWorker', alice.id, erin.inbox],
    ]);
    f.remote.clearLog();
    expect((await drain(f.tb, 'push')).map((p) => p.error)).toEqual([undefined]);
    expect(f.remote.deliveries).toHaveLength(1);
    const accept = f.remote.deliveries[0]!;
    expect(accept).toMatchObject({
      host: 'c.remote.test',
      path: '/users/erin/inbox',
      verifiedMine: true,
      verifiedJoyent: true,
    });
    expect(accept.activity).toMatchObject({
      type: 'Accept',
      actor: aliceUri,
      object: { id: follow.id, type: 'Follow', actor: erin.uri, object: aliceUri },
    });

    const undo = {
      '@context': AS,
      id: `${erin.uri}#follows/1/undo`,
      type: 'Undo',
      actor: erin.uri,
      object: follow,
    };
    expect((await postSigned(f.fx, '/inbox', undo, erin)).status).toBe(202);
    await drain(f.tb, 'ingress');
    expect(
      (await f.tb.db.query('SELECT count(*)::int AS n FROM follows WHERE account_id = $1', [erinId])).rows[0]
        .n,
    ).toBe(0);
    expect(
      (await f.tb.db.query('SELECT followers_count FROM accounts WHERE id = $1', [alice.id])).rows[0]
        .followers_count,
    ).toBe(0);
  });

  it('Block → follows both ways gone and a block row; its Follow is then answered with Reject; Undo Block lifts it', async () => {
    const fred = await f.remote.addActor('c.remote.test', 'fred', { sharedInbox: false });
    const follow = followOf(fred, aliceUri);
    expect((await postSigned(f.fx, '/users/alice/inbox', follow, fred)).status).toBe(202);
    expect(errorsOf(await settle(f.tb))).toEqual([]);
    const fredId = await accountIdOf(fred.uri);
    await f.tb.db.query('INSERT INTO follows (account_id, target_account_id) VALUES ($1, $2)', [
      alice.id,
      fredId,
    ]);
    const follows = async () =>
      (
        await f.tb.db.query(
          'SELECT count(*)::int AS n FROM follows WHERE (account_id = $1 AND target_account_id = $2) OR (account_id = $2 AND target_account_id = $1)',
          [fredId, alice.id],
        )
      ).rows[0].n;
    expect(await follows()).toBe(2);

    // fred blocks alice: the follows go both ways and the block is recorded with its URI
    const block = {
      '@context': AS,
      id: `${fred.uri}#blocks/1`,
      type: 'Block',
      actor: fred.uri,
      object: aliceUri,
    };
    expect((await postSigned(f.fx, '/inbox', block, fred)).status).toBe(202);
    expect((await drain(f.tb, 'ingress')).map((p) => p.error)).toEqual([undefined]);
    expect(await follows()).toBe(0);
    expect(
      (
        await f.tb.db.query('SELECT uri FROM blocks WHERE account_id = $1 AND target_account_id = $2', [
          fredId,
          alice.id,
        ])
      ).rows,
    ).toEqual([{ uri: block.id }]);

    // alice blocks fred (as the client API's block does): fred's next Follow is answered with a Reject
    await f.tb.db.query('INSERT INTO blocks (account_id, target_account_id) VALUES ($1, $2)', [
      alice.id,
      fredId,
    ]);
    await f.tb.redis.del('queue:push');
    const again = { ...follow, id: `${fred.uri}#follows/2` };
    expect((await postSigned(f.fx, '/users/alice/inbox', again, fred)).status).toBe(202);
    expect((await drain(f.tb, 'ingress')).map((p) => p.error)).toEqual([undefined]);
    expect(await follows()).toBe(0);
    f.remote.clearLog();
    expect((await drain(f.tb, 'push')).map((p) => p.error)).toEqual([undefined]);
    expect(f.remote.deliveries.map((d) => d.activity)).toMatchObject([
      { type: 'Reject', actor: aliceUri, object: { id: again.id, type: 'Follow', actor: fred.uri } },
    ]);

    const undo = { '@context': AS, id: `${block.id}/undo`, type: 'Undo', actor: fred.uri, object: block.id };
    expect((await postSigned(f.fx, '/inbox', undo, fred)).status).toBe(202);
    await drain(f.tb, 'ingress');
    expect(
      (await f.tb.db.query('SELECT count(*)::int AS n FROM blocks WHERE account_id = $1', [fredId])).rows[0]
        .n,
    ).toBe(0);
    await f.tb.db.query('DELETE FROM blocks WHERE account_id = $1', [alice.id]);
  });

  it('Like → favourite and notification; Undo Like removes it; Announce → reblog and notification', async () => {
    const post = await createLocalStatus(f.tb, alice, 'a local post');
    const like = { '@context': AS, id: `${bob.uri}#likes/1`, type: 'Like', actor: bob.uri, object: post.uri };
    expect((await postSigned(f.fx, '/inbox', like, bob)).status).toBe(202);
    expect(errorsOf(await settle(f.tb))).toEqual([]);
    const bobId = await accountIdOf(bob.uri);
    expect(
      (await f.tb.db.query('SELECT account_id, uri FROM favourites WHERE status_id = $1', [post.id])).rows,
    ).toEqual([{ account_id: bobId, uri: like.id }]);
    expect(
      (await f.tb.db.query('SELECT favourites_count FROM statuses WHERE id = $1', [post.id])).rows[0]
        .favourites_count,
    ).toBe(1);
    expect(
      (
        await f.tb.db.query(
          "SELECT from_account_id FROM notifications WHERE type = 'favourite' AND status_id = $1",
          [post.id],
        )
      ).rows,
    ).toEqual([{ from_account_id: bobId }]);

    const undo = {
      '@context': AS,
      id: `${bob.uri}#likes/1/undo`,
      type: 'Undo',
      actor: bob.uri,
      object: like,
    };
    expect((await postSigned(f.fx, '/inbox', undo, bob)).status).toBe(202);
    expect(errorsOf(await settle(f.tb))).toEqual([]);
    expect(
      (await f.tb.db.query('SELECT count(*)::int AS n FROM favourites WHERE status_id = $1', [post.id]))
        .rows[0].n,
    ).toBe(0);
    expect(
      (await f.tb.db.query('SELECT favourites_count FROM statuses WHERE id = $1', [post.id])).rows[0]
        .favourites_count,
    ).toBe(0);

    const announce = {
      '@context': AS,
      id: `${bob.uri}/statuses/9/activity`,
      type: 'Announce',
      actor: bob.uri,
      to: [PUBLIC],
      object: post.uri,
    };
    expect((await postSigned(f.fx, '/inbox', announce, bob)).status).toBe(202);
    expect((await drain(f.tb, 'ingress')).map((p) => p.error)).toEqual([undefined]);
    const reblog = (
      await f.tb.db.query('SELECT id, account_id, visibility FROM statuses WHERE reblog_of_id = $1', [
        post.id,
      ])
    ).rows;
    expect(reblog).toEqual([{ id: expect.any(String), account_id: bobId, visibility: 0 }]);
    expect((await queued(f.tb, 'default')).map((j) => [j.class, j.args])).toEqual([
      ['LocalNotificationWorker', [alice.id, reblog[0].id, 'Status', 'reblog']],
      ['DistributionWorker', [reblog[0].id]],
    ]);
    expect(errorsOf(await settle(f.tb))).toEqual([]);
    expect(
      (
        await f.tb.db.query("SELECT status_id FROM notifications WHERE type = 'reblog' AND account_id = $1", [
          alice.id,
        ])
      ).rows,
    ).toEqual([{ status_id: post.id }]);
  });

  it('Delete removes a status with its cached media, or the actor; a Delete of an unknown actor is accepted without fetching', async () => {
    const activity = noteCreate(bob, 'to-delete', {
      attachment: [{ type: 'Document', mediaType: 'image/png', url: pngUrl }],
      tag: [{ type: 'Mention', href: aliceUri }],
    });
    await postSigned(f.fx, '/inbox', activity, bob);
    await drain(f.tb, 'ingress');
    const noteId = (activity.object as { id: string }).id;
    const status = (await f.tb.db.query('SELECT id FROM statuses WHERE uri = $1', [noteId])).rows[0];
    const media = (
      await f.tb.db.query('SELECT file_path FROM media_attachments WHERE status_id = $1', [status.id])
    ).rows[0];
    const file = join(f.fx.mediaDir, media.file_path);
    expect(existsSync(file)).toBe(true);

    const del = {
      '@context': AS,
      id: `${noteId}#delete`,
      type: 'Delete',
      actor: bob.uri,
      object: { id: noteId, type: 'Tombstone' },
    };
    expect((await postSigned(f.fx, '/inbox', del, bob)).status).toBe(202);
    await drain(f.tb, 'ingress');
    expect(
      (await f.tb.db.query('SELECT count(*)::int AS n FROM statuses WHERE uri = $1', [noteId])).rows[0].n,
    ).toBe(0);
    expect(existsSync(file)).toBe(false);

    // A Delete that arrives before its Create: the Create is then ignored.
    const early = noteCreate(bob, 'deleted-first');
    const earlyId = (early.object as { id: string }).id;
    await postSigned(f.fx, '/inbox', { ...del, id: `${earlyId}#delete`, object: earlyId }, bob);
    await drain(f.tb, 'ingress');
    await postSigned(f.fx, '/inbox', early, bob);
    await drain(f.tb, 'ingress');
    expect(
      (await f.tb.db.query('SELECT count(*)::int AS n FROM statuses WHERE uri = $1', [earlyId])).rows[0].n,
    ).toBe(0);

    const gone = await f.remote.addActor('d.remote.test', 'gone');
    f.remote.clearLog();
    const deleteSelf = {
      '@context': AS,
      id: `${gone.uri}#delete`,
      type: 'Delete',
      actor: gone.uri,
      object: gone.uri,
    };
    expect((await postSigned(f.fx, '/inbox', deleteSelf, gone)).status).toBe(202);
    expect(f.remote.seen()).toHaveLength(0);
    expect(await queued(f.tb, 'ingress')).toHaveLength(0);

    const frank = await f.remote.addActor('d.remote.test', 'frank');
    await postSigned(
      f.fx,
      '/inbox',
      noteCreate(frank, '1', { tag: [{ type: 'Mention', href: aliceUri }] }),
      frank,
    );
    await drain(f.tb, 'ingress');
    expect(await accountIdOf(frank.uri)).toBeDefined();
    await postSigned(
      f.fx,
      '/inbox',
      { '@context': AS, id: `${frank.uri}#delete`, type: 'Delete', actor: frank.uri, object: frank.uri },
      frank,
    );
    await drain(f.tb, 'ingress');
    expect(await accountIdOf(frank.uri)).toBeUndefined();
    await f.tb.redis.del('queue:default', 'schedule');
  });

  it('Update edits a stored Note and refreshes the actor', async () => {
    const create = noteCreate(bob, 'edit-me', { tag: [{ type: 'Mention', href: aliceUri }] });
    await postSigned(f.fx, '/inbox', create, bob);
    await drain(f.tb, 'ingress');
    const object: Record<string, unknown> = {
      ...(create.object as Record<string, unknown>),
      content: '<p>edited</p>',
    };
    await postSigned(
      f.fx,
      '/inbox',
      { '@context': AS, id: `${bob.uri}#updates/1`, type: 'Update', actor: bob.uri, object },
      bob,
    );
    expect((await drain(f.tb, 'ingress')).map((p) => p.error)).toEqual([undefined]);
    expect((await f.tb.db.query('SELECT text FROM statuses WHERE uri = $1', [object.id])).rows[0].text).toBe(
      '<p>edited</p>',
    );

    const profile = { ...bob.document, name: 'Bob Renamed' };
    await postSigned(
      f.fx,
      '/inbox',
      { '@context': AS, id: `${bob.uri}#updates/2`, type: 'Update', actor: bob.uri, object: profile },
      bob,
    );
    expect((await drain(f.tb, 'ingress')).map((p) => p.error)).toEqual([undefined]);
    expect(
      (await f.tb.db.query('SELECT display_name FROM accounts WHERE uri = $1', [bob.uri])).rows[0]
        .display_name,
    ).toBe('Bob Renamed');
    await f.tb.redis.del('queue:default', 'schedule');
  });

  it('drops a Create unrelated to local accounts, and a Create signed by someone else than its actor', async () => {
    const stranger = await f.remote.addActor('e.remote.test', 'stranger');
    const unrelated = noteCreate(stranger, '1');
    expect((await postSigned(f.fx, '/inbox', unrelated, stranger)).status).toBe(202);
    await drain(f.tb, 'ingress');
    expect(
      (
        await f.tb.db.query('SELECT count(*)::int AS n FROM statuses WHERE uri = $1', [
          (unrelated.object as { id: string }).id,
        ])
      ).rows[0].n,
    ).toBe(0);

    const forged = noteCreate(stranger, '2', { tag: [{ type: 'Mention', href: aliceUri }] });
    expect((await postSigned(f.fx, '/inbox', forged, bob)).status).toBe(202); // signed by bob, actor stranger, bob is no relay
    await drain(f.tb, 'ingress');
    expect(
      (
        await f.tb.db.query('SELECT count(*)::int AS n FROM statuses WHERE uri = $1', [
          (forged.object as { id: string }).id,
        ])
      ).rows[0].n,
    ).toBe(0);
  });
});

import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountRow } from '../../../../world/testbed/activitypub/accounts.js';
import { extractLinkDetails, statusLinks } from '../../../../world/testbed/activitypub/linkCrawl.js';
import { accountUri } from '../../../../world/testbed/activitypub/uris.js';
import {
  AS,
  createLocalAccount,
  createLocalStatus,
  drain,
  noteCreate,
  perform,
  png,
  postSigned,
  scheduledJobs,
  startFederation,
  storeRemoteAccount,
  type FederationFixture,
  type RemoteActor,
} from '../../../support/activitypub.js';

describe('ActivityPub media, link cards, vacuum and documents', () => {
  let f: FederationFixture;
  let alice: AccountRow;
  let bob: RemoteActor;
  let bobRow: AccountRow;

  beforeAll(async () => {
    f = await startFederation();
    alice = await createLocalAccount(f.tb, 'alice');
    bob = await f.remote.addActor('a.remote.test', 'bob');
    bobRow = await storeRemoteAccount(f.tb, bob);
  });
  afterAll(async () => {
    await f?.stop();
  });

  it('LinkCrawlWorker stores a preview card from OpenGraph tags with its image, and reuses it for the same link', async () => {
    const image = await png(1200, 630);
    const imageUrl = f.remote.serve('news.remote.test', '/img/story.png', image, 'image/png');
    f.remote.serve(
      'news.remote.test',
      '/story',
      `<!doctype html><html><head><title>fallback</title>
        <meta property="og:title" content="Big &amp; important story">
        <meta property="og:description" content='What happened, in short'>
        <meta property="og:image" content="/img/story.png">
      </head><body>...</body></html>`,
      'text/html; charset=utf-8',
    );
    const post = await createLocalStatus(f.tb, alice, 'read this https://news.remote.test/story');
    f.remote.clearLog();
    await perform(f.tb, 'LinkCrawlWorker', [post.id]);
    expect(f.remote.seen().map((r) => r.path)).toEqual(['/story', '/img/story.png']);
    const card = (
      await f.tb.db.query('SELECT * FROM preview_cards WHERE url = $1', ['https://news.remote.test/story'])
    ).rows[0];
    expect(card).toMatchObject({ title: 'Big & important story', description: 'What happened, in short' });
    const file = join(f.fx.mediaDir, card.image_path);
    expect(existsSync(file)).toBe(true);
    expect(Number(card.image_size)).toBe(statSync(file).size);
    expect(
      (
        await f.tb.db.query('SELECT preview_card_id FROM preview_cards_statuses WHERE status_id = $1', [
          post.id,
        ])
      ).rows,
    ).toEqual([{ preview_card_id: card.id }]);
    expect(imageUrl).toBe('https://news.remote.test/img/story.png');

    const again = await createLocalStatus(f.tb, alice, 'also https://news.remote.test/story');
    f.remote.clearLog();
    await perform(f.tb, 'LinkCrawlWorker', [again.id]);
    expect(f.remote.seen()).toHaveLength(0);
    expect(
      (
        await f.tb.db.query('SELECT preview_card_id FROM preview_cards_statuses WHERE status_id = $1', [
          again.id,
        ])
      ).rows,
    ).toEqual([{ preview_card_id: card.id }]);

    // A dead link is swallowed (retry 0).
    const dead = await createLocalStatus(f.tb, alice, 'gone https://x.dead.test/page');
    await expect(perform(f.tb, 'LinkCrawlWorker', [dead.id])).resolves.toBeUndefined();
  });

  it('extracts links and OpenGraph details like FetchLinkCardService', () => {
    const html =
      '<p><span class="h-card"><a href="https://a.example/@x" class="u-url mention">@x</a></span> <a href="https://a.example/tags/t" rel="tag">#t</a> <a href="https://site.example/a?b=1&amp;c=2">site</a></p>';
    expect(statusLinks(html, true)).toEqual(['https://site.example/a?b=1&c=2']);
    expect(statusLinks('see https://x.example/1 and http://y.example', false)).toEqual([
      'https://x.example/1',
      'http://y.example',
    ]);
    expect(
      extractLinkDetails(
        '<title>T &#x26; U</title><meta name="description" content="d">',
        'https://p.example/a/b',
      ),
    ).toEqual({ title: 'T & U', description: 'd', image: undefined });
  });

  it('schedules RedownloadMediaWorker when a download fails, which later stores the file', async () => {
    const mediaUrl = 'https://a.remote.test/media/later.png';
    const activity = noteCreate(bob, 'later', {
      tag: [{ type: 'Mention', href: accountUri(f.tb, 'alice') }],
      attachment: [{ type: 'Document', mediaType: 'image/png', url: mediaUrl }],
    });
    expect((await postSigned(f.fx, '/inbox', activity, bob)).status).toBe(202);
    expect((await drain(f.tb, 'ingress')).map((p) => p.error)).toEqual([undefined]);
    const media = (
      await f.tb.db.query(
        'SELECT m.* FROM media_attachments m JOIN statuses s ON s.id = m.status_id WHERE s.uri = $1',
        [(activity.object as { id: string }).id],
      )
    ).rows[0];
    expect(media).toMatchObject({ remote_url: mediaUrl, file_path: null, processing: 2 });
    // Until cached, the client API shows the remote URL.
    const api = await fetch(`${f.fx.url}/api/v1/statuses/${media.status_id}`);
    expect(api.status).toBe(200);
    expect(((await api.json()) as { media_attachments: { url: string }[] }).media_attachments[0]!.url).toBe(
      mediaUrl,
    );
    const later = (await scheduledJobs(f.tb)).filter((j) => j.class === 'RedownloadMediaWorker');
    expect(later.map((j) => [j.queue, j.args])).toEqual([['pull', [media.id]]]);

    const bytes = await png(20, 20);
    f.remote.serve('a.remote.test', '/media/later.png', bytes, 'image/png');
    await perform(f.tb, 'RedownloadMediaWorker', later[0]!.args);
    const after = (
      await f.tb.db.query('SELECT file_path, file_size FROM media_attachments WHERE id = $1', [media.id])
    ).rows[0];
    expect(after.file_size).toBe(String(bytes.length));
    expect(existsSync(join(f.fx.mediaDir, after.file_path))).toBe(true);
    await f.tb.redis.del('schedule', 'queue:default');
  });

  it('Scheduler::VacuumScheduler removes cached remote media past retention, never local uploads', async () => {
    const write = (rel: string) => {
      const file = join(f.fx.mediaDir, rel);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, 'x'.repeat(100));
      return file;
    };
    const insert = async (remoteUrl: string, rel: string, ageDays: number) =>
      (
        await f.tb.db.query<{ id: string }>(
          `INSERT INTO media_attachments (account_id, remote_url, file_path, file_size, created_at, updated_at)
           VALUES ($1, $2, $3, 100, now() - make_interval(days => $4), now() - make_interval(days => $4)) RETURNING id`,
          [remoteUrl ? bobRow.id : alice.id, remoteUrl, rel, ageDays],
        )
      ).rows[0]!.id;
    const oldRemoteFile = write('cache/media_attachments/files/old/original/a.png');
    const oldRemoteSmall = write('cache/media_attachments/files/old/small/a.png');
    const freshRemoteFile = write('cache/media_attachments/files/fresh/original/b.png');
    const oldLocalFile = write('media_attachments/files/local/original/c.png');
    const oldRemote = await insert(
      'https://a.remote.test/old.png',
      'cache/media_attachments/files/old/original/a.png',
      10,
    );
    const freshRemote = await insert(
      'https://a.remote.test/fresh.png',
      'cache/media_attachments/files/fresh/original/b.png',
      1,
    );
    const oldLocal = await insert('', 'media_attachments/files/local/original/c.png', 400);

    expect(f.tb.config.mediaCacheRetentionDays).toBe(7);
    await perform(f.tb, 'Scheduler::VacuumScheduler', []);
    expect([
      existsSync(oldRemoteFile),
      existsSync(oldRemoteSmall),
      existsSync(freshRemoteFile),
      existsSync(oldLocalFile),
    ]).toEqual([false, false, true, true]);
    const rows = (
      await f.tb.db.query('SELECT id, file_path FROM media_attachments WHERE id = ANY($1::bigint[])', [
        [oldRemote, freshRemote, oldLocal],
      ])
    ).rows;
    const byId = Object.fromEntries(rows.map((r) => [r.id, r.file_path]));
    expect(byId[oldRemote]).toBeNull();
    expect(byId[freshRemote]).not.toBeNull();
    expect(byId[oldLocal]).toBe('media_attachments/files/local/original/c.png');
  });

  it('serves WebFinger, host-meta, the actor, outbox, followers, statuses and the instance actor', async () => {
    const get = async (path: string, accept = 'application/activity+json') => {
      const res = await fetch(`${f.fx.url}${path}`, { headers: { Accept: accept } });
      return {
        status: res.status,
        type: res.headers.get('content-type'),
        body: res.status === 200 ? await res.text() : '',
      };
    };
    const uri = accountUri(f.tb, 'alice');
    const wf = await get(`/.well-known/webfinger?resource=acct:alice@${f.tb.domain}`, 'application/jrd+json');
    expect(wf.type).toMatch(/^application\/jrd\+json/);
    expect(JSON.parse(wf.body)).toMatchObject({
      subject: `acct:alice@${f.tb.domain}`,
      links: expect.arrayContaining([{ rel: 'self', type: 'application/activity+json', href: uri }]),
    });
    expect((await get(`/.well-known/webfinger?resource=${encodeURIComponent(uri)}`)).status).toBe(200);
    expect((await get(`/.well-known/webfinger?resource=acct:nobody@${f.tb.domain}`)).status).toBe(404);
    expect((await get('/.well-known/webfinger?resource=acct:alice@elsewhere.example')).status).toBe(404);
    expect((await get('/.well-known/webfinger')).status).toBe(400);
    expect((await get('/.well-known/host-meta')).body).toContain(
      `template="${f.tb.baseUrl}/.well-known/webfinger?resource={uri}"`,
    );

    const actor = await get('/users/alice');
    expect(actor.type).toMatch(/^application\/activity\+json/);
    expect(JSON.parse(actor.body)).toMatchObject({
      id: uri,
      type: 'Person',
      preferredUsername: 'alice',
      inbox: `${uri}/inbox`,
      outbox: `${uri}/outbox`,
      followers: `${uri}/followers`,
      endpoints: { sharedInbox: `${f.tb.baseUrl}/inbox` },
      publicKey: { id: `${uri}#main-key`, owner: uri, publicKeyPem: alice.public_key },
    });
    expect((await get('/users/nobody')).status).toBe(404);

    await f.tb.db.query(
      'INSERT INTO follows (account_id, target_account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [bobRow.id, alice.id],
    );
    expect(JSON.parse((await get('/users/alice/followers')).body)).toMatchObject({
      type: 'OrderedCollection',
      totalItems: 1,
      first: `${uri}/followers?page=1`,
    });
    expect(JSON.parse((await get('/users/alice/followers?page=1')).body)).toMatchObject({
      type: 'OrderedCollectionPage',
      orderedItems: [bob.uri],
    });

    const post = await createLocalStatus(f.tb, alice, 'outbox item');
    await createLocalStatus(f.tb, alice, 'secret', { visibility: 'private' });
    const outbox = JSON.parse((await get('/users/alice/outbox')).body);
    expect(outbox).toMatchObject({ type: 'OrderedCollection', first: `${uri}/outbox?page=true` });
    expect(outbox.totalItems).toBeGreaterThanOrEqual(2);
    const page = JSON.parse((await get('/users/alice/outbox?page=true')).body);
    expect(page.type).toBe('OrderedCollectionPage');
    expect(page.orderedItems.map((a: { object: { content: string } }) => a.object.content)).toContain(
      '<p>outbox item</p>',
    );
    expect(page.orderedItems.map((a: { object: { content: string } }) => a.object.content)).not.toContain(
      '<p>secret</p>',
    );

    const note = JSON.parse((await get(`/users/alice/statuses/${post.id}`)).body);
    expect(note).toMatchObject({
      id: post.uri,
      type: 'Note',
      attributedTo: uri,
      content: '<p>outbox item</p>',
    });
    expect(JSON.parse((await get(`/users/alice/statuses/${post.id}/activity`)).body)).toMatchObject({
      type: 'Create',
      object: { id: post.uri },
    });

    const instance = JSON.parse((await get('/actor')).body);
    expect(instance).toMatchObject({
      id: `${f.tb.baseUrl}/actor`,
      type: 'Application',
      preferredUsername: f.tb.domain,
      inbox: `${f.tb.baseUrl}/actor/inbox`,
    });
    expect(instance.publicKey.publicKeyPem).toMatch(/BEGIN PUBLIC KEY/);
    const instanceWf = JSON.parse(
      (await get(`/.well-known/webfinger?resource=acct:${f.tb.domain}@${f.tb.domain}`)).body,
    );
    expect(instanceWf.links).toContainEqual({
      rel: 'self',
      type: 'application/activity+json',
      href: `${f.tb.baseUrl}/actor`,
    });
    expect(AS).toBe('https://www.w3.org/ns/activitystreams');
  });
});

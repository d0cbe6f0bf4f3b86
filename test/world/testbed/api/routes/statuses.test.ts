import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalAccount, follow, type LocalAccount } from '../../../../../world/testbed/accounts.js';
import { feedKey } from '../../../../../world/testbed/api/feeds.js';
import { api, links, pathOf, queuedJobs, runLocalJobs, startApiTestbed } from '../../../../support/api.js';
import type { TestbedFixture } from '../../../../support/testbed.js';

describe('client API: statuses, interactions, follows, notifications, admin', () => {
  let fx: TestbedFixture;
  let alice: LocalAccount;
  let bob: LocalAccount;
  beforeAll(async () => {
    fx = await startApiTestbed();
    alice = await createLocalAccount(fx.tb, { username: 'alice', displayName: 'Alice' });
    bob = await createLocalAccount(fx.tb, { username: 'bob' });
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('honours Idempotency-Key: the same key gives the same status and one row, even concurrently', async () => {
    const send = (key: string, text: string) =>
      api(fx, 'POST', '/api/v1/statuses', {
        token: alice.token,
        json: { status: text },
        headers: { 'Idempotency-Key': key },
      });
    const a = await send('key-1', 'only once');
    const b = await send('key-1', 'only once');
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(b.body.id).toBe(a.body.id);
    const burst = await Promise.all(Array.from({ length: 8 }, () => send('key-2', 'retry storm')));
    expect(new Set(burst.map((r) => r.body.id)).size).toBe(1);
    const rows = await fx.tb.db.query(
      'SELECT text, count(*)::int AS n FROM statuses WHERE account_id = $1 GROUP BY text ORDER BY text',
      [alice.accountId],
    );
    expect(rows.rows).toEqual([
      { text: 'only once', n: 1 },
      { text: 'retry storm', n: 1 },
    ]);
    expect(await fx.tb.redis.get(`idempotency:status:${alice.accountId}:key-1`)).toBe(a.body.id);
    expect(await fx.tb.redis.ttl(`idempotency:status:${alice.accountId}:key-1`)).toBeGreaterThan(3500);
    const other = await send('key-3', 'only once');
    expect(other.body.id).not.toBe(a.body.id);
    // two DistributionWorker and ActivityPub::DistributionWorker jobs per distinct status, not per request
    const dist = (await queuedJobs(fx)).filter((j) => j.class === 'DistributionWorker');
    expect(dist).toHaveLength(3);
    await runLocalJobs(fx);
  });

  it('validates statuses as Mastodon: 500 characters, blank text, visibility, unknown reply', async () => {
    const long = await api(fx, 'POST', '/api/v1/statuses', {
      token: alice.token,
      json: { status: 'x'.repeat(501) },
    });
    expect(long.status).toBe(422);
    expect(long.body).toEqual({ error: 'Validation failed: Text character limit of 500 exceeded' });
    // URLs count as 23 characters, so a long link fits
    const link = await api(fx, 'POST', '/api/v1/statuses', {
      token: alice.token,
      json: { status: `${'y'.repeat(470)} https://example.com/${'z'.repeat(200)}` },
    });
    expect(link.status).toBe(200);
    expect(link.body.content).toContain('<a href="https://example.com/');
    const blank = await api(fx, 'POST', '/api/v1/statuses', { token: alice.token, json: { status: '   ' } });
    expect(blank.status).toBe(422);
    expect(blank.body).toEqual({ error: "Validation failed: Text can't be blank" });
    const vis = await api(fx, 'POST', '/api/v1/statuses', {
      token: alice.token,
      json: { status: 'x', visibility: 'secret' },
      noValidate: true,
    });
    expect(vis.status).toBe(422);
    const reply = await api(fx, 'POST', '/api/v1/statuses', {
      token: alice.token,
      json: { status: 'x', in_reply_to_id: '123' },
    });
    expect(reply.status).toBe(404);
    // StatusesController#set_thread's own message (statuses.errors.in_reply_not_found)
    expect(reply.body).toEqual({ error: 'The post you are trying to reply to does not appear to exist.' });
    const many = await api(fx, 'POST', '/api/v1/statuses', {
      token: alice.token,
      json: { status: 'x', media_ids: ['1', '2', '3', '4', '5'] },
    });
    expect(many.status).toBe(422);
    expect(many.body).toEqual({ error: 'Cannot attach more than 4 files' });
    const foreign = await api(fx, 'POST', '/api/v1/statuses', {
      token: alice.token,
      json: { status: 'x', media_ids: ['99'] },
    });
    expect(foreign.status).toBe(422);
    // form-encoded bodies work as in Rails
    const form = await fetch(`${fx.url}/api/v1/statuses`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${alice.token}`,
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: 'status=from+a+form&visibility=unlisted&sensitive=true&spoiler_text=cw',
    });
    const formBody = (await form.json()) as Record<string, unknown>;
    expect([form.status, formBody.visibility, formBody.sensitive, formBody.spoiler_text]).toEqual([
      200,
      'unlisted',
      true,
      'cw',
    ]);
  });

  it('answers malformed JSON with 400 and unknown ids with 404, keeps serving, and loses nothing it accepted', async () => {
    const bad = await fetch(`${fx.url}/api/v1/statuses`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${alice.token}`, 'Content-Type': 'application/json' },
      body: '{"status": "unterminated',
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'Error occurred while parsing request parameters' });
    for (const path of [
      '/api/v1/statuses/1',
      '/api/v1/statuses/not-a-number',
      '/api/v1/statuses/99999999999999999999',
    ]) {
      const r = await api(fx, 'GET', path, { noValidate: true });
      expect([path, r.status, r.body]).toEqual([path, 404, { error: 'Record not found' }]);
    }
    expect((await api(fx, 'POST', '/api/v1/statuses/1/favourite', { token: bob.token })).status).toBe(404);
    expect((await api(fx, 'POST', '/api/v1/accounts/1/follow', { token: bob.token })).status).toBe(404);

    // a mixed burst: every accepted post is stored, distributed and in the author's feed
    const before = await fx.tb.db.query('SELECT count(*)::int AS n FROM statuses WHERE account_id = $1', [
      bob.accountId,
    ]);
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        i % 3 === 0
          ? fetch(`${fx.url}/api/v1/statuses`, {
              method: 'POST',
              headers: { Authorization: `Bearer ${bob.token}`, 'Content-Type': 'application/json' },
              body: '{oops',
            }).then((r) => ({ status: r.status, id: undefined as string | undefined }))
          : api(fx, 'POST', '/api/v1/statuses', { token: bob.token, json: { status: `burst ${i}` } }).then(
              (r) => ({ status: r.status, id: r.body.id as string }),
            ),
      ),
    );
    const accepted = results.filter((r) => r.status === 200).map((r) => r.id!);
    expect(results.filter((r) => r.status === 400)).toHaveLength(10);
    expect(accepted).toHaveLength(20);
    const after = await fx.tb.db.query('SELECT count(*)::int AS n FROM statuses WHERE account_id = $1', [
      bob.accountId,
    ]);
    expect(after.rows[0].n - before.rows[0].n).toBe(20);
    await runLocalJobs(fx);
    const feed = await fx.tb.redis.zrange(feedKey(bob.accountId), 0, -1);
    for (const id of accepted) expect(feed).toContain(id);
    expect((await api(fx, 'GET', '/api/v1/instance')).status).toBe(200);
  });

  it('favourites, reblogs and deletes with counters, notifications and jobs as Mastodon', async () => {
    const carol = await createLocalAccount(fx.tb, { username: 'carol' });
    await follow(fx.tb, carol.accountId, bob.accountId);
    const post = (
      await api(fx, 'POST', '/api/v1/statuses', { token: alice.token, json: { status: 'like me' } })
    ).body;
    await runLocalJobs(fx);

    const fav = await api(fx, 'POST', `/api/v1/statuses/${post.id}/favourite`, { token: bob.token });
    expect([fav.status, fav.body.favourited, fav.body.favourites_count]).toEqual([200, true, 1]);
    const again = await api(fx, 'POST', `/api/v1/statuses/${post.id}/favourite`, { token: bob.token });
    expect(again.body.favourites_count).toBe(1);
    const reb = await api(fx, 'POST', `/api/v1/statuses/${post.id}/reblog`, { token: bob.token });
    expect(reb.status).toBe(200);
    expect(reb.body.reblog.id).toBe(post.id);
    expect(reb.body.reblog.reblogs_count).toBe(1);
    expect(reb.body.reblog.reblogged).toBe(true);
    expect((await api(fx, 'POST', `/api/v1/statuses/${post.id}/reblog`, { token: bob.token })).body.id).toBe(
      reb.body.id,
    );
    const jobs = (await queuedJobs(fx)).map((j) => j.class);
    expect(jobs.filter((c) => c === 'LocalNotificationWorker')).toHaveLength(2);
    await runLocalJobs(fx);
    // bob's follower carol gets the reblog in her home feed
    const carolHome = await api(fx, 'GET', '/api/v1/timelines/home', { token: carol.token });
    expect(carolHome.body[0].id).toBe(reb.body.id);
    expect(carolHome.body[0].reblog.id).toBe(post.id);

    const notes = await api(fx, 'GET', '/api/v1/notifications', { token: alice.token });
    expect(notes.body.map((n: { type: string }) => n.type)).toEqual(['reblog', 'favourite']);
    expect(notes.body[0].status.id).toBe(post.id);
    expect(notes.body[0].group_key).toBe(`ungrouped-${notes.body[0].id}`);

    const unfav = await api(fx, 'POST', `/api/v1/statuses/${post.id}/unfavourite`, { token: bob.token });
    expect([unfav.body.favourited, unfav.body.favourites_count]).toEqual([false, 0]);
    const unreb = await api(fx, 'POST', `/api/v1/statuses/${post.id}/unreblog`, { token: bob.token });
    expect([unreb.body.id, unreb.body.reblogged, unreb.body.reblogs_count]).toEqual([post.id, false, 0]);
    expect(await runLocalJobs(fx)).toEqual({ UnfavouriteWorker: 1, RemovalWorker: 1 });
    expect(await fx.tb.redis.zscore(feedKey(carol.accountId), reb.body.id)).toBeNull();
    const counts = (
      await fx.tb.db.query('SELECT favourites_count, reblogs_count FROM statuses WHERE id = $1', [post.id])
    ).rows[0];
    expect(counts).toEqual({ favourites_count: 0, reblogs_count: 0 });

    const statusesBefore = (
      await fx.tb.db.query('SELECT statuses_count FROM accounts WHERE id = $1', [alice.accountId])
    ).rows[0].statuses_count;
    // DELETE answers the status with its source `text` (Mastodon omits `content` there, unlike the schema)
    const del = await api(fx, 'DELETE', `/api/v1/statuses/${post.id}`, {
      token: alice.token,
      noValidateResponse: true,
    });
    expect(del.status).toBe(200);
    expect(del.body.text).toBe('like me');
    expect(del.body.content).toBeUndefined();
    expect((await api(fx, 'GET', `/api/v1/statuses/${post.id}`)).status).toBe(404);
    expect((await api(fx, 'DELETE', `/api/v1/statuses/${post.id}`, { token: alice.token })).status).toBe(404);
    expect(
      (await fx.tb.db.query('SELECT statuses_count FROM accounts WHERE id = $1', [alice.accountId])).rows[0]
        .statuses_count,
    ).toBe(statusesBefore - 1);
    expect(await runLocalJobs(fx)).toEqual({ RemovalWorker: 1 });
    expect((await fx.tb.db.query('SELECT 1 FROM statuses WHERE id = $1', [post.id])).rowCount).toBe(0);
    expect(await fx.tb.redis.zscore(feedKey(alice.accountId), post.id)).toBeNull();
  });

  it('hides private and direct statuses from those who may not see them', async () => {
    const dave = await createLocalAccount(fx.tb, { username: 'dave' });
    const priv = (
      await api(fx, 'POST', '/api/v1/statuses', {
        token: alice.token,
        json: { status: 'followers only', visibility: 'private' },
      })
    ).body;
    const dm = (
      await api(fx, 'POST', '/api/v1/statuses', {
        token: alice.token,
        json: { status: 'psst @dave', visibility: 'direct' },
      })
    ).body;
    expect(dm.mentions.map((m: { acct: string }) => m.acct)).toEqual(['dave']);
    expect((await api(fx, 'GET', `/api/v1/statuses/${priv.id}`)).status).toBe(404);
    expect((await api(fx, 'GET', `/api/v1/statuses/${priv.id}`, { token: dave.token })).status).toBe(404);
    await follow(fx.tb, dave.accountId, alice.accountId);
    expect((await api(fx, 'GET', `/api/v1/statuses/${priv.id}`, { token: dave.token })).status).toBe(200);
    expect((await api(fx, 'GET', `/api/v1/statuses/${dm.id}`, { token: dave.token })).status).toBe(200);
    expect((await api(fx, 'GET', `/api/v1/statuses/${dm.id}`, { token: bob.token })).status).toBe(404);
    expect((await api(fx, 'POST', `/api/v1/statuses/${priv.id}/reblog`, { token: dave.token })).status).toBe(
      403,
    );
    // every status goes to ActivityPub::DistributionWorker (PostStatusService#postprocess_status!);
    // for a direct one StatusReachFinder reaches only mentioned remote accounts: none here
    const push = (await queuedJobs(fx, 'push'))
      .filter((j) => j.class === 'ActivityPub::DistributionWorker')
      .map((j) => j.args[0]);
    expect(push).toContain(priv.id);
    expect(push).toContain(dm.id);
    await fx.tb.redis.del('queue:push');
    await fx.tb.workers['ActivityPub::DistributionWorker']!.perform([dm.id], {
      jid: 'dm',
      queue: 'push',
      retryCount: 0,
    });
    expect(await queuedJobs(fx, 'push')).toEqual([]);
    await runLocalJobs(fx);
    const daveNotes = await api(fx, 'GET', '/api/v1/notifications', { token: dave.token });
    expect(
      daveNotes.body.map((n: { type: string; status?: { id: string } }) => [n.type, n.status?.id]),
    ).toEqual([['mention', dm.id]]);
  });

  it('follows and unfollows local accounts (notification, merge) and remote accounts (Follow delivery)', async () => {
    const erin = await createLocalAccount(fx.tb, { username: 'erin' });
    const older = (
      await api(fx, 'POST', '/api/v1/statuses', {
        token: erin.token,
        json: { status: 'before you followed' },
      })
    ).body;
    const rel = await api(fx, 'POST', `/api/v1/accounts/${erin.accountId}/follow`, { token: bob.token });
    expect(rel.status).toBe(200);
    expect(rel.body).toMatchObject({
      id: erin.accountId,
      following: true,
      followed_by: false,
      requested: false,
    });
    // override_rate_limit_headers: the follows family (400 / 24 h, 399 left) does not replace the per-token
    // Rack::Attack headers, which have fewer requests left
    expect(rel.headers.get('x-ratelimit-limit')).toBe('300');
    const jobs = (await queuedJobs(fx)).map((j) => [j.class, j.args]);
    expect(jobs).toContainEqual(['MergeWorker', [erin.accountId, bob.accountId, 'home']]);
    await runLocalJobs(fx);
    expect(await fx.tb.redis.zscore(feedKey(bob.accountId), older.id)).not.toBeNull();
    const erinNotes = await api(fx, 'GET', '/api/v1/notifications', { token: erin.token });
    expect(
      erinNotes.body.map((n: { type: string; account: { id: string } }) => [n.type, n.account.id]),
    ).toEqual([['follow', bob.accountId]]);
    const counts = (
      await fx.tb.db.query('SELECT followers_count FROM accounts WHERE id = $1', [erin.accountId])
    ).rows[0];
    expect(counts.followers_count).toBe(1);

    const un = await api(fx, 'POST', `/api/v1/accounts/${erin.accountId}/unfollow`, { token: bob.token });
    expect(un.body.following).toBe(false);
    await runLocalJobs(fx);
    expect(await fx.tb.redis.zscore(feedKey(bob.accountId), older.id)).toBeNull();
    expect(
      (await api(fx, 'POST', `/api/v1/accounts/${bob.accountId}/follow`, { token: bob.token })).status,
    ).toBe(403);

    const remote = (
      await fx.tb.db.query(
        `INSERT INTO accounts (username, domain, uri, inbox_url, shared_inbox_url)
         VALUES ('zed', 'remote.example', 'https://remote.example/users/zed', 'https://remote.example/users/zed/inbox', 'https://remote.example/inbox') RETURNING id`,
      )
    ).rows[0].id as string;
    // FollowService#request_follow!: a remote follow is requested until the remote Accept arrives
    const fr = await api(fx, 'POST', `/api/v1/accounts/${remote}/follow`, { token: bob.token });
    expect([fr.body.following, fr.body.requested]).toEqual([false, true]);
    const delivery = (await queuedJobs(fx, 'push'))
      .filter((j) => j.class === 'ActivityPub::DeliveryWorker')
      .at(-1)!;
    const [json, sender, inbox] = delivery.args as [string, string, string];
    expect([sender, inbox]).toEqual([bob.accountId, 'https://remote.example/users/zed/inbox']);
    const activity = JSON.parse(json);
    expect(activity).toMatchObject({
      type: 'Follow',
      actor: `${fx.tb.baseUrl}/users/bob`,
      object: 'https://remote.example/users/zed',
    });
    const requestRow = (
      await fx.tb.db.query(
        'SELECT uri FROM follow_requests WHERE account_id = $1 AND target_account_id = $2',
        [bob.accountId, remote],
      )
    ).rows[0];
    expect(requestRow.uri).toBe(activity.id);
    expect(
      (await api(fx, 'POST', `/api/v1/accounts/${remote}/follow`, { token: bob.token })).body.requested,
    ).toBe(true);
    expect(
      (await queuedJobs(fx, 'push')).filter((j) => j.class === 'ActivityPub::DeliveryWorker'),
    ).toHaveLength(1);

    // the Accept (ActivityPub::ProcessingWorker, as the inbox enqueues it) turns the request into a follow
    const accept = {
      '@context': 'https://www.w3.org/ns/activitystreams',
      id: 'https://remote.example/users/zed#accepts/1',
      type: 'Accept',
      actor: 'https://remote.example/users/zed',
      object: activity,
    };
    await fx.tb.workers['ActivityPub::ProcessingWorker']!.perform(
      [remote, JSON.stringify(accept), bob.accountId],
      { jid: 'accept', queue: 'ingress', retryCount: 0 },
    );
    const accepted = await api(fx, 'GET', `/api/v1/accounts/relationships?id[]=${remote}`, {
      token: bob.token,
    });
    expect([accepted.body[0].following, accepted.body[0].requested]).toEqual([true, false]);
    const row = (
      await fx.tb.db.query('SELECT uri FROM follows WHERE account_id = $1 AND target_account_id = $2', [
        bob.accountId,
        remote,
      ])
    ).rows[0];
    expect(row.uri).toBe(activity.id);
    expect((await queuedJobs(fx)).map((j) => [j.class, j.args])).toContainEqual([
      'MergeWorker',
      [remote, bob.accountId, 'home'],
    ]);
    const zedCounts = (await fx.tb.db.query('SELECT followers_count FROM accounts WHERE id = $1', [remote]))
      .rows[0];
    expect(zedCounts.followers_count).toBe(1);

    await api(fx, 'POST', `/api/v1/accounts/${remote}/unfollow`, { token: bob.token });
    const undo = JSON.parse(
      (
        (await queuedJobs(fx, 'push')).filter((j) => j.class === 'ActivityPub::DeliveryWorker').at(-1)!
          .args as string[]
      )[0]!,
    );
    expect(undo).toMatchObject({ type: 'Undo', object: { type: 'Follow', id: activity.id } });

    // withdrawing a request that was never answered also sends an Undo, and leaves no follow behind
    const again = await api(fx, 'POST', `/api/v1/accounts/${remote}/follow`, { token: bob.token });
    expect(again.body.requested).toBe(true);
    const withdrawn = await api(fx, 'POST', `/api/v1/accounts/${remote}/unfollow`, { token: bob.token });
    expect([withdrawn.body.following, withdrawn.body.requested]).toEqual([false, false]);
    const undoRequest = JSON.parse(
      (
        (await queuedJobs(fx, 'push')).filter((j) => j.class === 'ActivityPub::DeliveryWorker').at(-1)!
          .args as string[]
      )[0]!,
    );
    expect(undoRequest).toMatchObject({
      type: 'Undo',
      object: { type: 'Follow', object: 'https://remote.example/users/zed' },
    });
    expect(undoRequest.object.id).not.toBe(activity.id);
    await runLocalJobs(fx);
  });

  it('paginates notifications with Link headers', async () => {
    const fan = await createLocalAccount(fx.tb, { username: 'fan' });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(
        (await api(fx, 'POST', '/api/v1/statuses', { token: alice.token, json: { status: `fav me ${i}` } }))
          .body.id,
      );
    for (const id of ids) await api(fx, 'POST', `/api/v1/statuses/${id}/favourite`, { token: fan.token });
    await runLocalJobs(fx);
    const page1 = await api(fx, 'GET', '/api/v1/notifications?limit=3&types[]=favourite', {
      token: alice.token,
    });
    expect(page1.body.map((n: { status: { id: string } }) => n.status.id)).toEqual([ids[4], ids[3], ids[2]]);
    const next = links(page1.headers.get('link')).next!;
    expect(next).toContain('max_id=');
    const page2 = await api(fx, 'GET', pathOf(next), { token: alice.token });
    expect(page2.body.map((n: { status: { id: string } }) => n.status.id)).toEqual([ids[1], ids[0]]);
    const excluded = await api(fx, 'GET', '/api/v1/notifications?exclude_types[]=favourite', {
      token: alice.token,
    });
    expect(excluded.body.every((n: { type: string }) => n.type !== 'favourite')).toBe(true);
  });

  it('answers admin measures (instance_statuses, instance_media_attachments) to admins only', async () => {
    const admin = await createLocalAccount(fx.tb, { username: 'boss', admin: true });
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const body = {
      keys: ['instance_statuses', 'instance_media_attachments', 'no_such_key'],
      start_at: yesterday,
      end_at: today,
    };
    const denied = await api(fx, 'POST', '/api/v1/admin/measures', {
      token: alice.token,
      json: body,
      noValidate: true,
    });
    expect(denied.status).toBe(403);
    const res = await api(fx, 'POST', '/api/v1/admin/measures', {
      token: admin.token,
      json: body,
      noValidate: true,
    });
    expect(res.status).toBe(200);
    const local = Number(
      (
        await fx.tb.db.query(
          'SELECT count(*) AS n FROM statuses s JOIN accounts a ON a.id = s.account_id WHERE a.domain IS NULL AND s.deleted_at IS NULL',
        )
      ).rows[0].n,
    );
    expect(res.body).toEqual([
      {
        key: 'instance_statuses',
        unit: null,
        total: String(local),
        data: [
          { date: `${yesterday}T00:00:00.000+00:00`, value: '0' },
          { date: `${today}T00:00:00.000+00:00`, value: String(local) },
        ],
      },
      {
        key: 'instance_media_attachments',
        unit: 'bytes',
        total: '0',
        human_value: '0 Bytes',
        data: expect.any(Array),
      },
    ]);
    const remote = await api(fx, 'POST', '/api/v1/admin/measures', {
      token: admin.token,
      json: { ...body, keys: ['instance_statuses'], instance_statuses: { domain: 'remote.example' } },
      noValidate: true,
    });
    expect(remote.body[0].total).toBe('0');
    const missing = await api(fx, 'POST', '/api/v1/admin/measures', {
      token: admin.token,
      json: { keys: ['instance_statuses'] },
      noValidate: true,
    });
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ error: 'param is missing or the value is empty: start_at' });
    const me = await api(fx, 'GET', '/api/v1/accounts/verify_credentials', { token: admin.token });
    expect(me.body.role.name).toBe('Admin');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLocalAccount,
  createLocalAccounts,
  followMany,
  follow,
  setSignedInAt,
  type LocalAccount,
} from '../../../../../world/testbed/accounts.js';
import { HOME_FEED_MAX_ITEMS } from '../../../../../src/mastodon/limits.js';
import { feedKey } from '../../../../../world/testbed/api/feeds.js';
import { api, links, pathOf, queuedJobs, runLocalJobs, startApiTestbed } from '../../../../support/api.js';
import type { TestbedFixture } from '../../../../support/testbed.js';

describe('client API: fan-out and timelines', () => {
  let fx: TestbedFixture;
  beforeAll(async () => {
    fx = await startApiTestbed();
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('creates thousands of accounts in seconds, with keys, URLs and working tokens', async () => {
    const t0 = Date.now();
    const accounts = await createLocalAccounts(fx.tb, 2500, 'bulk');
    const elapsedMs = Date.now() - t0;
    expect(accounts).toHaveLength(2500);
    expect(elapsedMs).toBeLessThan(10_000);
    expect(new Set(accounts.map((a) => a.token)).size).toBe(2500);
    expect(accounts[0]!.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const row = (
      await fx.tb.db.query(
        'SELECT a.uri, a.inbox_url, a.followers_url, a.public_key, a.private_key, u.current_sign_in_at FROM accounts a JOIN users u ON u.account_id = a.id WHERE a.id = $1',
        [accounts[41]!.accountId],
      )
    ).rows[0];
    expect(row.uri).toBe(`${fx.tb.baseUrl}/users/bulk42`);
    expect(row.inbox_url).toBe(`${fx.tb.baseUrl}/users/bulk42/inbox`);
    expect(row.followers_url).toBe(`${fx.tb.baseUrl}/users/bulk42/followers`);
    expect(row.public_key).toContain('BEGIN PUBLIC KEY');
    expect(row.private_key).toContain('PRIVATE KEY');
    expect(Date.now() - new Date(row.current_sign_in_at).getTime()).toBeLessThan(60_000);
    const me = await api(fx, 'GET', '/api/v1/accounts/verify_credentials', { token: accounts[2499]!.token });
    expect(me.status).toBe(200);
    expect(me.body.username).toBe('bulk2500');
    expect(me.body.source.privacy).toBe('public');
  });

  it('fans a post out to active followers only, one FeedInsertWorker per active follower, in pushes of 1,000', async () => {
    const author = await createLocalAccount(fx.tb, { username: 'popular' });
    const followers = await createLocalAccounts(fx.tb, 2100, 'fan');
    const inactive = followers.slice(0, 40);
    await setSignedInAt(
      fx.tb,
      inactive.map((f) => f.accountId),
      new Date(Date.now() - (fx.tb.config.userActiveDays + 1) * 86_400_000),
    );
    expect(
      await followMany(
        fx.tb,
        followers.map((f): [string, string] => [f.accountId, author.accountId]),
      ),
    ).toBe(2100);

    const post = await api(fx, 'POST', '/api/v1/statuses', {
      token: author.token,
      json: { status: 'Hello followers #capacity' },
    });
    expect(post.status).toBe(200);
    const statusId = post.body.id as string;
    const pushQueue = await queuedJobs(fx, 'push');
    expect(pushQueue.map((j) => j.class)).toEqual(['ActivityPub::DistributionWorker']);
    expect((await queuedJobs(fx)).map((j) => [j.class, j.args])).toEqual([
      ['DistributionWorker', [statusId]],
    ]);

    // DistributionWorker: the author's own feed directly, then FeedInsertWorker per active follower.
    const multiSpy: number[] = [];
    const pushBulk = fx.tb.sidekiq.pushBulk.bind(fx.tb.sidekiq);
    fx.tb.sidekiq.pushBulk = async (cls, argsList) => {
      if (cls === 'FeedInsertWorker') multiSpy.push(argsList.length);
      return pushBulk(cls, argsList);
    };
    try {
      expect(await runLocalJobs(fx, { classes: ['DistributionWorker'] })).toEqual({ DistributionWorker: 1 });
    } finally {
      fx.tb.sidekiq.pushBulk = pushBulk;
    }
    expect(multiSpy).toEqual([1000, 1000, 60]);
    expect(await fx.tb.redis.zscore(feedKey(author.accountId), statusId)).not.toBeNull();
    const inserts = (await queuedJobs(fx)).filter((j) => j.class === 'FeedInsertWorker');
    expect(inserts).toHaveLength(2060);
    expect(new Set(inserts.map((j) => j.args[1]))).not.toContain(inactive[0]!.accountId);

    const ran = await runLocalJobs(fx);
    expect(ran.FeedInsertWorker).toBe(2060);
    const active = followers.slice(40);
    for (const f of [active[0]!, active[1000]!, active[2059]!]) {
      // scored by id (a double, as in Mastodon: ids beyond 2^53 lose their last digits in the score)
      expect(Number(await fx.tb.redis.zscore(feedKey(f.accountId), statusId))).toBe(Number(statusId));
    }
    for (const f of inactive.slice(0, 5)) expect(await fx.tb.redis.exists(feedKey(f.accountId))).toBe(0);

    const home = await api(fx, 'GET', '/api/v1/timelines/home', { token: active[7]!.token });
    expect(home.status).toBe(200);
    expect(home.body.map((s: { id: string }) => s.id)).toEqual([statusId]);
    expect(home.body[0].content).toContain('#<span>capacity</span>');
    expect(home.body[0].tags).toEqual([{ name: 'capacity', url: `${fx.tb.baseUrl}/tags/capacity` }]);
  });

  async function postMany(author: LocalAccount, n: number, prefix: string): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = await api(fx, 'POST', '/api/v1/statuses', {
        token: author.token,
        json: { status: `${prefix} ${i}` },
      });
      expect(r.status).toBe(200);
      ids.push(r.body.id);
    }
    await runLocalJobs(fx);
    return ids;
  }

  it('paginates the home timeline with max_id, since_id, min_id and Link headers as Mastodon', async () => {
    const author = await createLocalAccount(fx.tb, { username: 'pager' });
    const reader = await createLocalAccount(fx.tb, { username: 'reader' });
    await follow(fx.tb, reader.accountId, author.accountId);
    const ids = await postMany(author, 25, 'page');
    const newestFirst = [...ids].reverse();

    const first = await api(fx, 'GET', '/api/v1/timelines/home?limit=10', { token: reader.token });
    expect(first.body.map((s: { id: string }) => s.id)).toEqual(newestFirst.slice(0, 10));
    const l1 = links(first.headers.get('link'));
    expect(l1.next).toBe(`${fx.url}/api/v1/timelines/home?limit=10&max_id=${newestFirst[9]}`);
    expect(l1.prev).toBe(`${fx.url}/api/v1/timelines/home?limit=10&min_id=${newestFirst[0]}`);

    const second = await api(fx, 'GET', pathOf(l1.next!), { token: reader.token });
    expect(second.body.map((s: { id: string }) => s.id)).toEqual(newestFirst.slice(10, 20));
    const third = await api(fx, 'GET', pathOf(links(second.headers.get('link')).next!), {
      token: reader.token,
    });
    expect(third.body.map((s: { id: string }) => s.id)).toEqual(newestFirst.slice(20, 25));
    expect(links(third.headers.get('link')).next).toBeUndefined(); // fewer than limit: no next
    expect(links(third.headers.get('link')).prev).toContain(`min_id=${newestFirst[20]}`);

    // since_id: the newest above the bound; min_id: the ones right after the cursor (still newest first)
    const since = await api(fx, 'GET', `/api/v1/timelines/home?limit=5&since_id=${ids[3]}`, {
      token: reader.token,
    });
    expect(since.body.map((s: { id: string }) => s.id)).toEqual(newestFirst.slice(0, 5));
    const min = await api(fx, 'GET', `/api/v1/timelines/home?limit=5&min_id=${ids[3]}`, {
      token: reader.token,
    });
    expect(min.body.map((s: { id: string }) => s.id)).toEqual(ids.slice(4, 9).reverse());
    const between = await api(fx, 'GET', `/api/v1/timelines/home?max_id=${ids[10]}&since_id=${ids[7]}`, {
      token: reader.token,
    });
    expect(between.body.map((s: { id: string }) => s.id)).toEqual([ids[9], ids[8]]);
    // limit is capped at 40 (twice the default)
    const big = await api(fx, 'GET', '/api/v1/timelines/home?limit=500', { token: reader.token });
    expect(big.body).toHaveLength(25);
    const empty = await api(fx, 'GET', `/api/v1/timelines/home?since_id=${newestFirst[0]}`, {
      token: reader.token,
    });
    expect(empty.body).toEqual([]);
    expect(empty.headers.get('link')).toBeNull();
  });

  it('rebuilds the home feed of a user back after USER_ACTIVE_DAYS: 206 while RegenerationWorker runs, then 200', async () => {
    const author = await createLocalAccount(fx.tb, { username: 'writer' });
    const away = await createLocalAccount(fx.tb, { username: 'traveller' });
    const recent = await createLocalAccount(fx.tb, { username: 'regular' });
    await follow(fx.tb, away.accountId, author.accountId);
    await follow(fx.tb, recent.accountId, author.accountId);
    const day = 86_400_000;
    // away for 30 days: fan-out skipped them, so their feed has none of these
    await setSignedInAt(fx.tb, [away.accountId], new Date(Date.now() - 30 * day));
    await setSignedInAt(fx.tb, [recent.accountId], new Date(Date.now() - 2 * day));
    const ids = await postMany(author, 3, 'while away');
    const own = (await api(fx, 'POST', '/api/v1/statuses', { token: away.token, json: { status: 'mine' } }))
      .body.id as string;
    expect(await fx.tb.redis.zrange(feedKey(away.accountId), 0, -1)).toEqual([]);

    // The request that signed them back in (the POST above) marked the feed for regeneration.
    const during = await api(fx, 'GET', '/api/v1/timelines/home', {
      token: away.token,
      noValidateResponse: true,
    });
    expect(during.status).toBe(206);
    expect(await fx.tb.redis.get(`account:${away.accountId}:regeneration`)).toBe('1');
    expect((await queuedJobs(fx)).filter((j) => j.class === 'RegenerationWorker').map((j) => j.args)).toEqual(
      [[away.accountId]],
    );

    expect((await runLocalJobs(fx)).RegenerationWorker).toBe(1);
    const after = await api(fx, 'GET', '/api/v1/timelines/home', { token: away.token });
    expect(after.status).toBe(200);
    expect(after.body.map((st: { id: string }) => st.id)).toEqual([own, ...[...ids].reverse()]);
    expect(await fx.tb.redis.exists(`account:${away.accountId}:regeneration`)).toBe(0);

    // active within USER_ACTIVE_DAYS: sign-in refreshed, feed kept, no regeneration
    const regular = await api(fx, 'GET', '/api/v1/timelines/home', { token: recent.token });
    expect(regular.status).toBe(200);
    expect(regular.body.map((st: { id: string }) => st.id)).toEqual([...ids].reverse());
    expect((await queuedJobs(fx)).filter((j) => j.class === 'RegenerationWorker')).toEqual([]);
  });

  it('filters the home feed as FeedManager does: mutes, blocks both ways, hidden reblogs, blocked domains, muted mentions', async () => {
    const reader = await createLocalAccount(fx.tb, { username: 'picky' });
    const [friend, noisy, rude, grumpy] = (await Promise.all(
      ['friend', 'noisy', 'rude', 'grumpy'].map((username) => createLocalAccount(fx.tb, { username })),
    )) as [LocalAccount, LocalAccount, LocalAccount, LocalAccount];
    for (const a of [friend, noisy, rude, grumpy]) await follow(fx.tb, reader.accountId, a.accountId);
    await follow(fx.tb, rude.accountId, reader.accountId);
    const post = async (who: LocalAccount, text: string) =>
      (await api(fx, 'POST', '/api/v1/statuses', { token: who.token, json: { status: text } })).body
        .id as string;
    const home = async () => (await fx.tb.redis.zrevrange(feedKey(reader.accountId), 0, -1)).sort();
    const noisyOld = await post(noisy, 'before the mute');
    const rudeOld = await post(rude, 'before the block');
    await runLocalJobs(fx);
    expect(await home()).toEqual([noisyOld, rudeOld].sort());

    const muted = await api(fx, 'POST', `/api/v1/accounts/${noisy.accountId}/mute`, {
      token: reader.token,
      json: { notifications: false },
    });
    expect([muted.body.muting, muted.body.muting_notifications, muted.body.following]).toEqual([
      true,
      false,
      true,
    ]);
    const blocked = await api(fx, 'POST', `/api/v1/accounts/${rude.accountId}/block`, {
      token: reader.token,
    });
    expect([blocked.body.blocking, blocked.body.following, blocked.body.followed_by]).toEqual([
      true,
      false,
      false,
    ]);
    await runLocalJobs(fx); // MuteWorker and BlockWorker clear their statuses from the feed
    expect(await home()).toEqual([]);

    // grumpy blocks the reader; the reader hides friend's reblogs of nobody in particular
    await api(fx, 'POST', `/api/v1/accounts/${reader.accountId}/block`, { token: grumpy.token });
    expect(
      (
        await api(fx, 'GET', `/api/v1/accounts/relationships?id[]=${grumpy.accountId}`, {
          token: reader.token,
        })
      ).body[0],
    ).toMatchObject({ blocked_by: true, following: false });
    const remoteAuthor = (
      await fx.tb.db.query(
        `INSERT INTO accounts (username, domain, uri, inbox_url) VALUES ('troll', 'evil.example', 'https://evil.example/users/troll', 'https://evil.example/users/troll/inbox') RETURNING id`,
      )
    ).rows[0].id as string;
    const remoteStatus = (
      await fx.tb.db.query(
        `INSERT INTO statuses (account_id, uri, text, visibility, local) VALUES ($1, 'https://evil.example/s/1', 'far away', 0, false) RETURNING id`,
        [remoteAuthor],
      )
    ).rows[0].id as string;
    await fx.tb.db.query(
      "INSERT INTO account_domain_blocks (account_id, domain) VALUES ($1, 'evil.example')",
      [reader.accountId],
    );

    const kept = await post(friend, 'plain post');
    await post(friend, `hey @noisy`); // mentions a muted account: stays out
    await post(noisy, 'after the mute');
    const grumpyPost = await post(grumpy, 'grumpy says');
    await api(fx, 'POST', `/api/v1/statuses/${grumpyPost}/reblog`, { token: friend.token }); // author blocks the reader
    await api(fx, 'POST', `/api/v1/statuses/${remoteStatus}/reblog`, { token: friend.token }); // author's domain is blocked
    await runLocalJobs(fx);
    expect(await home()).toEqual([kept]);

    // friend's own reblogs, once hidden, stay out too; unmuting lets noisy back in
    await fx.tb.db.query(
      'UPDATE follows SET show_reblogs = false WHERE account_id = $1 AND target_account_id = $2',
      [reader.accountId, friend.accountId],
    );
    await api(fx, 'POST', `/api/v1/statuses/${kept}/reblog`, { token: noisy.token });
    const unmuted = await api(fx, 'POST', `/api/v1/accounts/${noisy.accountId}/unmute`, {
      token: reader.token,
    });
    expect(unmuted.body.muting).toBe(false);
    const back = await post(noisy, 'back again');
    const friendOwn = await post(friend, 'still here');
    await runLocalJobs(fx);
    expect(await home()).toEqual([kept, back, friendOwn].sort());
    expect(
      (await api(fx, 'POST', `/api/v1/accounts/${rude.accountId}/unblock`, { token: reader.token })).body
        .blocking,
    ).toBe(false);
  });

  it('caps a home feed at 800 entries, dropping the oldest', async () => {
    const author = await createLocalAccount(fx.tb, { username: 'flood' });
    const reader = await createLocalAccount(fx.tb, { username: 'flooded' });
    await follow(fx.tb, reader.accountId, author.accountId);
    // 830 statuses with ids one millisecond apart, inserted directly, then one FeedInsertWorker each.
    const base = BigInt(Date.now() - 3_600_000) << 16n;
    const ids = Array.from({ length: HOME_FEED_MAX_ITEMS + 30 }, (_, i) => String(base + (BigInt(i) << 16n)));
    await fx.tb.db.query(
      `INSERT INTO statuses (id, uri, text, account_id, local) SELECT id, 'urn:flood:' || id, 'flood', $2, true FROM unnest($1::bigint[]) AS id`,
      [ids, author.accountId],
    );
    for (const id of ids)
      await fx.tb.workers.FeedInsertWorker!.perform([id, reader.accountId, 'home'], {
        jid: 'x',
        queue: 'default',
        retryCount: 0,
      });
    expect(await fx.tb.redis.zcard(feedKey(reader.accountId))).toBe(HOME_FEED_MAX_ITEMS);
    expect(await fx.tb.redis.zscore(feedKey(reader.accountId), ids[29]!)).toBeNull();
    expect(await fx.tb.redis.zscore(feedKey(reader.accountId), ids[30]!)).not.toBeNull();
    const top = await api(fx, 'GET', '/api/v1/timelines/home?limit=40', { token: reader.token });
    expect(top.body[0].id).toBe(ids[ids.length - 1]);
  });

  it('distributes remote statuses to local followers, mentions and timeline:public:remote, and edits as status.update', async () => {
    const remote = (
      await fx.tb.db.query(
        `INSERT INTO accounts (username, domain, uri, inbox_url) VALUES ('ann', 'far.example', 'https://far.example/users/ann', 'https://far.example/users/ann/inbox') RETURNING id`,
      )
    ).rows[0].id as string;
    const fan = await createLocalAccount(fx.tb, { username: 'annfan' });
    const mentioned = await createLocalAccount(fx.tb, { username: 'mentioned' });
    await follow(fx.tb, fan.accountId, remote);
    const statusId = (
      await fx.tb.db.query(
        `INSERT INTO statuses (uri, text, account_id, local) VALUES ('https://far.example/s/9', '<p>hello @mentioned</p>', $1, false) RETURNING id`,
        [remote],
      )
    ).rows[0].id as string;
    await fx.tb.db.query('INSERT INTO mentions (status_id, account_id) VALUES ($1, $2)', [
      statusId,
      mentioned.accountId,
    ]);

    const sub = fx.tb.newRedis();
    const messages: { channel: string; json: { event: string; payload: { id: string } } }[] = [];
    sub.on('message', (channel: string, m: string) => messages.push({ channel, json: JSON.parse(m) }));
    await sub.subscribe('timeline:public', 'timeline:public:remote', 'timeline:public:local');
    try {
      await fx.tb.sidekiq.push('DistributionWorker', [statusId]); // as ActivityPub::ProcessingWorker does
      expect(await runLocalJobs(fx)).toEqual({
        DistributionWorker: 1,
        FeedInsertWorker: 1,
        LocalNotificationWorker: 1,
      });
      expect(await fx.tb.redis.zscore(feedKey(fan.accountId), statusId)).not.toBeNull();
      expect(await fx.tb.redis.exists(feedKey(remote))).toBe(0);
      const notes = await api(fx, 'GET', '/api/v1/notifications', { token: mentioned.token });
      expect(
        notes.body.map((n: { type: string; account: { acct: string } }) => [n.type, n.account.acct]),
      ).toEqual([['mention', 'ann@far.example']]);
      await fx.tb.sidekiq.push('DistributionWorker', [statusId, { update: true }]);
      await runLocalJobs(fx);
      const deadline = Date.now() + 5_000;
      while (messages.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(messages.map((m) => [m.channel, m.json.event, m.json.payload.id])).toEqual([
        ['timeline:public', 'update', statusId],
        ['timeline:public:remote', 'update', statusId],
        ['timeline:public', 'status.update', statusId],
        ['timeline:public:remote', 'status.update', statusId],
      ]);
      // one notification only, although the edit fanned out again
      expect((await api(fx, 'GET', '/api/v1/notifications', { token: mentioned.token })).body).toHaveLength(
        1,
      );
    } finally {
      sub.disconnect();
    }
  });

  it('serves the public timeline from PostgreSQL with local/remote/only_media and without replies to others', async () => {
    const a = await createLocalAccount(fx.tb, { username: 'pubA' });
    const b = await createLocalAccount(fx.tb, { username: 'pubB' });
    const root = (
      await api(fx, 'POST', '/api/v1/statuses', { token: a.token, json: { status: 'public root' } })
    ).body;
    const reply = (
      await api(fx, 'POST', '/api/v1/statuses', {
        token: b.token,
        json: { status: 'reply to other', in_reply_to_id: root.id },
      })
    ).body;
    const selfReply = (
      await api(fx, 'POST', '/api/v1/statuses', {
        token: a.token,
        json: { status: 'thread continues', in_reply_to_id: root.id },
      })
    ).body;
    const unlisted = (
      await api(fx, 'POST', '/api/v1/statuses', {
        token: a.token,
        json: { status: 'quiet', visibility: 'unlisted' },
      })
    ).body;
    // a remote account's status, as the ActivityPub side stores them
    const remote = (
      await fx.tb.db.query(
        `INSERT INTO accounts (username, domain, uri, inbox_url) VALUES ('far', 'remote.example', 'https://remote.example/users/far', 'https://remote.example/users/far/inbox') RETURNING id`,
      )
    ).rows[0].id;
    const remoteStatus = (
      await fx.tb.db.query(
        `INSERT INTO statuses (uri, text, account_id, local) VALUES ('https://remote.example/s/1', '<p>from afar</p>', $1, false) RETURNING id`,
        [remote],
      )
    ).rows[0].id;

    const all = await api(fx, 'GET', '/api/v1/timelines/public?limit=40');
    const allIds = all.body.map((s: { id: string }) => s.id);
    expect(allIds).toContain(root.id);
    expect(allIds).toContain(selfReply.id);
    expect(allIds).toContain(remoteStatus);
    expect(allIds).not.toContain(reply.id);
    expect(allIds).not.toContain(unlisted.id);
    expect(all.body[0].favourited).toBeUndefined(); // anonymous
    const local = await api(fx, 'GET', '/api/v1/timelines/public?local=true&limit=40');
    expect(local.body.map((s: { id: string }) => s.id)).not.toContain(remoteStatus);
    const remoteOnly = await api(fx, 'GET', '/api/v1/timelines/public?remote=true');
    expect(remoteOnly.body.every((s: { account: { acct: string } }) => s.account.acct.includes('@'))).toBe(
      true,
    );
    const far = remoteOnly.body.find((s: { id: string }) => s.id === remoteStatus);
    expect(far.content).toBe('<p>from afar</p>');
    expect(far.account.acct).toBe('far@remote.example');
    const media = await api(fx, 'GET', '/api/v1/timelines/public?only_media=true');
    expect(media.body).toEqual([]);
    const paged = await api(fx, 'GET', '/api/v1/timelines/public?local=true&limit=2');
    expect(links(paged.headers.get('link')).next).toMatch(/\?local=true&limit=2&max_id=\d+$/);

    const ctx = await api(fx, 'GET', `/api/v1/statuses/${root.id}/context`, { token: b.token });
    expect(ctx.body.ancestors).toEqual([]);
    expect(ctx.body.descendants.map((s: { id: string }) => s.id)).toEqual([reply.id, selfReply.id]);
    const up = await api(fx, 'GET', `/api/v1/statuses/${selfReply.id}/context`);
    expect(up.body.ancestors.map((s: { id: string }) => s.id)).toEqual([root.id]);

    // the reply to `a` reaches a's followers only if they follow `a` too
    const onlyB = await createLocalAccount(fx.tb, { username: 'followsOnlyB' });
    await follow(fx.tb, onlyB.accountId, b.accountId);
    const reply2 = (
      await api(fx, 'POST', '/api/v1/statuses', {
        token: b.token,
        json: { status: 'another reply', in_reply_to_id: root.id },
      })
    ).body;
    await runLocalJobs(fx);
    expect(await fx.tb.redis.zscore(feedKey(onlyB.accountId), reply2.id)).toBeNull();
    expect(await fx.tb.redis.zscore(feedKey(b.accountId), reply2.id)).not.toBeNull();
  });
});

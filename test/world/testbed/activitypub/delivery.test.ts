import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signLd } from '../../../../src/mastodon/ldSignature.js';
import type { AccountRow } from '../../../../world/testbed/activitypub/accounts.js';
import {
  CircuitOpenError,
  RELAY_STATE,
  circuitLight,
  deliveryRetryInSec,
  followRelay,
} from '../../../../world/testbed/activitypub/delivery.js';
import { deliveryLog } from '../../../../world/testbed/activitypub/state.js';
import { accountUri } from '../../../../world/testbed/activitypub/uris.js';
import {
  AS,
  PUBLIC,
  createLocalAccount,
  createLocalStatus,
  drain,
  perform,
  postSigned,
  queued,
  startFederation,
  storeRemoteAccount,
  type FederationFixture,
  type RemoteActor,
} from '../../../support/activitypub.js';

describe('ActivityPub distribution and delivery', () => {
  let f: FederationFixture;
  let alice: AccountRow;
  let followers: RemoteActor[];
  let relayActor: RemoteActor;
  const relayInbox = 'https://relay.remote.test/inbox';

  const follow = (follower: AccountRow, target: AccountRow) =>
    f.tb.db.query('INSERT INTO follows (account_id, target_account_id) VALUES ($1, $2)', [
      follower.id,
      target.id,
    ]);
  const deliver = (inbox: string, sender = alice) =>
    perform(f.tb, 'ActivityPub::DeliveryWorker', [
      JSON.stringify({ type: 'Create', id: 'x' }),
      sender.id,
      inbox,
    ]);

  beforeAll(async () => {
    f = await startFederation();
    alice = await createLocalAccount(f.tb, 'alice');
    // Two followers sharing a.remote.test's shared inbox, one on c.remote.test without a shared inbox.
    const f1 = await f.remote.addActor('a.remote.test', 'f1');
    const f2 = await f.remote.addActor('a.remote.test', 'f2', { keys: f1.keys });
    const f3 = await f.remote.addActor('c.remote.test', 'f3', { sharedInbox: false, keys: f1.keys });
    followers = [f1, f2, f3];
    for (const actor of followers) await follow(await storeRemoteAccount(f.tb, actor), alice);
    relayActor = await f.remote.addActor('relay.remote.test', 'relay', {
      type: 'Application',
      keys: f1.keys,
    });
  });
  afterAll(async () => {
    await f?.stop();
  });

  it('subscribes to a relay: the instance actor sends Follow{Public}, the relay Accept enables it', async () => {
    const relay = await followRelay(f.tb, relayInbox);
    expect(relay.state).toBe(RELAY_STATE.pending);
    const [job] = await queued(f.tb, 'push');
    expect(job).toMatchObject({
      class: 'ActivityPub::DeliveryWorker',
      retry: 16,
      args: [expect.any(String), '-99', relayInbox],
    });
    expect((await drain(f.tb, 'push')).map((p) => p.error)).toEqual([undefined]);
    const received = f.remote.deliveries.find((d) => d.host === 'relay.remote.test')!;
    expect(received).toMatchObject({
      verifiedMine: true,
      verifiedJoyent: true,
      keyId: `${f.tb.baseUrl}/actor#main-key`,
    });
    expect(received.activity).toMatchObject({
      type: 'Follow',
      actor: `${f.tb.baseUrl}/actor`,
      object: PUBLIC,
      id: relay.follow_activity_id,
    });

    const accept = {
      '@context': AS,
      id: 'https://relay.remote.test/activities/accept-1',
      type: 'Accept',
      actor: relayActor.uri,
      object: {
        id: relay.follow_activity_id,
        type: 'Follow',
        actor: `${f.tb.baseUrl}/actor`,
        object: PUBLIC,
      },
    };
    expect((await postSigned(f.fx, '/actor/inbox', accept, relayActor)).status).toBe(202);
    expect((await drain(f.tb, 'ingress')).map((p) => p.error)).toEqual([undefined]);
    expect(
      (await f.tb.db.query('SELECT state FROM relays WHERE inbox_url = $1', [relayInbox])).rows[0].state,
    ).toBe(RELAY_STATE.accepted);
    // The relay's actor uses relayInbox as its inbox for relay detection.
    await f.tb.db.query('UPDATE accounts SET inbox_url = $2 WHERE uri = $1', [relayActor.uri, relayInbox]);
  });

  it('enqueues one DeliveryWorker per distinct inbox (shared inbox once, relay for public posts) and delivers signed POSTs', async () => {
    const post = await createLocalStatus(f.tb, alice, 'Hello fediverse https://example.test/x');
    await perform(f.tb, 'ActivityPub::DistributionWorker', [post.id]);
    const jobs = await queued(f.tb, 'push');
    expect(
      jobs.every(
        (j) => j.class === 'ActivityPub::DeliveryWorker' && j.retry === 16 && j.args[1] === alice.id,
      ),
    ).toBe(true);
    expect(jobs.map((j) => j.args[2]).sort()).toEqual(
      ['https://a.remote.test/inbox', 'https://c.remote.test/users/f3/inbox', relayInbox].sort(),
    );

    f.remote.clearLog();
    expect((await drain(f.tb, 'push')).map((p) => p.error)).toEqual([undefined, undefined, undefined]);
    expect(f.remote.deliveries).toHaveLength(3);
    for (const d of f.remote.deliveries) {
      expect(d.mineError).toBeUndefined();
      expect(d.joyentError).toBeUndefined();
      expect(d).toMatchObject({
        method: 'POST',
        verifiedMine: true,
        verifiedJoyent: true,
        keyId: `${accountUri(f.tb, 'alice')}#main-key`,
      });
      expect(d.headers['content-type']).toBe('application/activity+json');
      expect(d.activity).toMatchObject({
        type: 'Create',
        actor: accountUri(f.tb, 'alice'),
        to: [PUBLIC],
        object: {
          id: post.uri,
          type: 'Note',
          attributedTo: accountUri(f.tb, 'alice'),
          cc: [`${accountUri(f.tb, 'alice')}/followers`],
        },
      });
      expect((d.activity.object as { content: string }).content).toBe(
        '<p>Hello fediverse <a href="https://example.test/x" target="_blank" rel="nofollow noopener" translate="no">https://example.test/x</a></p>',
      );
    }
    expect(
      deliveryLog(f.tb)
        .slice(-3)
        .map((r) => r.outcome),
    ).toEqual(['delivered', 'delivered', 'delivered']);

    const unlisted = await createLocalStatus(f.tb, alice, 'quiet', { visibility: 'unlisted' });
    await perform(f.tb, 'ActivityPub::DistributionWorker', [unlisted.id]);
    expect((await queued(f.tb, 'push')).map((j) => j.args[2]).sort()).toEqual([
      'https://a.remote.test/inbox',
      'https://c.remote.test/users/f3/inbox',
    ]);
    await f.tb.redis.del('queue:push');

    const f3 = (await f.tb.db.query<AccountRow>('SELECT * FROM accounts WHERE uri = $1', [followers[2]!.uri]))
      .rows[0]!;
    const dm = await createLocalStatus(f.tb, alice, '@f3@c.remote.test psst', {
      visibility: 'direct',
      mentions: [f3],
    });
    await perform(f.tb, 'ActivityPub::DistributionWorker', [dm.id]);
    const dmJobs = await queued(f.tb, 'push');
    expect(dmJobs.map((j) => j.args[2])).toEqual(['https://c.remote.test/users/f3/inbox']);
    const payload = JSON.parse(dmJobs[0]!.args[0] as string);
    expect(payload.object).toMatchObject({
      to: [followers[2]!.uri],
      cc: [],
      tag: [{ type: 'Mention', href: followers[2]!.uri }],
    });
    await f.tb.redis.del('queue:push');
  });

  it('retries 5xx/429 and connection failures, gives up on 4xx, and opens the circuit after 10 failures', async () => {
    const failing = 'https://d.remote.test/inbox';
    f.remote.inboxStatus.set(failing, 500);
    await expect(deliver(failing)).rejects.toThrow(
      /Delivery failed for https:\/\/d\.remote\.test\/inbox: .*HTTP 500/,
    );
    f.remote.inboxStatus.set(failing, 429);
    await expect(deliver(failing)).rejects.toThrow(/HTTP 429/);
    for (const status of [410, 404, 400]) {
      const inbox = `https://g${status}.remote.test/inbox`;
      f.remote.inboxStatus.set(inbox, status);
      await expect(deliver(inbox)).resolves.toBeUndefined();
    }
    expect(
      deliveryLog(f.tb)
        .slice(-3)
        .map((r) => [r.outcome, r.status]),
    ).toEqual([
      ['unsalvageable', 410],
      ['unsalvageable', 404],
      ['unsalvageable', 400],
    ]);

    // Nothing listens behind dead.test's rule: refused connection → retry.
    await expect(deliver('https://x.dead.test/inbox')).rejects.toThrow(
      /Delivery failed for https:\/\/x\.dead\.test\/inbox/,
    );

    const down = 'https://e.remote.test/inbox';
    f.remote.inboxStatus.set(down, 503);
    const posts = () => f.remote.seen((r) => r.host === 'e.remote.test' && r.method === 'POST').length;
    for (let i = 0; i < 10; i++) await expect(deliver(down)).rejects.toThrow(/HTTP 503/);
    expect(posts()).toBe(10);
    expect(await circuitLight(f.tb, down)).toBe('red');
    await expect(deliver(down)).rejects.toBeInstanceOf(CircuitOpenError);
    await expect(deliver(down)).rejects.toThrow(/circuit open/);
    expect(posts()).toBe(10);
    expect(deliveryLog(f.tb).at(-1)).toMatchObject({ inboxUrl: down, outcome: 'circuit_open' });
    // After the cool-off one attempt goes through (yellow); success closes the circuit.
    expect(await circuitLight(f.tb, down, Date.now() + 61_000)).toBe('yellow');
    await f.tb.redis.hset(`stoplight:${down}`, 'last_failure_at', String(Date.now() - 61_000));
    f.remote.inboxStatus.set(down, 202);
    await expect(deliver(down)).resolves.toBeUndefined();
    expect(posts()).toBe(11);
    expect(await circuitLight(f.tb, down)).toBe('green');
  });

  it("turns a local account's follow request into a follow when the remote account Accepts it, and ignores unrequested Accepts", async () => {
    const target = followers[0]!;
    const targetRow = (await f.tb.db.query<AccountRow>('SELECT * FROM accounts WHERE uri = $1', [target.uri]))
      .rows[0]!;
    const bobLocal = await createLocalAccount(f.tb, 'bob');
    const carolLocal = await createLocalAccount(f.tb, 'carol');
    const followId = `${f.tb.baseUrl}/follows/1`;
    await f.tb.db.query(
      'INSERT INTO follow_requests (account_id, target_account_id, uri) VALUES ($1, $2, $3)',
      [bobLocal.id, targetRow.id, followId],
    );
    const acceptOf = (n: number, who: string, id: string) => ({
      '@context': AS,
      id: `${target.uri}#accepts/follows/${n}`,
      type: 'Accept',
      actor: target.uri,
      object: { id, type: 'Follow', actor: accountUri(f.tb, who), object: target.uri },
    });
    expect((await postSigned(f.fx, '/users/bob/inbox', acceptOf(1, 'bob', followId), target)).status).toBe(
      202,
    );
    // carol never asked: her Accept must not create a follow
    expect(
      (
        await postSigned(
          f.fx,
          '/users/carol/inbox',
          acceptOf(2, 'carol', `${f.tb.baseUrl}/follows/2`),
          target,
        )
      ).status,
    ).toBe(202);
    expect((await drain(f.tb, 'ingress')).map((p) => p.error)).toEqual([undefined, undefined]);
    const follows = await f.tb.db.query(
      'SELECT account_id, uri FROM follows WHERE target_account_id = $1 AND account_id = ANY($2::bigint[])',
      [targetRow.id, [bobLocal.id, carolLocal.id]],
    );
    expect(follows.rows).toEqual([{ account_id: bobLocal.id, uri: followId }]);
    expect(
      (await f.tb.db.query('SELECT 1 FROM follow_requests WHERE account_id = $1', [bobLocal.id])).rowCount,
    ).toBe(0);
  });

  it('uses Mastodon retry counts and backoff', () => {
    const w = f.tb.workers;
    expect([w['ActivityPub::DeliveryWorker']!.queue, w['ActivityPub::DeliveryWorker']!.retry]).toEqual([
      'push',
      16,
    ]);
    expect([w['ActivityPub::ProcessingWorker']!.queue, w['ActivityPub::ProcessingWorker']!.retry]).toEqual([
      'ingress',
      8,
    ]);
    expect([
      w['ActivityPub::DistributionWorker']!.queue,
      w.LinkCrawlWorker!.queue,
      w.LinkCrawlWorker!.retry,
    ]).toEqual(['push', 'pull', 0]);
    expect([w.RedownloadMediaWorker!.queue, w.RedownloadMediaWorker!.retry]).toEqual(['pull', 3]);
    expect([w['Scheduler::VacuumScheduler']!.queue, w['Scheduler::VacuumScheduler']!.retry]).toEqual([
      'scheduler',
      0,
    ]);
    for (let i = 0; i < 50; i++) {
      const count = i % 17;
      const d = deliveryRetryInSec(count);
      expect(d).toBeGreaterThanOrEqual(count ** 4 + 15);
      expect(d).toBeLessThanOrEqual(count ** 4 + 15 + 0.5 * count ** 4);
    }
  });

  it('processes relay-forwarded Creates (LD-signed; actor fetched inside the job) and fetches the original of a relay Announce without boosting', async () => {
    const carol = await f.remote.addActor('b.remote.test', 'carol', { keys: followers[0]!.keys });
    const note = {
      id: `${carol.uri}/statuses/1`,
      type: 'Note',
      attributedTo: carol.uri,
      to: [PUBLIC],
      content: '<p>relayed</p>',
      published: new Date(Date.now() - 5000).toISOString(),
    };
    // relays forward Creates as received: with their author's JSON-LD signature
    const forwarded = await signLd(
      {
        '@context': AS,
        id: `${note.id}/activity`,
        type: 'Create',
        actor: carol.uri,
        to: [PUBLIC],
        object: note,
      },
      { keyId: carol.keyId, privateKeyPem: carol.keys.privateKeyPem },
    );
    f.remote.clearLog();
    expect((await postSigned(f.fx, '/inbox', forwarded, relayActor)).status).toBe(202);
    expect(f.remote.seen((r) => r.host === 'b.remote.test')).toHaveLength(0); // nothing fetched in the web request
    expect((await drain(f.tb, 'ingress')).map((p) => p.error)).toEqual([undefined]);
    expect(
      f.remote.seen((r) => r.host === 'b.remote.test' && r.path === '/users/carol').length,
    ).toBeGreaterThan(0);
    const stored = (
      await f.tb.db.query(
        'SELECT s.id, a.uri FROM statuses s JOIN accounts a ON a.id = s.account_id WHERE s.uri = $1',
        [note.id],
      )
    ).rows;
    expect(stored).toEqual([{ id: expect.any(String), uri: carol.uri }]);

    const original = { ...note, id: `${carol.uri}/statuses/2`, content: '<p>announced</p>' };
    f.remote.serve(
      'b.remote.test',
      '/users/carol/statuses/2',
      JSON.stringify({ '@context': AS, ...original }),
      'application/activity+json',
    );
    const announce = {
      '@context': AS,
      id: 'https://relay.remote.test/activities/a1',
      type: 'Announce',
      actor: relayActor.uri,
      to: [PUBLIC],
      object: original.id,
    };
    expect((await postSigned(f.fx, '/inbox', announce, relayActor)).status).toBe(202);
    expect((await drain(f.tb, 'ingress')).map((p) => p.error)).toEqual([undefined]);
    const fetched = (await f.tb.db.query('SELECT id FROM statuses WHERE uri = $1', [original.id])).rows;
    expect(fetched).toHaveLength(1);
    expect(
      (
        await f.tb.db.query('SELECT count(*)::int AS n FROM statuses WHERE reblog_of_id = $1', [
          fetched[0].id,
        ])
      ).rows[0].n,
    ).toBe(0);
    await f.tb.redis.del('queue:default', 'schedule');
  });
});

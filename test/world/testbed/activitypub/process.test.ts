import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountRow } from '../../../../world/testbed/activitypub/accounts.js';
import { accountUri } from '../../../../world/testbed/activitypub/uris.js';
import {
  createLocalAccount,
  createLocalStatus,
  noteCreate,
  png,
  postSigned,
  startFederation,
  waitFor,
  type FederationFixture,
  type RemoteActor,
} from '../../../support/activitypub.js';

/** The same flows with the real Sidekiq engine running the jobs (effects awaited by bounded polls). */
describe('ActivityPub jobs under the testbed Sidekiq engine', () => {
  let f: FederationFixture;
  let alice: AccountRow;
  let bob: RemoteActor;

  beforeAll(async () => {
    f = await startFederation({ withSidekiq: true });
    alice = await createLocalAccount(f.tb, 'alice');
    bob = await f.remote.addActor('a.remote.test', 'bob');
  });
  afterAll(async () => {
    await f?.stop();
  });

  it('processes an inbound Create end to end: status, cached media, mention notification', async () => {
    const image = f.remote.serve('a.remote.test', '/media/engine.png', await png(40, 30), 'image/png');
    const activity = noteCreate(bob, 'engine', {
      tag: [{ type: 'Mention', href: accountUri(f.tb, 'alice') }],
      attachment: [{ type: 'Document', mediaType: 'image/png', url: image }],
    });
    expect((await postSigned(f.fx, '/inbox', activity, bob)).status).toBe(202);
    const noteId = (activity.object as { id: string }).id;
    await waitFor(
      async () =>
        (
          await f.tb.db.query("SELECT 1 FROM notifications WHERE account_id = $1 AND type = 'mention'", [
            alice.id,
          ])
        ).rowCount,
      'the mention notification',
    );
    const media = (
      await f.tb.db.query(
        'SELECT m.file_path FROM media_attachments m JOIN statuses s ON s.id = m.status_id WHERE s.uri = $1',
        [noteId],
      )
    ).rows;
    expect(media).toEqual([
      { file_path: expect.stringMatching(/^cache\/media_attachments\/files\/.+\/original\/[0-9a-f]+\.png$/) },
    ]);
  });

  it('delivers a local post to a remote follower, and sends a failing delivery to the retry set', async () => {
    const bobRow = (await f.tb.db.query<AccountRow>('SELECT * FROM accounts WHERE uri = $1', [bob.uri]))
      .rows[0]!; // fetched by the first test
    await f.tb.db.query('INSERT INTO follows (account_id, target_account_id) VALUES ($1, $2)', [
      bobRow.id,
      alice.id,
    ]);
    const post = await createLocalStatus(f.tb, alice, 'engine post');
    await f.tb.sidekiq.push('ActivityPub::DistributionWorker', [post.id]);
    const delivery = await waitFor(
      async () => f.remote.deliveries.find((d) => (d.activity.object as { id?: string })?.id === post.uri),
      'the delivery',
    );
    expect(delivery).toMatchObject({
      host: 'a.remote.test',
      path: '/inbox',
      verifiedMine: true,
      verifiedJoyent: true,
    });

    f.remote.inboxStatus.set('https://z.remote.test/inbox', 503);
    await f.tb.sidekiq.push('ActivityPub::DeliveryWorker', [
      JSON.stringify({ type: 'Create' }),
      alice.id,
      'https://z.remote.test/inbox',
    ]);
    const retried = await waitFor(
      async () =>
        (await f.tb.redis.zrange('retry', 0, -1))
          .map((j) => JSON.parse(j))
          .find((j) => j.class === 'ActivityPub::DeliveryWorker'),
      'a retry entry',
    );
    expect(retried).toMatchObject({ queue: 'push', retry: 16, retry_count: 0 });
    expect(retried.error_message).toMatch(/Delivery failed for https:\/\/z\.remote\.test\/inbox/);
  });
});

/**
 * The fleet against the testbed with its Sidekiq engine running: the testbed
 * reaches every *.fleet.test host at the fleet through `--resolve`, the fleet
 * reaches the testbed's actors (http://127.0.0.1:PORT/...) over loopback.
 */
import { createPublicKey } from 'node:crypto';
import httpSignature from 'http-signature';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest } from '../../../src/mastodon/signatures.js';
import type { FleetActor } from '../../../world/fleet/manifest.js';
import { startFleet, type RunningFleet } from '../../../world/fleet/server.js';
import { createLocalAccount, type LocalAccount } from '../../../world/testbed/accounts.js';
import { followRelayUntilAccepted, startTestTestbed, type TestbedFixture } from '../../support/testbed.js';
import { waitFor } from '../../support/fleet.js';
import { PUBLIC_COLLECTION } from '../../../src/mastodon/activitypub.js';

const AS = 'https://www.w3.org/ns/activitystreams';

/** The fields of Mastodon's Relationship entity these tests read. */
interface Relationship {
  following: boolean;
  requested: boolean;
}

describe('fleet ↔ testbed federation', () => {
  let fleet: RunningFleet;
  let fx: TestbedFixture;
  let alice: LocalAccount;
  let aliceUri: string;

  /** POST to the testbed's inbox signed with a fleet actor's private key from the manifest. */
  async function deliver(
    actor: FleetActor,
    activity: Record<string, unknown>,
    path = '/inbox',
  ): Promise<number> {
    const body = JSON.stringify(activity);
    const { Host: _host, ...headers } = signRequest({
      keyId: actor.keyId,
      privateKeyPem: actor.privateKeyPem,
      method: 'POST',
      url: `${fx.url}${path}`,
      body,
      headers: { 'Content-Type': 'application/activity+json' },
    });
    const res = await fetch(`${fx.url}${path}`, { method: 'POST', headers, body });
    return res.status;
  }

  beforeAll(async () => {
    fleet = await startFleet({
      instances: 2,
      actorsPerInstance: 4,
      coldFraction: 0.5,
      mediaSizesBytes: [32 * 1024],
      captureRequests: 200,
    });
    fx = await startTestTestbed({ resolve: [{ suffix: 'fleet.test', host: '127.0.0.1', port: fleet.port }] });
    alice = await createLocalAccount(fx.tb, { username: 'alice' });
    aliceUri = `${fx.tb.baseUrl}/users/alice`;
  }, 60_000);
  afterAll(async () => {
    await fx?.stop();
    await fleet?.stop();
  });

  it('a Create from a cold fleet actor makes the testbed fetch the actor from the fleet and store the status', async () => {
    const cold = fleet.manifest.actors.find((a) => a.population === 'cold')!;
    const before = fleet.stats();
    expect(before.actorsFetched).toBe(0);
    const noteId = `${cold.id}/statuses/${Date.now()}`;
    const mediaUrl = `${fleet.manifest.scheme}://${cold.host}${fleet.manifest.media[0]!.path}?n=1`;
    const status = await deliver(cold, {
      '@context': AS,
      id: `${noteId}/activity`,
      type: 'Create',
      actor: cold.id,
      to: [PUBLIC_COLLECTION],
      cc: [cold.followers, aliceUri],
      object: {
        id: noteId,
        type: 'Note',
        attributedTo: cold.id,
        published: new Date(Date.now() - 1000).toISOString(),
        to: [PUBLIC_COLLECTION],
        cc: [cold.followers, aliceUri],
        content:
          '<p><span class="h-card"><a href="#" class="u-url mention">@alice</a></span> hello from the fleet</p>',
        tag: [{ type: 'Mention', href: aliceUri, name: '@alice' }],
        attachment: [{ type: 'Document', mediaType: 'image/jpeg', url: mediaUrl }],
      },
    });
    expect(status).toBe(202);
    // Fetched synchronously inside the inbox request: key (actor twice), WebFinger, three collections,
    // avatar, header.
    const s = fleet.stats();
    expect(s.actorsFetched).toBe(1);
    expect(s.requests).toMatchObject({ webfinger: 1, collection: 3, avatar: 1, header: 1 });
    expect(s.requests.actor).toBeGreaterThanOrEqual(2);
    const row = await waitFor(
      async () =>
        (
          await fx.tb.db.query<{ id: string; text: string }>('SELECT id, text FROM statuses WHERE uri = $1', [
            noteId,
          ])
        ).rows[0],
      'the stored status',
    );
    expect(row.text).toContain('hello from the fleet');
    const account = (
      await fx.tb.db.query(
        'SELECT username, domain, inbox_url, shared_inbox_url FROM accounts WHERE uri = $1',
        [cold.id],
      )
    ).rows[0];
    expect(account).toEqual({
      username: cold.username,
      domain: cold.host,
      inbox_url: cold.inbox,
      shared_inbox_url: cold.sharedInbox,
    });
    await waitFor(async () => fleet.stats().requests.media, 'the attachment download from the fleet');
  });

  it('a Follow from a fleet actor makes the testbed send an Accept the fleet verifies; a post then reaches the fleet signed', async () => {
    const follower = fleet.manifest.actors.find(
      (a) => a.population === 'warm' && a.host === 'i2.fleet.test',
    )!;
    const followId = `${follower.id}#follows/${Date.now()}`;
    expect(
      await deliver(follower, {
        '@context': AS,
        id: followId,
        type: 'Follow',
        actor: follower.id,
        object: aliceUri,
      }),
    ).toBe(202);
    await waitFor(
      async () =>
        (
          await fx.tb.db.query(
            'SELECT 1 FROM follows f JOIN accounts a ON a.id = f.account_id WHERE a.uri = $1 AND f.target_account_id = $2',
            [follower.id, alice.accountId],
          )
        ).rowCount,
      'the follows row',
    );
    const accept = await waitFor(
      () => fleet.deliveries().find((d) => d.type === 'Accept' && d.inbox === follower.inbox),
      'the Accept at the fleet',
      15_000,
    );
    expect(accept).toMatchObject({
      host: 'i2.fleet.test',
      signatureOk: true,
      status: 202,
      keyId: `${aliceUri}#main-key`,
    });

    const res = await fetch(`${fx.url}/api/v1/statuses`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${alice.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ status: 'Hello, fleet followers', visibility: 'public' }),
    });
    expect(res.status).toBe(200);
    const posted = (await res.json()) as { uri: string; created_at: string };
    const delivery = await waitFor(
      () => fleet.deliveries().find((d) => d.activityId === `${posted.uri}/activity`),
      'the Create delivered to the fleet',
      15_000,
    );
    expect(delivery).toMatchObject({
      type: 'Create',
      inbox: follower.sharedInbox,
      host: 'i2.fleet.test',
      signatureOk: true,
      status: 202,
      keyId: `${aliceUri}#main-key`,
    });
    // Mastodon writes `published` in whole seconds.
    expect(delivery.originTimeMs).toBe(Math.floor(Date.parse(posted.created_at) / 1000) * 1000);
    expect(delivery.receivedAtMs).toBeGreaterThanOrEqual(delivery.originTimeMs!);

    // joyent's http-signature agrees, with the key the testbed publishes.
    const captured = fleet.requests().find((r) => r.record === delivery)!;
    const actorDoc = (await (
      await fetch(aliceUri, { headers: { Accept: 'application/activity+json' } })
    ).json()) as { publicKey: { publicKeyPem: string } };
    const parsed = httpSignature.parseRequest(
      {
        headers: captured.headers,
        method: captured.method,
        url: captured.url,
        httpVersion: captured.httpVersion,
      },
      { clockSkew: 300, headers: ['(request-target)', 'host', 'date', 'digest'] },
    );
    expect(parsed.keyId).toBe(`${aliceUri}#main-key`);
    expect(httpSignature.verifySignature(parsed, actorDoc.publicKey.publicKeyPem)).toBe(true);
    const otherKey = createPublicKey(fleet.manifest.relay.privateKeyPem)
      .export({ type: 'spki', format: 'pem' })
      .toString();
    expect(httpSignature.verifySignature(parsed, otherKey)).toBe(false);
  });

  it("a local account following a fleet actor is requested until the fleet's Accept arrives, then follows", async () => {
    // Any signed delivery from an unknown actor makes the testbed fetch and store it (its key).
    const target = fleet.manifest.actors
      .filter((a) => a.host === 'i1.fleet.test' && a.population === 'warm')
      .at(-1)!;
    expect(
      await deliver(target, {
        '@context': AS,
        id: `${target.id}#likes/${Date.now()}`,
        type: 'Like',
        actor: target.id,
        object: `${aliceUri}/statuses/1`,
      }),
    ).toBe(202);
    const targetId = (
      await fx.tb.db.query<{ id: string }>('SELECT id FROM accounts WHERE uri = $1', [target.id])
    ).rows[0]!.id;
    const bob = await createLocalAccount(fx.tb, { username: 'bob' });
    const api = async <T>(method: string, path: string): Promise<T> => {
      const res = await fetch(`${fx.url}${path}`, {
        method,
        headers: { Authorization: `Bearer ${bob.token}` },
      });
      expect(res.status, path).toBe(200);
      return (await res.json()) as T;
    };
    const requested = await api<Relationship>('POST', `/api/v1/accounts/${targetId}/follow`);
    expect([requested.following, requested.requested]).toEqual([false, true]);
    const follow = await waitFor(
      () => fleet.deliveries().find((d) => d.type === 'Follow' && d.inbox === target.inbox),
      'the Follow at the fleet',
      15_000,
    );
    expect(follow).toMatchObject({
      signatureOk: true,
      status: 202,
      keyId: `${fx.tb.baseUrl}/users/bob#main-key`,
    });
    // The fleet answers with a signed Accept to bob's inbox; the ingress job turns the request into a follow.
    const rel = await waitFor(
      async () => {
        const [r] = await api<Relationship[]>('GET', `/api/v1/accounts/relationships?id[]=${targetId}`);
        return r?.following && r;
      },
      'the follow after the Accept',
      15_000,
    );
    expect(rel.requested).toBe(false);
    const row = (
      await fx.tb.db.query('SELECT uri FROM follows WHERE account_id = $1 AND target_account_id = $2', [
        bob.accountId,
        targetId,
      ])
    ).rows[0];
    expect(row.uri).toBe(follow.activityId);
  });

  it('a local post mentioning an unknown fleet account resolves it inside the request (WebFinger, actor) and delivers to it', async () => {
    const target = fleet.manifest.actors
      .filter((a) => a.population === 'cold' && a.host === 'i2.fleet.test')
      .at(-1)!;
    expect((await fx.tb.db.query('SELECT 1 FROM accounts WHERE uri = $1', [target.id])).rowCount).toBe(0);
    const carol = await createLocalAccount(fx.tb, { username: 'carol' });
    const before = fleet.stats();
    const res = await fetch(`${fx.url}/api/v1/statuses`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${carol.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        status: `hello @${target.username}@${target.host}, and @nobody@${target.host} and @x@unknown.invalid`,
        visibility: 'public',
      }),
    });
    expect(res.status).toBe(200);
    const posted = (await res.json()) as { uri: string; mentions: { acct: string; url: string }[] };
    // only the resolvable handle is a mention; the others stay text
    expect(posted.mentions.map((m) => m.acct)).toEqual([`${target.username}@${target.host}`]);
    const after = fleet.stats();
    expect(after.actorsFetched - before.actorsFetched).toBe(1);
    expect((after.requests.webfinger ?? 0) - (before.requests.webfinger ?? 0)).toBeGreaterThanOrEqual(2);
    const delivery = await waitFor(
      () =>
        fleet.deliveries().find((d) => d.activityId === `${posted.uri}/activity` && d.host === target.host),
      'the Create delivered to the mentioned account',
      15_000,
    );
    expect(delivery).toMatchObject({ type: 'Create', signatureOk: true, status: 202 });
  });

  it("the relay accepts the testbed instance actor's Follow of Public, and then receives its public posts", async () => {
    const relayInbox = fleet.manifest.relay.inbox;
    await followRelayUntilAccepted(fx.tb, relayInbox, 15_000);
    const follow = fleet.deliveries().find((d) => d.inbox === relayInbox && d.type === 'Follow')!;
    expect(follow).toMatchObject({
      host: 'relay.fleet.test',
      signatureOk: true,
      status: 202,
      keyId: `${fx.tb.baseUrl}/actor#main-key`,
    });
    expect(fleet.stats().accepts.failed).toBe(0);

    const res = await fetch(`${fx.url}/api/v1/statuses`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${alice.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ status: 'Hello, relay', visibility: 'public' }),
    });
    const posted = (await res.json()) as { uri: string };
    const ofPost = () => fleet.deliveries().filter((d) => d.activityId === `${posted.uri}/activity`);
    await waitFor(() => ofPost().length >= 2, "the post at the relay and at the follower's instance", 15_000);
    const delivered = ofPost();
    expect(delivered.map((d) => d.host).sort()).toEqual(['i2.fleet.test', 'relay.fleet.test']);
    expect(delivered.every((d) => d.signatureOk && d.status === 202)).toBe(true);
  });

  it('relayed Creates: the fleet signs (JSON-LD), the relay forwards, the testbed verifies and stores; a tampered one is dropped and counted', async () => {
    const relayInbox = fleet.manifest.relay.inbox;
    await followRelayUntilAccepted(fx.tb, relayInbox, 15_000);
    const author = fleet.manifest.actors.find((a) => a.population === 'cold')!;
    const create = (n: string, content: string) => {
      const id = `${author.id}/statuses/ld-${n}-${Date.now()}`;
      return {
        '@context': [AS, 'https://w3id.org/security/v1', { sensitive: 'as:sensitive' }],
        id: `${id}/activity`,
        type: 'Create',
        actor: author.id,
        to: [PUBLIC_COLLECTION],
        cc: [author.followers],
        object: {
          id,
          type: 'Note',
          attributedTo: author.id,
          published: new Date().toISOString(),
          to: [PUBLIC_COLLECTION],
          cc: [author.followers],
          sensitive: false,
          content,
        },
      };
    };
    const sign = async (doc: unknown) => {
      const res = await fetch(fleet.manifest.ldSignUrl!, { method: 'POST', body: JSON.stringify(doc) });
      expect(res.status).toBe(200);
      return (await res.json()) as ReturnType<typeof create> & { signature: Record<string, string> };
    };
    const stored = async (doc: ReturnType<typeof create>) =>
      (await fx.tb.db.query('SELECT count(*)::int AS n FROM statuses WHERE uri = $1', [doc.object.id]))
        .rows[0].n as number;
    const dropped = async () => {
      const text = await (await fetch(`${fx.url}/metrics`)).text();
      return Number(
        /fedicap_testbed_activitypub_ld_signature_drops_total\{reason="invalid"\} (\d+)/.exec(text)?.[1] ?? 0,
      );
    };

    const signed = await sign(create('ok', '<p>relayed with its signature</p>'));
    expect(signed.signature).toMatchObject({ type: 'RsaSignature2017', creator: author.keyId });
    expect(fleet.stats().requests.ld_sign).toBeGreaterThanOrEqual(1);
    expect(await deliver(fleet.manifest.relay, signed)).toBe(202);
    await waitFor(async () => (await stored(signed)) === 1, 'the relayed Create stored', 15_000);

    const before = await dropped();
    const original = await sign(create('tampered', '<p>as written</p>'));
    const tampered = { ...original, object: { ...original.object, content: '<p>rewritten on the way</p>' } };
    expect(await deliver(fleet.manifest.relay, tampered)).toBe(202);
    await waitFor(
      async () => (await dropped()) === before + 1,
      'the tampered Create counted as dropped',
      15_000,
    );
    expect(await stored(tampered)).toBe(0);

    // the fleet refuses to sign what would travel unsigned, and for actors it does not have
    const refused = await fetch(fleet.manifest.ldSignUrl!, {
      method: 'POST',
      body: JSON.stringify({ ...create('x', '<p>x</p>'), notInAnyContext: 1 }),
    });
    expect(refused.status).toBe(422);
    const stranger = await fetch(fleet.manifest.ldSignUrl!, {
      method: 'POST',
      body: JSON.stringify({ ...create('y', '<p>y</p>'), actor: 'https://elsewhere.example/users/x' }),
    });
    expect(stranger.status).toBe(422);
    expect(await stranger.json()).toEqual({ error: expect.stringMatching(/not an actor of this fleet/) });
  }, 60_000);
});

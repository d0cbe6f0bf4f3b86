/**
 * Activities signed over HTTP by someone else than their actor (relayed) are processed only with a valid
 * JSON-LD signature by the actor, as ActivityPub::ProcessCollectionService#verify_account! does; every drop
 * is counted by reason and logged as one JSON line.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { signLd } from '../../../../src/mastodon/ldSignature.js';
import { RELAY_STATE } from '../../../../world/testbed/activitypub/delivery.js';
import { LD_DROPS_METRIC } from '../../../../world/testbed/activitypub/ldSignature.js';
import {
  AS,
  PUBLIC,
  drain,
  postSigned,
  startFederation,
  storeRemoteAccount,
  type FederationFixture,
  type RemoteActor,
} from '../../../support/activitypub.js';
import { pyldSign, pyldUnavailable } from '../../../support/ldSign.js';

const missingPyld = pyldUnavailable();
if (missingPyld) console.warn(`SKIPPING the PyLD-signed relayed Create: ${missingPyld}`);

describe('relayed activities need the JSON-LD signature of their actor', () => {
  let f: FederationFixture;
  let relay: RemoteActor;
  let carol: RemoteActor;
  let dave: RemoteActor;
  let n = 0;
  let logged: string[];

  /** A public Create by `author` (fresh ids), as its server sends it to a relay. */
  const create = (author: RemoteActor, content = '<p>relayed</p>') => {
    const note = `${author.uri}/statuses/${++n}`;
    return {
      '@context': [AS, 'https://w3id.org/security/v1', { sensitive: 'as:sensitive' }],
      id: `${note}/activity`,
      type: 'Create',
      actor: author.uri,
      to: [PUBLIC],
      cc: [`${author.uri}/followers`],
      object: {
        id: note,
        type: 'Note',
        attributedTo: author.uri,
        published: new Date(Date.now() - 1000).toISOString(),
        to: [PUBLIC],
        cc: [`${author.uri}/followers`],
        sensitive: false,
        content,
      },
    };
  };
  const signedBy = <T extends Record<string, unknown>>(author: RemoteActor, doc: T) =>
    signLd(doc, { keyId: author.keyId, privateKeyPem: author.keys.privateKeyPem });
  const stored = async (activity: { object: { id: string } }) =>
    (await f.tb.db.query('SELECT count(*)::int AS n FROM statuses WHERE uri = $1', [activity.object.id]))
      .rows[0].n as number;
  const drops = async () => {
    const metric = await f.tb.metrics.getSingleMetric(LD_DROPS_METRIC)?.get();
    return Object.fromEntries((metric?.values ?? []).map((v) => [v.labels.reason, v.value]));
  };
  /** POST through the relay's HTTP signature to the shared inbox and run the ingress job. */
  const relayed = async (activity: unknown) => {
    expect((await postSigned(f.fx, '/inbox', activity, relay)).status).toBe(202);
    expect((await drain(f.tb, 'ingress')).map((p) => p.error)).toEqual([undefined]);
  };

  beforeAll(async () => {
    f = await startFederation();
    relay = await f.remote.addActor('relay.remote.test', 'relay', { type: 'Application' });
    [carol, dave] = await Promise.all([
      f.remote.addActor('b.remote.test', 'carol'),
      f.remote.addActor('c.remote.test', 'dave'),
    ]);
    // an accepted relay (Administration → Relays; the subscription itself is tested in delivery.test.ts)
    const row = await storeRemoteAccount(f.tb, relay);
    await f.tb.db.query('INSERT INTO relays (inbox_url, follow_activity_id, state) VALUES ($1, $2, $3)', [
      row.shared_inbox_url,
      'https://testbed.example/follow-relay',
      RELAY_STATE.accepted,
    ]);
  });
  afterAll(async () => {
    await f?.stop();
  });
  beforeEach(() => {
    logged = [];
    const write = process.stderr.write.bind(process.stderr);
    vi.spyOn(process.stderr, 'write').mockImplementation(((
      chunk: string | Uint8Array,
      ...rest: unknown[]
    ) => {
      if (typeof chunk === 'string' && chunk.includes('ld_signature_drop')) logged.push(chunk);
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stderr.write);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('stores a relayed Create signed by its author (the author fetched inside the job), counting no drop', async () => {
    const activity = await signedBy(carol, create(carol));
    await relayed(activity);
    expect(await stored(activity)).toBe(1);
    const author = await f.tb.db.query(
      'SELECT a.uri FROM statuses s JOIN accounts a ON a.id = s.account_id WHERE s.uri = $1',
      [activity.object.id],
    );
    expect(author.rows[0].uri).toBe(carol.uri);
    expect(await drops()).toEqual({});
    expect(logged).toEqual([]);
  });

  it('drops a Create whose content changed after signing, counts it as invalid and logs one JSON line', async () => {
    const signed = await signedBy(carol, create(carol));
    const tampered = { ...signed, object: { ...signed.object, content: '<p>changed by the relay</p>' } };
    await relayed(tampered);
    expect(await stored(tampered)).toBe(0);
    expect(await drops()).toEqual({ invalid: 1 });
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0]!)).toMatchObject({
      event: 'activitypub.ld_signature_drop',
      reason: 'invalid',
      activity: tampered.id,
      type: 'Create',
      actor: carol.uri,
      signer: relay.uri,
    });
  });

  it('drops a relayed Create without a JSON-LD signature (missing)', async () => {
    const unsigned = create(carol);
    await relayed(unsigned);
    expect(await stored(unsigned)).toBe(0);
    expect((await drops()).missing).toBe(1);
    expect(JSON.parse(logged[0]!)).toMatchObject({ reason: 'missing', actor: carol.uri });
  });

  it('drops a Create signed by another actor than its own (creator_not_actor), and one naming an unknown context', async () => {
    const byDave = await signedBy(dave, create(carol));
    await relayed(byDave);
    expect(await stored(byDave)).toBe(0);
    const unknownContext = await signedBy(carol, create(carol));
    unknownContext['@context'] = [AS, 'https://contexts.example/unknown'] as never;
    await relayed(unknownContext);
    expect(await stored(unknownContext)).toBe(0);
    const counted = await drops();
    expect(counted.creator_not_actor).toBe(1);
    expect(counted.uncanonicalisable).toBe(1);
    expect(logged.map((l) => JSON.parse(l).reason)).toEqual(['creator_not_actor', 'uncanonicalisable']);
    expect(JSON.parse(logged[1]!).detail).toMatch(
      /unknown JSON-LD context https:\/\/contexts\.example\/unknown/,
    );
  });

  it.skipIf(missingPyld !== null)(
    'stores a relayed Create signed by an independent implementation (PyLD)',
    async () => {
      const activity = pyldSign(
        create(dave, '<p>signed in Python</p>'),
        { keyId: dave.keyId, privateKeyPem: dave.keys.privateKeyPem },
        new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      );
      await relayed(activity);
      expect(await stored(activity as { object: { id: string } })).toBe(1);
      expect(logged).toEqual([]);
    },
    60_000,
  );
});

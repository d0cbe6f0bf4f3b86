import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalAccount, type LocalAccount } from '../../../../world/testbed/accounts.js';
import { api, openApi, runLocalJobs, startApiTestbed } from '../../../support/api.js';
import type { TestbedFixture } from '../../../support/testbed.js';

const schema = await openApi();

describe.skipIf(!schema)('client API responses and requests against openapi.json', () => {
  let fx: TestbedFixture;
  let alice: LocalAccount;
  let bob: LocalAccount;
  beforeAll(async () => {
    fx = await startApiTestbed();
    alice = await createLocalAccount(fx.tb, { username: 'alice' });
    bob = await createLocalAccount(fx.tb, { username: 'bob' });
  });
  afterAll(async () => {
    await fx?.stop();
  });

  const entity = (name: string, value: unknown) =>
    expect(schema!.validateEntity(name, value).problems, name).toEqual([]);

  it('validates Account, Status, MediaAttachment, Notification, Relationship, Context, Instance and Error bodies', async () => {
    const me = await api(fx, 'GET', '/api/v1/accounts/verify_credentials', { token: alice.token });
    entity('CredentialAccount', me.body);
    entity('Account', me.body);

    const png = await sharp({ create: { width: 320, height: 200, channels: 3, background: '#884422' } })
      .png()
      .toBuffer();
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'a.png');
    form.append('description', 'brown');
    const media = await api(fx, 'POST', '/api/v2/media', {
      token: alice.token,
      form,
      formFields: { file: '<binary>', description: 'brown' },
    });
    expect(media.status).toBe(200);
    entity('MediaAttachment', media.body);

    const post = await api(fx, 'POST', '/api/v1/statuses', {
      token: alice.token,
      json: {
        status: 'Hi @bob, see https://example.org #tag',
        media_ids: [media.body.id],
        language: 'en',
        spoiler_text: 'cw',
        visibility: 'public',
      },
      headers: { 'Idempotency-Key': 'openapi-1' },
    });
    expect(post.status).toBe(200);
    entity('Status', post.body);
    expect(post.body.mentions).toEqual([
      { id: bob.accountId, username: 'bob', acct: 'bob', url: `${fx.tb.baseUrl}/@bob` },
    ]);
    const reply = await api(fx, 'POST', '/api/v1/statuses', {
      token: bob.token,
      json: { status: 'reply', in_reply_to_id: post.body.id },
    });
    entity('Status', reply.body);
    const shown = await api(fx, 'GET', `/api/v1/statuses/${post.body.id}`);
    entity('Status', shown.body);
    const ctx = await api(fx, 'GET', `/api/v1/statuses/${reply.body.id}/context`, { token: bob.token });
    entity('Context', ctx.body);
    const reblog = await api(fx, 'POST', `/api/v1/statuses/${post.body.id}/reblog`, { token: bob.token });
    entity('Status', reblog.body);
    entity('Status', reblog.body.reblog);
    const fav = await api(fx, 'POST', `/api/v1/statuses/${post.body.id}/favourite`, { token: bob.token });
    entity('Status', fav.body);
    const rel = await api(fx, 'POST', `/api/v1/accounts/${alice.accountId}/follow`, { token: bob.token });
    entity('Relationship', rel.body);
    await runLocalJobs(fx);

    const home = await api(fx, 'GET', '/api/v1/timelines/home?limit=5', { token: bob.token });
    expect(home.body.length).toBeGreaterThan(0);
    for (const s of home.body) entity('Status', s);
    const pub = await api(fx, 'GET', '/api/v1/timelines/public?local=true&only_media=true');
    for (const s of pub.body) entity('Status', s);
    const notes = await api(fx, 'GET', '/api/v1/notifications', { token: alice.token });
    expect(notes.body.map((n: { type: string }) => n.type).sort()).toEqual(['favourite', 'follow', 'reblog']);
    for (const n of notes.body) entity('Notification', n);
    const bobNotes = await api(fx, 'GET', '/api/v1/notifications', { token: alice.token });
    for (const n of bobNotes.body) entity('Notification', n);

    entity('V1Instance', (await api(fx, 'GET', '/api/v1/instance')).body);
    entity('Instance', (await api(fx, 'GET', '/api/v2/instance')).body);
    const missing = await api(fx, 'GET', '/api/v1/statuses/12345');
    entity('Error', missing.body);
    const unauthorized = await api(fx, 'GET', '/api/v1/timelines/home');
    entity('Error', unauthorized.body);
  });

  it('is not vacuous: it rejects what Mastodon would not send or accept', () => {
    const s = schema!;
    expect(s.validateEntity('Status', { id: '1' }).ok).toBe(false);
    expect(s.validateEntity('Account', { id: 1 }).problems.join('\n')).toContain('must be string');
    expect(s.validateResponse('GET', '/api/v1/statuses/1', 200, { error: 'x' }).ok).toBe(false);
    expect(s.validateRequest('GET', '/api/v1/timelines/home?limit=abc').problems.join('\n')).toContain(
      'must be integer',
    );
    expect(s.validateRequest('GET', '/api/v1/timelines/home?bogus=1').problems).toEqual([
      'GET /api/v1/timelines/home: unknown query parameter bogus',
    ]);
    expect(s.validateRequest('POST', '/api/v1/statuses', { body: { status: 42 } }).ok).toBe(false);
    expect(s.validateRequest('POST', '/api/v1/statuses', { body: { visibility: 'public' } }).ok).toBe(false); // neither text nor media
    expect(s.validateRequest('POST', '/api/v1/statuses', {}).problems).toEqual([
      'POST /api/v1/statuses: a request body is required',
    ]);
    expect(
      s.validateRequest('POST', '/api/v2/media', {
        contentType: 'multipart/form-data',
        body: { description: 'no file' },
      }).ok,
    ).toBe(false);
    // overlapping oneOf alternatives (text AND media) are accepted; the Idempotency-Key header quirk is a
    // note
    const both = s.validateRequest('POST', '/api/v1/statuses', {
      body: { status: 'x', media_ids: ['1'] },
      headers: { 'Idempotency-Key': 'k' },
    });
    expect(both.ok).toBe(true);
    expect(both.notes).toEqual([
      'POST /api/v1/statuses: header Idempotency-Key is typed "object" in the schema; not checked',
    ]);
    expect(s.validateRequest('GET', '/api/v1/notifications?types[]=mention&types[]=follow&limit=10').ok).toBe(
      true,
    );
    expect(s.validateRequest('GET', '/api/v1/notifications?types[]=nonsense').ok).toBe(false);
    expect(s.findOperation('GET', '/api/v1/accounts/verify_credentials')!.template).toBe(
      '/api/v1/accounts/verify_credentials',
    );
    expect(s.findOperation('GET', '/api/v1/accounts/123')!.template).toBe('/api/v1/accounts/{id}');
  });
});

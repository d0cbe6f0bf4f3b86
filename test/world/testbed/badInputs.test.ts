/**
 * The testbed under the bad inputs of issue 11, end to end (web workers, Sidekiq processes, the
 * primary's error log): each is refused before anything is accepted, with Mastodon's error JSON; a
 * 5xx and a failed job each leave one structured log line and a count in /metrics; nothing sits in
 * the retry set that the log does not explain.
 */
import dns from 'node:dns';
import { syncBuiltinESMExports } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalAccount, type LocalAccount } from '../../../world/testbed/accounts.js';
import { signRequest } from '../../../src/mastodon/signatures.js';
import { PROCESSING_WORKER } from '../../../world/testbed/activitypub/process.js';
import { accountUri } from '../../../world/testbed/activitypub/uris.js';
import { type AccountRow, keyResolver } from '../../../world/testbed/activitypub/accounts.js';
import { FederationHttp } from '../../../world/testbed/activitypub/http.js';
import {
  createLocalStatus,
  FakeRemote,
  noteCreate,
  postSigned,
  storeRemoteAccount,
  type RemoteActor,
} from '../../support/activitypub.js';
import { waitFor } from '../../support/helpers.js';
import { startTestTestbed, type TestbedFixture } from '../../support/testbed.js';

interface LogLine {
  time: string;
  level: string;
  event: string;
  message: string;
  [field: string]: unknown;
}

describe('bad inputs: refused before acceptance, failures logged and counted', () => {
  let remote: FakeRemote;
  let fx: TestbedFixture;
  let alice: LocalAccount;
  let bob: RemoteActor;
  const lines: string[] = [];
  const logged = () => lines.map((l) => JSON.parse(l) as LogLine);

  beforeAll(async () => {
    remote = new FakeRemote();
    await remote.start();
    fx = await startTestTestbed(
      { resolve: [{ suffix: 'remote.test', host: '127.0.0.1', port: remote.port }] },
      { log: (line) => lines.push(line) },
    );
    alice = await createLocalAccount(fx.tb, { username: 'alice' });
    bob = await remote.addActor('a.remote.test', 'bob');
  });
  afterAll(async () => {
    await fx?.stop();
    await remote?.stop();
  });

  /** POST to the client API as alice with a raw body. */
  const post = async (path: string, body: BodyInit, contentType?: string) => {
    const headers: Record<string, string> = { Authorization: `Bearer ${alice.token}` };
    if (contentType) headers['Content-Type'] = contentType;
    const res = await fetch(`${fx.url}${path}`, { method: 'POST', headers, body });
    return { status: res.status, body: (await res.json()) as unknown, headers: res.headers };
  };
  const statusCount = async () =>
    Number((await fx.tb.db.query('SELECT count(*) FROM statuses')).rows[0]!.count);
  const metrics = async () => (await fetch(`${fx.url}/metrics`)).text();
  /** The value of the sample of `name` whose labels include every one of `labels` (0 when absent). */
  const sample = (text: string, name: string, labels: string[]) => {
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`${name}{`) && labels.every((label) => l.includes(label)));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  };

  it('refuses a 1 MB status in well under a second while /health keeps answering', async () => {
    // The same refusal for 501 characters first: its time is the reference (connections made, code warm).
    const small = async () => {
      const t0 = performance.now();
      const r = await post(
        '/api/v1/statuses',
        JSON.stringify({ status: 'a'.repeat(501) }),
        'application/json',
      );
      expect(r.status).toBe(422);
      return performance.now() - t0;
    };
    await small();
    const smallMs = await small();
    const text = 'a'.repeat(1_048_000);
    const healthMs: number[] = [];
    let sending = true;
    const probe = (async () => {
      for (let i = 0; i < 200 && sending; i++) {
        const t0 = performance.now();
        expect((await fetch(`${fx.url}/health`)).status).toBe(200);
        healthMs.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const t0 = performance.now();
    const r = await post('/api/v1/statuses', JSON.stringify({ status: text }), 'application/json');
    const ms = performance.now() - t0;
    sending = false;
    await probe;
    expect(r.status).toBe(422);
    expect(r.body).toEqual({ error: 'Validation failed: Text character limit of 500 exceeded' });
    console.log(
      `1 MB status refused in ${ms.toFixed(0)} ms (501 characters: ${smallMs.toFixed(0)} ms); ` +
        `/health max ${Math.max(...healthMs).toFixed(0)} ms over ${healthMs.length} probes`,
    );
    expect(ms).toBeLessThan(1000);
    expect(healthMs.length).toBeGreaterThan(0);
    expect(Math.max(...healthMs)).toBeLessThan(500);
  });

  it('refuses what PostgreSQL cannot store, and ids that are none, with 4xx before writing anything', async () => {
    const before = await statusCount();
    const json = (v: unknown) => JSON.stringify(v);
    const cases: [string, Awaited<ReturnType<typeof post>>, number, string][] = [
      [
        'NUL in a status',
        await post('/api/v1/statuses', json({ status: 'a\u0000b' }), 'application/json'),
        400,
        'Invalid request parameters: status holds a NUL character',
      ],
      [
        'a lone surrogate in a status',
        await post('/api/v1/statuses', '{"status": "a\\ud800b"}', 'application/json'),
        400,
        'Invalid request parameters: status holds a lone surrogate (not UTF-8)',
      ],
      [
        'bytes that are not UTF-8 in a JSON body',
        await post(
          '/api/v1/statuses',
          Buffer.concat([Buffer.from('{"status": "a'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
          'application/json',
        ),
        400,
        'Error occurred while parsing request parameters',
      ],
      [
        'NUL in a form-encoded status',
        await post('/api/v1/statuses', 'status=a%00b', 'application/x-www-form-urlencoded'),
        400,
        'Invalid request parameters: status holds a NUL character',
      ],
      [
        'a %-escape that is not UTF-8 in a form',
        await post('/api/v1/statuses', 'status=a%FFb', 'application/x-www-form-urlencoded'),
        400,
        'Invalid request parameters: Invalid encoding for parameter',
      ],
      [
        'in_reply_to_id "abc"',
        await post('/api/v1/statuses', json({ status: 'x', in_reply_to_id: 'abc' }), 'application/json'),
        404,
        'The post you are trying to reply to does not appear to exist.',
      ],
      [
        'in_reply_to_id 99999999999999999999 (a JSON number beyond bigint)',
        await post(
          '/api/v1/statuses',
          '{"status": "x", "in_reply_to_id": 99999999999999999999}',
          'application/json',
        ),
        404,
        'The post you are trying to reply to does not appear to exist.',
      ],
      [
        'in_reply_to_id "9999999999999999999" (19 digits, beyond bigint)',
        await post(
          '/api/v1/statuses',
          json({ status: 'x', in_reply_to_id: '9999999999999999999' }),
          'application/json',
        ),
        404,
        'The post you are trying to reply to does not appear to exist.',
      ],
      [
        'media_ids beyond bigint',
        await post(
          '/api/v1/statuses',
          json({ status: 'x', media_ids: ['9999999999999999999'] }),
          'application/json',
        ),
        422,
        'Media 9999999999999999999 not found or already attached to another post',
      ],
    ];
    for (const [what, r, status, error] of cases)
      expect([what, r.status, r.body]).toEqual([what, status, { error }]);
    const show = await fetch(`${fx.url}/api/v1/statuses/9999999999999999999`);
    expect([show.status, await show.json()]).toEqual([404, { error: 'Record not found' }]);
    expect(await statusCount()).toBe(before);
  });

  it('answers a malformed multipart upload to POST /api/v2/media with 400, and NUL in its description too', async () => {
    const boundary = 'XyZ';
    const type = `multipart/form-data; boundary=${boundary}`;
    const cut = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG`;
    const noBoundary = 'this is not multipart at all';
    for (const body of [cut, noBoundary]) {
      const r = await post('/api/v2/media', body, type);
      expect([JSON.stringify(body.slice(0, 30)), r.status, r.body]).toEqual([
        JSON.stringify(body.slice(0, 30)),
        400,
        { error: 'Error occurred while parsing request parameters' },
      ]);
    }
    // A part without Content-Disposition is skipped, as Rack skips it: no file, Mastodon's 422.
    const badHeader = `--${boundary}\r\nno header here\r\n\r\nx\r\n--${boundary}--\r\n`;
    const skipped = await post('/api/v2/media', badHeader, type);
    expect([skipped.status, skipped.body]).toEqual([
      422,
      { error: "Validation failed: File can't be blank" },
    ]);
    const form = new FormData();
    form.append('description', 'a\u0000b');
    form.append('file', new Blob([Buffer.from('GIF89a')], { type: 'image/gif' }), 'a.gif');
    const nul = await post('/api/v2/media', form);
    expect([nul.status, nul.body]).toEqual([
      400,
      { error: 'Invalid request parameters: description holds a NUL character' },
    ]);
    const rows = await fx.tb.db.query('SELECT count(*) FROM media_attachments');
    expect(Number(rows.rows[0]!.count)).toBe(0);
  });

  it('refuses a signed Create that holds NUL or bytes that are not UTF-8 instead of answering 202', async () => {
    const create = noteCreate(bob, 'nul-1', { content: '<p>a\u0000b</p>' });
    const nul = await postSigned(fx, '/inbox', create, bob);
    expect([nul.status, JSON.parse(nul.body)]).toEqual([
      400,
      { error: 'Error parsing JSON: object.content holds a NUL character' },
    ]);
    const raw = Buffer.concat([
      Buffer.from(JSON.stringify(noteCreate(bob, 'bytes-1')).slice(0, -2)),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('}}'),
    ]);
    const headers = signRequest({
      keyId: bob.keyId,
      privateKeyPem: bob.keys.privateKeyPem,
      method: 'POST',
      url: `${fx.url}/inbox`,
      body: raw,
      headers: { 'Content-Type': 'application/activity+json' },
    });
    const { Host: _host, ...send } = headers;
    const bytes = await fetch(`${fx.url}/inbox`, { method: 'POST', headers: send, body: raw });
    expect([bytes.status, await bytes.json()]).toEqual([
      400,
      { error: 'Error parsing JSON: the body is not UTF-8' },
    ]);
    expect(await fx.tb.redis.llen('queue:ingress')).toBe(0);
    const stored = await fx.tb.db.query("SELECT count(*) FROM statuses WHERE uri LIKE '%/statuses/nul-1'");
    expect(Number(stored.rows[0]!.count)).toBe(0);
  });

  it('answers 401 for a keyId on a host no resolve rule covers', async () => {
    const mallory = { ...bob, keyId: 'https://evil.example/users/mallory#main-key' };
    const r = await postSigned(fx, '/inbox', noteCreate(bob, 'evil-1'), mallory);
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body).error).toMatch(/evil\.example/);
  });

  it('makes no DNS lookup for a name no resolve rule covers (inbox key fetch, remote mention)', async () => {
    // Observe the resolver itself: every lookup this process makes goes through dns.lookup.
    const looked: string[] = [];
    const real = dns.lookup;
    const spy = (hostname: string, ...rest: unknown[]) => {
      looked.push(hostname);
      return (real as (...a: unknown[]) => unknown)(hostname, ...rest);
    };
    dns.lookup = spy as typeof dns.lookup;
    syncBuiltinESMExports();
    try {
      // The spy sees what the testbed's HTTP client resolves: a rule whose target is a name.
      const client = new FederationHttp({
        resolve: [{ suffix: 'named.test', host: 'localhost', port: remote.port }],
        timeoutsMs: { connect: 1000, read: 1000 },
        userAgent: () => 'test',
      });
      await client.request({ url: 'https://a.named.test/nothing' }).catch(() => undefined);
      client.close();
      expect(looked).toContain('localhost');
      looked.length = 0;

      await expect(keyResolver(fx.tb).lookup('https://evil.example/users/mallory#main-key')).rejects.toThrow(
        /evil\.example/,
      );
      expect(await fx.tb.resolveAccount?.('mallory', 'evil.example')).toBeNull();
      expect(looked).toEqual([]);
    } finally {
      dns.lookup = real;
      syncBuiltinESMExports();
    }
  });

  it('logs a 5xx as one JSON line with its route, error and request id, and counts it in /metrics', async () => {
    // Written straight to the database: no DistributionWorker runs into the missing table below.
    const author = (
      await fx.tb.db.query<AccountRow>('SELECT * FROM accounts WHERE id = $1', [alice.accountId])
    ).rows[0]!;
    const statusId = await createLocalStatus(fx.tb, author, 'soon unreadable');
    // A real failure: the table the route reads is gone for a moment.
    await fx.tb.db.query('ALTER TABLE media_attachments RENAME TO media_attachments_away');
    let res: Response;
    try {
      res = await fetch(`${fx.url}/api/v1/statuses/${statusId.id}`, {
        headers: { 'X-Request-Id': 'probe-500' },
      });
    } finally {
      await fx.tb.db.query('ALTER TABLE media_attachments_away RENAME TO media_attachments');
    }
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: "We're sorry, but something went wrong on our end." });
    expect(res.headers.get('x-request-id')).toBe('probe-500');
    const line = await waitFor(
      async () => logged().find((l) => l.event === 'request_failed' && l.request_id === 'probe-500'),
      'the 500 in the log',
      5_000,
    );
    expect(line).toMatchObject({
      level: 'error',
      status: 500,
      method: 'GET',
      route: '/api/v1/statuses/:id',
      controller: 'api/v1/statuses',
      action: 'show',
      params: { id: statusId.id },
      message: expect.stringContaining('media_attachments'),
      error_class: 'DatabaseError',
    });
    expect(Number.isNaN(Date.parse(line.time))).toBe(false);
    const text = await metrics();
    expect(
      sample(text, 'http_requests_total', ['controller="api/v1/statuses"', 'action="show"', 'status="500"']),
    ).toBe(1);
  });

  it('logs a failed job as one JSON line with its class, jid and error, counts it, and explains the retry set', async () => {
    // What the inbox accepted before it refused NUL: the job PostgreSQL cannot store.
    const actorId = (await storeRemoteAccount(fx.tb, bob)).id;
    // Addressed to alice, so that it is not dropped as unrelated to the instance.
    const to = [accountUri(fx.tb, 'alice')];
    const body = JSON.stringify(noteCreate(bob, 'nul-job', { content: '<p>a\u0000b</p>' }, to));
    const jid = await fx.tb.sidekiq.push(PROCESSING_WORKER, [actorId, body, null, 'Account']);
    const line = await waitFor(
      async () => logged().find((l) => l.event === 'job_failed' && l.jid === jid),
      'the failed job in the log',
      15_000,
    );
    expect(line).toMatchObject({
      level: 'warn',
      job_class: PROCESSING_WORKER,
      queue: 'ingress',
      next: 'retry',
      retry_count: 0,
      message: expect.stringMatching(/0x00|\\u0000/),
    });
    expect(line.args).toContain(String(actorId));
    const text = await metrics();
    expect(
      sample(text, 'sidekiq_failed_jobs_total', [`job_name="${PROCESSING_WORKER}"`, 'queue="ingress"']),
    ).toBe(1);

    // Every job in the retry and dead sets has its line in the log.
    const parked = [
      ...(await fx.tb.redis.zrange('retry', 0, -1)),
      ...(await fx.tb.redis.zrange('dead', 0, -1)),
    ];
    const explained = new Set(logged().map((l) => l.jid));
    const jids = parked.map((j) => (JSON.parse(j) as { jid: string }).jid);
    expect(jids).toEqual([jid]);
    expect(jids.filter((j) => !explained.has(j))).toEqual([]);
    await fx.tb.redis.zrem('retry', ...parked);
  });

  it('logged nothing but the two deliberate failures', () => {
    expect(logged().map((l) => l.event)).toEqual(['request_failed', 'job_failed']);
  });
});

/**
 * Every scenario, run by `fedicap run --engine local` (the built CLI, as a
 * user runs it) against a testbed (Sidekiq running, rate limits off, the
 * fleet's hosts resolved to the fleet) and a fleet, for a few seconds at
 * small rates. The assertions check what the traffic did to the instance
 * (statuses stored, actors fetched, deliveries the fleet verified, media
 * processed, streaming events, timeline pages), not only response codes.
 */
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageManifest } from '../../src/run/imageManifest.js';
import { runLocal } from '../../src/run/local/runner.js';
import { InitContextError } from '../../src/run/local/errors.js';
import type { DeliveryRecord } from '../../world/fleet/manifest.js';
import { startFleet, type RunningFleet } from '../../world/fleet/server.js';
import { createLocalAccounts, followMany, type LocalAccount } from '../../world/testbed/accounts.js';
import { PROCESSING } from '../../world/testbed/db/pool.js';
import { waitFor } from '../support/helpers.js';
import { effect, ROOT, runScenario, type RunResult } from '../support/scenarioRun.js';
import { followRelayUntilAccepted, startTestTestbed, type TestbedFixture } from '../support/testbed.js';

const DEFAULT_PROFILE = join(ROOT, 'fixtures/default-profile.json');

/** http_reqs points matching the tags. */
const requests = (r: RunResult, tags: Record<string, string>) =>
  r.points.filter((p) => p.metric === 'http_reqs' && Object.entries(tags).every(([k, v]) => p.tags[k] === v));

describe('the scenarios through the local executor, against the testbed and the fleet', () => {
  let fleet: RunningFleet;
  let fx: TestbedFixture;
  let accounts: LocalAccount[];
  let dir: string;
  let env: Record<string, string>;
  const ok = (r: RunResult) => expect(r.code, r.stderr.slice(-4000)).toBe(0);
  const count = async (sql: string, args: unknown[] = []) =>
    Number((await fx.tb.db.query<{ n: string }>(sql, args)).rows[0]!.n);
  const fleetHosts = "a.domain LIKE '%.fleet.test'";
  /** The testbed's error log (5xx and failed jobs), for a failure's message. */
  const testbedLog: string[] = [];

  /**
   * What a failed run saw and what the testbed did, for its message. Null-safe throughout: it runs when
   * something already went wrong, and must say what, not fail on a missing field itself.
   */
  async function whatHappened(r: RunResult): Promise<string> {
    const seen: Record<string, number> = {};
    for (const p of r.points ?? []) {
      const tags = p?.tags ?? {};
      const key = [p?.metric, tags.status, tags.name, tags.event].filter(Boolean).join(' ');
      seen[key] = (seen[key] ?? 0) + 1;
    }
    const query = (sql: string) =>
      fx.tb.db.query(sql).then(
        (res) => JSON.stringify(res.rows),
        (err: Error) => `(unavailable: ${err.message})`,
      );
    const queues = await Promise.all(
      ['default', 'push', 'ingress', 'pull'].map(async (q) => `${q} ${await fx.tb.redis.llen(`queue:${q}`)}`),
    ).catch((err: Error) => [`(unavailable: ${err.message})`]);
    return [
      `exit ${r.code}; stderr: ${(r.stderr ?? '').slice(-2000)}`,
      `points: ${JSON.stringify(seen)}`,
      `notifications: ${await query('SELECT type, count(*)::int AS n FROM notifications GROUP BY type')}`,
      `queues: ${queues.join(', ')}; retry set: ${await fx.tb.redis.zcard('retry').catch(() => '?')}`,
      `testbed error log:\n${testbedLog.join('') || '(empty)'}`,
    ].join('\n');
  }

  /** Cold actors the target met in the federation-inbound run. */
  let coldAccounts: string[] = [];

  beforeAll(async () => {
    fleet = await startFleet({
      instances: 3,
      actorsPerInstance: 8,
      coldFraction: 0.5,
      mediaSizesBytes: [24 * 1024],
      pagesPerInstance: 2,
    });
    fx = await startTestTestbed(
      {
        resolve: [{ suffix: fleet.manifest.hostSuffix, host: '127.0.0.1', port: fleet.port }],
        rateLimits: false,
      },
      { log: (line) => testbedLog.push(line) },
    );
    accounts = await createLocalAccounts(fx.tb, 12, 'user');
    // a small local follow graph: everyone follows the next three accounts (home feeds and streaming updates)
    const pairs: [string, string][] = [];
    accounts.forEach((a, i) => {
      for (let k = 1; k <= 3; k++) pairs.push([a.accountId, accounts[(i + k) % accounts.length]!.accountId]);
    });
    await followMany(fx.tb, pairs);
    dir = mkdtempSync(join(tmpdir(), 'fedicap-scenarios-'));
    const tokens = join(dir, 'tokens.json');
    writeFileSync(
      tokens,
      JSON.stringify(accounts.map((a) => ({ username: a.username, accountId: a.accountId, token: a.token }))),
      { mode: 0o600 },
    );
    chmodSync(tokens, 0o600);
    const manifest = join(dir, 'fleet.json');
    writeFileSync(manifest, JSON.stringify(fleet.manifest), { mode: 0o600 });
    // the default profile, with a web SLO a shared CI machine running other suites meets (thresholds are
    // still evaluated)
    const profile = JSON.parse(readFileSync(DEFAULT_PROFILE, 'utf8')) as {
      slo: { webResponseSec: number };
      media: { localImageBytes: unknown };
    };
    profile.slo.webResponseSec = 10;
    // small images to upload (fedicap run generates them from this): the tests measure effects, not resizing
    profile.media.localImageBytes = { value: 24_000, range: [12_000, 48_000], source: 'assumption' };
    const profilePath = join(dir, 'profile.json');
    writeFileSync(profilePath, JSON.stringify(profile));
    env = { TOKENS: tokens, FLEET: manifest, PROFILE: profilePath, DURATION: '3s', EFFECT_WAIT: '20' };
  }, 90_000);

  afterAll(async () => {
    await fx?.stop();
    await fleet?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true }); // tokens and keys do not outlive the test
  });

  it('federation-inbound: warm and cold actors deliver; statuses are stored, cold actors fetched, attachments downloaded', async () => {
    const fetchedBefore = fleet.stats().actorsFetched;
    const before = await count(
      `SELECT count(*) AS n FROM statuses s JOIN accounts a ON a.id = s.account_id WHERE ${fleetHosts}`,
    );
    const r = await runScenario(
      fx.url,
      'federation-inbound.ts',
      { ...env, SCALE: '10', DURATION: '4s' },
      join(dir, 'inbound'),
    );
    ok(r);
    // the scenario's verdict: follows established, statuses stored, cold actors fetched
    for (const name of ['follows_established', 'inbound_statuses_stored', 'cold_actors_fetched'])
      expect(effect(r, name), name).toBeGreaterThan(0);
    const cold = requests(r, { station: 'inbox-cold-actor', population: 'cold' });
    const warm = requests(r, { station: 'inbox', population: 'warm', scenario: 'inbound_warm' });
    expect(cold.length).toBeGreaterThanOrEqual(1);
    expect(warm.length).toBeGreaterThan(10);
    expect([...cold, ...warm].every((p) => p.tags.status === '202')).toBe(true);
    expect(new Set(warm.map((p) => p.tags.activity))).toContain('Create');
    expect(new Set(warm.map((p) => p.tags.name))).toEqual(new Set(['/inbox', '/users/{username}/inbox']));
    // setup introduced every warm actor, the cold iterations fetched cold ones: all through the fleet
    const warmActors = fleet.manifest.actors.filter((a) => a.population === 'warm').length;
    expect(fleet.stats().actorsFetched - fetchedBefore).toBeGreaterThanOrEqual(warmActors + 1);
    // cold actors are the fleet's on-demand ones, under this run's prefix
    coldAccounts = (
      await fx.tb.db.query<{ username: string }>(
        `SELECT username FROM accounts WHERE username LIKE 'cold%' AND ${fleetHosts.replace('a.', '')}`,
      )
    ).rows.map((x) => x.username);
    expect(coldAccounts.length).toBeGreaterThanOrEqual(1);
    expect(new Set(coldAccounts.map((u) => u.replace(/x\d+$/, ''))).size).toBe(1);
    // Creates processed by ingress: remote statuses stored, with mentions of local accounts and fleet media
    await waitFor(
      async () =>
        (await count(
          `SELECT count(*) AS n FROM statuses s JOIN accounts a ON a.id = s.account_id WHERE ${fleetHosts}`,
        )) >=
        before + 5,
      'inbound statuses',
      20_000,
    );
    expect(
      await count(
        `SELECT count(*) AS n FROM mentions m JOIN statuses s ON s.id = m.status_id JOIN accounts a ON a.id = s.account_id WHERE ${fleetHosts}`,
      ),
    ).toBeGreaterThan(0);
    await waitFor(() => fleet.stats().requests.media, 'attachments downloaded from the fleet', 20_000);
    // Follow introductions were accepted: the target sent Accepts the fleet verified
    const accepts = fleet.deliveries().filter((d) => d.type === 'Accept' && d.signatureOk);
    expect(accepts.length).toBeGreaterThanOrEqual(warmActors);
  }, 60_000);

  it('federation-outbound: local posts are delivered to the fleet, signed', async () => {
    const since = Date.now();
    const r = await runScenario(
      fx.url,
      'federation-outbound.ts',
      { ...env, SCALE: '10', POSTERS: '3' },
      join(dir, 'outbound'),
    );
    ok(r);
    expect(effect(r, 'follows_established')).toBeGreaterThan(0);
    expect(effect(r, 'deliveries_recorded')).toBeGreaterThan(0);
    expect(requests(r, { station: 'statuses/create', status: '200' }).length).toBeGreaterThanOrEqual(1);
    expect(requests(r, { station: 'statuses/interact', status: '200' }).length).toBeGreaterThanOrEqual(1);
    const creates = await waitFor(
      () => {
        const d = fleet
          .deliveries()
          .filter((x: DeliveryRecord) => x.type === 'Create' && x.receivedAtMs >= since);
        return d.length >= 3 ? d : undefined;
      },
      'Creates delivered to the fleet',
      20_000,
    );
    expect(creates.every((d) => d.signatureOk && d.status === 202)).toBe(true);
    // each poster has followers on the three instances: deliveries reach several shared inboxes
    expect(new Set(creates.map((d) => d.host)).size).toBeGreaterThanOrEqual(2);
    expect(creates.every((d) => d.keyId?.startsWith(`${fx.tb.baseUrl}/users/`))).toBe(true);
  }, 60_000);

  it('timelines: home, public and notification pages answer 200 with statuses', async () => {
    const r = await runScenario(
      fx.url,
      'timelines.ts',
      { ...env, SCALE: '3', SCROLL: '1', LIMIT: '2' },
      join(dir, 'timelines'),
    );
    ok(r);
    expect(effect(r, 'timeline_statuses')).toBeGreaterThan(0);
    for (const station of ['timelines/home', 'timelines/public', 'notifications']) {
      const reqs = requests(r, { station });
      expect(reqs.length, station).toBeGreaterThanOrEqual(1);
      expect(
        reqs.every((p) => p.tags.status === '200'),
        station,
      ).toBe(true);
      expect(new Set(reqs.map((p) => p.tags.name)), station).toEqual(new Set([`/api/v1/${station}`]));
    }
    // A named request's url tag is its name, under k6 (≥ 0.41) and the local executor alike, so the
    // outputs cannot show max_id: following the Link header is requests.test.ts's to prove.
    for (const p of requests(r, { station: 'timelines/home' })) expect(p.tags.url).toBe(p.tags.name);
    expect(r.summary.metrics.capacity_errors?.value).toBe(0);
  }, 60_000);

  it('media: the generated images are opened in init, uploaded, processed (thumbnails on disk) and attached to posts', async () => {
    const processed = `SELECT (m.meta->'original'->>'width') AS width, count(*) AS n
      FROM media_attachments m JOIN accounts a ON a.id = m.account_id
      WHERE a.domain IS NULL AND m.status_id IS NOT NULL AND m.processing = $1 AND m.thumbnail_path IS NOT NULL
      GROUP BY 1`;
    const widths = async () =>
      new Map(
        (await fx.tb.db.query<{ width: string; n: string }>(processed, [PROCESSING.complete])).rows.map(
          (x) => [Number(x.width), Number(x.n)],
        ),
      );
    const before = await widths();
    const out = join(dir, 'media');
    const r = await runScenario(fx.url, 'media.ts', { ...env, SCALE: '50' }, out);
    ok(r);
    // fedicap run made the profile's sizes into OUT/images and gave the scenario IMAGES
    expect(r.stderr).toContain(`images to upload: generated ${join(out, 'images')} (JPEG `);
    const manifest = JSON.parse(readFileSync(join(out, 'images', 'manifest.json'), 'utf8')) as ImageManifest;
    expect(manifest.files.map((f) => f.requestedBytes)).toEqual([12_000, 24_000, 48_000]);
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).env.IMAGES).toBe(join(out, 'images'));
    // the scenario's verdict: images processed and posted
    expect(effect(r, 'media_processed')).toBeGreaterThan(0);
    expect(effect(r, 'media_posted')).toBeGreaterThan(0);
    const uploads = requests(r, { station: 'media/create' });
    expect(uploads.every((p) => p.tags.status === '200' || p.tags.status === '202')).toBe(true);
    // the multipart bodies carried the files: data_sent covers at least the bytes of the uploads
    const smallest = Math.min(...manifest.files.map((f) => f.bytes));
    expect(r.summary.metrics.data_sent?.count ?? 0).toBeGreaterThan(uploads.length * smallest);
    // what the testbed processed and attached is the generated pictures (their widths), more than before
    const after = await widths();
    const fileWidths = manifest.files.map((f) => f.width);
    const added = fileWidths.reduce((n, w) => n + (after.get(w) ?? 0) - (before.get(w) ?? 0), 0);
    expect(added).toBeGreaterThanOrEqual(effect(r, 'media_posted'));
    expect(
      r.summary.metrics.media_processing_seconds?.count ??
        r.points.filter((p) => p.metric === 'media_processing_seconds').length,
    ).toBeGreaterThanOrEqual(1);
    // a second run into the same directory reuses the set
    const again = await runScenario(fx.url, 'media.ts', { ...env, SCALE: '10', DURATION: '1s' }, out);
    expect(again.stderr).toContain(`images to upload: reused ${join(out, 'images')}`);
  }, 90_000);

  it('streaming: listeners receive the notifications of the statuses mentioning them', async () => {
    // A backlog left by the scenarios before would hold the notifications back past the listeners' hold.
    const queues = ['default', 'push', 'ingress', 'pull'];
    await waitFor(
      async () =>
        (await Promise.all(queues.map((q) => fx.tb.redis.llen(`queue:${q}`)))).every((n) => n === 0),
      'the testbed queues to drain',
      30_000,
    );
    const r = await runScenario(
      fx.url,
      'streaming.ts',
      { ...env, LISTENERS: '3', SCALE: '0.05' },
      join(dir, 'streaming'),
    );
    if (r.code !== 0) expect.fail(await whatHappened(r));
    ok(r);
    expect(effect(r, 'streaming_events')).toBeGreaterThan(0);
    expect(r.summary.metrics.streaming_events?.count).toBeGreaterThan(0);
    const events = new Set(r.points.filter((p) => p.metric === 'streaming_events').map((p) => p.tags.event));
    expect(events).toContain('notification');
    // the token went in a header: no URL in the results carries it
    const raw = gunzipSync(readFileSync(join(dir, 'streaming', 'k6.ndjson.gz'))).toString('utf8');
    for (const a of accounts) expect(raw).not.toContain(a.token);
  }, 60_000);

  it('relay: relayed Creates are stored and relayed Announces fetched from the fleet', async () => {
    const relayInbox = fleet.manifest.relay.inbox;
    await followRelayUntilAccepted(fx.tb, relayInbox, 20_000);
    const notesBefore = fleet.stats().requests.note ?? 0;
    const before = await count(
      `SELECT count(*) AS n FROM statuses s JOIN accounts a ON a.id = s.account_id WHERE ${fleetHosts}`,
    );
    const r = await runScenario(fx.url, 'relay.ts', { ...env, RATE: '4' }, join(dir, 'relay'));
    ok(r);
    expect(effect(r, 'relayed_statuses_stored')).toBeGreaterThan(0);
    const sent = requests(r, { station: 'inbox' });
    expect(sent.length).toBeGreaterThanOrEqual(8);
    expect(sent.every((p) => p.tags.status === '202')).toBe(true);
    // every relayed Create was LD-signed by the fleet first, in a request that is not the target's load
    const creates = sent.filter((p) => p.tags.activity === 'Create');
    const signed = requests(r, { name: 'fleet/sign' });
    expect(signed).toHaveLength(creates.length);
    expect(signed.every((p) => p.tags.status === '200' && p.tags.station === undefined)).toBe(true);
    await waitFor(
      async () =>
        (await count(
          `SELECT count(*) AS n FROM statuses s JOIN accounts a ON a.id = s.account_id WHERE ${fleetHosts}`,
        )) > before,
      'relayed statuses stored',
      20_000,
    );
    // ... and the testbed verified every signature (Mastodon drops relayed Creates without a valid one)
    const metrics = await (await fetch(`${fx.url}/metrics`)).text();
    expect(metrics).not.toMatch(/ld_signature_drops_total\{/);
    if (sent.some((p) => p.tags.activity === 'Announce'))
      await waitFor(
        () => (fleet.stats().requests.note ?? 0) > notesBefore,
        'announced notes fetched from the fleet',
        20_000,
      );
  }, 60_000);

  it('mixed and mixed-step: every workload at once, thresholds evaluated', async () => {
    const m = await runScenario(fx.url, 'mixed.ts', { ...env, SCALE: '0.5', RATE: '1' }, join(dir, 'mixed'));
    ok(m);
    for (const name of [
      'timeline_statuses',
      'media_processed',
      'follows_established',
      'deliveries_recorded',
      'inbound_statuses_stored',
      'cold_actors_fetched',
    ])
      expect(effect(m, name), name).toBeGreaterThan(0);
    // a second run's cold actors are new to the target: none of them is one the inbound run introduced
    const coldNow = (
      await fx.tb.db.query<{ username: string }>(
        `SELECT username FROM accounts WHERE username LIKE 'cold%' AND domain LIKE '%.fleet.test'`,
      )
    ).rows.map((x) => x.username);
    expect(coldNow.length).toBeGreaterThan(coldAccounts.length);
    expect(new Set(coldNow.map((u) => u.replace(/x\d+$/, ''))).size).toBe(coldAccounts.length ? 2 : 1);
    const stations = new Set(m.points.filter((p) => p.metric === 'http_reqs').map((p) => p.tags.station));
    for (const s of [
      'timelines/home',
      'timelines/public',
      'notifications',
      'statuses/create',
      'media/create',
      'inbox',
      'inbox-cold-actor',
    ])
      expect(stations, s).toContain(s);
    expect(m.summary.metrics['http_req_duration{station:timelines/home}']).toBeDefined();
    const step = await runScenario(
      fx.url,
      'mixed-step.ts',
      { ...env, SCALE: '0.3', STEPS: '2', STEP_DURATION: '1.5s', RATE: '1' },
      join(dir, 'mixed-step'),
    );
    ok(step);
    expect(step.points.filter((p) => p.metric === 'http_reqs').length).toBeGreaterThan(5);
  }, 90_000);

  it('bad inputs: a malformed TOKENS file or a missing FLEET stop the run in init with exit 107 (as k6), naming them', async () => {
    const bad = join(dir, 'bad-tokens.json');
    writeFileSync(bad, '{"not": "an array"}', { mode: 0o600 });
    const r1 = await runScenario(fx.url, 'timelines.ts', { ...env, TOKENS: bad }, join(dir, 'bad1'));
    expect(r1.code).toBe(107);
    expect(readdirSync(join(dir, 'bad1')).sort()).toEqual(['images', 'run.json']);
    expect(r1.stderr).toContain(`TOKENS=${bad}: expected a JSON array`);
    const { FLEET: _f, ...noFleet } = env;
    const r2 = await runScenario(fx.url, 'federation-inbound.ts', noFleet, join(dir, 'bad2'));
    expect(r2.code).toBe(107);
    expect(r2.stderr).toMatch(/FLEET is not set/);
    const r3 = await runScenario(
      fx.url,
      'federation-inbound.ts',
      { ...env, FLEET: join(dir, 'missing.json') },
      join(dir, 'bad3'),
    );
    expect(r3.code).toBe(107);
    expect(r3.stderr).toContain(`FLEET=${join(dir, 'missing.json')}: cannot read the file`);
    expect(r3.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('bad inputs: images that are missing (exit 107, in init) or too small for Mastodon (exit 2, before the run) stop it, naming them', async () => {
    const nowhere = join(dir, 'no-images');
    const r1 = await runScenario(fx.url, 'media.ts', { ...env, IMAGES: nowhere }, join(dir, 'bad-images1'));
    expect(r1.code).toBe(107); // the scenario's own init fails on it, as under k6
    expect(r1.stderr).toContain(`IMAGES=${join(nowhere, 'manifest.json')}: cannot read the file`);
    expect(r1.stderr).not.toMatch(/\n\s+at /);
    const tiny = JSON.parse(readFileSync(env.PROFILE!, 'utf8')) as { media: { localImageBytes: unknown } };
    tiny.media.localImageBytes = 1000;
    const tinyPath = join(dir, 'tiny-images-profile.json');
    writeFileSync(tinyPath, JSON.stringify(tiny));
    const out = join(dir, 'bad-images2');
    const r2 = await runScenario(fx.url, 'media.ts', { ...env, PROFILE: tinyPath }, out);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain(
      `profile ${tinyPath}: media.localImageBytes: 1000 bytes; the images a run uploads must be from 4 KB to 16 MB`,
    );
    expect(existsSync(join(out, 'images'))).toBe(false);
    // without IMAGES (k6 run, or the executor called directly) the scenario stops in init, naming it
    const init = runLocal({
      scenarioPath: join(ROOT, 'scenarios', 'media.ts'),
      env: { ...env, BASE_URL: fx.url },
      outDir: join(dir, 'bad-images3'),
      stdout: () => {},
      stderr: () => {},
    });
    await expect(init).rejects.toThrow(InitContextError);
    await expect(init).rejects.toThrow(
      /IMAGES is not set: give -e IMAGES=\/absolute\/path \(the directory of images/,
    );
  }, 60_000);
});

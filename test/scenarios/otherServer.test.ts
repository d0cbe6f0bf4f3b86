/**
 * The scenarios against a server that is Mastodon-compatible but not
 * Mastodon-shaped (test/support/mastodonLike.ts: actors at /@NAME, a shared
 * inbox at /shared-inbox, no streaming API), through `fedicap run --engine
 * local`: discovery finds its URIs instead of guessing Mastodon's, and a
 * scenario whose effect cannot happen there fails with exit 99 naming it.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type RunningFleet } from '../../world/fleet/server.js';
import { startMastodonLike, type MastodonLike } from '../support/mastodonLike.js';
import { effect, ROOT, runScenario } from '../support/scenarioRun.js';

describe('the scenarios against a Mastodon-compatible server with other URI shapes', () => {
  let fleet: RunningFleet;
  let server: MastodonLike;
  let dir: string;
  let env: Record<string, string>;
  const accounts = Array.from({ length: 6 }, (_, i) => ({
    username: `member${i + 1}`,
    accountId: String(i + 1),
    token: `token-of-member-${i + 1}-${Math.random().toString(36).slice(2)}`,
  }));

  beforeAll(async () => {
    fleet = await startFleet({ instances: 2, actorsPerInstance: 4, mediaSizesBytes: [8 * 1024] });
    const hosts = [...fleet.manifest.instances.map((i) => i.host), fleet.manifest.relay.host];
    server = await startMastodonLike(accounts, { hosts, port: fleet.port });
    dir = mkdtempSync(join(tmpdir(), 'fedicap-other-server-'));
    const tokens = join(dir, 'tokens.json');
    writeFileSync(tokens, JSON.stringify(accounts), { mode: 0o600 });
    chmodSync(tokens, 0o600);
    const manifest = join(dir, 'fleet.json');
    writeFileSync(manifest, JSON.stringify(fleet.manifest), { mode: 0o600 });
    env = { TOKENS: tokens, FLEET: manifest, DURATION: '3s', EFFECT_WAIT: '10' };
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await fleet?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('federation-inbound discovers /@NAME actors and their inboxes: follows, statuses and cold actors take effect', async () => {
    // a web SLO a shared CI machine meets; the rest of the embedded default profile as is
    const profile = JSON.parse(readFileSync(join(ROOT, 'fixtures/default-profile.json'), 'utf8')) as {
      slo: { webResponseSec: number };
    };
    profile.slo.webResponseSec = 10;
    const profilePath = join(dir, 'profile.json');
    writeFileSync(profilePath, JSON.stringify(profile));
    const r = await runScenario(
      server.url,
      'federation-inbound.ts',
      { ...env, PROFILE: profilePath, SCALE: '10' },
      join(dir, 'inbound'),
    );
    expect(r.code, r.stderr.slice(-4000)).toBe(0);
    for (const name of ['follows_established', 'inbound_statuses_stored', 'cold_actors_fetched'])
      expect(effect(r, name), name).toBeGreaterThan(0);
    // nothing guessed: no /users/NAME, every delivery to an inbox the actors advertise
    expect(server.notFound.filter((p) => p.startsWith('/users/'))).toEqual([]);
    const paths = new Set(server.received.map((x) => x.path));
    expect([...paths].every((p) => p === '/shared-inbox' || /^\/@member\d\/inbox$/.test(p))).toBe(true);
    expect(paths.has('/shared-inbox')).toBe(true);
    const follows = server.received.filter((x) => x.activity.type === 'Follow');
    expect(follows.length).toBeGreaterThan(0);
    expect(follows.every((f) => String(f.activity.object).startsWith(`${server.url}/@member`))).toBe(true);
    expect(server.accepts.every((s) => s === 202)).toBe(true);
    // mentions carry the discovered actor URI and the full acct
    const tags = server.received
      .filter((x) => x.activity.type === 'Create')
      .flatMap(
        (x) => (x.activity.object as { tag?: { type: string; href: string; name: string }[] }).tag ?? [],
      )
      .filter((t) => t.type === 'Mention');
    for (const t of tags) {
      expect(t.href).toMatch(new RegExp(`^${server.url}/@member\\d$`));
      expect(t.name).toMatch(new RegExp(`^@member\\d@${server.domain.replace(/\./g, '\\.')}$`));
    }
    // the requests are tagged with the inbox shapes discovered
    const names = new Set(r.points.filter((p) => p.metric === 'http_reqs').map((p) => p.tags.name));
    expect(names).toContain('/@{username}/inbox');
  }, 90_000);

  it('relay to a server that never subscribed: 202s, nothing stored, teardown names the effect, exit 99', async () => {
    const r = await runScenario(server.url, 'relay.ts', { ...env, RATE: '2' }, join(dir, 'relay'));
    expect(r.code, r.stderr.slice(-4000)).toBe(99);
    const sent = r.points.filter((p) => p.metric === 'http_reqs' && p.tags.station === 'inbox');
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((p) => p.tags.status === '202' && p.tags.name === '/shared-inbox')).toBe(true);
    expect(r.stderr).toMatch(/effect missing: relayed_statuses_stored/);
    expect(r.stderr).toMatch(/thresholds on metrics [^\n]*'effects\{effect:relayed_statuses_stored\}'/);
  }, 90_000);

  it('streaming without a streaming API: exit 99, the missing effect named; PROFILE defaults to the embedded one', async () => {
    const before = server.posted.length;
    const r = await runScenario(
      server.url,
      'streaming.ts',
      { ...env, LISTENERS: '2' },
      join(dir, 'streaming'),
    );
    expect(r.code, r.stderr.slice(-4000)).toBe(99);
    expect(r.stderr).toMatch(/thresholds on metrics [^\n]*'effects\{effect:streaming_events\}'/);
    expect(effect(r, 'streaming_events')).toBe(0);
    expect(r.stderr).toMatch(/fewer than 30/);
    // the posters did post, mentioning the listeners as @user@domain (bare @user only Mastodon resolves)
    const posted = server.posted.slice(before);
    expect(posted.length).toBeGreaterThan(0);
    const mentioned = (t: string) => /^@member[12]@/.test(t) && t.includes(`@${server.domain} `);
    expect(posted.every(mentioned), posted.join('\n')).toBe(true);
  }, 90_000);
});

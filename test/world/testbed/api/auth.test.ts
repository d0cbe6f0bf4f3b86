import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalAccount, newAccessToken } from '../../../../world/testbed/accounts.js';
import { api, startApiTestbed } from '../../../support/api.js';
import type { TestbedFixture } from '../../../support/testbed.js';

/** Send `n` requests, `concurrency` at a time; returns them in order. */
async function burst<T>(n: number, concurrency: number, send: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await send(i);
      }
    }),
  );
  return out;
}

/** Rack::Attack windows are fixed: start a burst at least 5 s before the window ends, so it fits in one. */
async function awayFromWindowEdge(periodSec: number): Promise<void> {
  const left = periodSec * 1000 - (Date.now() % (periodSec * 1000));
  if (left < 5_000) await new Promise((r) => setTimeout(r, left + 100));
}

const get = (fx: TestbedFixture, path: string, token?: string) =>
  fetch(`${fx.url}${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} }).then(
    async (r) => ({
      status: r.status,
      headers: r.headers,
      body: (await r.json()) as Record<string, unknown>,
    }),
  );

describe('client API: authentication and Rack::Attack limits', () => {
  let fx: TestbedFixture;
  beforeAll(async () => {
    fx = await startApiTestbed();
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('answers an unknown or missing token with 401 JSON, as Doorkeeper does', async () => {
    const bad = await api(fx, 'GET', '/api/v1/accounts/verify_credentials', { token: 'not-a-real-token' });
    expect(bad.status).toBe(401);
    expect(bad.body).toEqual({ error: 'The access token is invalid' });
    expect(bad.headers.get('content-type')).toContain('application/json');
    const none = await api(fx, 'GET', '/api/v1/timelines/home');
    expect(none.status).toBe(401);
    const post = await api(fx, 'POST', '/api/v1/statuses', { token: 'nope', json: { status: 'x' } });
    expect(post.status).toBe(401);
    // public endpoints treat an unknown token as anonymous
    expect((await api(fx, 'GET', '/api/v1/timelines/public', { token: 'nope' })).status).toBe(200);
  });

  it('enforces scopes roughly: a read-only token cannot post', async () => {
    const user = await createLocalAccount(fx.tb, { username: 'reader' });
    await fx.tb.db.query("UPDATE oauth_access_tokens SET scopes = 'read' WHERE token = $1", [user.token]);
    const post = await api(fx, 'POST', '/api/v1/statuses', { token: user.token, json: { status: 'x' } });
    expect(post.status).toBe(403);
    expect(post.body).toEqual({ error: 'This action is outside the authorized scopes' });
    expect((await api(fx, 'GET', '/api/v1/timelines/home', { token: user.token })).status).toBe(200);
  });

  it('throttles a token after 300 requests in 5 minutes with a 429 and X-RateLimit headers', async () => {
    const user = await createLocalAccount(fx.tb, { username: 'busy' });
    await awayFromWindowEdge(300);
    const results = await burst(300, 20, () => get(fx, '/api/v1/accounts/verify_credentials', user.token));
    expect(results.map((r) => r.status)).toEqual(Array(300).fill(200));
    expect(results.every((r) => r.headers.get('x-ratelimit-limit') === '300')).toBe(true);
    const remaining = results
      .map((r) => Number(r.headers.get('x-ratelimit-remaining')))
      .sort((a, b) => a - b);
    expect(remaining[0]).toBe(0);
    expect(remaining[299]).toBe(299);

    const t0 = Date.now();
    const limited = await api(fx, 'GET', '/api/v1/accounts/verify_credentials', { token: user.token });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ error: 'Too many requests' });
    expect(limited.headers.get('x-ratelimit-limit')).toBe('300');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    const reset = limited.headers.get('x-ratelimit-reset')!;
    expect(reset).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const resetMs = Date.parse(reset);
    expect(resetMs).toBeGreaterThan(t0 - 1000);
    expect(resetMs).toBeLessThanOrEqual(t0 + 300_000 + 1000);
    expect(resetMs % 300_000).toBeLessThan(1000); // the end of a fixed 5-minute window

    // the limit is per token: another token of the same user still works (its per-user budget is 1,500)
    const second = newAccessToken();
    await fx.tb.db.query('INSERT INTO oauth_access_tokens (token, resource_owner_id) VALUES ($1, $2)', [
      second,
      user.userId,
    ]);
    const other = await api(fx, 'GET', '/api/v1/accounts/verify_credentials', { token: second });
    expect(other.status).toBe(200);
    expect(other.headers.get('x-ratelimit-remaining')).toBe('299');
    // Rack::Attack's counter layout: one key per throttle, window and discriminator
    const keys = await fx.tb.redis.keys('rack::attack:*:throttle_per_token_api:*');
    expect(keys.length).toBeGreaterThanOrEqual(2);
  });

  it('throttles POST /api/v*/media at 30 per 30 minutes per user', async () => {
    const user = await createLocalAccount(fx.tb, { username: 'uploader' });
    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#336699' } })
      .png()
      .toBuffer();
    const send = () => {
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'p.png');
      return fetch(`${fx.url}/api/v2/media`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${user.token}` },
        body: form,
      });
    };
    await awayFromWindowEdge(1800);
    const ok = await burst(30, 5, send);
    expect(ok.map((r) => r.status)).toEqual(Array(30).fill(200));
    expect(ok.map((r) => r.headers.get('x-ratelimit-limit'))).toContain('30');
    const limited = await send();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-ratelimit-limit')).toBe('30');
  });

  it('applies the model-level statuses limit (300 per 3 h per account) on top of Rack::Attack', async () => {
    const user = await createLocalAccount(fx.tb, { username: 'poster' });
    await awayFromWindowEdge(10_800);
    const window = Math.floor(Date.now() / 1000 / 10_800);
    await fx.tb.redis.set(`rate_limit:${user.accountId}:statuses:${window}`, '299', 'EX', 10_800);
    const last = await api(fx, 'POST', '/api/v1/statuses', {
      token: user.token,
      json: { status: 'the 300th' },
    });
    expect(last.status).toBe(200);
    expect(last.headers.get('x-ratelimit-limit')).toBe('300');
    expect(last.headers.get('x-ratelimit-remaining')).toBe('0');
    const over = await api(fx, 'POST', '/api/v1/statuses', {
      token: user.token,
      json: { status: 'one too many' },
    });
    expect(over.status).toBe(429);
    expect(over.body).toEqual({ error: 'Too many requests' });
    expect([over.headers.get('x-ratelimit-limit'), over.headers.get('x-ratelimit-remaining')]).toEqual([
      '300',
      '0',
    ]);
    expect(Date.parse(over.headers.get('x-ratelimit-reset')!) % 10_800_000).toBeLessThan(1000); // end of the 3-hour window
    const rows = await fx.tb.db.query('SELECT count(*)::int AS n FROM statuses WHERE account_id = $1', [
      user.accountId,
    ]);
    expect(rows.rows[0].n).toBe(1);
  });

  it('throttles unauthenticated API requests at 300 per 5 minutes per IP', async () => {
    await awayFromWindowEdge(300);
    const results = await burst(300, 20, () => get(fx, '/api/v1/timelines/public?limit=1'));
    // earlier anonymous calls in this file count too
    const firstLimited = results.findIndex((r) => r.status === 429);
    expect(firstLimited === -1 || firstLimited > 280).toBe(true);
    const limited = await get(fx, '/api/v1/instance');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-ratelimit-limit')).toBe('300');
  });
});

describe('client API with rateLimits off (Rack::Attack.enabled = false)', () => {
  let fx: TestbedFixture;
  beforeAll(async () => {
    fx = await startApiTestbed({ rateLimits: false });
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('never answers 429 nor sends X-RateLimit headers', async () => {
    const user = await createLocalAccount(fx.tb, { username: 'unlimited' });
    const results = await burst(320, 20, () => get(fx, '/api/v1/accounts/verify_credentials', user.token));
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    expect(results.some((r) => r.headers.has('x-ratelimit-limit'))).toBe(false);
    const anon = await burst(320, 20, () => get(fx, '/api/v1/instance'));
    expect(anon.filter((r) => r.status !== 200)).toEqual([]);
    expect(await fx.tb.redis.keys('rack::attack:*')).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createLocalAccount, follow, type LocalAccount } from '../../../../world/testbed/accounts.js';
import { api, eventually, openApi, startApiTestbed } from '../../../support/api.js';
import type { TestbedFixture } from '../../../support/testbed.js';

interface Frame {
  stream?: string[];
  event?: string;
  payload?: string;
  error?: string;
}

/** A WebSocket client that records frames; every wait is bounded. */
class StreamClient {
  readonly frames: Frame[] = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.frames.push(JSON.parse(String(data)) as Frame));
  }

  static open(url: string, protocols?: string[]): Promise<StreamClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols);
      const timer = setTimeout(() => reject(new Error('WebSocket open timed out')), 5_000);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve(new StreamClient(ws));
      });
      ws.once('unexpected-response', (_req, res) => {
        clearTimeout(timer);
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode }));
      });
      ws.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  async next(fx: TestbedFixture, predicate: (f: Frame) => boolean, what: string): Promise<Frame> {
    return eventually(fx, async () => this.frames.find(predicate), what, 10_000);
  }

  close(): void {
    this.ws.close();
  }
}

describe('client API: streaming', () => {
  let fx: TestbedFixture;
  let alice: LocalAccount;
  let bob: LocalAccount;
  const clients: StreamClient[] = [];
  beforeAll(async () => {
    // The real Sidekiq engine runs the jobs here (default queues); the test also drains the
    // client API's jobs itself while it waits, which is safe (each job is claimed once).
    fx = await startApiTestbed({ webConcurrency: 1, maxThreads: 4 }, { engine: true });
    alice = await createLocalAccount(fx.tb, { username: 'alice' });
    bob = await createLocalAccount(fx.tb, { username: 'bob' });
    await follow(fx.tb, bob.accountId, alice.accountId);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await fx?.stop();
  });
  const wsUrl = (query: string) => `${fx.url.replace(/^http/, 'ws')}/api/v1/streaming${query}`;
  const subscribed = (channel: string) => async () =>
    (await fx.tb.redis.exists(`subscribed:${channel}`)) === 1;

  it('answers the health check and refuses connections without a valid token', async () => {
    const health = await fetch(`${fx.url}/api/v1/streaming/health`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('OK');
    await expect(StreamClient.open(wsUrl('?stream=user'))).rejects.toMatchObject({ status: 401 });
    await expect(StreamClient.open(wsUrl('?stream=user&access_token=wrong'))).rejects.toMatchObject({
      status: 401,
    });
  });

  it("delivers a followed account's post (update) and a mention (notification) on the user stream", async () => {
    const c = await StreamClient.open(wsUrl(`?stream=user&access_token=${bob.token}`));
    clients.push(c);
    await eventually(fx, subscribed(`timeline:${bob.accountId}`), 'the user stream subscription');
    expect(await fx.tb.redis.ttl(`subscribed:timeline:${bob.accountId}`)).toBeGreaterThan(1000);

    const post = await api(fx, 'POST', '/api/v1/statuses', {
      token: alice.token,
      json: { status: 'Hello @bob, streaming works' },
    });
    expect(post.status).toBe(200);
    const update = await c.next(fx, (f) => f.event === 'update', 'the update event');
    expect(update.stream).toEqual(['user']);
    expect(typeof update.payload).toBe('string');
    const status = JSON.parse(update.payload!);
    expect(status.id).toBe(post.body.id);
    expect(status.favourited).toBe(false); // rendered for bob
    const notification = await c.next(fx, (f) => f.event === 'notification', 'the notification event');
    const n = JSON.parse(notification.payload!);
    expect(n.type).toBe('mention');
    expect(n.account.id).toBe(alice.accountId);
    expect(n.status.id).toBe(post.body.id);
    const schema = await openApi();
    if (schema) {
      expect(schema.validateEntity('Status', status).problems).toEqual([]);
      expect(schema.validateEntity('Notification', n).problems).toEqual([]);
    }

    // a favourite by alice of bob's post is a notification too
    const own = await api(fx, 'POST', '/api/v1/statuses', {
      token: bob.token,
      json: { status: 'my own post' },
    });
    await api(fx, 'POST', `/api/v1/statuses/${own.body.id}/favourite`, { token: alice.token });
    const fav = await c.next(
      fx,
      (f) => f.event === 'notification' && JSON.parse(f.payload!).type === 'favourite',
      'the favourite notification',
    );
    expect(JSON.parse(fav.payload!).status.id).toBe(own.body.id);

    // deleting the post removes it from bob's feed with a `delete` event
    await api(fx, 'DELETE', `/api/v1/statuses/${post.body.id}`, {
      token: alice.token,
      noValidateResponse: true,
    });
    const del = await c.next(fx, (f) => f.event === 'delete', 'the delete event');
    expect(del.payload).toBe(post.body.id);
  });

  it('subscribes by message, with the token in Sec-WebSocket-Protocol, to public:local', async () => {
    const c = await StreamClient.open(wsUrl(''), [alice.token]);
    clients.push(c);
    c.ws.send(JSON.stringify({ type: 'subscribe', stream: 'public:local' }));
    await eventually(fx, subscribed('timeline:public:local'), 'the public:local subscription');
    c.ws.send(JSON.stringify({ type: 'subscribe', stream: 'nonsense' }));
    const error = await c.next(fx, (f) => f.error !== undefined, 'the error frame');
    expect(error.error).toBe('Unknown stream type');

    const post = await api(fx, 'POST', '/api/v1/statuses', {
      token: bob.token,
      json: { status: 'to everyone' },
    });
    const update = await c.next(fx, (f) => f.event === 'update', 'the public update');
    expect(update.stream).toEqual(['public:local']);
    expect(JSON.parse(update.payload!).id).toBe(post.body.id);
  });

  it('does not hold web threads for open streams', async () => {
    // One web worker of 4 threads: more sockets than threads, and the API still answers.
    for (let i = 0; i < 6; i++)
      clients.push(await StreamClient.open(wsUrl(`?stream=public&access_token=${bob.token}`)));
    const started = Date.now();
    const res = await fetch(`${fx.url}/api/v1/instance`, { signal: AbortSignal.timeout(5_000) });
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(2_000);
    const metrics = await (await fetch(`${fx.url}/metrics`)).text();
    expect(metrics).toMatch(/connected_clients\{type="websocket"\} (8|9)/);
  });
});

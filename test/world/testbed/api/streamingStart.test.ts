/**
 * Streaming right after a start: 20 listeners connect at once to a testbed that has just started,
 * so their SUBSCRIBEs race the hub's Redis connection through its ready check (issue 10 saw 40, 34
 * and 6 of 40 channels live after three such starts). Every channel must be subscribed in Redis,
 * and every listener must receive the events of both its channels.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createLocalAccounts, followMany, type LocalAccount } from '../../../../world/testbed/accounts.js';
import { api, eventually, startApiTestbed } from '../../../support/api.js';
import type { TestbedFixture } from '../../../support/testbed.js';

const LISTENERS = 20;

interface Frame {
  event?: string;
  payload?: string;
}

/** A user-stream socket and the frames it received; opening is bounded. */
function listen(url: string): Promise<{ ws: WebSocket; frames: Frame[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const frames: Frame[] = [];
    ws.on('message', (data) => frames.push(JSON.parse(String(data)) as Frame));
    const timer = setTimeout(() => reject(new Error('WebSocket open timed out')), 10_000);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve({ ws, frames });
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

describe('testbed streaming, fresh start', () => {
  let fx: TestbedFixture;
  let poster: LocalAccount;
  let listeners: LocalAccount[];
  const sockets: WebSocket[] = [];
  beforeAll(async () => {
    fx = await startApiTestbed({ webConcurrency: 1, maxThreads: 4 }, { engine: true });
    poster = (await createLocalAccounts(fx.tb, 1, 'poster'))[0]!;
    listeners = await createLocalAccounts(fx.tb, LISTENERS, 'listener');
    // Each listener follows the poster: one post reaches every home timeline and mentions every listener.
    await followMany(
      fx.tb,
      listeners.map((l) => [l.accountId, poster.accountId]),
    );
  }, 60_000);
  afterAll(async () => {
    for (const ws of sockets) ws.terminate();
    await fx?.stop();
  });

  it('20 listeners connecting at once all get both their channels, and every event', async () => {
    const wsBase = `${fx.url.replace(/^http/, 'ws')}/api/v1/streaming?stream=user&access_token=`;
    // All at once, before anything else has used the streaming server's Redis connection.
    const opened = await Promise.all(listeners.map((l) => listen(wsBase + l.token)));
    sockets.push(...opened.map((o) => o.ws));

    // Redis itself says which channels have a subscriber: every listener's two.
    const channels = listeners.flatMap((l) => [
      `timeline:${l.accountId}`,
      `timeline:${l.accountId}:notifications`,
    ]);
    const missing = async () => {
      const counts = (await fx.tb.redis.pubsub('NUMSUB', ...channels)) as (string | number)[];
      return channels.filter((_, i) => Number(counts[2 * i + 1]) < 1);
    };
    await eventually(
      fx,
      async () => (await missing()).length === 0,
      'a subscriber on all 40 channels',
      10_000,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}; not subscribed: ${(await missing()).join(', ')}`);
    });

    const mentions = listeners.map((l) => `@${l.username}`).join(' ');
    const post = await api(fx, 'POST', '/api/v1/statuses', {
      token: poster.token,
      json: { status: `Hello ${mentions}` },
    });
    expect(post.status).toBe(200);
    const received = (frames: Frame[], event: string) =>
      frames.some(
        (f) =>
          f.event === event &&
          (event === 'update'
            ? JSON.parse(f.payload!).id === post.body.id
            : JSON.parse(f.payload!).status?.id === post.body.id),
      );
    const waiting = () =>
      opened.flatMap((o, i) =>
        ['update', 'notification']
          .filter((event) => !received(o.frames, event))
          .map((event) => `${listeners[i]!.username} ${event}`),
      );
    await eventually(
      fx,
      async () => waiting().length === 0,
      'every listener’s update and notification',
      20_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; still waiting for: ${waiting().join(', ')}`);
    });
    expect(waiting()).toEqual([]);
  }, 60_000);
});

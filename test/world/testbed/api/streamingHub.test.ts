import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamingHub } from '../../../../world/testbed/api/streaming.js';
import type { Testbed } from '../../../../world/testbed/context.js';
import { waitFor } from '../../../support/helpers.js';
import { claimRedisDb, REDIS_URL } from '../../../support/testbed.js';

describe('the streaming hub', () => {
  let claim: Awaited<ReturnType<typeof claimRedisDb>>;
  let url: string;
  beforeAll(async () => {
    claim = await claimRedisDb();
    url = `${REDIS_URL}/${claim.index}`;
  });
  afterAll(async () => {
    await claim?.release();
  });

  it('subscribes every channel asked for while its connection is still getting ready', async () => {
    const received: string[] = [];
    const listen = (channel: string) =>
      hub.subscribe(channel, (event) => received.push(`${channel} ${event}`));
    const early: Promise<void>[] = [];
    // Between connecting and its ready check, ioredis would write a SUBSCRIBE at once: its ready check
    // then fails in subscriber mode, and takes the SUBSCRIBEs with it.
    const newRedis = () => {
      const redis = new Redis(url);
      redis.once('connect', () => early.push(listen('b'), listen('c')));
      return redis;
    };
    const hub = new StreamingHub({ newRedis } as unknown as Testbed);
    const publisher = new Redis(url);
    try {
      await listen('a');
      await waitFor(() => early.length === 2, 'the subscriptions made on connect');
      await Promise.all(early);
      for (const channel of ['a', 'b', 'c'])
        await publisher.publish(channel, JSON.stringify({ event: 'update', payload: {} }));
      await waitFor(() => received.length === 3, 'a message on each channel');
      expect(received.sort()).toEqual(['a update', 'b update', 'c update']);
    } finally {
      hub.close();
      publisher.disconnect();
    }
  });
});

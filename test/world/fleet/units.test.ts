import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest, verifyRequest } from '../../../src/mastodon/signatures.js';
import { LoopbackClient, RefusedTargetError } from '../../../world/fleet/client.js';
import { publishedFor } from '../../../world/fleet/documents.js';
import { KeyCache } from '../../../world/fleet/keys.js';
import {
  byteSizeLabel,
  parseByteSize,
  parseTargetRule,
  resolveFleetOptions,
} from '../../../world/fleet/options.js';
import { behaviourOf } from '../../../world/fleet/population.js';
import { originTimeOf } from '../../../world/fleet/server.js';
import { newRsaKeyPair } from '../../../world/keys.js';
import { KeyServer } from '../../support/fleet.js';

describe('fleet options', () => {
  it('reads sizes in binary units and names files after them', () => {
    expect(parseByteSize('64KB')).toBe(65_536);
    expect(parseByteSize('1.5MB')).toBe(1_572_864);
    expect(parseByteSize(' 300000 ')).toBe(300_000);
    expect(parseByteSize('2 MiB')).toBe(2_097_152);
    expect(parseByteSize('64XB')).toBeNaN();
    expect(parseByteSize('')).toBeNaN();
    expect([65_536, 2_097_152, 1500].map(byteSizeLabel)).toEqual(['64KB', '2MB', '1500B']);
  });

  it('accepts loopback target rules only', () => {
    expect(parseTargetRule('Staging.Example=127.0.0.1:443')).toEqual({
      host: 'staging.example',
      address: '127.0.0.1',
      port: 443,
    });
    expect(parseTargetRule('s.example=[::1]:8443')).toEqual({
      host: 's.example',
      address: '::1',
      port: 8443,
    });
    expect(() => parseTargetRule('s.example=192.168.1.5:443')).toThrow(/not a loopback address/);
    expect(() => parseTargetRule('s.example=127.0.0.1')).toThrow(/expected HOST=ADDR:PORT/);
  });

  it('fills defaults and names the option that is out of range', () => {
    expect(resolveFleetOptions({})).toMatchObject({
      host: '127.0.0.1',
      instances: 10,
      actorsPerInstance: 20,
      coldFraction: 0.5,
      slowDelayMs: 12_000,
      failStatus: 503,
      hostSuffix: 'fleet.test',
      keyPoolSize: 4,
    });
    expect(() => resolveFleetOptions({ host: '10.0.0.1' })).toThrow(/loopback only/);
    expect(() => resolveFleetOptions({ slowDelayMs: 600_000 })).toThrow(
      /slow-delay \(ms\) must be an integer from 1 to 120000/,
    );
    expect(() => resolveFleetOptions({ mediaSizesBytes: [1024, 1024] })).toThrow(/distinct/);
    expect(() => resolveFleetOptions({ hostSuffix: '-x-' })).toThrow(/host-suffix/);
  });

  it('makes the last instances failing and the ones before them slow', () => {
    const o = { instances: 6, slowInstances: 2, failingInstances: 1 };
    expect([1, 2, 3, 4, 5, 6].map((i) => behaviourOf(i, o))).toEqual([
      'normal',
      'normal',
      'normal',
      'slow',
      'slow',
      'failing',
    ]);
  });

  it('takes the origin time from the activity, else its object', () => {
    expect(
      originTimeOf({ published: '2026-01-02T03:04:05Z', object: { published: '2020-01-01T00:00:00Z' } }),
    ).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(originTimeOf({ object: { published: '2026-01-02T03:04:05.250Z' } })).toBe(
      Date.UTC(2026, 0, 2, 3, 4, 5, 250),
    );
    expect(originTimeOf({ object: 'https://x/1' })).toBeNull();
    expect(originTimeOf({ published: 'yesterday' })).toBeNull();
    expect(publishedFor('1722000000000', 5)).toBe(new Date(1722000000000).toISOString());
    expect(publishedFor('abc', Date.UTC(2026, 0, 1))).toBe('2026-01-01T00:00:00.000Z');
  });
});

describe('fleet outgoing client and key cache', () => {
  let target: KeyServer;
  beforeAll(async () => {
    target = await new KeyServer().start();
  });
  afterAll(async () => {
    await target?.stop();
  });

  it('contacts loopback literals, resolved hosts and loopback-only names; refuses the rest before connecting', async () => {
    const client = new LoopbackClient(
      [{ host: 'staging.example', address: '127.0.0.1', port: target.port }],
      { connect: 1000, read: 1000 },
    );
    try {
      expect((await client.request(target.actorId)).status).toBe(200);
      const viaRule = await client.request('http://staging.example/users/tester');
      expect(viaRule.status).toBe(200);
      expect((await client.request(`http://localhost:${target.port}/users/tester`)).status).toBe(200);
      await expect(client.request('http://10.0.0.1/users/x')).rejects.toBeInstanceOf(RefusedTargetError);
      await expect(client.request('https://[2001:db8::1]/users/x')).rejects.toThrow(/not a loopback address/);
      await expect(client.request('ftp://127.0.0.1/x')).rejects.toThrow(/only http and https/);
      await expect(client.request('not a url')).rejects.toThrow(/not a URL/);
    } finally {
      client.close();
    }
  });

  it('refetches a key once when verification fails (rotation), not more often than its refresh interval', async () => {
    const client = new LoopbackClient([], { connect: 1000, read: 1000 });
    const signed = (privateKeyPem: string) => {
      const body = '{"type":"Create"}';
      const headers = signRequest({
        keyId: target.keyId,
        privateKeyPem,
        method: 'POST',
        url: 'http://i1.fleet.test/inbox',
        body,
      });
      return { method: 'POST', path: '/inbox', headers, body };
    };
    try {
      const rotating = new KeyCache(client, 100, 5_000, 0);
      const gets0 = target.gets;
      expect((await verifyRequest(signed(target.keys.privateKeyPem), rotating.resolver())).ok).toBe(true);
      target.keys = await newRsaKeyPair();
      expect((await verifyRequest(signed(target.keys.privateKeyPem), rotating.resolver())).ok).toBe(true);
      expect(target.gets - gets0).toBe(2);

      const steady = new KeyCache(client); // refresh at most every 10 s
      expect((await verifyRequest(signed(target.keys.privateKeyPem), steady.resolver())).ok).toBe(true);
      const wrong = await newRsaKeyPair();
      for (let i = 0; i < 5; i++)
        expect((await verifyRequest(signed(wrong.privateKeyPem), steady.resolver())).ok).toBe(false);
      expect(target.gets - gets0).toBe(3);
      expect(await steady.endpoints(target.actorId)).toEqual({
        inbox: `${target.actorId}/inbox`,
        sharedInbox: `http://127.0.0.1:${target.port}/inbox`,
      });
    } finally {
      client.close();
    }
  });
});

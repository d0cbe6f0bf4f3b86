import { describe, expect, it } from 'vitest';
import { PostgresSampler } from '../../../src/collect/postgres.js';
import { PrometheusSampler } from '../../../src/collect/prometheus.js';
import { RedisInfoSampler } from '../../../src/collect/redisInfo.js';
import { remoteSamplers } from '../../../src/collect/sources.js';
import { InputError } from '../../../src/shared/errors.js';

const thrown = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
};

describe('remoteSamplers', () => {
  it('builds one sampler per source given, named without credentials', async () => {
    const samplers = remoteSamplers({
      databaseUrl: 'postgresql://mastodon:hunter2@127.0.0.1:5432/mastodon_production',
      redisUrl: 'redis://:hunter2@127.0.0.1:6379/0',
      prometheus: ['http://127.0.0.1:9394/metrics', 'https://scrape:hunter2@127.0.0.1:4000/metrics'],
    });
    expect(samplers.map((s) => s.constructor)).toEqual([
      PostgresSampler,
      RedisInfoSampler,
      PrometheusSampler,
      PrometheusSampler,
    ]);
    expect(samplers.map((s) => [s.source, s.name])).toEqual([
      ['postgres', 'postgresql://127.0.0.1:5432/mastodon_production'],
      ['redis', 'redis://127.0.0.1:6379/0'],
      ['prometheus', 'http://127.0.0.1:9394/metrics'],
      ['prometheus', 'https://127.0.0.1:4000/metrics'],
    ]);
    await Promise.all(samplers.map((s) => s.close()));
    expect(remoteSamplers({ prometheus: [] })).toEqual([]);
  });

  it.each([
    [
      { databaseUrl: 'mysql://u:hunter2@db/x', prometheus: [] },
      '--database-url mysql://u:***@db/x: the scheme must be postgres:// or postgresql://',
    ],
    [
      { databaseUrl: 'db.example:5432', prometheus: [] },
      '--database-url db.example:5432: the scheme must be postgres:// or postgresql://',
    ],
    [
      { redisUrl: 'http://127.0.0.1:6379', prometheus: [] },
      '--redis-url http://127.0.0.1:6379: the scheme must be redis:// or rediss://',
    ],
    [
      { redisUrl: 'redis://:hunter2@[::1', prometheus: [] },
      '--redis-url redis://:***@[::1: not a URL (expected redis:// or rediss://…)',
    ],
    [
      { prometheus: ['127.0.0.1:9394/metrics'] },
      '--prometheus 127.0.0.1:9394/metrics: not a URL (expected http:// or https://…)',
    ],
    [{ prometheus: ['not a url'] }, '--prometheus not a url: not a URL (expected http:// or https://…)'],
    [
      { prometheus: ['http://a:hunter2@127.0.0.1:9394/metrics', 'http://127.0.0.1:9394/metrics'] },
      '--prometheus http://127.0.0.1:9394/metrics: given twice',
    ],
  ])('refuses %j naming the flag, the password masked', (opts, message) => {
    const err = thrown(() => remoteSamplers(opts));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe(message);
    expect(err.message).not.toContain('hunter2');
  });
});

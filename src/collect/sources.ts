import { InputError } from '../shared/errors.js';
import { checkedFlagUrl } from '../shared/flagUrl.js';
import { withoutCredentials } from '../shared/urlSecrets.js';
import { PostgresSampler } from './postgres.js';
import { PrometheusSampler } from './prometheus.js';
import { RedisInfoSampler } from './redisInfo.js';
import type { Sampler } from './sampler.js';

export interface RemoteSources {
  /** --database-url: PostgreSQL (postgres:// or postgresql://). */
  databaseUrl?: string;
  /** --redis-url: Redis whose INFO is sampled (redis:// or rediss://). */
  redisUrl?: string;
  /** --prometheus, repeatable: Prometheus text endpoints (http:// or https://). */
  prometheus: string[];
}

const SCHEMES = {
  '--sidekiq-redis': ['redis:', 'rediss:'],
  '--database-url': ['postgres:', 'postgresql:'],
  '--redis-url': ['redis:', 'rediss:'],
  '--prometheus': ['http:', 'https:'],
} as const;

/** The URL given to `flag`, checked before anything connects; the message masks its password. */
export function checkedUrl(flag: keyof typeof SCHEMES, raw: string): string {
  checkedFlagUrl(flag, raw, SCHEMES[flag]);
  return raw;
}

/**
 * The samplers of the sources reached over the network (PostgreSQL, Redis INFO, Prometheus endpoints),
 * every URL checked up front: one that does not parse or has another scheme is an InputError naming
 * the flag (the same endpoint twice too). Nothing connects until the first sample.
 */
export function remoteSamplers(opts: RemoteSources): Sampler[] {
  const databaseUrl =
    opts.databaseUrl === undefined ? undefined : checkedUrl('--database-url', opts.databaseUrl);
  const redisUrl = opts.redisUrl === undefined ? undefined : checkedUrl('--redis-url', opts.redisUrl);
  const endpoints = new Map<string, string>();
  for (const raw of opts.prometheus) {
    const shown = withoutCredentials(checkedUrl('--prometheus', raw));
    if (endpoints.has(shown)) throw new InputError(`--prometheus ${shown}: given twice`);
    endpoints.set(shown, raw);
  }
  const samplers: Sampler[] = [];
  if (databaseUrl !== undefined) samplers.push(new PostgresSampler(databaseUrl));
  if (redisUrl !== undefined) samplers.push(new RedisInfoSampler(redisUrl));
  for (const url of endpoints.values()) samplers.push(new PrometheusSampler(url));
  return samplers;
}

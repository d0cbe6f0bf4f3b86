import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Registry } from 'prom-client';
import type { TestbedConfig } from './config.js';
import type { SidekiqClient } from './sidekiq/client.js';
import type { TestbedJobClass, TestbedWorkers } from './jobClasses.js';

/**
 * Everything the testbed's routes and job classes share within one process: each process of the testbed
 * opens its own (openContext.ts).
 */
export interface Testbed {
  config: TestbedConfig;
  /** https-less base URL of this instance, e.g. http://127.0.0.1:3000. */
  baseUrl: string;
  /** Domain used in URIs, handles and WebFinger, e.g. 127.0.0.1:3000. */
  domain: string;
  db: pg.Pool;
  /** REDIS_URL: home feeds, Sidekiq, pub/sub for streaming, rate limits. */
  redis: Redis;
  /** A second connection for SUBSCRIBE (a subscribed connection can do nothing else). */
  newRedis(): Redis;
  sidekiq: SidekiqClient<TestbedJobClass>;
  workers: TestbedWorkers;
  metrics: Registry;
  /**
   * ResolveAccountService for `@username@domain` (WebFinger, then the actor):
   * the account id, or null when it cannot be resolved. openContext sets the
   * ActivityPub side's (accountResolver); without it remote mentions stay plain text.
   */
  resolveAccount?(username: string, domain: string): Promise<string | null>;
}

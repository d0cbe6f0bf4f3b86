import { DEFAULT_QUEUE_WEIGHTS, QUEUES } from '../../src/mastodon/classes.js';
import type { InjectedFaults } from './faults.js';
import type { SidekiqUnitConfig } from './sidekiq/types.js';

/** A `--resolve SUFFIX=HOST:PORT` rule: remote hosts ending in SUFFIX are reached at HOST:PORT over http. */
export interface ResolveRule {
  suffix: string;
  host: string;
  port: number;
}

export interface TestbedConfig {
  /** Bind address: loopback unless told otherwise. */
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The instance's domain in URIs and WebFinger (default: host:port once listening). */
  localDomain?: string;
  databaseUrl: string;
  /** Redis URL including the database index (redis://127.0.0.1:6379/5): runs are isolated by index. */
  redisUrl: string;
  mediaDir: string;
  sidekiq: SidekiqUnitConfig[];
  /** Puma's WEB_CONCURRENCY: web worker processes sharing the port. */
  webConcurrency: number;
  /** Puma's MAX_THREADS: requests one web worker serves at once; the rest wait. */
  maxThreads: number;
  /** DB_POOL of every process: each web worker, each Sidekiq process, streaming. */
  dbPool: number;
  resolve: ResolveRule[];
  /** Mastodon's Rack::Attack limits; on by default, switchable off for load tests. */
  rateLimits: boolean;
  /** USER_ACTIVE_DAYS: followers signed in within this many days get feed inserts. */
  userActiveDays: number;
  /** Cached remote media older than this is removed by the scheduler job. */
  mediaCacheRetentionDays: number;
  /** Outgoing HTTP timeouts (Mastodon: connect 5 s, read/write 10 s). */
  httpTimeoutsMs: { connect: number; read: number };
  /** Regressions injected on purpose (`--inject-delay`, `--inject-cpu`); none by default. */
  faults?: InjectedFaults;
}

/** Mastodon's config/sidekiq.yml queues and weights in one unit of `-c 10`. */
export const DEFAULT_SIDEKIQ: SidekiqUnitConfig[] = [
  {
    processes: 1,
    threads: 10,
    queues: QUEUES.map((name) => ({ name, weight: DEFAULT_QUEUE_WEIGHTS[name] })),
  },
];

/** The testbed's defaults, read by defaultConfig and by the `testbed` command's flags. */
export const TESTBED_DEFAULTS: Readonly<TestbedConfig> = {
  host: '127.0.0.1',
  port: 3000,
  databaseUrl: 'postgres://postgres@127.0.0.1:5432/fedicap_testbed',
  redisUrl: 'redis://127.0.0.1:6379/9',
  mediaDir: 'testbed-media',
  sidekiq: DEFAULT_SIDEKIQ,
  // Mastodon's defaults (config/puma.rb).
  webConcurrency: 2,
  maxThreads: 5,
  dbPool: 15,
  resolve: [],
  rateLimits: true,
  userActiveDays: 7,
  mediaCacheRetentionDays: 7,
  httpTimeoutsMs: { connect: 5_000, read: 10_000 },
};

export function defaultConfig(overrides: Partial<TestbedConfig> = {}): TestbedConfig {
  return { ...TESTBED_DEFAULTS, ...overrides };
}

/**
 * The benchmark's surroundings: reachability, cleanups, a fresh database and Redis DB, the testbeds it
 * starts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { claimRedisDb, PG_ADMIN_URL, REDIS_URL } from '../../test/support/isolation.js';
import { defaultConfig, type TestbedConfig } from '../../world/testbed/config.js';
import { type RunningTestbed, startTestbed } from '../../world/testbed/server.js';
import type { SidekiqUnitConfig } from '../../world/testbed/sidekiq/types.js';
import type { Started } from './protocol.js';
import { RemoteWorld } from './remoteWorld.js';

/** Undone in reverse order, each once, whatever failed before. */
export class Cleanups {
  private readonly steps: (() => Promise<void>)[] = [];

  push(step: () => Promise<void>): void {
    this.steps.push(step);
  }

  async run(): Promise<void> {
    for (const c of this.steps.reverse())
      await c().catch((e: Error) => console.error(`cleanup: ${e.message}`));
    this.steps.length = 0;
  }
}

/** Open, check and close a connection: the reason it failed, or undefined. */
async function reachable(
  open: () => Promise<void>,
  close: () => Promise<void> | void,
  why: (e: Error) => string,
): Promise<string | undefined> {
  try {
    await open();
    return undefined;
  } catch (e) {
    return why(e as Error);
  } finally {
    await close();
  }
}

/** Reachability of PostgreSQL and Redis before anything else (exit 2 when not). */
export async function preflight(): Promise<string | undefined> {
  const r = new Redis(`${REDIS_URL}/0`, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 3_000,
  });
  let cause = '';
  r.on('error', (e: Error) => (cause ||= e.message));
  const redisProblem = await reachable(
    async () => {
      await r.connect();
      await r.ping();
    },
    () => r.disconnect(),
    (e) =>
      `Redis at ${REDIS_URL} is not reachable (${cause || e.message}); start it or set FEDICAP_TEST_REDIS`,
  );
  if (redisProblem) return redisProblem;
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3_000 });
  c.on('error', () => undefined);
  return reachable(
    async () => {
      await c.connect();
      await c.query('SELECT 1');
    },
    () => c.end().catch(() => undefined),
    (e) => {
      const safe = new URL(PG_ADMIN_URL);
      safe.password = '';
      return `PostgreSQL at ${safe} is not reachable (${e.message}); start it or set FEDICAP_TEST_PG`;
    },
  );
}

async function dropDatabase(name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5_000 });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

export type BaseConfig = Omit<TestbedConfig, 'sidekiq' | 'port'>;

/** Start a testbed on `port`, or on any free port when that one is taken. */
export async function startBenchTestbed(
  base: BaseConfig,
  sidekiq: SidekiqUnitConfig[],
  port: number,
): Promise<RunningTestbed> {
  try {
    return await startTestbed({ ...base, sidekiq, port });
  } catch (e) {
    if (port !== 0 && (e as { code?: string }).code === 'EADDRINUSE')
      return startTestbed({ ...base, sidekiq, port: 0 });
    throw e;
  }
}

export interface Surroundings {
  world: RemoteWorld;
  started: Started;
  base: BaseConfig;
  dbName: string;
  redisDbIndex: number;
}

/**
 * The remote world started, a database and a Redis DB of the bench's own, and the testbeds' shared config.
 */
export async function prepareSurroundings(cleanups: Cleanups): Promise<Surroundings> {
  const world = new RemoteWorld();
  cleanups.push(() => world.stop());
  const started = await world.call<Started>({ op: 'start' });

  const redisDb = await claimRedisDb();
  cleanups.push(() => redisDb.release());
  const dbName = `fedicap_bench_${process.pid}`;
  const databaseUrl = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${dbName}`);
  await dropDatabase(dbName);
  cleanups.push(() => dropDatabase(dbName));
  const mediaDir = mkdtempSync(join(tmpdir(), 'fedicap-bench-media-'));
  cleanups.push(async () => rmSync(mediaDir, { recursive: true, force: true }));

  const base = {
    ...defaultConfig(),
    host: '127.0.0.1',
    databaseUrl,
    redisUrl: `${REDIS_URL}/${redisDb.index}`,
    mediaDir,
    rateLimits: false,
    resolve: [{ suffix: 'remote.test', host: '127.0.0.1', port: started.port }],
  };
  return { world, started, base, dbName, redisDbIndex: redisDb.index };
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { followRelay, RELAY_STATE } from '../../world/testbed/activitypub/delivery.js';
import { defaultConfig, type TestbedConfig } from '../../world/testbed/config.js';
import type { Testbed } from '../../world/testbed/context.js';
import { type LaunchOptions, startTestbed, type RunningTestbed } from '../../world/testbed/server.js';
import { waitFor } from './helpers.js';

export { claimRedisDb, PG_ADMIN_URL, REDIS_URL } from './isolation.js';
import { claimRedisDb, dropTestDatabase, REDIS_URL, testDatabaseName, testDatabaseUrl } from './isolation.js';

export interface TestbedFixture extends RunningTestbed {
  redisIndex: number;
  databaseUrl: string;
  mediaDir: string;
  stop(): Promise<void>;
}

/** The processes the testbed forks run the same TypeScript sources as the tests (typescript.mjs). */
export const CHILD_EXEC_ARGV = ['--import', fileURLToPath(new URL('./typescript.mjs', import.meta.url))];

/** A testbed on its own PostgreSQL database and Redis index, on a free loopback port. */
export async function startTestTestbed(
  overrides: Partial<TestbedConfig> = {},
  launch: Pick<LaunchOptions, 'log'> = {},
): Promise<TestbedFixture> {
  const redisDb = await claimRedisDb();
  const dbName = testDatabaseName();
  const databaseUrl = testDatabaseUrl(dbName);
  const mediaDir = mkdtempSync(join(tmpdir(), 'fedicap-media-'));
  const config = defaultConfig({
    port: 0,
    databaseUrl,
    redisUrl: `${REDIS_URL}/${redisDb.index}`,
    mediaDir,
    ...overrides,
  });
  const running = await startTestbed(config, { childExecArgv: CHILD_EXEC_ARGV, ...launch });
  return {
    ...running,
    redisIndex: redisDb.index,
    databaseUrl,
    mediaDir,
    async stop() {
      await running.close();
      await redisDb.release();
      rmSync(mediaDir, { recursive: true, force: true });
      // An overridden databaseUrl (PgBouncer) names the database the testbed created.
      await dropTestDatabase(new URL(config.databaseUrl).pathname.slice(1));
    },
  };
}

/** Follow the relay at `inbox` from the testbed and wait until the relay's Accept has been processed. */
export async function followRelayUntilAccepted(tb: Testbed, inbox: string, timeoutMs: number): Promise<void> {
  await followRelay(tb, inbox);
  await waitFor(
    async () =>
      (
        await tb.db.query('SELECT 1 FROM relays WHERE inbox_url = $1 AND state = $2', [
          inbox,
          RELAY_STATE.accepted,
        ])
      ).rowCount,
    'the relay to accept the Follow',
    timeoutMs,
  );
}

/**
 * The validation world in this process (the testbed's children run the sources through the TypeScript
 * loader): what it starts and describes, and that a failure or an abort half-way leaves nothing running.
 * The whole command, run end to end through the built CLI, is test/src/cli/validate.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../src/shared/errors.js';
import { describeProcesses } from '../../../world/cli/validationProcesses.js';
import {
  checkValidationWorldOptions,
  startValidationWorld,
  type ValidationWorldOptions,
} from '../../../world/cli/validationWorld.js';
import { tempDir } from '../../support/helpers.js';
import {
  claimRedisDb,
  dropTestDatabase,
  PG_ADMIN_URL,
  REDIS_URL,
  testDatabaseName,
  testDatabaseUrl,
} from '../../support/isolation.js';
import { CHILD_EXEC_ARGV } from '../../support/testbed.js';

/** This process's children, from ps: the testbed's forked processes while one runs. */
function childPids(): number[] {
  let text = '';
  try {
    text = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  } catch {
    // ps exits 1 when it lists nothing
  }
  // ps lists itself: it is a child of this process too
  return [...text.matchAll(/^\s*(\d+) (.*)$/gm)]
    .filter((m) => m[2]!.trim() !== 'ps')
    .map((m) => Number(m[1]));
}

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });

let redisDb: Awaited<ReturnType<typeof claimRedisDb>>;
const databases: string[] = [];

function options(o: Partial<ValidationWorldOptions> = {}): ValidationWorldOptions {
  const name = testDatabaseName();
  databases.push(name);
  return {
    dir: tempDir('fedicap-vworld-'),
    databaseUrl: testDatabaseUrl(name),
    redisUrl: `${REDIS_URL}/${redisDb.index}`,
    childExecArgv: CHILD_EXEC_ARGV,
    seedAccounts: 6,
    ...o,
  };
}

async function redisKeys(): Promise<number> {
  const redis = new Redis(`${REDIS_URL}/${redisDb.index}`);
  try {
    return await redis.dbsize();
  } finally {
    redis.disconnect();
  }
}

beforeAll(async () => {
  redisDb = await claimRedisDb();
});

afterAll(async () => {
  await redisDb?.release();
  for (const name of databases) await dropTestDatabase(name);
});

describe('describeProcesses', () => {
  it('names each Sidekiq process by its queues, numbered on across units with the same queues', () => {
    const unit = (processes: number, ...queues: string[]) => ({
      processes,
      threads: 5,
      queues: queues.map((name) => ({ name, weight: 1 })),
    });
    const processes = [
      { role: 'streaming' as const, pid: 10 },
      { role: 'web' as const, pid: 11 },
      { role: 'sidekiq' as const, pid: 12 },
      { role: 'sidekiq' as const, pid: 13 },
      { role: 'sidekiq' as const, pid: 14 },
      { role: 'sidekiq' as const, pid: 15 },
    ];
    const units = [unit(2, 'push'), unit(1, 'mailers', 'pull'), unit(1, 'push')];
    const named = describeProcesses(processes, units, 7);
    expect(named.map((p) => [p.name, p.pid])).toEqual([
      ['primary', process.pid],
      ['web-1', 11],
      ['sidekiq-push-1', 12],
      ['sidekiq-push-2', 13],
      ['sidekiq-mailers_pull-1', 14],
      ['sidekiq-push-3', 15],
      ['streaming', 10],
    ]);
    expect(named.find((p) => p.pid === 14)).toMatchObject({ queues: ['mailers', 'pull'], threads: 5 });
    expect(named.find((p) => p.pid === 11)).toMatchObject({ role: 'web', threads: 7 });
  });
});

describe('checkValidationWorldOptions', () => {
  it('one -c 5 pool per queue under test, DB_POOL as large as the largest thread count, rate limits off', () => {
    const config = checkValidationWorldOptions(options());
    expect(config.sidekiq.map((u) => [u.threads, u.queues.map((q) => `${q.name},${q.weight}`)])).toEqual([
      [5, ['ingress,1']],
      [5, ['push,1']],
      [5, ['default,1']],
      [5, ['mailers,2', 'pull,1', 'scheduler,1']],
    ]);
    expect(config).toMatchObject({ webConcurrency: 2, maxThreads: 5, dbPool: 5, rateLimits: false, port: 0 });
    expect(checkValidationWorldOptions(options({ sidekiqUnits: ['2x -c 12 -q push'] })).dbPool).toBe(12);
  });

  it('names the flag of an option no world starts with', () => {
    expect(() => checkValidationWorldOptions(options({ sidekiqUnits: ['-q'] }))).toThrow(/--sidekiq "-q"/);
    expect(() => checkValidationWorldOptions(options({ webConcurrency: 0 }))).toThrow(
      /--web-concurrency must be a positive integer, got 0/,
    );
  });
});

describe('startValidationWorld', () => {
  it('starts the fleet, the testbed and the accounts, describes them, and stops them all', async () => {
    const o = options();
    const world = await startValidationWorld(o);
    try {
      expect(world.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(world.host).toBe(new URL(world.url).host);
      expect(world.metricsUrl).toBe(`${world.url}/metrics`);
      expect(world.fleetManifestPath).toBe(join(o.dir, 'fleet-manifest.json'));
      expect(world.deliveriesPath).toBe(join(o.dir, 'deliveries.ndjson'));
      expect(world.sidekiqRedisUrl).toBe(o.redisUrl);
      const tokens = JSON.parse(readFileSync(world.tokensPath, 'utf8')) as unknown[];
      expect(tokens).toHaveLength(6);
      // the infrastructure `fedicap testbed --print-profile` prints for these units
      expect(world.infrastructure.sidekiq.map((u) => u.command)).toEqual([
        '-c 5 -q ingress',
        '-c 5 -q push',
        '-c 5 -q default',
        '-c 5 -q mailers,2 -q pull -q scheduler',
      ]);
      expect(world.infrastructure.puma).toMatchObject({ webConcurrency: 2, maxThreads: 5 });
      // every forked process is listed, and only those
      const forked = world.processes.filter((p) => p.role !== 'primary').map((p) => p.pid);
      expect(forked.sort()).toEqual(childPids().sort());
      expect(world.processes.map((p) => p.name)).toContain('sidekiq-mailers_pull_scheduler-1');
      const metrics = await fetch(world.metricsUrl);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/^sidekiq_/m);
    } finally {
      await world.stop();
    }
    expect(childPids()).toEqual([]);
    expect(await redisKeys()).toBe(0);
    await world.stop(); // idempotent
  }, 90_000);

  it('refuses a database that already holds accounts, before starting anything', async () => {
    const o = options();
    const world = await startValidationWorld(o);
    await world.stop();
    await expect(startValidationWorld({ ...o, dir: tempDir('fedicap-vworld-') })).rejects.toThrow(
      /--database-url .*: the database already holds 6 local accounts; validation needs a fresh database/,
    );
    expect(childPids()).toEqual([]);
  }, 90_000);

  it('a testbed that cannot start stops the fleet already started: an InputError, nothing left running', async () => {
    const lines: string[] = [];
    // a name PostgreSQL does not know (so it counts as fresh) and the testbed refuses to create
    const o = options({
      databaseUrl: PG_ADMIN_URL.replace(/\/[^/]*$/, '/bad-name'),
      log: (l) => lines.push(l),
    });
    const err = await startValidationWorld(o).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(
      /cannot start the testbed: PostgreSQL at .*bad-name cannot be used/,
    );
    const fleetPort = Number(/fleet on http:\/\/127\.0\.0\.1:(\d+)/.exec(lines.join('\n'))?.[1]);
    expect(fleetPort).toBeGreaterThan(0);
    expect(await refused(fleetPort)).toBe(true);
    expect(childPids()).toEqual([]);
    expect(await redisKeys()).toBe(0);
  }, 90_000);

  it('an abort once the testbed runs stops it and the fleet, and rejects with the reason', async () => {
    const controller = new AbortController();
    const o = options({
      signal: controller.signal,
      log: (line) => {
        if (line.startsWith('testbed on')) {
          expect(childPids().length).toBe(8 - 1); // 2 web, 4 Sidekiq, streaming: running when aborted
          controller.abort(new Error('stop now'));
        }
      },
    });
    await expect(startValidationWorld(o)).rejects.toThrow('stop now');
    expect(childPids()).toEqual([]);
    expect(await redisKeys()).toBe(0);
  }, 90_000);
});

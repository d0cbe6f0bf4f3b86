import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, hostname, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PROFILE_PATH, loadProfile, readJsonFile } from '../../../src/profile/load.js';
import { pgbouncerUnavailable, startPgBouncer } from '../../support/pgbouncer.js';
import {
  claimRedisDb,
  dropTestDatabase,
  PG_ADMIN_URL,
  REDIS_URL,
  testDatabaseName,
  testDatabaseUrl,
} from '../../support/isolation.js';
import { MAIN } from '../../support/paths.js';
import { alive } from '../../support/helpers.js';
import { startFleet } from '../../../world/fleet/server.js';

function fedicap(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `fedicap testbed --print-profile …` read back by the project's profile loader, in the default profile. */
function printedProfile(...args: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'fedicap-testbed-profile-'));
  try {
    const r = fedicap('testbed', '--print-profile', '--media-dir', join(dir, 'media'), ...args);
    expect(r.code, r.stderr).toBe(0);
    const printed = JSON.parse(r.stdout) as { infrastructure: unknown };
    expect(Object.keys(printed)).toEqual(['infrastructure']);
    const file = join(dir, 'profile.json');
    const profile = readJsonFile(DEFAULT_PROFILE_PATH, 'profile') as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...profile, infrastructure: printed.infrastructure }));
    return loadProfile(file).infrastructure;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgresSettings(): Promise<{ maxConnections: number; dataDirectory: string }> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    const maxConnections = Number((await admin.query('SHOW max_connections')).rows[0].max_connections);
    const dataDirectory = (await admin.query('SHOW data_directory')).rows[0].data_directory as string;
    return { maxConnections, dataDirectory };
  } finally {
    await admin.end();
  }
}

/** The pids on the banner's process lines (`  web (…): 101, 102`). */
function pidsIn(banner: string): Record<string, number[]> {
  const byLine: Record<string, number[]> = {};
  for (const m of banner.matchAll(/^ {2}(web|sidekiq [^:]+|streaming)[^:]*: ([\d, ]+)$/gm))
    byLine[m[1]!] = m[2]!.split(', ').map(Number);
  return byLine;
}

/** Wait (bounded) until `stderr()` matches, or the child exits. */
async function waitForOutput(child: ChildProcess, stderr: () => string, pattern: RegExp): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!pattern.test(stderr()) && Date.now() < deadline && child.exitCode === null)
    await new Promise((r) => setTimeout(r, 100));
}

/**
 * `fedicap testbed` on a database, Redis index and media directory of its own; `restart` starts it again
 * on the same ones (once the first has exited); `cleanup` drops them.
 */
async function startCli(...args: string[]) {
  const redisDb = await claimRedisDb();
  const dir = mkdtempSync(join(tmpdir(), 'fedicap-testbed-cli-'));
  const dbName = testDatabaseName();
  const spawnCli = (more: string[]) => {
    const child = spawn(
      process.execPath,
      [
        MAIN,
        'testbed',
        '--port',
        '0',
        '--database-url',
        testDatabaseUrl(dbName),
        '--redis-url',
        `${REDIS_URL}/${redisDb.index}`,
        '--media-dir',
        join(dir, 'media'),
        ...more.map((a) => a.replace('$DIR', dir)),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stderr.on('data', (d) => (cli.log += String(d)));
    return child;
  };
  const cli = {
    log: '',
    child: undefined as unknown as ChildProcess,
    dir,
    dbName,
    stderr: () => cli.log,
    restart(...more: string[]) {
      cli.log = '';
      cli.child = spawnCli(more);
    },
    async cleanup() {
      if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
      await redisDb.release();
      rmSync(dir, { recursive: true, force: true });
      await dropTestDatabase(dbName);
    },
  };
  cli.child = spawnCli(args);
  return cli;
}

/** The local accounts' usernames and how many tokens each has, from the testbed's database. */
async function accountsIn(dbName: string): Promise<Record<string, number>> {
  const c = new pg.Client({ connectionString: testDatabaseUrl(dbName) });
  await c.connect();
  try {
    const { rows } = await c.query<{ username: string; n: number }>(
      `SELECT a.username, count(t.id)::int AS n FROM accounts a JOIN users u ON u.account_id = a.id
       LEFT JOIN oauth_access_tokens t ON t.resource_owner_id = u.id WHERE a.domain IS NULL
       GROUP BY a.username ORDER BY a.username`,
    );
    return Object.fromEntries(rows.map((r) => [r.username, r.n]));
  } finally {
    await c.end();
  }
}

describe('fedicap testbed', () => {
  it('starts on loopback with its processes, seeds accounts with an owner-only tokens file, and stops cleanly on SIGTERM', async () => {
    const cli = await startCli(
      '--sidekiq',
      '2x -c 4 -q default,8 -q push,6 -q ingress,4 -q mailers,2 -q pull',
      '--sidekiq',
      '-c 1 -q scheduler',
      '--web-concurrency',
      '3',
      '--seed-accounts',
      '30',
      '--tokens-out',
      '$DIR/tokens.json',
    );
    const { child, stderr } = cli;
    const tokensFile = join(cli.dir, 'tokens.json');
    try {
      await waitForOutput(child, stderr, /seeded \d+ accounts/);
      expect(stderr()).toMatch(/seeded 30 accounts and \d+ follows/);
      const pids = pidsIn(stderr());
      expect(Object.keys(pids).sort()).toEqual([
        'sidekiq -c 1 -q scheduler',
        'sidekiq -c 4 -q default,8 -q push,6 -q ingress,4 -q mailers,2 -q pull',
        'streaming',
        'web',
      ]);
      expect(pids.web).toHaveLength(3);
      expect(pids['sidekiq -c 4 -q default,8 -q push,6 -q ingress,4 -q mailers,2 -q pull']).toHaveLength(2);
      const all = Object.values(pids).flat();
      expect(all).toHaveLength(7);
      expect(all).not.toContain(child.pid);
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr())![1]!;
      const tokens = JSON.parse(readFileSync(tokensFile, 'utf8')) as { username: string; token: string }[];
      expect(tokens).toHaveLength(30);
      expect(statSync(tokensFile).mode & 0o777).toBe(0o600);
      for (const t of tokens) expect(stderr()).not.toContain(t.token);
      const me = await fetch(`${url}/api/v1/accounts/verify_credentials`, {
        headers: { Authorization: `Bearer ${tokens[0]!.token}` },
      });
      expect(me.status).toBe(200);
      expect((await me.json()).username).toBe(tokens[0]!.username);
      child.kill('SIGTERM');
      const code = await new Promise((r) => child.once('exit', r));
      expect(code).toBe(0);
      expect(stderr()).toContain('stopping');
      for (const pid of all) expect(alive(pid), `process ${pid}`).toBe(false);
    } finally {
      await cli.cleanup();
    }
  }, 60_000);

  it('seeding again on the same database reuses the accounts with new tokens, tops them up, and rewrites the tokens file', async () => {
    const cli = await startCli('--seed-accounts', '3', '--tokens-out', '$DIR/tokens.json');
    const tokensFile = join(cli.dir, 'tokens.json');
    const stop = async () => {
      cli.child.kill('SIGTERM');
      return new Promise((r) => cli.child.once('exit', r));
    };
    try {
      await waitForOutput(cli.child, cli.stderr, /seeded \d+ accounts/);
      expect(cli.stderr()).toMatch(/seeded 3 accounts and \d+ follows/);
      const first = JSON.parse(readFileSync(tokensFile, 'utf8')) as { username: string; token: string }[];
      expect(await stop()).toBe(0);
      writeFileSync(tokensFile, 'stale', { mode: 0o644 });

      cli.restart('--seed-accounts', '5', '--tokens-out', '$DIR/tokens.json');
      await waitForOutput(cli.child, cli.stderr, /seeded \d+ accounts|fedicap: /);
      expect(cli.stderr()).toMatch(
        /seeded 5 accounts \(3 existing with new tokens, 2 created\) and \d+ follows/,
      );
      expect(cli.stderr()).not.toMatch(/duplicate key|\n\s+at /);
      const second = JSON.parse(readFileSync(tokensFile, 'utf8')) as { username: string; token: string }[];
      expect(second.map((t) => t.username)).toEqual(['user1', 'user2', 'user3', 'user4', 'user5']);
      expect(statSync(tokensFile).mode & 0o777).toBe(0o600);
      expect(second.slice(0, 3).map((t) => t.token)).not.toEqual(first.map((t) => t.token));
      // One account each, the first three with the token of each start.
      expect(await accountsIn(cli.dbName)).toEqual({ user1: 2, user2: 2, user3: 2, user4: 1, user5: 1 });
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(cli.stderr())![1]!;
      for (const t of [second[0]!, second[4]!]) {
        const me = await fetch(`${url}/api/v1/accounts/verify_credentials`, {
          headers: { Authorization: `Bearer ${t.token}` },
        });
        expect(me.status).toBe(200);
        expect((await me.json()).username).toBe(t.username);
      }
      expect(await stop()).toBe(0);
    } finally {
      await cli.cleanup();
    }
  }, 90_000);

  it('a --tokens-out that cannot be written is refused before the database is touched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedicap-tokens-'));
    try {
      for (const [path, pattern] of [
        [
          join(dir, 'missing', 'tokens.json'),
          /--tokens-out .*missing\/tokens.json: cannot write there \(ENOENT\)/,
        ],
        [dir, /--tokens-out .*: is a directory, expected a file name/],
      ] as const) {
        const dbName = testDatabaseName();
        const r = fedicap(
          'testbed',
          '--port',
          '0',
          '--database-url',
          testDatabaseUrl(dbName),
          '--redis-url',
          `${REDIS_URL}/0`,
          '--media-dir',
          join(dir, 'media'),
          '--seed-accounts',
          '3',
          '--tokens-out',
          path,
        );
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(pattern);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
        await admin.connect();
        const created = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
        await admin.end();
        expect(created.rowCount).toBe(0);
        expect(existsSync(join(dir, 'media'))).toBe(false);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves no process behind when the primary is killed: each stops when its IPC channel closes', async () => {
    const cli = await startCli('--sidekiq', '-c 2');
    try {
      await waitForOutput(cli.child, cli.stderr, /streaming: \d+/);
      const all = Object.values(pidsIn(cli.stderr())).flat();
      expect(all).toHaveLength(4);
      cli.child.kill('SIGKILL');
      const deadline = Date.now() + 20_000;
      while (all.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(all.filter(alive)).toEqual([]);
    } finally {
      await cli.cleanup();
    }
  }, 60_000);

  it('--print-profile prints the infrastructure of this testbed, which the profile loader accepts', async () => {
    const dbName = testDatabaseName();
    const infrastructure = printedProfile(
      '--database-url',
      testDatabaseUrl(dbName),
      '--redis-url',
      `${REDIS_URL}/0`,
      '--sidekiq',
      '2x -c 5 -q default,8 -q push,6',
      '--sidekiq',
      '-c 3 -q ingress,4 -q mailers,2 -q pull -q scheduler',
      '--web-concurrency',
      '3',
      '--max-threads',
      '4',
      '--db-pool',
      '9',
    );
    const host = hostname();
    expect(infrastructure.hosts).toEqual([
      {
        name: host,
        cores: availableParallelism(),
        memoryGiB: Math.round((totalmem() / 2 ** 30) * 100) / 100,
        services: ['web', 'sidekiq', 'postgres', 'redis', 'streaming'],
      },
    ]);
    expect(infrastructure.sidekiq).toEqual([
      { host, processes: 2, command: '-c 5 -q default,8 -q push,6', dbPool: 9 },
      { host, processes: 1, command: '-c 3 -q ingress,4 -q mailers,2 -q pull -q scheduler', dbPool: 9 },
    ]);
    expect(infrastructure.puma).toEqual({ host, webConcurrency: 3, maxThreads: 4 });
    expect(infrastructure.streaming).toMatchObject({ host, processes: 1, dbPoolPerProcess: 9 });
    const settings = await postgresSettings();
    expect(infrastructure.postgres).toEqual({
      host,
      cores: availableParallelism(),
      maxConnections: settings.maxConnections,
      readReplica: null,
      pgbouncer: null,
    });
    const redis = new Redis(`${REDIS_URL}/0`);
    const [, maxmemory] = (await redis.config('GET', 'maxmemory')) as [string, string];
    redis.disconnect();
    expect(infrastructure.redis.maxmemoryMB).toBe(Math.round((Number(maxmemory) || totalmem()) / 2 ** 20));
    // The media directory does not exist yet: its disk is the temporary directory's.
    expect(infrastructure.storage).toMatchObject({
      kind: 'disk',
      databaseOnSameDisk: statSync(settings.dataDirectory).dev === statSync(tmpdir()).dev,
    });
    const disk = statfsSync(tmpdir());
    expect(infrastructure.storage.capacityGB).toBe(Math.round((disk.blocks * disk.bsize) / 1e7) / 100);

    // Nothing was started or created.
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    const created = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
    await admin.end();
    expect(created.rowCount).toBe(0);
  });

  it.skipIf(pgbouncerUnavailable() !== null)(
    '--print-profile through PgBouncer reports its pool',
    async () => {
      const bouncer = await startPgBouncer(3);
      try {
        const infrastructure = printedProfile(
          '--database-url',
          bouncer.urlFor(testDatabaseName()),
          '--redis-url',
          `${REDIS_URL}/0`,
        );
        expect(infrastructure.postgres.pgbouncer).toEqual({ poolSize: 3, maxClientConn: 200 });
      } finally {
        await bouncer.stop();
      }
    },
  );

  it('--print-profile refuses a configuration that is no valid profile, naming what is wrong', () => {
    for (const [args, pattern] of [
      [
        ['--sidekiq', '-c 5 -q default'],
        /no Sidekiq process serves queue\(s\) push, ingress, mailers, pull, scheduler/,
      ],
      [['--sidekiq', '2x -c 5'], /the scheduler queue must be served by exactly one process, found 2/],
      [
        ['--redis-url', 'redis://127.0.0.1:1/3'],
        /cannot describe the testbed: Redis at redis:\/\/127.0.0.1:1\/3/,
      ],
    ] as const) {
      const r = fedicap('testbed', '--print-profile', ...args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe('');
    }
  });

  it('--relay subscribes at start as Administration → Relays: the Follow reaches the relay, whose Accept enables it', async () => {
    const fleet = await startFleet({ instances: 1, actorsPerInstance: 2, mediaSizesBytes: [8 * 1024] });
    const inbox = fleet.manifest.relay.inbox;
    const cli = await startCli('--resolve', `fleet.test=127.0.0.1:${fleet.port}`, '--relay', inbox);
    try {
      await waitForOutput(cli.child, cli.stderr, /accepted|rejected|no answer/);
      expect(cli.stderr()).toContain(`relay ${inbox}: Follow sent; pending until the relay accepts`);
      expect(cli.stderr()).toContain(`relay ${inbox}: accepted`);
      const follow = fleet.deliveries().find((d) => d.inbox === inbox && d.type === 'Follow');
      expect(follow).toMatchObject({ signatureOk: true, status: 202 });
      expect(follow!.keyId).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/actor#main-key$/);
      expect(fleet.stats().accepts).toMatchObject({ sent: 1, failed: 0 });
      cli.child.kill('SIGTERM');
      expect(await new Promise((r) => cli.child.once('exit', r))).toBe(0);
    } finally {
      await cli.cleanup();
      await fleet.stop();
    }
  }, 60_000);

  it('stores it cannot use are refused before it serves: exit 2 naming the flag, no database created', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedicap-testbed-stores-'));
    writeFileSync(join(dir, 'file'), 'x');
    try {
      for (const [args, pattern] of [
        [
          ['--redis-url', `${REDIS_URL}/99`],
          /^fedicap: --redis-url: cannot start the testbed: Redis at redis:.*\/99 has no database index 99 \(ERR DB index is out of range\)$/,
        ],
        [
          ['--media-dir', join(dir, 'file')],
          /^fedicap: --media-dir: cannot start the testbed: media directory .*\/file: .*\/file is a file, not a directory$/,
        ],
        [
          ['--media-dir', join(dir, 'file', 'sub')],
          /^fedicap: --media-dir: .*\/file is a file, not a directory$/,
        ],
        [
          ['--database-url', 'postgres://postgres@127.0.0.1:1/fedicap_test_unreachable'],
          /^fedicap: --database-url: cannot start the testbed: PostgreSQL at .*127.0.0.1:1\/.* ECONNREFUSED/,
        ],
      ] as const) {
        const dbName = testDatabaseName();
        const flags: Record<string, string> = {
          '--port': '0',
          '--database-url': testDatabaseUrl(dbName),
          '--redis-url': `${REDIS_URL}/0`,
          '--media-dir': join(dir, 'media'),
          [args[0]]: args[1],
        };
        const r = fedicap('testbed', ...Object.entries(flags).flat());
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
        expect(r.stderr.trim()).toMatch(pattern);
        expect(r.stderr).not.toMatch(/listening|\n\s+at |ioredis/);
        const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
        await admin.connect();
        const created = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
        await admin.end();
        expect(created.rowCount).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects bad flags with exit 2 and no stack trace', () => {
    for (const [args, pattern] of [
      [['--resolve', 'remote.test'], /--resolve "remote.test": expected SUFFIX=HOST:PORT/],
      [['--resolve', 'remote.test=10.0.0.5:4000'], /not a loopback address/],
      [['--host', '0.0.0.0'], /binds to loopback only/],
      [['--seed-accounts', '5'], /--seed-accounts needs --tokens-out/],
      [['--sidekiq', '-c 5 -q fast'], /--sidekiq "-c 5 -q fast": unknown queue "fast"/],
      [['--sidekiq', '0x -c 5'], /--sidekiq "0x -c 5": a unit runs at least 1 process/],
      [
        ['--web-concurrency', '0'],
        /--web-concurrency must be a whole number of at least 1 \(web worker processes\), got 0/,
      ],
      [['--max-threads', '2.5'], /--max-threads must be a whole number of at least 1 .*, got 2.5/],
      [
        ['--port', '70000'],
        /--port must be a whole number from 0 to 65535 \(a TCP port; 0 picks a free one\)/,
      ],
      [
        ['--database-url', 'notaurl'],
        /--database-url notaurl: not a URL \(expected postgres:\/\/ or postgresql/,
      ],
      [['--redis-url', 'redis://127.0.0.1:1/x'], /--redis-url .*: the path must be a database index/],
      [
        ['--redis-url', 'redis://127.0.0.1:1/3', '--port', '0'],
        /--redis-url: cannot start the testbed: Redis at redis:\/\/127.0.0.1:1\/3 is not reachable/,
      ],
      [
        ['--relay', 'relay.fleet.test/inbox'],
        /--relay "relay.fleet.test\/inbox": expected the relay's inbox URL/,
      ],
      [['--relay', 'ftp://relay.fleet.test/inbox'], /--relay "ftp:.*": expected an http or https URL/],
      [
        ['--relay', 'http://relay.fleet.test/inbox'],
        /--relay "http:.*": plain http reaches only hosts a --resolve rule covers/,
      ],
    ] as const) {
      const r = fedicap('testbed', ...args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

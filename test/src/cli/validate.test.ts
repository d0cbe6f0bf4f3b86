/**
 * `fedicap validate testbed` through the built CLI, as a user runs it: a short climb (2 plateaus of 2 s)
 * against the world it starts on a fresh PostgreSQL database and a claimed Redis index. The assertions
 * check what the run did (requests per station in k6.ndjson, statuses stored in the testbed's database,
 * deliveries the fleet recorded) and that nothing outlives the command: every process it listed is gone
 * and its Redis index is empty again. Not the accuracy of the comparison: that is a benchmark.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, tempDir, waitFor } from '../../support/helpers.js';
import {
  claimRedisDb,
  dropTestDatabase,
  REDIS_URL,
  testDatabaseName,
  testDatabaseUrl,
} from '../../support/isolation.js';
import { MAIN } from '../../support/paths.js';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI in a child process; `onStderr` sees its stderr as it comes (to interrupt it at a moment). */
function fedicap(
  args: string[],
  onStderr?: (soFar: string, child: ChildProcess) => void,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function expectInputError(r: CliResult, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
}

/** The processes the command listed once its world had started: "  NAME: PID" lines. */
function listedProcesses(stderr: string): Map<string, number> {
  const block = stderr.split('world started:')[1] ?? '';
  return new Map([...block.matchAll(/^ {2}([\w.-]+): (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
}

/** Every process on the machine as ps lists it: pid and parent pid. */
function psTable(): { pid: number; ppid: number }[] {
  const text = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' });
  return [...text.matchAll(/^\s*(\d+)\s+(\d+)$/gm)].map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]) }));
}

/** Listed processes still running, and any process one of them started that still runs under it. */
function leftOver(pids: number[]): number[] {
  return psTable()
    .filter((p) => pids.includes(p.pid) || pids.includes(p.ppid))
    .map((p) => p.pid);
}

/** http_reqs points of a k6.ndjson.gz: their station tags. */
function stationsOf(k6File: string): string[] {
  return gunzipSync(readFileSync(k6File))
    .toString('utf8')
    .split('\n')
    .filter((line) => line.includes('"http_reqs"'))
    .map(
      (line) => JSON.parse(line) as { type: string; metric: string; data: { tags?: Record<string, string> } },
    )
    .filter((l) => l.type === 'Point' && l.metric === 'http_reqs')
    .map((l) => l.data.tags?.station ?? '');
}

const dbNames: string[] = [];
/** A database name no one has used: the command creates it. */
function freshDatabaseUrl(): string {
  const name = testDatabaseName();
  dbNames.push(name);
  return testDatabaseUrl(name);
}

async function countIn(databaseUrl: string, sql: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>(sql)).rows[0]!.n);
  } finally {
    await client.end();
  }
}

async function redisKeys(url: string): Promise<number> {
  const redis = new Redis(url);
  try {
    return await redis.dbsize();
  } finally {
    redis.disconnect();
  }
}

const SHORT = ['--steps', '2', '--step-duration', '2s', '--scale', '1'];

describe('fedicap validate testbed: bad input', () => {
  it.each([
    [['--steps', '0'], /--steps must be an integer >= 1, got 0/],
    [['--steps', '1.5'], /--steps must be an integer >= 1/],
    [['--step-duration', 'soon'], /--step-duration: "soon" is not a duration/],
    [['--step-from', '2', '--step-to', '1'], /--step-to \(1\) must be at least --step-from \(2\)/],
    [['--scale', '-1'], /--scale must be a number > 0, got -1/],
    [['--sidekiq', '-c 0 -q push'], /--sidekiq "-c 0 -q push": "-c" needs a positive integer/],
    [['--redis-url', 'redis://127.0.0.1:6379'], /--redis-url .*: name a database index of its own/],
    [['--database-url', 'mysql://x/y'], /--database-url mysql:\/\/x\/y: expected a postgres:\/\/ URL/],
    [['--format', 'xml'], /Argument: format, Given: "xml"/],
  ])('%j: exit 2, the flag named, nothing created', async (flags, pattern) => {
    const out = join(tempDir('fedicap-validate-bad-'), 'out');
    expectInputError(await fedicap(['validate', 'testbed', '--out', out, ...flags]), pattern);
    expect(existsSync(out)).toBe(false);
  });

  it('an --out that is a file, or under one: exit 2 naming --out', async () => {
    const file = join(tempDir('fedicap-validate-bad-'), 'file');
    writeFileSync(file, 'x');
    expectInputError(
      await fedicap(['validate', 'testbed', '--out', file]),
      /--out .*file: cannot create directory \(EEXIST\)/,
    );
    expectInputError(
      await fedicap(['validate', 'testbed', '--out', join(file, 'sub')]),
      /--out .*sub: cannot create directory \(ENOTDIR\)/,
    );
  });

  it('stores that already hold something are refused before anything starts, naming the flag', async () => {
    const redisDb = await claimRedisDb();
    try {
      const redisUrl = `${REDIS_URL}/${redisDb.index}`;
      const redis = new Redis(redisUrl);
      await redis.set('someone:else', '1');
      redis.disconnect();
      const out = join(tempDir('fedicap-validate-busy-'), 'out');
      const r = await fedicap([
        'validate',
        'testbed',
        '--out',
        out,
        '--redis-url',
        redisUrl,
        '--database-url',
        freshDatabaseUrl(),
      ]);
      expectInputError(
        r,
        /--redis-url .*: this Redis database index holds 1 keys; validation needs an empty index/,
      );
      expect(r.stderr).not.toMatch(/fleet on|testbed on/);
      expect(await redisKeys(redisUrl)).toBe(1); // not the command's to empty
    } finally {
      await redisDb.release();
    }
  });
});

describe('fedicap validate testbed: a short run end to end', () => {
  let redisDb: Awaited<ReturnType<typeof claimRedisDb>>;
  let redisUrl: string;

  beforeAll(async () => {
    redisDb = await claimRedisDb();
    redisUrl = `${REDIS_URL}/${redisDb.index}`;
  });

  afterAll(async () => {
    await redisDb?.release();
    for (const name of dbNames) await dropTestDatabase(name);
  });

  it('starts the world, climbs the steps against it, prints the comparison per station and stops everything', async () => {
    const out = join(tempDir('fedicap-validate-'), 'out');
    const databaseUrl = freshDatabaseUrl();
    const r = await fedicap([
      'validate',
      'testbed',
      '--out',
      out,
      '--database-url',
      databaseUrl,
      '--redis-url',
      redisUrl,
      ...SHORT,
      '--format',
      'json',
    ]);
    expect(r.code, r.stderr.slice(-4000)).toBe(0);

    // the world: one Sidekiq process per queue under test, two web workers, streaming, the primary
    const processes = listedProcesses(r.stderr);
    expect([...processes.keys()].sort()).toEqual(
      [
        'primary',
        'web-1',
        'web-2',
        'sidekiq-ingress-1',
        'sidekiq-push-1',
        'sidekiq-default-1',
        'sidekiq-mailers_pull_scheduler-1',
        'streaming',
      ].sort(),
    );
    // the tokens and the fleet's private keys lived only as long as the world (mode 0600 meanwhile)
    for (const secret of ['tokens.json', 'fleet-manifest.json'])
      expect(existsSync(join(out, 'world', secret)), secret).toBe(false);

    // the run: requests on several stations, inbound federation among them
    const stations = new Set(stationsOf(join(out, 'run', 'k6.ndjson.gz')));
    expect(stations).toContain('inbox');
    expect(stations).toContain('timelines/home');
    expect(stations.size).toBeGreaterThanOrEqual(3);
    expect(JSON.parse(readFileSync(join(out, 'run', 'run.json'), 'utf8'))).toMatchObject({ engine: 'local' });

    // its effects: local posts and fleet actors' Creates stored as statuses, deliveries recorded by the fleet
    expect(
      await countIn(
        databaseUrl,
        'SELECT count(*) AS n FROM statuses s JOIN accounts a ON a.id = s.account_id WHERE a.domain IS NULL',
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await countIn(
        databaseUrl,
        "SELECT count(*) AS n FROM statuses s JOIN accounts a ON a.id = s.account_id WHERE a.domain LIKE '%.fleet.test'",
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(
      readFileSync(join(out, 'run', 'deliveries.ndjson'), 'utf8')
        .trim()
        .split('\n').length,
    ).toBeGreaterThanOrEqual(1);

    // the collector observed the run beside k6, on the same clock
    const samples = readFileSync(join(out, 'run', 'samples.ndjson'), 'utf8')
      .trim()
      .split('\n');
    expect(samples.length).toBeGreaterThan(1);

    // the analysis, printed and written: the stations, a prediction and a measurement for each
    const printed = JSON.parse(r.stdout) as {
      runDir: string;
      stations: { station: string; processes: number; threads: number; processNames: string[] }[];
      lightSteps: number[];
      rows: { station: string; predictedSaturationPerSec: number | null; measuredMaxPerSec: number }[];
    };
    expect(printed.lightSteps).toEqual([0]);
    // the calibration of the light steps the predictions came from, naming the testbed
    expect(JSON.parse(readFileSync(join(out, 'calibration.json'), 'utf8')).target.kind).toBe('testbed');
    expect(printed.rows.map((row) => row.station)).toEqual(['ingress', 'push', 'default', 'web']);
    // what the short run did: jobs on ingress and requests on the web, each measured
    const row = (station: string) => printed.rows.find((x) => x.station === station)!;
    expect(row('ingress').measuredMaxPerSec).toBeGreaterThan(0);
    expect(row('web').measuredMaxPerSec).toBeGreaterThan(0);
    expect(printed.runDir).toBe(join(out, 'run'));
    expect(printed.stations.map((s) => [s.station, s.processes, s.threads])).toEqual([
      ['ingress', 1, 5],
      ['push', 1, 5],
      ['default', 1, 5],
      ['web', 2, 5],
    ]);
    expect(JSON.parse(readFileSync(join(out, 'validation.json'), 'utf8'))).toEqual(printed);
    expect(JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8'))).toEqual({
      steps: 2,
      stepSec: 2,
      fromMultiple: 0.5,
      toMultiple: 4,
      scale: 1,
      // the load generator ran ahead of the testbed (lowering a nice value takes root's privilege)
      prioritized: process.getuid?.() === 0 ? ['primary'] : [],
    });

    // nothing left running, the Redis index emptied
    for (const [name, pid] of processes) expect(alive(pid), `${name} (${pid})`).toBe(false);
    expect(leftOver([...processes.values()])).toEqual([]);
    expect(await redisKeys(redisUrl)).toBe(0);
  }, 150_000);

  it('Ctrl-C during the run stops the run, the testbed and the fleet: exit 130, nothing left running', async () => {
    const out = join(tempDir('fedicap-validate-int-'), 'out');
    let interrupted = false;
    const r = await fedicap(
      [
        'validate',
        'testbed',
        '--out',
        out,
        '--database-url',
        freshDatabaseUrl(),
        '--redis-url',
        redisUrl,
        '--steps',
        '3',
        '--step-duration',
        '30s',
      ],
      (soFar, child) => {
        if (!interrupted && soFar.includes('local executor:')) {
          interrupted = true;
          setTimeout(() => child.kill('SIGINT'), 1_000);
        }
      },
    );
    expect(interrupted, r.stderr.slice(-4000)).toBe(true);
    expect(r.code, r.stderr.slice(-4000)).toBe(130);
    expect(r.stderr).toMatch(/exit code 105/); // the engine stopped as k6 does on Ctrl-C
    const processes = listedProcesses(r.stderr);
    expect(processes.size).toBe(8);
    await waitFor(
      () => [...processes.values()].every((pid) => !alive(pid)),
      'every listed process gone',
      5_000,
    );
    expect(await redisKeys(redisUrl)).toBe(0);
    expect(existsSync(join(out, 'validation.json'))).toBe(false);
  }, 150_000);
});

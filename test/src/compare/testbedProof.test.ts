/**
 * The proof of `fedicap compare` on the testbed: short runs of mixed.ts with the local executor and the
 * collector, as a user runs before and after an upgrade (bench/compare/proofWorld.ts). Two runs of the
 * same testbed: no regression, exit 0. The testbed restarted on the same stores with
 * `--inject-delay timelines/home=20ms`: exit 1 naming the home timeline. (`--inject-cpu
 * FeedInsertWorker=3ms` is not asserted: in 30 s steady runs the per-job CPU regression's intervals
 * spanned ±200 %, and +151 % went unnoticed; bench:compare measures it.) The compare is the built CLI's, as
 * a user runs it. Runs of 30 s read in 2 s windows (15 per run).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProofWorld, type ProofRun } from '../../../bench/compare/proofWorld.js';
import { MAIN } from '../../support/paths.js';
import { CHILD_EXEC_ARGV, claimRedisDb, PG_ADMIN_URL, REDIS_URL } from '../../support/testbed.js';

const RUN_SEC = 30;

function compare(base: ProofRun, candidate: ProofRun) {
  const r = spawnSync(
    process.execPath,
    [MAIN, 'compare', base.dir, candidate.dir, '--window', '2s', '--format', 'md'],
    { encoding: 'utf8', timeout: 120_000 },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The lines of the Markdown's regressions section. */
const regressions = (md: string) =>
  (/## Regressions, worst first\n\n((?:- .*\n)+)/.exec(md)?.[1] ?? '').trim().split('\n').filter(Boolean);

describe('fedicap compare on the testbed: a known regression found, none invented', () => {
  let world: ProofWorld;
  let dir: string;
  let redisDb: Awaited<ReturnType<typeof claimRedisDb>>;
  const dbName = `fedicap_test_proof_${process.pid}`;
  let same: ProofRun;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fedicap-compare-proof-'));
    redisDb = await claimRedisDb();
    world = await ProofWorld.start({
      dir,
      databaseUrl: PG_ADMIN_URL.replace(/\/[^/]*$/, `/${dbName}`),
      redisUrl: `${REDIS_URL}/${redisDb.index}`,
      childExecArgv: CHILD_EXEC_ARGV,
    });
  }, 120_000);

  afterAll(async () => {
    await world?.stop();
    await redisDb?.release();
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  // Every run but the first follows a restart (the first follows the start): a freshly started testbed is
  // colder than one that has served a run, and a restart alone is no regression.
  it('two runs of the same testbed, restarted between them: no regression, exit 0', async () => {
    const base = await world.run('base', RUN_SEC);
    await world.restart(undefined);
    same = await world.run('same', RUN_SEC);
    const r = compare(base, same);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^# fedicap compare: no regression/);
    // both sides compared, the per-job CPU included
    expect(r.stdout).toMatch(/\| timelines\/home \| p95 \|/);
    expect(r.stdout).toMatch(/\| Sidekiq job class \| FeedInsertWorker \| CPU per job \|/);
  }, 150_000);

  it('timelines/home delayed 20 ms: exit 1, the home timeline named', async () => {
    await world.restart({ delayMs: { 'timelines/home': 20 }, cpuMs: {} });
    const slow = await world.run('delayed', RUN_SEC);
    const r = compare(same, slow);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(1);
    const named = regressions(r.stdout).filter((l) => /^- timelines\/home p\d\d \+\d+ % \(CI \+/.test(l));
    expect(named.length, r.stdout).toBeGreaterThanOrEqual(1);
  }, 150_000);
});

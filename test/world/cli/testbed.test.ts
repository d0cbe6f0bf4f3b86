import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { claimRedisDb, PG_ADMIN_URL, REDIS_URL } from '../../support/testbed.js';
import { MAIN } from '../../support/paths.js';

function fedicap(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

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

/** `fedicap testbed` on a database, Redis index and media directory of its own; `cleanup` drops them. */
async function startCli(name: string, ...args: string[]) {
  const redisDb = await claimRedisDb();
  const dir = mkdtempSync(join(tmpdir(), 'fedicap-testbed-cli-'));
  const dbName = `fedicap_test_cli_${name}_${process.pid}`;
  const child = spawn(
    process.execPath,
    [
      MAIN,
      'testbed',
      '--port',
      '0',
      '--database-url',
      PG_ADMIN_URL.replace(/\/[^/]*$/, `/${dbName}`),
      '--redis-url',
      `${REDIS_URL}/${redisDb.index}`,
      '--media-dir',
      join(dir, 'media'),
      ...args.map((a) => a.replace('$DIR', dir)),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  return {
    child,
    dir,
    stderr: () => stderr,
    async cleanup() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await redisDb.release();
      rmSync(dir, { recursive: true, force: true });
      const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
    },
  };
}

describe('fedicap testbed', () => {
  it('starts on loopback with its processes, seeds accounts with an owner-only tokens file, and stops cleanly on SIGTERM', async () => {
    const cli = await startCli(
      'seed',
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

  it('leaves no process behind when the primary is killed: each stops when its IPC channel closes', async () => {
    const cli = await startCli('orphans', '--sidekiq', '-c 2');
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

  it('rejects bad flags with exit 2 and no stack trace', () => {
    for (const [args, pattern] of [
      [['--resolve', 'remote.test'], /--resolve "remote.test": expected SUFFIX=HOST:PORT/],
      [['--resolve', 'remote.test=10.0.0.5:4000'], /not a loopback address/],
      [['--host', '0.0.0.0'], /binds to loopback only/],
      [['--seed-accounts', '5'], /--seed-accounts needs --tokens-out/],
      [['--sidekiq', '-c 5 -q fast'], /--sidekiq "-c 5 -q fast": unknown queue "fast"/],
      [['--sidekiq', '0x -c 5'], /--sidekiq "0x -c 5": a unit runs at least 1 process/],
      [['--web-concurrency', '0'], /--web-concurrency must be a positive integer, got 0/],
      [['--max-threads', '2.5'], /--max-threads must be a positive integer, got 2.5/],
      [['--redis-url', 'redis://127.0.0.1:1/3', '--port', '0'], /cannot start the testbed/],
    ] as const) {
      const r = fedicap('testbed', ...args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

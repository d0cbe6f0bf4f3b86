import { spawn, spawnSync } from 'node:child_process';
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

describe('fedicap testbed', () => {
  it('starts on loopback, seeds accounts with an owner-only tokens file, and stops cleanly on SIGTERM', async () => {
    const redisDb = await claimRedisDb();
    const dir = mkdtempSync(join(tmpdir(), 'fedicap-testbed-cli-'));
    const dbName = `fedicap_test_cli_${process.pid}`;
    const tokensFile = join(dir, 'tokens.json');
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
        '--sidekiq',
        '-c 4 -q default,8 -q push,6 -q ingress,4 -q mailers,2 -q pull -q scheduler',
        '--seed-accounts',
        '30',
        '--tokens-out',
        tokensFile,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    try {
      const deadline = Date.now() + 30_000;
      while (!/seeded \d+ accounts/.test(stderr) && Date.now() < deadline && child.exitCode === null) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(stderr).toMatch(/seeded 30 accounts and \d+ follows/);
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr)![1]!;
      const tokens = JSON.parse(readFileSync(tokensFile, 'utf8')) as { username: string; token: string }[];
      expect(tokens).toHaveLength(30);
      expect(statSync(tokensFile).mode & 0o777).toBe(0o600);
      for (const t of tokens) expect(stderr).not.toContain(t.token);
      const me = await fetch(`${url}/api/v1/accounts/verify_credentials`, {
        headers: { Authorization: `Bearer ${tokens[0]!.token}` },
      });
      expect(me.status).toBe(200);
      expect((await me.json()).username).toBe(tokens[0]!.username);
      child.kill('SIGTERM');
      const code = await new Promise((r) => child.once('exit', r));
      expect(code).toBe(0);
      expect(stderr).toContain('stopping');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await redisDb.release();
      rmSync(dir, { recursive: true, force: true });
      const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
    }
  }, 60_000);

  it('rejects bad flags with exit 2 and no stack trace', () => {
    for (const [args, pattern] of [
      [['--resolve', 'remote.test'], /--resolve "remote.test": expected SUFFIX=HOST:PORT/],
      [['--resolve', 'remote.test=10.0.0.5:4000'], /not a loopback address/],
      [['--host', '0.0.0.0'], /binds to loopback only/],
      [['--seed-accounts', '5'], /--seed-accounts needs --tokens-out/],
      [['--sidekiq', '-c 5 -q fast'], /--sidekiq "-c 5 -q fast": unknown queue "fast"/],
      [['--redis-url', 'redis://127.0.0.1:1/3', '--port', '0'], /cannot start the testbed/],
    ] as const) {
      const r = fedicap('testbed', ...args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

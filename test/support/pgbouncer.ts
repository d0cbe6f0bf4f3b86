import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BINARY = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((p) => existsSync(p)) ?? null;

/** Why PgBouncer tests cannot run here, or null when they can. */
export function pgbouncerUnavailable(): string | null {
  if (!BINARY) return 'pgbouncer is not installed (Debian package pgbouncer; .ci/run installs it)';
  return null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface PgBouncer {
  port: number;
  /** A database URL through PgBouncer for the given database name. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

/**
 * Debian's pgbouncer in transaction mode in front of the local PostgreSQL,
 * on a free loopback port, with a small server pool. PgBouncer refuses to run
 * as root, so as root it drops to the postgres user (-u).
 */
export async function startPgBouncer(poolSize: number): Promise<PgBouncer> {
  if (!BINARY) throw new Error(pgbouncerUnavailable()!);
  const dir = mkdtempSync(join(tmpdir(), 'fedicap-pgbouncer-'));
  chmodSync(dir, 0o777);
  const port = await freePort();
  writeFileSync(join(dir, 'userlist.txt'), '"postgres" ""\n');
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      '* = host=127.0.0.1 port=5432',
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${poolSize}`,
      'max_client_conn = 200',
      'admin_users = postgres',
      'ignore_startup_parameters = extra_float_digits,options',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
  );
  for (const f of ['userlist.txt', 'pgbouncer.ini']) chmodSync(join(dir, f), 0o644);
  const asRoot = process.getuid?.() === 0;
  const child: ChildProcess = spawn(
    BINARY,
    [...(asRoot ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += String(d)));
  // Wait (bounded) until it accepts connections.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = spawnSync('pg_isready', ['-h', '127.0.0.1', '-p', String(port), '-q']);
    if (probe.status === 0) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      const log = existsSync(join(dir, 'pgbouncer.log'))
        ? readFileSync(join(dir, 'pgbouncer.log'), 'utf8')
        : '';
      child.kill();
      throw new Error(`pgbouncer did not start: ${stderr}${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    urlFor: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async stop() {
      child.kill('SIGINT');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

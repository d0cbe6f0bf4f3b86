/**
 * The suite's own stores: a redis-server on a free loopback port (no persistence, in a temporary
 * directory, stopped at the end) unless FEDICAP_TEST_REDIS names one, and a mark for the PostgreSQL
 * databases this run creates, so that the end of the run drops those left behind and nothing else.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

const STARTUP_TIMEOUT_MS = 10_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Poll PING until it answers, bounded in time; the server's own words if it exited. */
async function untilAnswers(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}: ${log()}`);
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') return;
    } catch {
      // not listening yet
    } finally {
      probe.disconnect();
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server did not answer within ${STARTUP_TIMEOUT_MS / 1000} s: ${log()}`);
}

/** A redis-server of its own on a free loopback port, without persistence, in a temporary directory. */
export async function startRedisServer(): Promise<{ url: string; stop(): Promise<void> }> {
  if (spawnSync('redis-server', ['--version']).error)
    throw new Error(
      'the tests start their own redis-server, which is not installed; install it or set FEDICAP_TEST_REDIS',
    );
  const dir = mkdtempSync(join(tmpdir(), 'fedicap-test-redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child = spawn('redis-server', [...args, '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout?.on('data', (d) => (log = (log + String(d)).slice(-2000)));
  child.stderr?.on('data', (d) => (log = (log + String(d)).slice(-2000)));
  const url = `redis://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await untilAnswers(url, child, () => log.trim());
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, stop };
}

async function startRedis(): Promise<() => Promise<void>> {
  const { url, stop } = await startRedisServer();
  process.env.FEDICAP_TEST_REDIS = url;
  return stop;
}

export default async function setup(): Promise<() => Promise<void>> {
  // Test workers inherit this process's environment: they read both variables in isolation.ts.
  const run = process.env.FEDICAP_TEST_RUN ?? process.pid.toString(36);
  process.env.FEDICAP_TEST_RUN = run;
  const stopRedis = process.env.FEDICAP_TEST_REDIS ? async () => undefined : await startRedis();
  return async () => {
    await stopRedis();
    const { dropRunDatabases } = await import('./isolation.js');
    const dropped = await dropRunDatabases(run);
    if (dropped.length)
      console.log(`dropped ${dropped.length} test database(s) left behind: ${dropped.join(', ')}`);
  };
}

/**
 * Real Sidekiq processes for the benchmark: `sidekiq -r job.rb -c C -q bench`
 * against a Redis database index of their own. Every wait is bounded; stop()
 * sends SIGTERM and, after a timeout, SIGKILL, so no Ruby process outlives
 * the benchmark.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { PROCESSES_KEY } from '../../world/testbed/sidekiq/layout.js';
import { sleep } from '../testbed/clock.js';

/** The queue every benchmark job goes through. */
export const BENCH_QUEUE = 'bench';
/** Sidekiq's own shutdown timeout (`-t`): jobs are short, a stop need not wait 25 s. */
const SHUTDOWN_TIMEOUT_SEC = 3;
/** After SIGTERM, how long a process has before SIGKILL. */
const KILL_AFTER_MS = (SHUTDOWN_TIMEOUT_SEC + 5) * 1000;
const REGISTER_DEADLINE_MS = 30_000;

/** job.rb stays in the source tree (tsc does not copy it): from dist/bench/sidekiq or bench/sidekiq. */
export function jobFilePath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const inSource = here.replace(/\/dist\/bench\/sidekiq$/, '/bench/sidekiq');
  return join(inSource, 'job.rb');
}

/** Why the benchmark cannot run here, or undefined when ruby and sidekiq are installed. */
export function missingSidekiq(): string | undefined {
  for (const [cmd, flag] of [
    ['ruby', '-v'],
    ['sidekiq', '-V'],
  ] as const) {
    const r = spawnSync(cmd, [flag], { encoding: 'utf8', timeout: 20_000 });
    if (r.error || r.status !== 0) {
      return `\`${cmd}\` is not installed or does not run (${r.error?.message ?? `exit ${r.status}`}); install Debian's ruby-sidekiq package (apt-get install ruby-sidekiq), which brings Ruby and Sidekiq 6.4`;
    }
  }
  return undefined;
}

export interface PoolShape {
  processes: number;
  threads: number;
}

export interface Pool {
  readonly pids: readonly number[];
  stop(): Promise<void>;
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function stopChildren(children: readonly ChildProcess[]): Promise<void> {
  for (const c of children) if (!exited(c)) c.kill('SIGTERM');
  const clean = await Promise.all(children.map((c) => waitExit(c, KILL_AFTER_MS)));
  const stuck = children.filter((_, i) => !clean[i]);
  for (const c of stuck) c.kill('SIGKILL');
  await Promise.all(stuck.map((c) => waitExit(c, 5_000)));
}

function spawnSidekiq(shape: PoolShape, redisUrl: string, log: string[]): ChildProcess {
  const args = ['-r', jobFilePath(), '-c', String(shape.threads), '-q', BENCH_QUEUE];
  const child = spawn('sidekiq', [...args, '-t', String(SHUTDOWN_TIMEOUT_SEC)], {
    env: { ...process.env, REDIS_URL: redisUrl },
    // Sidekiq logs two lines per job to stdout, as in production; /dev/null keeps the pipe cheap.
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => log.push(chunk));
  return child;
}

/** Start the processes and wait until each has registered in Sidekiq's `processes` set. */
export async function startPool(shape: PoolShape, redisUrl: string, redis: Redis): Promise<Pool> {
  const log: string[] = [];
  const children = Array.from({ length: shape.processes }, () => spawnSidekiq(shape, redisUrl, log));
  const pool: Pool = { pids: children.map((c) => c.pid ?? -1), stop: () => stopChildren(children) };
  const deadline = Date.now() + REGISTER_DEADLINE_MS;
  while ((await redis.scard(PROCESSES_KEY)) < shape.processes) {
    const dead = children.find(exited);
    if (dead || Date.now() > deadline) {
      await pool.stop();
      const why = dead ? `a sidekiq process exited (${dead.exitCode ?? dead.signalCode})` : 'timed out';
      throw new Error(`Sidekiq did not start: ${why}\n${log.join('').slice(-2000)}`);
    }
    await sleep(50);
  }
  return pool;
}

export const CLOCK_TICKS_PER_SEC =
  Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU time (user + system) a process has used, from /proc/<pid>/stat. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3 (state).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / CLOCK_TICKS_PER_SEC;
}

/** True while a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

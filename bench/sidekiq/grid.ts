/**
 * The configurations the benchmark measures and the naive bound each is held
 * against. Every job takes about 20 ms: its CPU share of that is Ruby CPU
 * under the interpreter lock, the rest an I/O-like sleep.
 */
import type { JobShape } from './jobs.js';
import type { PoolShape } from './pool.js';

export interface Configuration extends PoolShape, JobShape {
  name: string;
}

const JOB_MS = 20;

function configuration(processes: number, threads: number, cpuShare: number): Configuration {
  const cpuMs = JOB_MS * cpuShare;
  return {
    name: `P${processes} c${threads} cpu ${Math.round(cpuShare * 100)}%`,
    processes,
    threads,
    cpuMs,
    waitMs: JOB_MS - cpuMs,
  };
}

/**
 * About 6 minutes on 2 cores: each CPU share on small and large pools, one to three processes,
 * where the interpreter lock, the threads, the host's cores or the framework bind.
 */
export const FULL_GRID: readonly Configuration[] = [
  configuration(1, 1, 1),
  configuration(1, 5, 1),
  configuration(2, 5, 1),
  configuration(3, 5, 1),
  configuration(1, 1, 0.5),
  configuration(1, 5, 0.5),
  configuration(1, 25, 0.5),
  configuration(3, 10, 0.5),
  configuration(1, 5, 0.2),
  configuration(1, 25, 0.2),
  configuration(2, 10, 0.2),
  configuration(3, 25, 0.2),
  configuration(1, 5, 0),
  configuration(1, 25, 0),
  configuration(2, 25, 0),
];

/**
 * The host's own costs, measured once on pools that isolate each (predict.ts turns them into the
 * model's wakeup and handoff times): one thread that only sleeps is woken twice per job (its fetch,
 * its sleep) and never waits for the lock; one process per core with two CPU-bound threads passes
 * its lock to a waiting thread at every job, with no free core to run it.
 */
export const platformConfigurations = (cores: number) => ({
  wakeup: { name: 'wakeup P1 c1 sleep 10 ms', processes: 1, threads: 1, cpuMs: 0, waitMs: 10 },
  handoff: { name: `handoff P${cores} c2 cpu 10 ms`, processes: cores, threads: 2, cpuMs: 10, waitMs: 0 },
});

/** `--quick`: under a minute, one lock-bound and one thread-bound pool. */
export const QUICK_GRID: readonly Configuration[] = [configuration(1, 5, 0.5), configuration(2, 5, 0.2)];

/** min(P·C/(cpu+wait), P/cpu, cores/cpu) in jobs per second: threads, the lock, the host's cores. */
export function naiveBoundPerSec(c: Configuration, cores: number): number {
  const cpuSec = c.cpuMs / 1000;
  const jobSec = (c.cpuMs + c.waitMs) / 1000;
  return Math.min((c.processes * c.threads) / jobSec, c.processes / cpuSec, cores / cpuSec);
}

/** The same bound with the framework's CPU per job added to the job's own: sizes the pre-filled queue. */
export function expectedPerSec(c: Configuration, cores: number, frameworkCpuMs: number): number {
  const cpuSec = (c.cpuMs + frameworkCpuMs) / 1000;
  const jobSec = (c.cpuMs + c.waitMs + frameworkCpuMs) / 1000;
  return Math.min((c.processes * c.threads) / jobSec, c.processes / cpuSec, cores / cpuSec);
}

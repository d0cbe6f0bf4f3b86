/**
 * A pool of identical Sidekiq processes on one host, as closed networks
 * (closedNetwork.ts): each process's `-c` threads cycle between its Ruby CPU,
 * serialised by the interpreter lock (one queueing station per process), and
 * I/O waits (a delay station). The lock holder also needs one of the host's
 * cores, which it shares with the other processes' lock holders and with
 * Redis when Redis runs there: a burst is stretched when more are runnable
 * than there are cores. The stretch is a mean-value estimate (as in the
 * Bard–Schweitzer arrival theorem, QSP §7.4): a running burst sees the others
 * runnable with their mean probability, and shares the cores with them:
 *   stretch = max(1, (1 + (P − 1)·U_lock + U_redis) / cores),
 * solved together with each process's exact MVA by fixed-point iteration.
 */
import { solveMva } from './closedNetwork.js';

export interface SidekiqPoolShape {
  processes: number;
  /** `-c` per process (already capped by DB_POOL). */
  threads: number;
  /** The job's own Ruby CPU (holds the interpreter lock). */
  jobCpuSec: number;
  /** The job's I/O: HTTP, PostgreSQL round trips, sleeps (releases the lock). */
  jobWaitSec: number;
  /** Sidekiq's own Ruby CPU per job: fetch, JSON, middleware, acknowledgement. */
  frameworkCpuSec: number;
  hostCores: number;
  /** Redis CPU per job (fetch and acknowledgement) when Redis runs on this host; 0 when elsewhere. */
  redisCpuSecPerJob: number;
}

export type PoolBottleneck = 'threads' | 'interpreter-lock' | 'host-cores' | 'redis';

export interface SidekiqPoolCapacity {
  /** X(n) for n = 1…processes·threads jobs in service, spread evenly over the processes. */
  throughputAt: number[];
  maxThroughputPerSec: number;
  /** How much a lock holder's CPU burst is slowed by the host's other runnable work (≥ 1). */
  cpuStretch: number;
  bottleneck: PoolBottleneck;
}

/** Throughput of the pool at each number of jobs in service, and what binds at full load. */
export function sidekiqPoolCapacity(shape: SidekiqPoolShape): SidekiqPoolCapacity {
  const cpuSec = shape.jobCpuSec + shape.frameworkCpuSec;
  let stretch = 1;
  let perProcess: number[] = [];
  for (let iteration = 0; iteration < 200; iteration++) {
    perProcess = processCurve(cpuSec * stretch, shape.jobWaitSec, shape.threads);
    const x = perProcess[shape.threads - 1]!;
    const lockBusy = Math.min(1, x * cpuSec * stretch);
    const redisBusy = Math.min(1, shape.processes * x * shape.redisCpuSecPerJob);
    const next = Math.max(1, (1 + (shape.processes - 1) * lockBusy + redisBusy) / shape.hostCores);
    const settled = Math.abs(next - stretch) < 1e-9;
    stretch = (stretch + next) / 2; // damped: the map can overshoot when cores are scarce
    if (settled) break;
  }
  const redisCap = shape.redisCpuSecPerJob > 0 ? 1 / shape.redisCpuSecPerJob : Infinity;
  const throughputAt = poolCurve(perProcess, shape.processes).map((x) => Math.min(x, redisCap));
  const maxThroughputPerSec = throughputAt[throughputAt.length - 1]!;
  return {
    throughputAt,
    maxThroughputPerSec,
    cpuStretch: stretch,
    bottleneck: bottleneckOf(shape, stretch, redisCap),
  };
}

/** One process: exact MVA over its threads (lock, then I/O). */
function processCurve(lockSec: number, waitSec: number, threads: number): number[] {
  return solveMva(
    [
      { name: 'interpreter lock', kind: 'queueing', demandSec: lockSec },
      { name: 'I/O wait', kind: 'delay', demandSec: waitSec },
    ],
    threads,
  ).map((s) => s.throughputPerSec);
}

/** n jobs spread over P processes: P·X_proc(n/P), interpolated between whole thread counts. */
function poolCurve(perProcess: readonly number[], processes: number): number[] {
  const at = (k: number) => (k <= 0 ? 0 : perProcess[k - 1]!);
  return Array.from({ length: perProcess.length * processes }, (_, i) => {
    const share = (i + 1) / processes;
    const low = Math.floor(share);
    return processes * (at(low) + (share - low) * (at(Math.min(low + 1, perProcess.length)) - at(low)));
  });
}

/** The tightest of the four asymptotic limits [QSP §5.2] at full load. */
function bottleneckOf(shape: SidekiqPoolShape, stretch: number, redisCapPerSec: number): PoolBottleneck {
  const cpuSec = shape.jobCpuSec + shape.frameworkCpuSec;
  const limits: [PoolBottleneck, number][] = [
    ['threads', (shape.processes * shape.threads) / (cpuSec + shape.jobWaitSec)],
    ['interpreter-lock', cpuSec > 0 ? shape.processes / cpuSec : Infinity],
    [
      'host-cores',
      cpuSec > 0 && stretch > 1 ? shape.hostCores / (cpuSec + shape.redisCpuSecPerJob) : Infinity,
    ],
    ['redis', redisCapPerSec],
  ];
  return limits.reduce((a, b) => (b[1] < a[1] ? b : a))[0];
}

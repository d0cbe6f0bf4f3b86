/**
 * A pool of identical Sidekiq processes on one host, as closed networks
 * (closedNetwork.ts): each process's `-c` threads cycle between its Ruby CPU,
 * serialised by the interpreter lock (one queueing station per process), and
 * I/O waits (a delay station). The lock holder also needs one of the host's
 * cores, which it shares with the other processes' lock holders and with
 * Redis when Redis runs there: a burst is stretched when more are runnable
 * than there are cores. The stretch is a mean-value estimate (as in the
 * Bard–Schweitzer arrival theorem, QSP §7.4): a running burst sees the others
 * runnable with their mean probability, and shares with them the cores that Redis and the rest of
 * the host leave:
 *   stretch = max(1, (1 + (P − 1)·U_lock) / (cores − U_redis − U_background)),
 * solved together with each process's MVA, at each population, by fixed-point iteration.
 *
 * Two costs of the operating system come on top, both measured per host by
 * `npm run bench:sidekiq`:
 * - each time a thread comes back from a wait (the fetch's round trip to Redis, each I/O phase) it
 *   is woken and must take the lock again: `wakeupSec` of latency per acquisition, off the lock;
 * - a contended lock passes from the thread that releases it to one that waits for it; that thread
 *   must be scheduled, and when no core is free it waits for the releasing thread to leave its
 *   core: `handoffSec` during which the lock is held by nobody. A waiter finds no free core when
 *   the host's other cores are all busy, (U_other / (cores − 1))^(cores − 1) if they are busy
 *   independently; it finds the lock taken with probability U_lock.
 */
import { lockAndDelayThroughput } from './closedNetwork.js';

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
  /**
   * Squared coefficient of variation of a job's CPU and wait times: 1 (exponential, default), 0
   * when fixed. Less variable lock times queue less (closedNetwork.ts), and so do jobs for threads.
   */
  timeScv?: number;
  /** Separate waits per job (each releases the lock and takes it again); default 1 when it waits at all. */
  ioPhases?: number;
  /** Latency of waking a thread and giving it the lock back, per acquisition (default 0). */
  wakeupSec?: number;
  /**
   * Latency from the push until an idle thread blocked in BRPOP runs the job (default: wakeupSec).
   * Latency only: the capacity does not depend on it.
   */
  pickupSec?: number;
  /** Time a contended lock is held by nobody while the next holder waits for a core (default 0). */
  handoffSec?: number;
  /** Cores used on the host by everything but these processes and Redis (default 0). */
  backgroundCores?: number;
}

export type PoolBottleneck = 'threads' | 'interpreter-lock' | 'host-cores' | 'redis';

export interface SidekiqPoolCapacity {
  /** X(n) for n = 1…processes·threads jobs in service, spread evenly over the processes. */
  throughputAt: number[];
  maxThroughputPerSec: number;
  /** How much a lock holder's CPU burst is slowed by the host's other runnable work (≥ 1). */
  cpuStretch: number;
  /** Per job, time the lock is held by nobody while it passes between threads (handoffs). */
  lockDeadSec: number;
  /** Per job and process: the lock's demand (CPU stretched, plus dead time) at full load, and the time off it. */
  lockSec: number;
  /**
   * The lock's demand per job with n = 1…processes·threads jobs in service in the pool, spread evenly
   * (a lighter load stretches less: with fewer jobs than processes, the idle processes leave their cores).
   */
  lockSecInService: number[];
  delaySec: number;
  bottleneck: PoolBottleneck;
}

/** Throughput of the pool at each number of jobs in service, and what binds at full load. */
export function sidekiqPoolCapacity(shape: SidekiqPoolShape): SidekiqPoolCapacity {
  const acquisitions = 1 + (shape.jobWaitSec > 0 ? (shape.ioPhases ?? 1) : 0);
  const delaySec = shape.jobWaitSec + acquisitions * (shape.wakeupSec ?? 0);
  // Each population k of jobs per process has its own stretch and dead time: a lightly loaded
  // pool leaves the host's cores freer than a full one. They vary smoothly with k, so they are solved
  // at Fibonacci-spaced k (1, 2, 3, 5, 8, …, and -c itself) and interpolated in between.
  const anchors = new Map<number, OperatingPoint>();
  let point: OperatingPoint = { throughputPerSec: 0, stretch: 1, deadSec: 0 };
  for (const k of anchorPopulations(shape.threads)) {
    point = operatingPoint(shape, k, delaySec, acquisitions, point);
    anchors.set(k, point);
  }
  const cpuSec = shape.jobCpuSec + shape.frameworkCpuSec;
  const lockSecAt = interpolated(anchors, shape.threads).map(
    ({ stretch, deadSec }) => cpuSec * stretch + deadSec,
  );
  const perProcess = lockSecAt.map((lock, i) =>
    lockAndDelayThroughput(lock, delaySec, i + 1, shape.timeScv ?? 1),
  );
  const redisCap = shape.redisCpuSecPerJob > 0 ? 1 / shape.redisCpuSecPerJob : Infinity;
  // The host's asymptotic bound [QSP §5.2], X·(CPU + Redis CPU) ≤ cores − background, holds exactly
  // (the fixed point is solved to a millionth and could pass it by that much).
  const coresLeft = Math.max(1e-3, shape.hostCores - (shape.backgroundCores ?? 0));
  const coresCap = coresLeft / (cpuSec + shape.redisCpuSecPerJob);
  // Fewer jobs than processes: n processes hold one job each, the others are idle and leave the cores.
  const curve = poolCurve(perProcess, shape.processes);
  const lockSecInService = curve.map((_, i) => lockSecAt[Math.ceil((i + 1) / shape.processes) - 1]!);
  for (let n = 1; n < Math.min(shape.processes, curve.length); n++) {
    const few = operatingPoint(shape, 1, delaySec, acquisitions, anchors.get(1)!, n);
    curve[n - 1] = n * few.throughputPerSec;
    lockSecInService[n - 1] = cpuSec * few.stretch + few.deadSec;
  }
  const throughputAt = curve.map((x) => Math.min(x, redisCap, coresCap));
  const maxThroughputPerSec = throughputAt[throughputAt.length - 1]!;
  const lockSec = cpuSec * point.stretch + point.deadSec;
  return {
    throughputAt,
    maxThroughputPerSec,
    cpuStretch: point.stretch,
    lockDeadSec: point.deadSec,
    lockSec,
    lockSecInService,
    delaySec,
    bottleneck: bottleneckOf(shape, point.stretch, redisCap),
  };
}

interface OperatingPoint {
  /** One process's throughput with k jobs in service in every process. */
  throughputPerSec: number;
  stretch: number;
  deadSec: number;
}

/**
 * One process's MVA at population k, solved together with the stretch and the dead time that the
 * other `active` − 1 processes (at k too; all of them by default), Redis and the background cause, by
 * damped fixed-point iteration from `start`. Redis and the background take their CPU off the top: they must get it, and the lock
 * holders share what is left (which keeps X·(CPU + Redis CPU) ≤ cores).
 */
function operatingPoint(
  shape: SidekiqPoolShape,
  k: number,
  delaySec: number,
  acquisitions: number,
  start: OperatingPoint,
  active = shape.processes,
): OperatingPoint {
  const cpuSec = shape.jobCpuSec + shape.frameworkCpuSec;
  let { stretch, deadSec } = start;
  let x = 0;
  for (let iteration = 0; iteration < 200; iteration++) {
    const lockSec = cpuSec * stretch + deadSec;
    x = lockAndDelayThroughput(lockSec, delaySec, k, shape.timeScv ?? 1);
    const redisBusy = Math.min(1, active * x * shape.redisCpuSecPerJob);
    const offTheTop = redisBusy + (shape.backgroundCores ?? 0);
    const otherHolders = (active - 1) * Math.min(1, x * cpuSec * stretch);
    const available = Math.max(1e-3, shape.hostCores - offTheTop);
    const nextStretch = Math.max(1, (1 + otherHolders) / available);
    const noFree = noFreeCore(otherHolders + offTheTop, shape.hostCores);
    const nextDead = acquisitions * Math.min(1, x * lockSec) * noFree * (shape.handoffSec ?? 0);
    // Settled when the lock time moves by under a millionth: far below what any input is known to.
    const settled = Math.abs(cpuSec * nextStretch + nextDead - lockSec) <= 1e-6 * lockSec;
    // damped: the map can overshoot when cores are scarce
    stretch = (stretch + nextStretch) / 2;
    deadSec = (deadSec + nextDead) / 2;
    if (settled) break;
  }
  return { throughputPerSec: x, stretch, deadSec };
}

/** 1, 2, 3, 5, 8, 13, … below `threads`, then `threads`. */
function anchorPopulations(threads: number): number[] {
  const ks = [1];
  for (let a = 1, b = 2; b < threads; [a, b] = [b, a + b]) ks.push(b);
  if (threads > 1) ks.push(threads);
  return ks;
}

/** Stretch and dead time at every k = 1…threads, linear between the solved anchors. */
function interpolated(
  anchors: ReadonlyMap<number, OperatingPoint>,
  threads: number,
): Pick<OperatingPoint, 'stretch' | 'deadSec'>[] {
  const ks = [...anchors.keys()];
  const points: Pick<OperatingPoint, 'stretch' | 'deadSec'>[] = [];
  for (let i = 0; i < ks.length; i++) {
    const low = ks[i]!;
    const high = ks[i + 1] ?? low;
    const a = anchors.get(low)!;
    const b = anchors.get(high)!;
    for (let k = low; k < high || (k === high && i === ks.length - 1); k++) {
      const f = high > low ? (k - low) / (high - low) : 0;
      points.push({
        stretch: a.stretch + f * (b.stretch - a.stretch),
        deadSec: a.deadSec + f * (b.deadSec - a.deadSec),
      });
    }
  }
  return points.slice(0, threads);
}

/** Probability that a thread given the lock finds every other core busy with `others` cores of work. */
function noFreeCore(others: number, cores: number): number {
  if (cores <= 1) return 1;
  return Math.min(1, others / (cores - 1)) ** (cores - 1);
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

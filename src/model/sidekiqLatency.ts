/**
 * How long a job waits in a Sidekiq pool before it starts: the time from being pushed to the moment
 * its thread holds the interpreter lock and runs it. Two waits add up:
 * - for a thread, when every thread of the pool is busy: the flow-equivalent server's queue
 *   (flowEquivalent.ts), exponential with rate X(N) − λ once waiting [Gross & Harris §2.3];
 * - for the lock of its process, held by the process's other jobs in service: a job arriving when
 *   n jobs are in service (PASTA: with the stationary probability p(n), Wolff 1982) joins a process
 *   with k = n/P others and, by the arrival theorem [QSP §6.2], finds its lock busy with probability
 *   U(k) = X(k)·D and waits R(k + 1) − D on average, taken as exponential once waiting.
 * Both are solved as if times were exponential, then each is scaled by the Allen–Cunneen factor
 * (1 + c²)/2 for the variability of what it waits for [Whitt 1993, "Approximations for the GI/G/m
 * queue"]: a thread is held for the lock time and the wait, c² = scv·(D² + Z²)/(D + Z)² when both
 * have the variability scv; the lock for the lock time, c² = scv. On top, a job that finds a thread
 * idle waits for the pickup (Redis hands it to the thread blocked in BRPOP, which is woken:
 * `pickupSec`), one that waited for a thread only for that thread's wakeup.
 *
 * Jobs pushed in batches (Mastodon's fan-out) find the jobs of their own batch ahead of them as well:
 * batchArrivals.ts gives how many are ahead, and a job with a ≥ N ahead waits for a − N + 1
 * completions, Erlang rather than the single exponential of Poisson arrivals.
 */
import {
  type BatchArrivals,
  erlangMixtureTail,
  jobsAhead,
  meanBatchSize,
  plusExponentialTail,
} from './batchArrivals.js';
import { lockAndDelayThroughput } from './closedNetwork.js';
import { flowEquivalentStates } from './flowEquivalent.js';
import type { SidekiqPoolCapacity, SidekiqPoolShape } from './sidekiqNetwork.js';

/**
 * The jobs of one kind of arrival: `mass` of all jobs, each first delayed `offsetSec`, then with
 * probability weight/mass waiting A + B more, A and B exponential with these means (0: absent).
 */
interface TailTerm {
  mass: number;
  offsetSec: number;
  weight: number;
  meanA: number;
  meanB: number;
}

export interface SidekiqQueueLatency {
  stable: boolean;
  /** P(a job waits at all before it starts: for a thread or for its process's lock). */
  probabilityOfWait: number;
  meanWaitSec: number;
  /** The wait not exceeded by `percentile` % of jobs. */
  percentileWaitSec(percentile: number): number;
}

const UNSTABLE: SidekiqQueueLatency = {
  stable: false,
  probabilityOfWait: 1,
  meanWaitSec: Infinity,
  percentileWaitSec: () => Infinity,
};

/**
 * The pool's queue latency at an arrival rate, from the capacity the network solution gave; `batches`
 * when some of the jobs are pushed together.
 */
export function sidekiqQueueLatency(
  shape: SidekiqPoolShape,
  pool: SidekiqPoolCapacity,
  arrivalRatePerSec: number,
  batches?: BatchArrivals,
): SidekiqQueueLatency {
  if (batches && batches.share > 0 && meanBatchSize(batches.sizes) > 1)
    return batchedLatency(shape, pool, arrivalRatePerSec, batches);
  const states = flowEquivalentStates(pool.throughputAt, arrivalRatePerSec);
  if (!states) return UNSTABLE;
  const lockAt = lockSeenBy(shape, pool);
  const threads = pool.throughputAt.length;
  // A job that finds a thread idle is handed to it as it blocks in BRPOP (the pickup); one that waits
  // is fetched by a thread coming back for more, which only has to be woken.
  const pickup = shape.pickupSec ?? shape.wakeupSec ?? 0;
  const wakeup = shape.wakeupSec ?? 0;
  const terms: TailTerm[] = states.below.map((p, n) => {
    const lock = lockAt(n);
    return { mass: p, offsetSec: pickup, weight: p * lock.busy, meanA: 0, meanB: lock.meanWaitSec };
  });
  const full = lockAt(threads - 1);
  const threadWait = (1 / (pool.maxThroughputPerSec - arrivalRatePerSec)) * threadFactor(shape, pool);
  const waiting = states.probabilityOfWait;
  const free = waiting * (1 - full.busy);
  const held = waiting * full.busy;
  terms.push({ mass: free, offsetSec: wakeup, weight: free, meanA: threadWait, meanB: 0 });
  terms.push({ mass: held, offsetSec: wakeup, weight: held, meanA: threadWait, meanB: full.meanWaitSec });
  const tail = (t: number) => tailOf(terms, t);
  return {
    stable: true,
    probabilityOfWait: terms.reduce((a, term) => a + term.weight, 0),
    meanWaitSec: terms.reduce((a, t) => a + t.mass * t.offsetSec + t.weight * (t.meanA + t.meanB), 0),
    percentileWaitSec: (percentile) => percentileOf(tail, percentile),
  };
}

/** As sidekiqQueueLatency, the jobs ahead of each from batchArrivals.ts. */
function batchedLatency(
  shape: SidekiqPoolShape,
  pool: SidekiqPoolCapacity,
  arrivalRatePerSec: number,
  batches: BatchArrivals,
): SidekiqQueueLatency {
  const found = jobsAhead(pool.throughputAt, arrivalRatePerSec, batches);
  if (!found) return UNSTABLE;
  const lockAt = lockSeenBy(shape, pool);
  const threads = pool.throughputAt.length;
  const pickup = shape.pickupSec ?? shape.wakeupSec ?? 0;
  const wakeup = shape.wakeupSec ?? 0;
  // a thread free for it: the lock of its process, as for a single arrival
  const terms: TailTerm[] = found.ahead.slice(0, threads).map((p, a) => {
    const lock = lockAt(a);
    return { mass: p, offsetSec: pickup, weight: p * lock.busy, meanA: 0, meanB: lock.meanWaitSec };
  });
  // every thread taken: completions[k] = P(it waits for k completions), at X(N), Allen–Cunneen-scaled
  const completions = [0, ...found.ahead.slice(threads)];
  const rate = pool.maxThroughputPerSec / threadFactor(shape, pool);
  const full = lockAt(threads - 1);
  const waiting = completions.reduce((a, p) => a + p, 0);
  const threadTail = (t: number) => erlangMixtureTail(completions, rate, t);
  const waitingTail = (t: number) =>
    t < wakeup
      ? waiting
      : (1 - full.busy) * threadTail(t - wakeup) +
        full.busy * plusExponentialTail(threadTail, full.meanWaitSec, t - wakeup);
  const meanThreadWait = completions.reduce((a, p, k) => a + (p * k) / rate, 0);
  return {
    stable: true,
    probabilityOfWait: terms.reduce((a, term) => a + term.weight, 0) + waiting,
    meanWaitSec:
      terms.reduce((a, t) => a + t.mass * t.offsetSec + t.weight * t.meanB, 0) +
      waiting * (wakeup + full.busy * full.meanWaitSec) +
      meanThreadWait,
    percentileWaitSec: (percentile) => percentileOf((t) => tailOf(terms, t) + waitingTail(t), percentile),
  };
}

/**
 * The lock a job meets on entering service with n others in service in the pool, spread evenly over
 * the processes (k = n/P, interpolated): P(busy) and the mean wait given busy, from exact MVA of one
 * process with exponential lock times [QSP §6.3]. The lock time is the one with n + 1 in service
 * (lockSecInService): on a host with fewer cores than processes, a light load is hardly stretched.
 */
function lockSeenBy(shape: SidekiqPoolShape, pool: SidekiqPoolCapacity) {
  const z = pool.delaySec;
  const lockFactor = (1 + (shape.timeScv ?? 1)) / 2;
  return (n: number) => {
    const d = pool.lockSecInService[Math.min(n, pool.lockSecInService.length - 1)]!;
    const throughput = (k: number) => lockAndDelayThroughput(d, z, Math.min(k, shape.threads));
    const busyAt = (k: number) => (k < 1 ? 0 : Math.min(1, throughput(k) * d));
    // Residence at the lock with k jobs in the process (Little: k/X − Z), less the job's own hold.
    const waitAt = (k: number) => (k < 1 ? 0 : Math.min(k, shape.threads) / throughput(k) - z - d);
    const k = n / shape.processes;
    const low = Math.floor(k);
    const f = k - low;
    const busy = (1 - f) * busyAt(low) + f * busyAt(low + 1);
    const wait = (1 - f) * waitAt(low + 1) + f * waitAt(low + 2);
    return busy > 0 && wait > 0
      ? { busy, meanWaitSec: (wait / busy) * lockFactor }
      : { busy: 0, meanWaitSec: 0 };
  };
}

/** Allen–Cunneen's (1 + c²)/2 for the time a thread is held: its lock time D, then its wait Z. */
function threadFactor(shape: SidekiqPoolShape, pool: SidekiqPoolCapacity): number {
  const scv = shape.timeScv ?? 1;
  const d = pool.lockSec;
  const z = pool.delaySec;
  return (1 + (scv * (d * d + z * z)) / (d + z) ** 2) / 2;
}

/** Σ weight·P(A + B > t); A + B of two exponentials is hypoexponential [Ross, *Probability Models*, §5.2.4]. */
function tailOf(terms: readonly TailTerm[], at: number): number {
  let sum = 0;
  for (const { mass, offsetSec, weight, meanA, meanB } of terms) {
    if (at < offsetSec) {
      sum += mass;
      continue;
    }
    if (weight <= 0) continue;
    const t = at - offsetSec;
    const a = meanA > 0 ? Math.exp(-t / meanA) : 0;
    const b = meanB > 0 ? Math.exp(-t / meanB) : 0;
    let both: number;
    if (!(meanA > 0)) both = b;
    else if (!(meanB > 0)) both = a;
    else if (Math.abs(meanA - meanB) < 1e-9 * meanA) both = a * (1 + t / meanA);
    else both = (meanA * a - meanB * b) / (meanA - meanB);
    sum += weight * both;
  }
  return sum;
}

/** The smallest t with tail(t) ≤ 1 − p, by bisection (the tail falls monotonically). */
function percentileOf(tail: (t: number) => number, percentile: number): number {
  if (!(percentile > 0 && percentile < 100))
    throw new RangeError(`percentile must be in (0, 100), got ${percentile}`);
  const target = 1 - percentile / 100;
  if (tail(0) <= target) return 0;
  let high = 1e-3;
  for (let i = 0; i < 60 && tail(high) > target; i++) high *= 2;
  let low = 0;
  for (let i = 0; i < 60; i++) {
    const mid = (low + high) / 2;
    if (tail(mid) > target) low = mid;
    else high = mid;
  }
  return high;
}

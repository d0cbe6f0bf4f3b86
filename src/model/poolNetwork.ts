/**
 * A Sidekiq pool of the profile through its closed networks: each unit (identical processes on one host,
 * sidekiqNetwork.ts), the pool's throughput X(n) over all its threads, and the operating point at an arrival
 * rate through the flow-equivalent server (flowEquivalent.ts) [QSP ch. 8].
 */
import { flowEquivalentMetrics, type FlowEquivalentMetrics } from './flowEquivalent.js';
import {
  sidekiqPoolCapacity,
  type PoolBottleneck,
  type SidekiqPoolCapacity,
  type SidekiqPoolShape,
} from './sidekiqNetwork.js';

export interface PoolNetwork {
  /** X(n) for n = 1…N, N the pool's threads. */
  throughputAt: number[];
  maxThroughputPerSec: number;
  /** What binds X(N): that of the unit with the largest share of it. */
  bottleneck: PoolBottleneck;
}

/**
 * The pool of one or more units, each solved by `sidekiqPoolCapacity`. With n of the pool's N threads busy,
 * unit u holds its share n·N_u/N of them: an idle thread blocks on Redis's BRPOP, which hands a job to the
 * client blocked longest, so jobs go round the idle threads whichever unit they belong to. Then
 * X(n) = Σ_u X_u(n·N_u/N), linear between whole thread counts (X_u(0) = 0). One unit: exactly its curve.
 */
export function poolNetworkOf(units: readonly SidekiqPoolShape[]): PoolNetwork {
  if (units.length === 0) throw new RangeError('a pool needs at least one unit');
  const solved = units.map((shape) => sidekiqPoolCapacity(shape));
  if (solved.length === 1) return networkOf(solved[0]!);
  const sizes = solved.map((s) => s.throughputAt.length);
  const total = sizes.reduce((a, b) => a + b, 0);
  const throughputAt = Array.from({ length: total }, (_, i) =>
    solved.reduce((x, s, u) => x + throughputAtShare(s.throughputAt, ((i + 1) * sizes[u]!) / total), 0),
  );
  const largest = solved.reduce((a, b) => (b.maxThroughputPerSec > a.maxThroughputPerSec ? b : a));
  return {
    throughputAt,
    maxThroughputPerSec: throughputAt[total - 1]!,
    bottleneck: largest.bottleneck,
  };
}

function networkOf(s: SidekiqPoolCapacity): PoolNetwork {
  return {
    throughputAt: s.throughputAt,
    maxThroughputPerSec: s.maxThroughputPerSec,
    bottleneck: s.bottleneck,
  };
}

/** X(k) at a fractional number of jobs k, linear between whole numbers. */
function throughputAtShare(curve: readonly number[], k: number): number {
  const low = Math.floor(k);
  const at = (n: number) => (n <= 0 ? 0 : curve[Math.min(n, curve.length) - 1]!);
  return at(low) + (k - low) * (at(low + 1) - at(low));
}

/** The pool at one arrival rate. */
export interface PoolOperatingPoint {
  flow: FlowEquivalentMetrics;
  /**
   * n̄/λ (Little): how long a job holds a thread at this load (1/X(1) at λ = 0; N/X(N) when overloaded).
   */
  serviceSec: number;
  /**
   * The factor on a job's Ruby CPU (its own and Sidekiq's) that makes the mix's mean service time
   * `serviceSec`: lock queueing and shared cores at this load. I/O is not stretched.
   */
  cpuStretch: number;
}

/**
 * The pool's operating point at `arrivalRatePerSec` for a job mix of `cpuSec` Ruby CPU (job and framework)
 * and `waitSec` of I/O per job. The per-queue waits are split from this point (stations.ts): each queue's
 * service time is its CPU × `cpuStretch` plus its wait, so their λ-weighted mean is the network's n̄/λ, and
 * the pool's P(wait) and mean wait are the flow-equivalent server's.
 */
export function poolOperatingPoint(
  network: PoolNetwork,
  arrivalRatePerSec: number,
  mix: { cpuSec: number; waitSec: number },
): PoolOperatingPoint {
  const flow = flowEquivalentMetrics(network.throughputAt, arrivalRatePerSec);
  const threads = network.throughputAt.length;
  // Unstable: every thread busy, completing X(N) jobs a second, so each holds one N/X(N).
  let serviceSec = threads / network.maxThroughputPerSec;
  if (flow.stable)
    serviceSec =
      arrivalRatePerSec > 0 ? flow.meanBusyThreads / arrivalRatePerSec : 1 / network.throughputAt[0]!;
  const cpuStretch = mix.cpuSec > 0 ? Math.max(0, serviceSec - mix.waitSec) / mix.cpuSec : 1;
  return { flow, serviceSec, cpuStretch };
}

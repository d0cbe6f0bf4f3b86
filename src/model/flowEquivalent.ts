/**
 * Open arrivals on a closed network through a flow-equivalent server [QSP ch. 8]:
 * a pool that completes X(n) jobs per second with n jobs in service (n ≤ N
 * threads; X(n) from MVA) is a birth–death queue with arrival rate λ and
 * service rate μ(n) = X(min(n, N)). Its stationary distribution is
 * p(n) = p(0)·Π_{i=1..n} λ/μ(i) [Gross & Harris §2.9]; beyond N every thread is
 * busy, μ = X(N), and the tail is geometric with ratio ρ = λ/X(N).
 * With X(n) = n/S this is exactly M/M/c (Erlang C).
 */

export interface FlowEquivalentMetrics {
  arrivalRatePerSec: number;
  /** X(N): the pool's throughput with every thread busy. */
  capacityPerSec: number;
  /** λ / X(N): the pool's load against its capacity. */
  utilization: number;
  /** Mean number of busy threads (jobs in service). */
  meanBusyThreads: number;
  /** P(an arrival finds every thread busy) = P(n ≥ N) (PASTA). */
  probabilityOfWait: number;
  /** Mean time in the queue before a thread takes the job (Little: Lq / λ). */
  meanWaitSec: number;
  stable: boolean;
}

/**
 * `throughputAt[n − 1]` is X(n) for n = 1…N (N = threads). λ = 0 gives an idle pool.
 */
export function flowEquivalentMetrics(
  throughputAt: readonly number[],
  arrivalRatePerSec: number,
): FlowEquivalentMetrics {
  const threads = requireCurve(throughputAt);
  if (!(arrivalRatePerSec >= 0) || !Number.isFinite(arrivalRatePerSec)) {
    throw new RangeError(`arrival rate must be a finite number ≥ 0, got ${arrivalRatePerSec}`);
  }
  const capacity = throughputAt[threads - 1]!;
  const rho = arrivalRatePerSec / capacity;
  const states = flowEquivalentStates(throughputAt, arrivalRatePerSec);
  if (!states) {
    return {
      arrivalRatePerSec,
      capacityPerSec: capacity,
      utilization: rho,
      meanBusyThreads: threads,
      probabilityOfWait: 1,
      meanWaitSec: Infinity,
      stable: false,
    };
  }
  const { below, probabilityOfWait } = states;
  const meanBusyThreads = below.reduce((a, p, n) => a + n * p, 0) + threads * probabilityOfWait;
  // Lq = Σ_{n>N} (n − N)·p(n) = P(n ≥ N)·ρ / (1 − ρ): the tail beyond N is geometric.
  const meanQueueLength = (probabilityOfWait * rho) / (1 - rho);
  const meanWaitSec = arrivalRatePerSec > 0 ? meanQueueLength / arrivalRatePerSec : 0;
  return {
    arrivalRatePerSec,
    capacityPerSec: capacity,
    utilization: rho,
    meanBusyThreads,
    probabilityOfWait,
    meanWaitSec,
    stable: true,
  };
}

/** The stationary distribution as an arrival sees it (PASTA): p(n) for n < N, and P(n ≥ N). */
export interface FlowEquivalentStates {
  /** below[n] = p(n) jobs in service, n = 0…N − 1: a job arriving then starts at once. */
  below: number[];
  /** P(n ≥ N): every thread busy, the job waits for a completion. */
  probabilityOfWait: number;
}

/** p(n) = p(0)·Π_{i=1..n} λ/μ(i); beyond N the tail sums in closed form. Undefined when λ ≥ X(N). */
export function flowEquivalentStates(
  throughputAt: readonly number[],
  arrivalRatePerSec: number,
): FlowEquivalentStates | undefined {
  const threads = throughputAt.length;
  const rho = arrivalRatePerSec / throughputAt[threads - 1]!;
  if (rho >= 1) return undefined;
  const weights = [1];
  for (let n = 1; n <= threads; n++)
    weights.push((weights[n - 1]! * arrivalRatePerSec) / throughputAt[n - 1]!);
  const atFull = weights.pop()!;
  const waiting = atFull / (1 - rho); // Σ_{n≥N} p(n)/p(0)
  const norm = weights.reduce((a, w) => a + w, 0) + waiting;
  return { below: weights.map((w) => w / norm), probabilityOfWait: waiting / norm };
}

/**
 * Queue wait not exceeded by `percentile`% of jobs. A job that finds k ≥ 0 jobs
 * waiting ahead of it with every thread busy waits for k + 1 completions at rate
 * X(N); with the geometric tail this gives P(W > t) = P(wait)·e^{−(X(N) − λ)t}, as
 * for M/M/c [Gross & Harris §2.3], so t_p = ln(P(wait) / (1 − p)) / (X(N) − λ).
 */
export function flowEquivalentWaitPercentileSec(m: FlowEquivalentMetrics, percentile: number): number {
  if (!(percentile > 0 && percentile < 100))
    throw new RangeError(`percentile must be in (0, 100), got ${percentile}`);
  if (!m.stable) return Infinity;
  const tail = 1 - percentile / 100;
  if (m.probabilityOfWait <= tail) return 0;
  return Math.log(m.probabilityOfWait / tail) / (m.capacityPerSec - m.arrivalRatePerSec);
}

function requireCurve(throughputAt: readonly number[]): number {
  if (throughputAt.length === 0) throw new RangeError('the pool needs at least one thread');
  for (const x of throughputAt) {
    if (!(x > 0) || !Number.isFinite(x)) throw new RangeError(`throughputs must be finite and > 0, got ${x}`);
  }
  return throughputAt.length;
}

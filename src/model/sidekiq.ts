/**
 * Waiting per queue when several Sidekiq queues share one process's threads
 * (`sidekiq -c 25 -q default,8 -q push,6 -q ingress,4 -q pull`), under
 * Sidekiq's weighted fetch: a free thread goes to queue i with probability
 * w_i / Σ_{j non-empty} w_j.
 *
 * - The pool: M/M/c with λ = Σλ_i, S = Σλ_i·S_i / λ, FIFO wait scaled by
 *   (1 + c_s²)/2 for mixed service times (Allen–Cunneen; Whitt 1993); or, in
 *   the forecast, the flow-equivalent server of the pool's closed network
 *   (interpreter locks, shared cores: flowPooledMetrics), scaled the same way.
 * - The split: W_i ∝ π_i / λ_i, π the queues' shares of a geometric waiting
 *   line solving the fetch-flow equations (our "label" approximation), levelled
 *   by Kleinrock's conservation law Σρ_i·W_i = ρ·W_pool (Kleinrock 1965).
 * - Percentiles: P(W_i > t) = C·exp(−t·C / W_i), C the pool's Erlang C.
 *
 * Derivation, assumptions and accuracy against simulatePool: docs/sidekiq-model.md.
 */
import type { FlowEquivalentMetrics } from './flowEquivalent.js';
import { metricsAt, tailPercentileSec, type StationMetrics } from './queueing.js';

export interface WeightedQueueLoad {
  /** Sidekiq queue name (`push`, `ingress`, …). */
  queue: string;
  /** Sidekiq weight (`-q push,6`); > 0. */
  weight: number;
  arrivalRatePerSec: number;
  serviceTimeSec: number;
}

export interface QueueWait {
  queue: string;
  meanWaitSec: number;
  p95WaitSec: number;
  p99WaitSec: number;
}

export interface SharedPoolResult {
  /** The pool as one FIFO station: M/M/c, waits corrected for mixed service times (see pooledMetricsAt). */
  pool: StationMetrics;
  perQueue: QueueWait[];
}

/**
 * Inclusion–exclusion below is exponential in the number of queues; Sidekiq's wiki advises a handful per
 * process.
 */
export const MAX_WEIGHTED_QUEUES = 12;

/**
 * Coefficients κ_i(U) = Σ_{T ⊇ U, i ∈ T} (−1)^{|T \ U|} · w_i / w(T), over subsets
 * (bit masks) U, T of the queues. With them the fetch share of queue i is
 * Σ_U h(π(U))·κ_i(U) (see `fetchShares`). They depend on the weights only.
 */
function shareCoefficients(weights: readonly number[]): Float64Array {
  const k = weights.length;
  const full = (1 << k) - 1;
  const weightOf = new Float64Array(full + 1);
  for (let t = 1; t <= full; t++) {
    const low = t & -t;
    weightOf[t] = weightOf[t ^ low]! + weights[31 - Math.clz32(low)]!;
  }
  // Flat, subset-major (κ_i(U) at U·k + i): the hot loop in fetchShares reads it in order.
  const kappa = new Float64Array((full + 1) * k);
  for (let u = 1; u <= full; u++) {
    const rest = full & ~u;
    // every superset T = U ∪ V, V ⊆ rest
    for (let v = rest; ; v = (v - 1) & rest) {
      const t = u | v;
      const sign = popcount(v) & 1 ? -1 : 1;
      const perWeight = sign / weightOf[t]!;
      for (let i = 0; i < k; i++) if ((t >> i) & 1) kappa[u * k + i]! += perWeight * weights[i]!;
      if (v === 0) break;
    }
  }
  return kappa;
}

/** The coefficients depend on the weights only, which stay fixed across months and Monte Carlo draws. */
const kappaCache = new Map<string, Float64Array>();
function cachedShareCoefficients(weights: readonly number[]): Float64Array {
  const key = weights.join(',');
  const known = kappaCache.get(key);
  if (known) return known;
  if (kappaCache.size > 64) kappaCache.clear();
  const kappa = shareCoefficients(weights);
  kappaCache.set(key, kappa);
  return kappa;
}

function popcount(x: number): number {
  let n = 0;
  for (let y = x; y !== 0; y &= y - 1) n++;
  return n;
}

/**
 * Fraction of fetches (among fetches that find work) going to each queue,
 * when the waiting line is geometric, P(N = n | N ≥ 1) = (1 − r)r^{n−1}, and its
 * jobs belong to queue j independently with probability π_j. For a set U of
 * queues, Σ_n P(N = n | N ≥ 1)·π(U)ⁿ = h(π(U)) with h(s) = (1 − r)s / (1 − rs);
 * inclusion–exclusion turns these into P(exactly the queues in T are non-empty).
 */
function fetchShares(
  pi: Float64Array,
  kappa: Float64Array,
  lineRatio: number,
  shares: Float64Array,
  piOf: Float64Array,
): void {
  const k = pi.length;
  const full = (1 << k) - 1;
  shares.fill(0);
  piOf[0] = 0;
  for (let u = 1; u <= full; u++) {
    const low = u & -u;
    piOf[u] = piOf[u ^ low]! + pi[31 - Math.clz32(low)]!;
    const s = piOf[u]!;
    const h = ((1 - lineRatio) * s) / (1 - lineRatio * s);
    const row = u * k;
    for (let i = 0; i < k; i++) shares[i]! += h * kappa[row + i]!;
  }
}

/**
 * Each queue's share of the waiting line relative to its share of arrivals,
 * π_i / (λ_i/λ), under Sidekiq's weighted fetch (label approximation, see
 * docs/sidekiq-model.md); for equal service times this is W_i / W_pool.
 * `arrivalShares` are λ_i/λ (summing to 1), `weights` the Sidekiq weights,
 * `lineRatio` the ratio of the geometric waiting line (ρ for M/M/c).
 * Solves fetchShare_i(π) = λ_i/λ by multiplicative steps
 * π_i ← π_i·(λ_i/λ)/fetchShare_i, which converge in tens of steps up to
 * ρ = 0.999 (bounded at 10 000).
 */
export function waitFactorsAt(
  arrivalShares: readonly number[],
  weights: readonly number[],
  lineRatio: number,
): number[] {
  const k = weights.length;
  if (k === 0 || k > MAX_WEIGHTED_QUEUES || arrivalShares.length !== k) {
    throw new RangeError(
      `weights must list 1 to ${MAX_WEIGHTED_QUEUES} queues, one per arrival share; got ${k}`,
    );
  }
  if (!(lineRatio >= 0 && lineRatio < 1)) {
    throw new RangeError(`lineRatio must be in [0, 1), got ${lineRatio}`);
  }
  arrivalShares.forEach((share, i) => {
    if (!(share > 0 && share <= 1))
      throw new RangeError(`arrivalShares[${i}] must be in (0, 1], got ${share}`);
  });
  weights.forEach((weight, i) => {
    if (!(weight > 0 && Number.isFinite(weight))) {
      throw new RangeError(`weights[${i}] must be a finite number > 0, got ${weight}`);
    }
  });
  if (k === 1) return [1];
  const kappa = cachedShareCoefficients(weights);
  // Warm start from the last solution for these weights: consecutive months and
  // draws differ little, and the fixed point does not depend on the start.
  const key = weights.join(',');
  const last = lastSolution.get(key);
  const pi = Float64Array.from(last && last.length === k ? last : arrivalShares);
  const shares = new Float64Array(k);
  const piOf = new Float64Array(1 << k);
  let converged = false;
  for (let step = 0; step < 10_000 && !converged; step++) {
    fetchShares(pi, kappa, lineRatio, shares, piOf);
    let worst = 0;
    let total = 0;
    for (let i = 0; i < k; i++) {
      const ratio = arrivalShares[i]! / shares[i]!;
      worst = Math.max(worst, Math.abs(1 / ratio - 1));
      pi[i]! *= ratio;
      total += pi[i]!;
    }
    for (let i = 0; i < k; i++) pi[i]! /= total;
    // 1e-9 relative: far below the approximation's own error (~15 %), and a
    // tenth of the steps of 1e-12 in the Monte Carlo.
    converged = worst < 1e-9;
  }
  // A start that never converged must not seed the next call.
  if (converged) lastSolution.set(key, Array.from(pi));
  return Array.from(pi, (p, i) => p / arrivalShares[i]!);
}
const lastSolution = new Map<string, number[]>();

/**
 * Squared coefficient of variation of the pooled service time: a mixture of
 * exponentials (E[S²] = 2·Σp_i·S_i², p_i = λ_i/λ), so c_s² = 2·Σp_i·S_i² / S² − 1 ≥ 1.
 */
export function pooledServiceScv(queues: readonly WeightedQueueLoad[]): number {
  const rate = queues.reduce((sum, q) => sum + q.arrivalRatePerSec, 0);
  if (rate === 0) return 1;
  let mean = 0;
  let second = 0;
  for (const q of queues) {
    const p = q.arrivalRatePerSec / rate;
    mean += p * q.serviceTimeSec;
    second += 2 * p * q.serviceTimeSec * q.serviceTimeSec;
  }
  return second / (mean * mean) - 1;
}

/**
 * The pool as one station: M/M/c with λ = Σλ_i and the λ-weighted mean S,
 * FIFO waits scaled by the Allen–Cunneen factor (1 + c_s²)/2 for mixed service
 * times [Whitt 1993, "Approximations for the GI/G/m queue", POM 2(2)];
 * P(wait) stays Erlang C. Identical to metricsAt when all S_i are equal.
 */
export function pooledMetricsAt(queues: readonly WeightedQueueLoad[], threads: number): StationMetrics {
  checkQueues(queues, threads);
  const rate = queues.reduce((sum, q) => sum + q.arrivalRatePerSec, 0);
  const meanServiceSec =
    rate > 0
      ? queues.reduce((sum, q) => sum + q.arrivalRatePerSec * q.serviceTimeSec, 0) / rate
      : queues.reduce((sum, q) => sum + q.serviceTimeSec, 0) / queues.length;
  const mmc = metricsAt({ arrivalRatePerSec: rate, serviceTimeSec: meanServiceSec, servers: threads });
  if (!mmc.stable) return mmc;
  const meanWaitSec = (mmc.meanWaitSec * (1 + pooledServiceScv(queues))) / 2;
  return {
    ...mmc,
    meanWaitSec,
    meanResponseSec: meanWaitSec + meanServiceSec,
    meanQueueLength: rate * meanWaitSec,
  };
}

/**
 * The pool as one station when a closed network of its processes (sidekiqNetwork.ts) already gave its
 * flow-equivalent server (flowEquivalent.ts): P(wait) and the geometric line's ratio λ/X(N) from there, the
 * mean wait scaled by the same Allen–Cunneen factor (1 + c_s²)/2 as `pooledMetricsAt` [Whitt 1993]. The
 * flow-equivalent server completes jobs as a Markov chain does (exponential between completions), which a
 * mixture of 7 ms feed inserts and 350 ms deliveries is not; with X(n) = n/S it is M/M/c, so for an I/O-bound
 * pool the two agree, and `sharedPoolWaits` splits either the same way. `queues` carry each queue's service
 * time at the operating point (their λ-weighted mean is n̄/λ, the time a job holds a thread there).
 */
export function flowPooledMetrics(
  queues: readonly WeightedQueueLoad[],
  threads: number,
  pool: FlowEquivalentMetrics,
): StationMetrics {
  checkQueues(queues, threads);
  const rate = queues.reduce((sum, q) => sum + q.arrivalRatePerSec, 0);
  const meanServiceSec = rate > 0 ? pool.meanBusyThreads / rate : 0;
  const stable = pool.stable;
  const meanWaitSec = stable ? (pool.meanWaitSec * (1 + pooledServiceScv(queues))) / 2 : Infinity;
  return {
    utilization: pool.utilization,
    offeredLoadErlangs: pool.meanBusyThreads,
    probabilityOfWait: stable ? pool.probabilityOfWait : 1,
    meanWaitSec,
    meanResponseSec: meanWaitSec + meanServiceSec,
    meanQueueLength: rate * meanWaitSec,
    stable,
  };
}

function checkQueues(queues: readonly WeightedQueueLoad[], threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new RangeError(`threads must be an integer >= 1, got ${threads}`);
  }
  if (!Array.isArray(queues) || queues.length === 0 || queues.length > MAX_WEIGHTED_QUEUES) {
    throw new RangeError(
      `queues must list 1 to ${MAX_WEIGHTED_QUEUES} queues, got ${Array.isArray(queues) ? queues.length : String(queues)}` +
        ' (simulatePool takes more)',
    );
  }
  queues.forEach((q, i) => {
    if (!Number.isFinite(q.weight) || q.weight <= 0) {
      throw new RangeError(`queues[${i}].weight must be a finite number > 0, got ${q.weight}`);
    }
    if (!Number.isFinite(q.arrivalRatePerSec) || q.arrivalRatePerSec < 0) {
      throw new RangeError(
        `queues[${i}].arrivalRatePerSec must be a finite number >= 0, got ${q.arrivalRatePerSec}`,
      );
    }
    if (!Number.isFinite(q.serviceTimeSec) || q.serviceTimeSec <= 0) {
      throw new RangeError(
        `queues[${i}].serviceTimeSec must be a finite number > 0, got ${q.serviceTimeSec}`,
      );
    }
  });
}

/**
 * Mean, p95 and p99 wait of each Sidekiq queue sharing a pool of `threads`
 * threads with weighted fetch: the pool by `pooledMetricsAt`, the split by
 * `waitFactorsAt`, the level by Kleinrock's conservation law
 * Σρ_i·W_i = ρ·W_pool. When the pool is overloaded (ρ ≥ 1) every queue reports
 * Infinity — a high-weight queue may in fact still be served; simulatePool
 * shows which. A queue without arrivals gets the wait its first job would see.
 * `pool` may be passed when the caller already computed it (pooledMetricsAt).
 */
export function sharedPoolWaits(
  queues: WeightedQueueLoad[],
  threads: number,
  pool: StationMetrics = pooledMetricsAt(queues, threads),
): SharedPoolResult {
  const uniform = (sec: number): QueueWait[] =>
    queues.map((q) => ({ queue: q.queue, meanWaitSec: sec, p95WaitSec: sec, p99WaitSec: sec }));
  if (!pool.stable) return { pool, perQueue: uniform(Infinity) };
  if (pool.probabilityOfWait === 0) return { pool, perQueue: uniform(0) }; // includes λ = 0

  const rate = queues.reduce((sum, q) => sum + q.arrivalRatePerSec, 0);
  // A queue without arrivals gets a vanishing share, so it still has a factor.
  const raw = queues.map((q) => Math.max(q.arrivalRatePerSec / rate, 1e-9));
  const rawSum = raw.reduce((a, b) => a + b, 0);
  const shares = raw.map((x) => x / rawSum);
  // The waiting line is geometric, P(N = n) ∝ rⁿ [Gross & Harris §2.3: r = ρ for M/M/c]; r keeps the
  // mean length of the Allen–Cunneen-corrected pool (docs/sidekiq-model.md).
  const lineRatio = 1 - (2 * (1 - pool.utilization)) / (1 + pooledServiceScv(queues));
  const factors = waitFactorsAt(
    shares,
    queues.map((q) => q.weight),
    lineRatio,
  );
  // Kleinrock: Σ λ_i·S_i·W_i = (Σ λ_i·S_i)·W_pool, with W_i = level·factor_i.
  let work = 0;
  let weightedFactors = 0;
  queues.forEach((q, i) => {
    work += shares[i]! * q.serviceTimeSec;
    weightedFactors += shares[i]! * q.serviceTimeSec * factors[i]!;
  });
  const level = (pool.meanWaitSec * work) / weightedFactors;
  const c = pool.probabilityOfWait;
  return {
    pool,
    perQueue: queues.map((q, i) => {
      const meanWaitSec = level * factors[i]!;
      return {
        queue: q.queue,
        meanWaitSec,
        p95WaitSec: tailPercentileSec(meanWaitSec, c, 95),
        p99WaitSec: tailPercentileSec(meanWaitSec, c, 99),
      };
    }),
  };
}

/**
 * Jobs pushed in batches: Mastodon's fan-out pushes a FeedInsertWorker per active local follower of a
 * status's author in one `push_bulk`, so a pool sees batches, not the single Poisson arrivals of
 * flowEquivalent.ts. The flow-equivalent server with batch-Poisson arrivals (M^X/M(n)/1): batches
 * come at rate β with sizes B, single jobs at rate λ₁, a job leaves at rate X(min(n, N)) with n in
 * the pool. Balancing the flow across the cut between n and n + 1 [Gross & Harris §3.1, bulk input]:
 *
 *   X(min(n + 1, N))·p(n + 1) = Σ_{m ≤ n} p(m)·Λ(n − m),  Λ(j) = λ₁·[j = 0] + β·P(B > j)
 *
 * (Λ(j): the rate of arrivals that jump over the cut from j below it). A job sees the pool as a
 * batch does (PASTA) plus the jobs ahead of it in its own batch; a random job is in a batch of size
 * k with probability k·P(B = k)/E[B] at a uniform position, so the jobs ahead of it number
 * a = n + i with P(i) = Λ(i)/λ, λ = λ₁ + β·E[B] [Burke 1975, "Delays in single-server queues with
 * batch input"]. With single jobs alone this is the birth–death solution of flowEquivalent.ts.
 */

export interface BatchArrivals {
  /** The share of the pool's jobs that come in batches (the rest come alone). */
  share: number;
  /** sizes[k − 1] = P(a batch holds k jobs), k = 1…K; sums to 1. */
  sizes: readonly number[];
}

/** How many jobs a job finds ahead of it, in the pool or earlier in its own batch. */
export interface JobsAhead {
  /** ahead[a] = P(a job finds a jobs ahead of it), a = 0…; the mass past the end is below 1e-9. */
  ahead: number[];
}

/** The mean batch size. */
export function meanBatchSize(sizes: readonly number[]): number {
  return sizes.reduce((a, p, i) => a + p * (i + 1), 0);
}

/** Far enough that the tail left out is below this. */
const TAIL = 1e-9;
/** Bounded work: a pool this full at its 1e-9 tail is unstable in all but name. */
const MAX_STATES = 200_000;

/**
 * The jobs ahead of an arriving job at `arrivalRatePerSec` (jobs, batched and single), on a pool
 * completing `throughputAt[n − 1]` = X(n) jobs per second with n in service. Undefined when the
 * pool cannot keep up (λ ≥ X(N)).
 */
export function jobsAhead(
  throughputAt: readonly number[],
  arrivalRatePerSec: number,
  batches: BatchArrivals,
): JobsAhead | undefined {
  const threads = throughputAt.length;
  const capacity = throughputAt[threads - 1]!;
  if (arrivalRatePerSec >= capacity) return undefined;
  const meanSize = meanBatchSize(batches.sizes);
  const share = Math.min(1, Math.max(0, batches.share));
  const batchRate = (arrivalRatePerSec * share) / meanSize;
  // jumpOver[j] = Λ(j): rate of arrivals that carry the pool from j below a cut to above it
  const sizeTail: number[] = [];
  let left = 1;
  for (const p of batches.sizes) {
    left -= p;
    sizeTail.push(Math.max(0, left));
  }
  const jumpOver = [arrivalRatePerSec * (1 - share) + batchRate, ...sizeTail.map((t) => batchRate * t)];
  jumpOver.length = batches.sizes.length; // Λ(j) = 0 from the largest batch on
  const p = [1];
  let total = 1;
  for (let n = 0; n < MAX_STATES; n++) {
    let up = 0;
    for (let j = 0; j < jumpOver.length && j <= n; j++) up += p[n - j]! * jumpOver[j]!;
    const next = up / throughputAt[Math.min(n + 1, threads) - 1]!;
    p.push(next);
    total += next;
    // Past the pool's threads and the largest batch, the tail falls geometrically: stop once negligible.
    if (n > threads + jumpOver.length && next < TAIL * total && p[n]! < TAIL * total) break;
  }
  const pool = p.map((x) => x / total);
  // P(i jobs ahead in its own batch) = Λ(i)/λ
  const own = jumpOver.map((rate) => rate / arrivalRatePerSec);
  const ahead = new Array<number>(pool.length + own.length - 1).fill(0);
  for (let n = 0; n < pool.length; n++)
    for (let i = 0; i < own.length; i++) ahead[n + i]! += pool[n]! * own[i]!;
  return { ahead };
}

/**
 * Σ_k weights[k]·P(Erlang(k, rate) > t), k ≥ 1 (weights[0] unused): the wait of a job that needs k
 * completions at `rate` before a thread frees. One pass: P(Erlang(k) > t) = Σ_{i<k} e^{−rt}(rt)^i/i!,
 * so the sum is e^{−rt}·Σ_i (rt)^i/i!·Σ_{k>i} weights[k] [Ross, *Probability Models*, §5.2.3].
 */
export function erlangMixtureTail(weights: readonly number[], rate: number, t: number): number {
  if (t <= 0) return weights.reduce((a, w, k) => a + (k >= 1 ? w : 0), 0);
  const x = rate * t;
  let beyond = weights.reduce((a, w, k) => a + (k >= 1 ? w : 0), 0);
  let term = Math.exp(-x); // e^{−x}·x^i/i!, i = 0
  let sum = 0;
  for (let i = 0; i < weights.length - 1 && beyond > 0; i++) {
    sum += term * beyond;
    beyond -= weights[i + 1] ?? 0;
    term *= x / (i + 1);
    // the Poisson terms past their peak shrink fast; stop once they no longer count
    if (i > x && term < 1e-16) break;
  }
  return sum;
}

/** Panels of the composite Simpson rule below: the integrand is smooth, and 64 keep it within 1e-6. */
const PANELS = 64;

/**
 * Σ mass·P(S + Y > t) for Y exponential with mean `meanSec`, given the mixture's Σ mass·P(S > ·) of
 * some S > 0 (so its total mass is `tail(0)`): mass·P(Y > t) + ∫₀ᵗ f_Y(y)·tail(t − y) dy, by Simpson's rule.
 */
export function plusExponentialTail(tail: (t: number) => number, meanSec: number, t: number): number {
  if (!(meanSec > 0)) return tail(t);
  const mass = tail(0);
  if (t <= 0) return mass;
  const h = t / PANELS;
  const f = (y: number) => (Math.exp(-y / meanSec) / meanSec) * tail(t - y);
  let sum = f(0) + f(t);
  for (let i = 1; i < PANELS; i++) sum += (i % 2 === 1 ? 4 : 2) * f(i * h);
  return mass * Math.exp(-t / meanSec) + (sum * h) / 3;
}

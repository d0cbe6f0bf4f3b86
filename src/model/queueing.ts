/**
 * Analytic M/M/c station (Erlang C): Poisson arrivals, exponential service,
 * `servers` identical servers, one FIFO line, infinite room.
 *
 * Sources, cited where each formula is coded:
 * - [GH] Gross, Shortle, Thompson & Harris, "Fundamentals of Queueing Theory",
 *   4th ed., Wiley 2008, ch. 2: §2.2 (M/M/1), §2.3 (M/M/c), Erlang's loss formula (M/M/c/c).
 * - [K1] Kleinrock, "Queueing Systems, Vol. 1: Theory", Wiley 1975, ch. 3 (M/M/m, M/M/m/m).
 * - [J]  Jagerman, "Some properties of the Erlang loss function",
 *   Bell System Technical Journal 53(3), 1974 — the Erlang B recursion.
 *
 * Pure: plain numbers in, plain numbers out. Times are seconds.
 */

/** One station: jobs arrive at `arrivalRatePerSec`, each holds a server for `serviceTimeSec` on average. */
export interface Station {
  arrivalRatePerSec: number;
  serviceTimeSec: number;
  servers: number;
}

/** What a capacity planner reads for one station (PDQ's per-resource report). */
export interface StationMetrics {
  /** ρ = λS/c; may be ≥ 1 when overloaded. */
  utilization: number;
  /** A = λS, in Erlangs (mean number of busy servers when stable). */
  offeredLoadErlangs: number;
  /** Erlang C: probability an arriving job waits; 1 when unstable. */
  probabilityOfWait: number;
  /** Mean time in queue Wq; Infinity when unstable. */
  meanWaitSec: number;
  /** Wq + S; Infinity when unstable. */
  meanResponseSec: number;
  /** Mean number waiting Lq = λ·Wq (Little); Infinity when unstable. */
  meanQueueLength: number;
  /** λS < c. */
  stable: boolean;
}

// ---------------------------------------------------------------------------
// Input checks: one clear RangeError naming the parameter.

function requireNonNegative(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a finite number >= 0, got ${value}`);
  }
}

function requirePositive(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a finite number > 0, got ${value}`);
  }
}

function requireServers(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be an integer >= 1, got ${value}`);
  }
}

function requirePercentile(name: string, value: number, allowHundred: boolean): void {
  const ok = Number.isFinite(value) && value >= 0 && (allowHundred ? value <= 100 : value < 100);
  if (!ok) {
    throw new RangeError(`${name} must be in [0, ${allowHundred ? '100]' : '100)'}, got ${value}`);
  }
}

function checkStation(station: Station): void {
  requireNonNegative('arrivalRatePerSec', station.arrivalRatePerSec);
  requirePositive('serviceTimeSec', station.serviceTimeSec);
  requireServers('servers', station.servers);
}

// ---------------------------------------------------------------------------
// Erlang B and C.

/** One step of the Erlang B recursion [J]: B(k) = A·B(k−1) / (k + A·B(k−1)), B(0) = 1. */
function erlangBStep(k: number, offeredLoadErlangs: number, previous: number): number {
  const x = offeredLoadErlangs * previous;
  return x / (k + x);
}

/** Erlang C from Erlang B: C = B / (1 − ρ(1 − B)), ρ = A/c < 1 [GH ch. 2; K1 ch. 3]. */
function erlangCFromB(servers: number, offeredLoadErlangs: number, blocking: number): number {
  const rho = offeredLoadErlangs / servers;
  if (rho >= 1) return 1;
  return blocking / (1 - rho * (1 - blocking));
}

/**
 * Erlang B: probability that an arrival to `servers` servers with no waiting room
 * is lost (M/M/c/c) [GH ch. 2; K1 ch. 3]. Computed by the recursion [J], which only forms
 * ratios in (0, 1] and so stays accurate for thousands of servers where
 * A^c/c! would overflow.
 */
export function erlangB(servers: number, offeredLoadErlangs: number): number {
  requireServers('servers', servers);
  requireNonNegative('offeredLoadErlangs', offeredLoadErlangs);
  let b = 1;
  for (let k = 1; k <= servers; k++) b = erlangBStep(k, offeredLoadErlangs, b);
  return b;
}

/**
 * Erlang C: probability that an arrival to an M/M/c station waits
 * [GH §2.3; K1 ch. 3], via Erlang B (see `erlangCFromB`). Returns 1 when A ≥ c
 * (the queue grows without bound, so every arrival eventually waits).
 */
export function erlangC(servers: number, offeredLoadErlangs: number): number {
  requireServers('servers', servers);
  requireNonNegative('offeredLoadErlangs', offeredLoadErlangs);
  if (offeredLoadErlangs >= servers) return 1;
  return erlangCFromB(servers, offeredLoadErlangs, erlangB(servers, offeredLoadErlangs));
}

// ---------------------------------------------------------------------------
// Station metrics.

/** Metrics from λ, S, c and a precomputed Erlang C. Wq = C / (cμ − λ) [GH §2.3]. */
function metricsFromC(
  arrivalRatePerSec: number,
  serviceTimeSec: number,
  servers: number,
  probabilityOfWait: number,
): StationMetrics {
  const offeredLoadErlangs = arrivalRatePerSec * serviceTimeSec;
  const utilization = offeredLoadErlangs / servers;
  if (utilization >= 1) {
    return {
      utilization,
      offeredLoadErlangs,
      probabilityOfWait: 1,
      meanWaitSec: Infinity,
      meanResponseSec: Infinity,
      meanQueueLength: Infinity,
      stable: false,
    };
  }
  // cμ − λ = (c − A)/S; written this way it needs no division by λ (λ = 0 is fine).
  const meanWaitSec = (probabilityOfWait * serviceTimeSec) / (servers - offeredLoadErlangs);
  return {
    utilization,
    offeredLoadErlangs,
    probabilityOfWait,
    meanWaitSec,
    meanResponseSec: meanWaitSec + serviceTimeSec,
    meanQueueLength: arrivalRatePerSec * meanWaitSec, // Little's law, Lq = λWq
    stable: true,
  };
}

/** Utilization, P(wait), Wq, R and Lq of an M/M/c station [GH §2.3]. */
export function metricsAt(station: Station): StationMetrics {
  checkStation(station);
  const { arrivalRatePerSec, serviceTimeSec, servers } = station;
  const c = erlangC(servers, arrivalRatePerSec * serviceTimeSec);
  return metricsFromC(arrivalRatePerSec, serviceTimeSec, servers, c);
}

/**
 * Waiting time not exceeded by `percentile`% of jobs: with FIFO,
 * P(Wq > t) = C·e^{−(cμ−λ)t} [GH §2.3, waiting-time distribution of M/M/c],
 * so t_p = ln(C / (1 − p)) / (cμ − λ), and 0 when C ≤ 1 − p
 * (at least p of the jobs do not wait at all). Infinity when unstable.
 */
export function waitPercentileSec(station: Station, percentile: number): number {
  checkStation(station);
  requirePercentile('percentile', percentile, true);
  const { arrivalRatePerSec, serviceTimeSec, servers } = station;
  const a = arrivalRatePerSec * serviceTimeSec;
  if (a >= servers) return Infinity;
  return waitPercentileFromC(erlangC(servers, a), serviceTimeSec, servers - a, percentile);
}

/**
 * The same tail written with the mean wait: P(W > t) = C·exp(−t·C/W̄), so the
 * p-th percentile is (W̄/C)·ln(C/(1−p)) [Gross & Harris §2.3]. Used where only
 * a mean wait and P(wait) are known (a queue's share of a shared Sidekiq pool).
 */
export function tailPercentileSec(
  meanWaitSec: number,
  probabilityOfWait: number,
  percentile: number,
): number {
  const tail = 1 - percentile / 100;
  if (!Number.isFinite(meanWaitSec)) return Infinity;
  if (probabilityOfWait <= tail || meanWaitSec <= 0) return 0;
  return (meanWaitSec / probabilityOfWait) * Math.log(probabilityOfWait / tail);
}

function waitPercentileFromC(
  probabilityOfWait: number,
  serviceTimeSec: number,
  spareServers: number,
  percentile: number,
): number {
  const tail = 1 - percentile / 100;
  if (probabilityOfWait <= tail) return 0;
  // cμ − λ = (c − A)/S
  return (Math.log(probabilityOfWait / tail) * serviceTimeSec) / spareServers;
}

// ---------------------------------------------------------------------------
// Sizing: fewest servers for a target. Wq and its percentiles fall as c grows
// (C falls and cμ − λ grows), so the first c that meets the target is the answer.
// B(c) is advanced by one recursion step per candidate: O(c) in total.

/**
 * Upper bound on the search: B(c) shrinks faster than geometrically once
 * c > A + a few √A, so any target that a double can express is met well
 * before A + 100·√A + 1000 servers.
 */
function searchLimit(offeredLoadErlangs: number): number {
  return Math.ceil(offeredLoadErlangs + 100 * Math.sqrt(offeredLoadErlangs) + 1000);
}

function fewestServersWhere(
  offeredLoadErlangs: number,
  meets: (servers: number, probabilityOfWait: number) => boolean,
): number {
  const first = Math.max(1, Math.floor(offeredLoadErlangs) + 1); // smallest c with A < c
  let b = 1;
  for (let k = 1; k <= first; k++) b = erlangBStep(k, offeredLoadErlangs, b);
  const limit = searchLimit(offeredLoadErlangs);
  for (let c = first; c <= limit; c++) {
    if (c > first) b = erlangBStep(c, offeredLoadErlangs, b);
    if (meets(c, erlangCFromB(c, offeredLoadErlangs, b))) return c;
  }
  throw new RangeError(`target cannot be met with up to ${limit} servers`);
}

/** Fewest servers c (with c > λS) whose M/M/c mean wait Wq is at most the target. */
export function serversForMeanWait(
  arrivalRatePerSec: number,
  serviceTimeSec: number,
  targetMeanWaitSec: number,
): number {
  requireNonNegative('arrivalRatePerSec', arrivalRatePerSec);
  requirePositive('serviceTimeSec', serviceTimeSec);
  if (Number.isNaN(targetMeanWaitSec) || targetMeanWaitSec <= 0) {
    throw new RangeError(`targetMeanWaitSec must be > 0, got ${targetMeanWaitSec}`);
  }
  const a = arrivalRatePerSec * serviceTimeSec;
  return fewestServersWhere(a, (c, pWait) => (pWait * serviceTimeSec) / (c - a) <= targetMeanWaitSec);
}

/** Fewest servers c whose `percentile`% waiting time (see `waitPercentileSec`) is at most the target. */
export function serversForWaitPercentile(
  arrivalRatePerSec: number,
  serviceTimeSec: number,
  targetWaitSec: number,
  percentile: number,
): number {
  requireNonNegative('arrivalRatePerSec', arrivalRatePerSec);
  requirePositive('serviceTimeSec', serviceTimeSec);
  if (Number.isNaN(targetWaitSec) || targetWaitSec < 0) {
    throw new RangeError(`targetWaitSec must be >= 0, got ${targetWaitSec}`);
  }
  // p = 100 would need P(wait) = 0, which no finite pool gives while λ > 0.
  requirePercentile('percentile', percentile, false);
  const a = arrivalRatePerSec * serviceTimeSec;
  return fewestServersWhere(
    a,
    (c, pWait) => waitPercentileFromC(pWait, serviceTimeSec, c - a, percentile) <= targetWaitSec,
  );
}

/**
 * Highest arrival rate a pool of `servers` sustains with mean wait Wq ≤ target:
 * Wq rises continuously and monotonically in λ on [0, c/S), so bisection converges;
 * the returned rate meets the target (it is the lower end of the last bracket).
 * Infinity as a target returns the stability limit c/S.
 */
export function maxArrivalRateForMeanWait(
  serviceTimeSec: number,
  servers: number,
  targetMeanWaitSec: number,
): number {
  requirePositive('serviceTimeSec', serviceTimeSec);
  requireServers('servers', servers);
  if (Number.isNaN(targetMeanWaitSec) || targetMeanWaitSec < 0) {
    throw new RangeError(`targetMeanWaitSec must be >= 0, got ${targetMeanWaitSec}`);
  }
  const limit = servers / serviceTimeSec;
  if (targetMeanWaitSec === Infinity) return limit;
  if (targetMeanWaitSec === 0) return 0; // any λ > 0 makes some job wait
  let lo = 0;
  let hi = limit;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * limit; i++) {
    const mid = (lo + hi) / 2;
    const wait = metricsAt({ arrivalRatePerSec: mid, serviceTimeSec, servers }).meanWaitSec;
    if (wait <= targetMeanWaitSec) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * Closed queueing networks solved by Mean Value Analysis: the shape of a
 * Sidekiq process, whose `-c` threads (a fixed population) cycle between Ruby
 * CPU under the interpreter lock (a queueing station: one job at a time),
 * I/O waits (a delay station: every thread at once) and what they share with
 * the rest of the host. References: Lazowska, Zahorjan, Graham, Sevcik,
 * *Quantitative System Performance* (1984), [QSP] ch. 6 (exact MVA) and
 * ch. 7 §7.4 (the Bard–Schweitzer approximation); Seidmann, Schweitzer,
 * Shalev-Oren (1987) for multi-server stations.
 */

/** A service centre: `queueing` serves one job at a time; `delay` serves every job at once (no waiting). */
export interface Station {
  name: string;
  kind: 'queueing' | 'delay';
  /** Service demand per visit cycle of one job (visits × service time). */
  demandSec: number;
}

/** The network at one population n. */
export interface PopulationSolution {
  population: number;
  throughputPerSec: number;
  /** Time for one cycle through every station (the response time R(n)). */
  cycleSec: number;
  /** Per station, in the order given: residence time and mean number of jobs there. */
  residenceSec: number[];
  queueLength: number[];
}

/**
 * Exact single-class MVA [QSP ch. 6, Algorithm 6.1]: for n = 1…N,
 * R_k(n) = D_k (delay) or D_k·(1 + Q_k(n−1)) (queueing, the arrival theorem);
 * X(n) = n / (Z + Σ_k R_k(n)); Q_k(n) = X(n)·R_k(n).
 * Returns the solution at every population 1…maxPopulation.
 */
export function solveMva(
  stations: readonly Station[],
  maxPopulation: number,
  thinkTimeSec = 0,
): PopulationSolution[] {
  requireNetwork(stations, maxPopulation, thinkTimeSec);
  // Plain loops: the forecast solves a network per pool in every month it judges (about six per Monte Carlo
  // draw), mostly before the JIT has optimised anything.
  const k = stations.length;
  const solutions: PopulationSolution[] = [];
  let queueLength: number[] = new Array(k).fill(0);
  for (let n = 1; n <= maxPopulation; n++) {
    const residenceSec: number[] = new Array(k);
    let cycleSec = 0;
    for (let i = 0; i < k; i++) {
      const s = stations[i]!;
      residenceSec[i] = s.kind === 'delay' ? s.demandSec : s.demandSec * (1 + queueLength[i]!);
      cycleSec += residenceSec[i]!;
    }
    const throughputPerSec = n / (thinkTimeSec + cycleSec);
    queueLength = new Array(k);
    for (let i = 0; i < k; i++) queueLength[i] = throughputPerSec * residenceSec[i]!;
    solutions.push({ population: n, throughputPerSec, cycleSec, residenceSec, queueLength });
  }
  return solutions;
}

/** One class of a multi-class network: its population and its demand at each station (same order). */
export interface JobClass {
  population: number;
  demandSec: readonly number[];
}

export interface MultiClassSolution {
  throughputPerSec: number[];
  /** queueLength[c][k]: class c's mean number of jobs at station k. */
  queueLength: number[][];
  iterations: number;
}

/**
 * Approximate multi-class MVA, Bard–Schweitzer [QSP §7.4.2, eq. 7.11]: a class-c
 * arrival at station k sees Q_k minus 1/N_c of its own class,
 * A_ck = Σ_j Q_jk − Q_ck/N_c; R_ck = D_ck·(1 + A_ck) at queueing stations, D_ck at
 * delay stations; X_c = N_c / Σ_k R_ck; Q_ck = X_c·R_ck; iterated to a fixed point.
 * Exact for one job; elsewhere it errs low, most near the knee (N ≈ ΣD/D_max): 6.8 % below exact
 * MVA at 6 threads of a 10 ms lock and 30 ms of I/O (test/src/model/closedNetwork.test.ts).
 */
export function solveSchweitzer(
  stations: readonly Pick<Station, 'kind'>[],
  classes: readonly JobClass[],
  toleranceJobs = 1e-9,
  maxIterations = 10_000,
): MultiClassSolution {
  for (const c of classes) requireClass(c, stations.length);
  let queueLength = classes.map((c) => stations.map(() => c.population / stations.length));
  let throughputPerSec = classes.map(() => 0);
  for (let iteration = 1; iteration <= maxIterations; iteration++) {
    const totals = stations.map((_, k) => queueLength.reduce((a, q) => a + q[k]!, 0));
    const residence = classes.map((c, ci) =>
      stations.map((s, k) => {
        const d = c.demandSec[k]!;
        if (s.kind === 'delay' || c.population === 0) return d;
        return d * (1 + totals[k]! - queueLength[ci]![k]! / c.population);
      }),
    );
    throughputPerSec = classes.map((c, ci) => {
      const cycle = residence[ci]!.reduce((a, r) => a + r, 0);
      return cycle > 0 ? c.population / cycle : 0;
    });
    const next = residence.map((r, ci) => r.map((rk) => throughputPerSec[ci]! * rk));
    const change = Math.max(...next.flatMap((q, ci) => q.map((v, k) => Math.abs(v - queueLength[ci]![k]!))));
    queueLength = next;
    if (change < toleranceJobs) return { throughputPerSec, queueLength, iterations: iteration };
  }
  return { throughputPerSec, queueLength, iterations: maxIterations };
}

/**
 * A station of `servers` identical servers as MVA can take it (Seidmann, Schweitzer and
 * Shalev-Oren 1987): a queueing station of demand D/m followed by a delay of D·(m−1)/m.
 * Exact at light load and at saturation (throughput m/D); used for a host's cores.
 */
export function multiServerStations(name: string, demandSec: number, servers: number): Station[] {
  if (!(servers >= 1) || !Number.isInteger(servers))
    throw new RangeError(`${name}: servers must be an integer ≥ 1`);
  return [
    { name, kind: 'queueing', demandSec: demandSec / servers },
    { name: `${name} (other servers)`, kind: 'delay', demandSec: (demandSec * (servers - 1)) / servers },
  ];
}

/**
 * Asymptotic bounds on throughput [QSP §5.2, eq. 5.1]: X(N) ≤ min(N / (D + Z), 1 / D_max),
 * with D the total demand and D_max the largest demand at a queueing station.
 */
export function throughputBound(stations: readonly Station[], population: number, thinkTimeSec = 0): number {
  const total = stations.reduce((a, s) => a + s.demandSec, 0);
  const dMax = Math.max(0, ...stations.filter((s) => s.kind === 'queueing').map((s) => s.demandSec));
  return Math.min(population / (total + thinkTimeSec), dMax > 0 ? 1 / dMax : Infinity);
}

function requireNetwork(stations: readonly Station[], maxPopulation: number, thinkTimeSec: number): void {
  if (!Number.isInteger(maxPopulation) || maxPopulation < 1) {
    throw new RangeError(`population must be an integer ≥ 1, got ${maxPopulation}`);
  }
  if (!(thinkTimeSec >= 0)) throw new RangeError(`think time must be ≥ 0, got ${thinkTimeSec}`);
  for (const s of stations) {
    if (!(s.demandSec >= 0) || !Number.isFinite(s.demandSec)) {
      throw new RangeError(`${s.name}: demand must be a finite number ≥ 0, got ${s.demandSec}`);
    }
  }
  const total = stations.reduce((a, s) => a + s.demandSec, 0) + thinkTimeSec;
  if (total <= 0) throw new RangeError('a job must spend some time somewhere (all demands are 0)');
}

function requireClass(c: JobClass, stationCount: number): void {
  if (!Number.isInteger(c.population) || c.population < 0) {
    throw new RangeError(`class population must be an integer ≥ 0, got ${c.population}`);
  }
  if (c.demandSec.length !== stationCount || c.demandSec.some((d) => !(d >= 0) || !Number.isFinite(d))) {
    throw new RangeError(`class demands must be ${stationCount} finite numbers ≥ 0`);
  }
}

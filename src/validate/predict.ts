/**
 * The model's predictions for the testbed's stations from a calibration of its light steps: each
 * queue's pool and the web tier as closed networks (src/model/sidekiqNetwork.ts) on the testbed's
 * host. Every other process there wants cores in proportion to the load (its CPU per unit of load is
 * what the light steps measured: the utilization law, QSP §3.2), and a saturated host divides its
 * cores among them as Linux's scheduler does: fairly per runnable task, so a process that wants less
 * than an equal share keeps up while the hungry ones are held to it (max-min fairness, the
 * water-filling of CFS's equal weights [Bertsekas & Gallager, *Data Networks*, §6.5.2]).
 */
import type { Calibration, MeasuredValue } from '../calibrate/calibrationFile.js';
import { JOB_CLASSES, type JobClass } from '../mastodon/classes.js';
import { SIDEKIQ_FRAMEWORK_CPU_SEC } from '../mastodon/sidekiqCosts.js';
import type { BatchArrivals } from '../model/batchArrivals.js';
import { sidekiqQueueLatency } from '../model/sidekiqLatency.js';
import { sidekiqPoolCapacity, type SidekiqPoolShape } from '../model/sidekiqNetwork.js';
import { mergeBuckets, pushSizesOfBuckets, type StepMeasure } from './measure.js';

/** A station under test: a queue's own pool of Sidekiq processes, or the web tier. */
export interface StationUnderTest {
  station: string;
  /** `sidekiq-queue` stations name their queue; `web` is Puma's workers. */
  kind: 'sidekiq-queue' | 'web';
  processes: number;
  threads: number;
  /** The OS processes (collector names) that serve it. */
  processNames: readonly string[];
}

export interface Prediction {
  saturationPerSec: number;
  /** The multiple of the profile's rates at which it saturates. */
  saturationMultiple: number;
  bottleneck: string;
  /** The pool's shape at a multiple (for latencies). */
  shapeAt(multiple: number): SidekiqPoolShape;
  /** The pushes that fed it at the light steps, when the testbed counted them (TESTBED_PUSH_SIZE). */
  batches?: BatchArrivals;
}

/** How the station's queue was fed at the light steps: the sizes of its pushes, every job in one. */
function batchesOf(station: StationUnderTest, light: readonly StepMeasure[]): BatchArrivals | undefined {
  if (station.kind !== 'sidekiq-queue') return undefined;
  const pushes = mergeBuckets(
    light.flatMap((s) => s.windows.map((w) => w.queuePushBuckets[station.station] ?? {})),
  );
  const sizes = pushSizesOfBuckets(pushes);
  return sizes ? { share: 1, sizes } : undefined;
}

/** A calibrated value's point estimate (the interval, when given, is the Monte Carlo's business). */
const pointOf = (v: MeasuredValue | undefined): number | undefined =>
  v === undefined ? undefined : typeof v === 'number' ? v : v.value;

/** Per unit of the rates (multiple 1): the station's load and the CPU of everything else. */
interface Baseline {
  cpuSec: number;
  waitSec: number;
  frameworkCpuSec: number;
  ratePerMultiple: number;
  /**
   * The cores the host's unnamed work uses (PostgreSQL's backends, Redis, the kernel: many small
   * tasks, each far below a fair share) and the prioritized processes': they get what they want. Idle + perMultiple × m, the line
   * through the light steps.
   */
  background: Line;
  /** The cores each other named process wants (at most one each: a Node process runs one thread). */
  competitors: Line[];
  /** Whether the host's CPU was sampled: only then are the waits known to be on it. */
  hostSampled: boolean;
}

interface Line {
  idleCores: number;
  coresPerMultiple: number;
}

const at = (line: Line, multiple: number) => line.idleCores + line.coresPerMultiple * multiple;

/** Job completions per class of the station's queue at the light steps: its mix. */
export function jobMixOf(queue: string, light: readonly StepMeasure[]): Map<string, number> {
  const mix = new Map<string, number>();
  for (const step of light)
    for (const w of step.windows)
      for (const [name, j] of Object.entries(w.jobs))
        if (JOB_CLASSES[name as JobClass] === queue) mix.set(name, (mix.get(name) ?? 0) + j.completions);
  return mix;
}

/**
 * The mix-weighted demand of the station's jobs (or requests: `mix` counts them per class or
 * station), and per multiple of the rates its arrivals and the cores everything else uses. Classes
 * the calibration has no figure for are left out of the mix.
 */
function baselineOf(
  station: StationUnderTest,
  calibration: Calibration,
  light: readonly StepMeasure[],
  mix: ReadonlyMap<string, number>,
  prioritized: readonly string[],
): Baseline | null {
  const demands: Record<string, Calibration['jobs'][string]> =
    station.kind === 'web' ? calibration.web : calibration.jobs;
  const known = [...mix].filter(([name, n]) => n > 0 && demands[name]);
  const total = known.reduce((a, [, n]) => a + n, 0);
  if (total <= 0 || light.length === 0) return null;
  let cpuSec = 0;
  let waitSec = 0;
  for (const [name, n] of known) {
    cpuSec += ((pointOf(demands[name]?.cpuSec) ?? 0) * n) / total;
    waitSec += ((pointOf(demands[name]?.waitSec) ?? 0) * n) / total;
  }
  const rate = (s: StepMeasure) =>
    station.kind === 'web' ? s.web.requestsPerSec : (s.queues[station.station]?.arrivalsPerSec ?? 0);
  const competes = (name: string) => !prioritized.includes(name);
  const named = (s: StepMeasure) =>
    Object.entries(s.cpuCores).reduce((a, [name, c]) => a + (competes(name) ? c : 0), 0);
  // The host's busy cores beyond the competing processes when sampled (PostgreSQL, Redis, the kernel,
  // the prioritized), else Redis and the prioritized.
  const unnamed = (s: StepMeasure) =>
    s.hostBusyCores !== null
      ? Math.max(0, s.hostBusyCores - named(s))
      : s.redisCores + prioritized.reduce((a, name) => a + (s.cpuCores[name] ?? 0), 0);
  const competitorNames = [...new Set(light.flatMap((s) => Object.keys(s.cpuCores)))].filter(
    (name) => competes(name) && !station.processNames.includes(name),
  );
  const perMultiple = (f: (s: StepMeasure) => number) =>
    light.reduce((a, s) => a + f(s) / s.multiple, 0) / light.length;
  return {
    cpuSec,
    waitSec,
    frameworkCpuSec:
      station.kind === 'web'
        ? 0
        : (pointOf(calibration.sidekiq?.frameworkCpuSec) ?? SIDEKIQ_FRAMEWORK_CPU_SEC),
    ratePerMultiple: perMultiple(rate),
    background: lineThrough(light.map((s) => [s.multiple, unnamed(s)] as const)),
    competitors: competitorNames.map((name) =>
      lineThrough(light.map((s) => [s.multiple, s.cpuCores[name] ?? 0] as const)),
    ),
    hostSampled: light.every((s) => s.hostBusyCores !== null),
  };
}

/**
 * The share of the host's cores busy at a multiple: the background, each other process (one core at
 * most) and the station's own CPU (one core per process at most).
 */
function hostUtilization(base: Baseline, processes: number, hostCores: number, multiple: number): number {
  const others = base.competitors.reduce((a, line) => a + Math.min(1, Math.max(0, at(line, multiple))), 0);
  const own = Math.min(processes, base.ratePerMultiple * multiple * (base.cpuSec + base.frameworkCpuSec));
  return (Math.max(0, at(base.background, multiple)) + others + own) / hostCores;
}

/**
 * How much longer than on an idle host a job's waits take when they are work of other processes on
 * the same host (PostgreSQL's backends, Redis, the fleet answering a delivery): each is a burst of CPU
 * that queues for the host's c cores among a finite population of N tasks that can be runnable at
 * once, the machine-repairman model M/M/c//N [QSP §9.3; Gross & Harris §2.7, finite source]. Its
 * think rate is the one that makes the cores as busy as `utilization`; the stretch is the mean number
 * at the cores over the mean number in service, R/D = E[k]/E[min(k, c)], which stays below N/c where
 * the open M/M/c's 1/(1 − u) has no bound (a closed host cannot queue more tasks than it has).
 */
function waitStretch(utilization: number, cores: number, population: number): number {
  const c = Math.max(1, Math.round(cores));
  const n = Math.max(c, Math.round(population));
  const u = Math.min(1, Math.max(0, utilization));
  const solve = (thinkRate: number) => {
    let p = 1;
    let total = 1;
    let busy = 0;
    let atCores = 0;
    for (let k = 1; k <= n; k++) {
      p *= ((n - k + 1) * thinkRate) / Math.min(k, c);
      total += p;
      busy += Math.min(k, c) * p;
      atCores += k * p;
    }
    return { utilization: busy / total / c, stretch: busy > 0 ? atCores / busy : 1 };
  };
  if (u <= 0) return 1;
  let low = 0;
  let high = 1;
  for (let i = 0; i < 60 && solve(high).utilization < u; i++) high *= 2;
  for (let i = 0; i < 60; i++) {
    const mid = (low + high) / 2;
    if (solve(mid).utilization < u) low = mid;
    else high = mid;
  }
  return solve(high).stretch;
}

/** Where the station saturates: the multiple m at which its arrivals reach its capacity, by bisection. */
export function predictStation(
  station: StationUnderTest,
  calibration: Calibration,
  light: readonly StepMeasure[],
  mix: ReadonlyMap<string, number>,
  host: { hostCores: number; prioritized: readonly string[] },
): Prediction | null {
  const { hostCores } = host;
  const base = baselineOf(station, calibration, light, mix, host.prioritized);
  if (!base) return null;
  // The wait of a job that finds a thread idle (Redis handing it over, the thread woken): the median
  // wait at the lightest step, where nearly every job finds one.
  const pickupSec =
    station.kind === 'sidekiq-queue' ? (light[0]!.queues[station.station]?.p50WaitSec ?? 0) : 0;
  // Every wait of the testbed's jobs is on this host: it stretches as the host fills. What the light
  // steps measured was stretched by their own load already: relative to their mean stretch.
  // The tasks that can be runnable at once: each process on the host (one thread each) and a backend
  // per thread of the station (the PostgreSQL or fleet work its jobs wait on).
  const population = base.competitors.length + station.processes + station.threads * station.processes;
  const stretchAt = (m: number) =>
    waitStretch(hostUtilization(base, station.processes, hostCores, m), hostCores, population);
  const lightStretch = light.reduce((a, s) => a + stretchAt(s.multiple), 0) / light.length;
  const waitAt = (m: number) =>
    base.hostSampled ? (base.waitSec * stretchAt(m)) / lightStretch : base.waitSec;
  const shapeAt = (multiple: number): SidekiqPoolShape => ({
    processes: station.processes,
    threads: station.threads,
    jobCpuSec: base.cpuSec,
    jobWaitSec: waitAt(multiple),
    frameworkCpuSec: base.frameworkCpuSec,
    hostCores,
    redisCpuSecPerJob: 0,
    pickupSec,
    backgroundCores: hostCores - fairCores(base, station.processes, hostCores, multiple),
  });
  const excess = (m: number) =>
    base.ratePerMultiple * m - sidekiqPoolCapacity(shapeAt(m)).maxThroughputPerSec;
  let low = 0;
  let high = 1;
  for (let i = 0; i < 40 && excess(high) < 0; i++) high *= 2;
  for (let i = 0; i < 60; i++) {
    const mid = (low + high) / 2;
    if (excess(mid) < 0) low = mid;
    else high = mid;
  }
  const capacity = sidekiqPoolCapacity(shapeAt(high));
  const batches = batchesOf(station, light);
  return {
    saturationPerSec: capacity.maxThroughputPerSec,
    saturationMultiple: high,
    bottleneck: capacity.bottleneck,
    shapeAt,
    ...(batches ? { batches } : {}),
  };
}

/**
 * The cores the station's P processes get at a multiple of the load if they want all they can use:
 * the unnamed background first, then the level s at which Σ min(demand, s) over the other processes
 * plus P·s fills what is left, each process at most one core.
 */
function fairCores(base: Baseline, processes: number, hostCores: number, multiple: number): number {
  const left = Math.max(0, hostCores - at(base.background, multiple));
  const demands = base.competitors.map((line) => Math.min(1, Math.max(0, at(line, multiple))));
  const used = (level: number) => demands.reduce((a, d) => a + Math.min(d, level), 0) + processes * level;
  if (used(1) <= left) return processes;
  let low = 0;
  let high = 1;
  for (let i = 0; i < 50; i++) {
    const mid = (low + high) / 2;
    if (used(mid) <= left) low = mid;
    else high = mid;
  }
  // A sliver stays: the model needs some core to solve, and a starved process still runs now and then.
  return Math.max(0.01, processes * low);
}

/** The model's p95 wait of a queue at a step's measured arrivals, on the host as loaded at that step. */
export function predictedP95WaitSec(
  prediction: Prediction,
  multiple: number,
  arrivalsPerSec: number,
): number {
  const shape = prediction.shapeAt(multiple);
  const latency = sidekiqQueueLatency(shape, sidekiqPoolCapacity(shape), arrivalsPerSec, prediction.batches);
  return latency.stable ? latency.percentileWaitSec(95) : Number.POSITIVE_INFINITY;
}

/**
 * Least-squares line y = idle + perMultiple·m through the light steps, both terms at least 0 (one
 * step: through the origin). CPU grows linearly with the load it serves (the utilization law).
 */
function lineThrough(points: readonly (readonly [number, number])[]): Line {
  const n = points.length;
  const mx = points.reduce((a, [m]) => a + m, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = points.reduce((a, [m]) => a + (m - mx) ** 2, 0);
  if (n < 2 || sxx <= 0) return { idleCores: 0, coresPerMultiple: mx > 0 ? my / mx : 0 };
  const slope = Math.max(0, points.reduce((a, [m, y]) => a + (m - mx) * (y - my), 0) / sxx);
  const idle = my - slope * mx;
  return idle >= 0
    ? { idleCores: idle, coresPerMultiple: slope }
    : { idleCores: 0, coresPerMultiple: my / mx };
}

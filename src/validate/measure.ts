/**
 * What the instance did at each load step of a mixed-step run (scenarios/mixed-step.ts): per queue
 * the jobs that arrived and were processed, the backlog's growth and the p95 wait before a job
 * starts; per process the CPU; for the web tier the requests served, their p95 and the iterations
 * k6 could not start. Each step is read without its first tenth, the ramp to its rate.
 */
import type { Sample } from '../collect/sample.js';
import { JOB_CLASSES, type JobClass } from '../mastodon/classes.js';
import { type CalibrationWindow, samplesToWindows } from '../calibrate/windows.js';
import { aggregateK6Files } from '../results/aggregate.js';
import { readK6JsonBatches } from '../results/k6Json.js';
import type { RunFiles } from '../results/runFiles.js';
import { readSamples } from '../results/samples.js';
import { timeMs } from '../results/time.js';
import { InputError } from '../shared/errors.js';

export interface StepSchedule {
  steps: number;
  stepSec: number;
  /** The first and last plateau's multiple of the profile's rates. */
  fromMultiple: number;
  toMultiple: number;
}

export interface QueueAtStep {
  processedPerSec: number;
  /** Processed plus the backlog's growth: what was pushed. */
  arrivalsPerSec: number;
  backlogGrowthPerSec: number;
  /** Jobs in service on average (Little: the duration of the jobs completed per second). */
  inServiceMean: number;
  /** From the testbed's per-job histogram; null without one or without jobs. */
  p50WaitSec: number | null;
  p95WaitSec: number | null;
}

export interface StepMeasure {
  step: number;
  multiple: number;
  fromMs: number;
  toMs: number;
  queues: Record<string, QueueAtStep>;
  /** Cores by process name, Redis's, and the host's busy cores when sampled. */
  cpuCores: Record<string, number>;
  redisCores: number;
  hostBusyCores: number | null;
  web: {
    requestsPerSec: number;
    /** Mean response time over every request of the step (ms). */
    meanMs: number | null;
    p95Ms: number | null;
    droppedShare: number | null;
    /** Requests per endpoint class (k6's `station` tag). */
    byStation: Record<string, number>;
  };
  /** Sub-windows the step kept (samples without a gap). */
  windows: CalibrationWindow[];
}

/** Sub-windows per step: the first (the ramp) is left out. */
const PARTS = 10;

/** The multiple of step k, as rampingSteps spaces them. */
export function multipleAt(s: StepSchedule, k: number): number {
  return s.steps === 1
    ? s.toMultiple
    : s.fromMultiple + ((s.toMultiple - s.fromMultiple) * k) / (s.steps - 1);
}

/** When the ramps began: the first request of a scenario other than the listeners (setup has none). */
async function rampStartMs(k6Files: readonly string[]): Promise<number> {
  let first = Number.POSITIVE_INFINITY;
  for (const path of k6Files)
    for await (const batch of readK6JsonBatches(path, { metrics: new Set(['http_reqs']) }))
      for (const line of batch) {
        if (line.type !== 'Point') continue;
        const scenario = line.data.tags?.scenario;
        if (scenario && scenario !== 'listeners') first = Math.min(first, timeMs(line.data.time));
      }
  if (!Number.isFinite(first)) throw new InputError(`${k6Files.join(', ')}: no request of a load step`);
  return first;
}

/** Measure every step of the run. */
export async function measureSteps(files: RunFiles, schedule: StepSchedule): Promise<StepMeasure[]> {
  if (!files.samples) throw new InputError(`${files.dir}: no samples.ndjson: the run was not observed`);
  const t0 = await rampStartMs(files.k6);
  const partSec = schedule.stepSec / PARTS;
  const samples: Sample[] = [];
  for await (const s of readSamples(files.samples)) samples.push(s);
  const series = samplesToWindows(samples, { windowSec: partSec, originMs: t0 });
  const k6 = await aggregateK6Files(files.k6, {
    windowSec: schedule.stepSec,
    startMs: t0,
    groupBy: 'scenario',
  });
  const stations = await aggregateK6Files(files.k6, { windowSec: schedule.stepSec, startMs: t0 });
  return Array.from({ length: schedule.steps }, (_, step) => {
    const fromMs = t0 + step * schedule.stepSec * 1000 + partSec * 1000;
    const toMs = t0 + (step + 1) * schedule.stepSec * 1000;
    const windows = series.windows.filter((w) => w.startMs >= fromMs && w.startMs < toMs);
    const stepStart = t0 + step * schedule.stepSec * 1000;
    const k6Step = k6.windows.filter((w) => w.startMs === stepStart);
    const byStation = Object.fromEntries(
      stations.windows
        .filter((w) => w.startMs === stepStart && w.group !== '')
        .map((w) => [w.group, w.requests]),
    );
    const requests = k6Step.filter((w) => w.group !== 'listeners');
    const served = requests.reduce((a, w) => a + w.requests, 0);
    const dropped = requests.reduce((a, w) => a + w.droppedIterations, 0);
    const iterations = requests.reduce((a, w) => a + w.iterations, 0);
    return {
      step,
      multiple: multipleAt(schedule, step),
      fromMs,
      toMs,
      queues: queuesAt(windows),
      ...cpuAt(windows),
      web: {
        requestsPerSec: served / schedule.stepSec,
        meanMs: weightedMeanMs(requests),
        p95Ms: worstP95(requests.map((w) => w.p95Ms)),
        droppedShare: iterations + dropped > 0 ? dropped / (iterations + dropped) : null,
        byStation,
      },
      windows,
    };
  });
}

/** The mean duration over groups of requests, each weighted by its count. */
function weightedMeanMs(groups: readonly { latencyCount: number; meanMs: number | null }[]): number | null {
  const timed = groups.filter((g) => g.meanMs !== null && g.latencyCount > 0);
  const count = timed.reduce((a, g) => a + g.latencyCount, 0);
  return count > 0 ? timed.reduce((a, g) => a + g.meanMs! * g.latencyCount, 0) / count : null;
}

/** The largest of the scenarios' p95s (the k6 histograms are per scenario). */
function worstP95(values: readonly (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length > 0 ? Math.max(...known) : null;
}

function queuesAt(windows: readonly CalibrationWindow[]): Record<string, QueueAtStep> {
  const out: Record<string, QueueAtStep> = {};
  if (windows.length === 0) return out;
  const seconds = windows.reduce((a, w) => a + w.durationSec, 0);
  const names = new Set(
    windows.flatMap((w) => [...Object.keys(w.queueCompletions), ...Object.keys(w.queueBacklog)]),
  );
  for (const q of names) {
    const processed = windows.reduce((a, w) => a + (w.queueCompletions[q] ?? 0), 0) / seconds;
    const first = windows[0]!;
    const last = windows[windows.length - 1]!;
    const span = (last.startMs - first.startMs) / 1000;
    const waits = mergeBuckets(windows.map((w) => w.queueWaitBuckets[q] ?? {}));
    const growth = span > 0 ? ((last.queueBacklog[q] ?? 0) - (first.queueBacklog[q] ?? 0)) / span : 0;
    const busySec = windows.reduce(
      (a, w) =>
        a +
        Object.entries(w.jobs).reduce(
          (b, [name, j]) => b + (JOB_CLASSES[name as JobClass] === q ? j.durationSumSec : 0),
          0,
        ),
      0,
    );
    out[q] = {
      processedPerSec: processed,
      inServiceMean: busySec / seconds,
      arrivalsPerSec: processed + Math.max(0, growth),
      backlogGrowthPerSec: growth,
      p50WaitSec: percentileOfBuckets(waits, 0.5),
      p95WaitSec: percentileOfBuckets(waits, 0.95),
    };
  }
  return out;
}

function cpuAt(
  windows: readonly CalibrationWindow[],
): Pick<StepMeasure, 'cpuCores' | 'redisCores' | 'hostBusyCores'> {
  const cpuCores: Record<string, number> = {};
  let redisCores = 0;
  let host = 0;
  let hostWindows = 0;
  for (const w of windows) {
    for (const [name, rate] of Object.entries(w.processCpuSecPerSec))
      cpuCores[name] = (cpuCores[name] ?? 0) + rate / windows.length;
    redisCores += (w.redisCpuSecPerSec ?? 0) / windows.length;
    if (w.hostBusyCores !== undefined) {
      host += w.hostBusyCores;
      hostWindows++;
    }
  }
  return { cpuCores, redisCores, hostBusyCores: hostWindows > 0 ? host / hostWindows : null };
}

export function mergeBuckets(parts: readonly Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of parts) for (const [le, n] of Object.entries(p)) out[le] = (out[le] ?? 0) + n;
  return out;
}

/**
 * The q-quantile of cumulative histogram buckets, linear within the bucket it falls in, as
 * Prometheus's histogram_quantile; null when empty or when it falls in the +Inf bucket.
 */
export function percentileOfBuckets(buckets: Record<string, number>, q: number): number | null {
  const bounds = Object.entries(buckets)
    .map(([le, n]) => [le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), n] as const)
    .sort((a, b) => a[0] - b[0]);
  const total = bounds[bounds.length - 1]?.[1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let previous: readonly [number, number] = [0, 0];
  for (const bound of bounds) {
    if (bound[1] >= rank) {
      if (!Number.isFinite(bound[0])) return null;
      const inBucket = bound[1] - previous[1];
      return inBucket > 0
        ? previous[0] + ((bound[0] - previous[0]) * (rank - previous[1])) / inBucket
        : bound[0];
    }
    previous = bound;
  }
  return null;
}

/**
 * The sizes of the pushes a queue received, from cumulative buckets of jobs per push: sizes[k − 1] =
 * P(a push carried k jobs), each bucket's pushes at the middle of the whole numbers it spans (the +Inf
 * bucket at its lower bound). Null without pushes.
 */
export function pushSizesOfBuckets(buckets: Record<string, number>): number[] | null {
  const bounds = Object.entries(buckets)
    .map(([le, n]) => [le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), n] as const)
    .sort((a, b) => a[0] - b[0]);
  const total = bounds[bounds.length - 1]?.[1] ?? 0;
  if (total <= 0) return null;
  const sizes: number[] = [];
  let previous: readonly [number, number] = [0, 0];
  for (const bound of bounds) {
    const pushes = bound[1] - previous[1];
    const size = Number.isFinite(bound[0])
      ? Math.round((previous[0] + 1 + bound[0]) / 2)
      : Math.max(1, previous[0]);
    if (pushes > 0) {
      while (sizes.length < size) sizes.push(0);
      sizes[size - 1]! += pushes / total;
    }
    previous = bound;
  }
  return sizes;
}

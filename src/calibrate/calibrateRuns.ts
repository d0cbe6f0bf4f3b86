/**
 * `fedicap calibrate`: run directories (k6 output, the collector's samples, run.json) → the measured
 * service demands of a calibration file. The pipeline: the samples cut into windows on k6's grid
 * (windows.ts), k6's requests per station on the same windows (results/aggregate.ts), then the
 * regressions per job class and per station with their bootstrap intervals.
 */
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { Sample } from '../collect/sample.js';
import { JOB_CLASS_NAMES, JOB_CLASSES, type JobClass, QUEUES } from '../mastodon/classes.js';
import { aggregateK6Files, type K6Stats } from '../results/aggregate.js';
import type { BadLines } from '../results/records.js';
import { CLOCK_SKEW_TOLERANCE_MS, findRunFiles, type RunFiles } from '../results/runFiles.js';
import { readSamples } from '../results/samples.js';
import { InputError } from '../shared/errors.js';
import { blockBootstrap, type Interval } from './bootstrap.js';
import { nonNegativeLeastSquares } from './nnls.js';
import { fitUslWithIntervals, type UslPoint } from './usl.js';
import type { Calibration } from './calibrationFile.js';
import { type CalibrationOutput, calibrationDocument } from './calibrationOutput.js';
import {
  estimateJobDemands,
  estimateRedisCpu,
  type JobDemandEstimate,
  jobClassesIn,
  jobDemandQuantities,
} from './cpuRegression.js';
import { estimateWebDemands, joinWebWindows, type StationWindow, webDemandQuantities } from './webDemands.js';
import { type CalibrationWindow, samplesToWindows } from './windows.js';

export interface CalibrateOptions {
  /** What the runs loaded: a calibration of the testbed never passes for a Mastodon instance's. */
  targetKind: 'testbed' | 'mastodon';
  /** The instance's version, when known (e.g. "4.4.2"). */
  version?: string;
  /** Window length (default 10 s). */
  windowSec?: number;
  /** Only windows starting in [fromMs, toMs) count (validation calibrates from its light steps). */
  fromMs?: number;
  toMs?: number;
  /** Bootstrap seed and resamples (defaults 1 and 400). */
  seed?: number;
  resamples?: number;
  skipBadLines?: BadLines;
}

/**
 * Sidekiq pools whose processes serve only their own queues' classes: each pool's CPU is regressed on
 * its own classes alone (better identified than all processes on all classes).
 */
export type Pools = readonly { processNames: readonly string[]; jobClasses: readonly string[] }[];

interface RunWindows {
  id: string;
  run: Calibration['runs'][number];
  samples: CalibrationWindow[];
  stations: StationWindow[];
  dropped: number;
}

/** One run directory's windows, both sides on one grid starting at its first k6 point. */
async function windowsOf(dir: string, options: CalibrateOptions): Promise<RunWindows> {
  const files = await findRunFiles(dir);
  if (!files.samples)
    throw new InputError(`${dir}: no samples.ndjson (run it with \`fedicap run --collect …\`)`);
  const record = runRecordOf(files);
  const windowSec = options.windowSec ?? 10;
  const read = options.skipBadLines ? { skipBadLines: options.skipBadLines } : {};
  const k6 = await aggregateK6Files(files.k6, { windowSec, ...read });
  const samples: Sample[] = [];
  for await (const s of readSamples(files.samples, read)) samples.push(s);
  checkSamplesCoverRun(files, samples);
  const series = samplesToWindows(samples, { windowSec, originMs: k6.startMs });
  const inRange = (startMs: number) =>
    startMs >= (options.fromMs ?? Number.NEGATIVE_INFINITY) &&
    startMs < (options.toMs ?? Number.POSITIVE_INFINITY);
  return {
    id: record.id,
    run: record,
    samples: series.windows.filter((w) => inRange(w.startMs)),
    stations: stationWindows(k6.windows).filter((w) => inRange(w.startMs)),
    dropped: series.dropped,
  };
}

/**
 * The collector's samples must span the run's: samples of another run, or a collector whose clock
 * is off from the load generator's, would pair the wrong windows. Refused, naming both spans.
 */
function checkSamplesCoverRun(files: RunFiles, samples: readonly Sample[]): void {
  if (files.startMs === null || files.endMs === null) return;
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const s of samples) {
    const t = Date.parse(s.time);
    if (t < first) first = t;
    if (t > last) last = t;
  }
  const tolerance = CLOCK_SKEW_TOLERANCE_MS;
  if (samples.length === 0 || first > files.startMs + tolerance || last < files.endMs - tolerance) {
    const span = (a: number, b: number) => `${new Date(a).toISOString()} – ${new Date(b).toISOString()}`;
    throw new InputError(
      `${files.samples}: the samples span ${samples.length === 0 ? 'nothing' : span(first, last)} but the run ran ${span(files.startMs, files.endMs)}: samples of another run, or the collector's clock is off from the load generator's by more than ${tolerance / 1000} s`,
    );
  }
}

/** k6's windows per station as the web regression reads them (requests and their mean duration). */
function stationWindows(stats: readonly K6Stats[]): StationWindow[] {
  const byStart = new Map<number, StationWindow>();
  for (const s of stats) {
    if (s.group === '' || s.requests === 0 || s.meanMs === null) continue;
    const w = byStart.get(s.startMs) ?? { startMs: s.startMs, durationSec: s.durationSec, stations: {} };
    byStart.set(s.startMs, w);
    w.stations[s.group] = { count: s.requests, meanDurationSec: s.meanMs / 1000 };
  }
  return [...byStart.values()].sort((a, b) => a.startMs - b.startMs);
}

/** The calibration's record of a run, from its run.json. */
function runRecordOf(files: RunFiles): Calibration['runs'][number] {
  const path = files.records[0];
  if (!path || files.target === null || files.startMs === null || files.endMs === null)
    throw new InputError(`${files.dir}: no run.json (the record \`fedicap run\` writes)`);
  const record = JSON.parse(readFileSync(path, 'utf8')) as { scenario?: unknown };
  return {
    id: basename(resolve(files.dir)),
    target: new URL(files.target).host,
    scenario: typeof record.scenario === 'string' ? basename(record.scenario) : 'unknown',
    startedAt: new Date(files.startMs).toISOString(),
    endedAt: new Date(files.endMs).toISOString(),
  };
}

/** Calibrate from one or more runs of one target; the estimates pool their windows. */
export async function calibrateRuns(
  dirs: readonly string[],
  options: CalibrateOptions,
): Promise<CalibrationOutput> {
  if (dirs.length === 0) throw new InputError('calibrate: give at least one run directory');
  const runs: RunWindows[] = [];
  for (const dir of dirs) runs.push(await windowsOf(dir, options));
  const hosts = [...new Set(runs.map((r) => r.run.target))];
  if (hosts.length > 1)
    throw new InputError(
      `calibrate: the runs loaded different targets (${hosts.join(', ')}); calibrate each apart`,
    );
  const samples = runs.flatMap((r) => r.samples);
  if (samples.length < 3)
    throw new InputError(
      `calibrate: ${samples.length} windows of samples without a gap in ${dirs.join(', ')}; a calibration needs at least 3`,
    );
  const bootstrap = { seed: options.seed ?? 1, resamples: options.resamples ?? 400 };
  const pools = poolsByName(samples);
  const jobs = jobDemandsWithIntervals(samples, bootstrap, pools);
  const web = webPart(runs, bootstrap);
  const redis = redisPart(samples, bootstrap);
  const media = mediaPart(runs, bootstrap);
  const usl = uslParts(runs, pools ?? [], bootstrap.seed);
  const firstRun = runs[0]!;
  return calibrationDocument({
    target: {
      kind: options.targetKind,
      baseUrl: `http://${firstRun.run.target}`,
      ...(options.version ? { version: options.version } : {}),
    },
    runs: runs.map((r) => r.run),
    run: firstRun.id,
    ...(jobs ? { jobs } : {}),
    ...(web ? { web } : {}),
    ...(redis ? { redis } : {}),
    ...(media ? { media } : {}),
    usl,
  });
}

type Bootstrap = { seed: number; resamples: number; level?: number };

/**
 * Per job class, CPU, wall and wait per job (estimateJobDemands, per pool when `pools` are given) and
 * their moving-block bootstrap intervals over the windows; undefined when no job completed. `fedicap
 * compare` reads each run's per-job CPU from here.
 */
export function jobDemandsWithIntervals(
  windows: readonly CalibrationWindow[],
  bootstrap: Bootstrap,
  pools?: Pools,
) {
  if (!windows.some((w) => Object.values(w.jobs).some((j) => j.completions > 0))) return undefined;
  const present = new Set(jobClassesIn(windows));
  const groups = (pools ?? [{ processNames: [], jobClasses: [...present] }])
    .map((p) => ({ ...p, jobClasses: p.jobClasses.filter((c) => present.has(c)) }))
    .filter((p) => p.jobClasses.length > 0);
  const estimateOf = (ws: readonly CalibrationWindow[]) =>
    mergeJobEstimates(
      groups.map((p) =>
        estimateJobDemands(ws, {
          jobClasses: p.jobClasses,
          ...(pools ? { isSidekiqProcess: (name: string) => p.processNames.includes(name) } : {}),
        }),
      ),
    );
  const estimate = estimateOf(windows);
  const intervals = blockBootstrap(windows, (ws) => jobDemandQuantities(estimateOf(ws)), bootstrap);
  return { estimate, intervals };
}

/**
 * Pools told by their processes' names, `sidekiq-QUEUES-N` with the queues joined by `_` (as the
 * testbed names them, and as `--process` can name a Mastodon's units): each pool's CPU is regressed on
 * its own queues' classes. Undefined when any Sidekiq process is named otherwise.
 */
export function poolsByName(windows: readonly CalibrationWindow[]): Pools | undefined {
  const names = [...new Set(windows.flatMap((w) => Object.keys(w.processCpuSecPerSec)))].filter((n) =>
    n.startsWith('sidekiq'),
  );
  const byQueues = new Map<string, string[]>();
  for (const name of names) {
    const queues = /^sidekiq-([a-z_]+)-\d+$/.exec(name)?.[1];
    if (!queues?.split('_').every((q) => (QUEUES as readonly string[]).includes(q))) return undefined;
    byQueues.set(queues, [...(byQueues.get(queues) ?? []), name]);
  }
  if (byQueues.size === 0) return undefined;
  return [...byQueues].map(([queues, processNames]) => ({
    processNames,
    jobClasses: JOB_CLASS_NAMES.filter((c) => queues.split('_').includes(JOB_CLASSES[c])),
  }));
}

/** Per-pool estimates as one: their classes side by side, the idle CPU of every pool's processes summed. */
function mergeJobEstimates(parts: readonly JobDemandEstimate[]): JobDemandEstimate {
  const first = parts[0]!;
  const merged = (pick: (e: JobDemandEstimate) => Record<string, number>) =>
    Object.assign({}, ...parts.map(pick)) as Record<string, number>;
  return {
    ...first,
    jobClasses: parts.flatMap((p) => p.jobClasses),
    totalCpuSec: merged((p) => p.totalCpuSec),
    cpuSec: merged((p) => p.cpuSec),
    wallSec: merged((p) => p.wallSec),
    waitSec: merged((p) => p.waitSec),
    completions: merged((p) => p.completions),
    idleCpuSecPerSec: parts.reduce((a, p) => a + p.idleCpuSecPerSec, 0),
    wallWindows: Math.min(...parts.map((p) => p.wallWindows)),
    rmsResidualCpuSecPerSec: Math.max(...parts.map((p) => p.rmsResidualCpuSecPerSec)),
  };
}

function webPart(runs: readonly RunWindows[], bootstrap: Bootstrap) {
  const joined = runs.flatMap((r) => joinWebWindows(r.stations, r.samples));
  const webProcesses = new Set(
    runs
      .flatMap((r) => r.samples.flatMap((w) => Object.keys(w.processCpuSecPerSec)))
      .filter((n) => n.startsWith('web')),
  ).size;
  if (joined.length < 3 || webProcesses === 0) return undefined;
  const options = { webProcesses };
  const estimate = estimateWebDemands(joined, options);
  const intervals = blockBootstrap(
    joined,
    (ws) => webDemandQuantities(estimateWebDemands(ws, options)),
    bootstrap,
  );
  return { estimate, intervals };
}

function redisPart(windows: CalibrationWindow[], bootstrap: Bootstrap) {
  if (!windows.some((w) => w.redisCpuSecPerSec !== undefined)) return undefined;
  const estimate = estimateRedisCpu(windows);
  const interval: Interval | undefined = blockBootstrap(
    windows.filter((w) => w.redisCpuSecPerSec !== undefined),
    (ws) => ({ cpuSecPerJob: estimateRedisCpu(ws).cpuSecPerJob }),
    bootstrap,
  ).cpuSecPerJob;
  return { estimate, ...(interval ? { interval } : {}) };
}

/** k6's station whose requests store local media. */
const UPLOADS = 'media/create';

/**
 * Bytes stored per upload: NNLS (Lawson & Hanson 1974) of the media store's growth per window on the
 * upload rate, beside the inbound activity rate (remote attachments cached as activities arrive) and
 * an intercept (avatars, preview cards); bootstrap interval over windows.
 */
function mediaPart(runs: readonly RunWindows[], bootstrap: Bootstrap) {
  const rows = runs.flatMap((r) => {
    const byStart = new Map(r.samples.map((w) => [w.startMs, w]));
    return r.stations.flatMap((k) => {
      const growth = byStart.get(k.startMs)?.storageGrowthBytesPerSec;
      if (growth === undefined) return [];
      const rate = (station: string) => (k.stations[station]?.count ?? 0) / k.durationSec;
      return [{ growth, uploads: rate(UPLOADS), inbound: rate('inbox') + rate('inbox-cold-actor'), k }];
    });
  });
  const uploads = rows.reduce((a, r) => a + r.uploads * r.k.durationSec, 0);
  if (rows.length < 3 || uploads < 1) return undefined;
  const estimate = (rs: readonly (typeof rows)[number][]) => ({
    bytesPerUpload: nonNegativeLeastSquares(
      rs.map((r) => [r.uploads, r.inbound]),
      rs.map((r) => r.growth),
    ).coefficients[0]!,
  });
  const bytesPerUpload = blockBootstrap(rows, estimate, bootstrap).bytesPerUpload;
  // Zero is no measurement: the uploads' share of the growth could not be told from the rest's.
  return bytesPerUpload && bytesPerUpload.value > 0 ? { bytesPerUpload, uploads } : undefined;
}

/**
 * Universal Scalability Law fits [Gunther 2007] per Sidekiq pool and for the web tier, one point a
 * window: the throughput and the concurrency it ran at (Little: jobs or requests × their mean time in
 * service, per second). Only where the windows span three distinct loads; κ needs loads past the knee
 * to be more than 0.
 */
function uslParts(runs: readonly RunWindows[], pools: Pools, seed: number) {
  const fitted = (component: string, points: UslPoint[]) => {
    const loaded = points.filter((p) => p.concurrency > 0 && p.throughputPerSec > 0);
    if (new Set(loaded.map((p) => p.concurrency.toFixed(3))).size < 3) return [];
    try {
      return [{ component, fit: fitUslWithIntervals(loaded, { seed, resamples: 200 }) }];
    } catch (err) {
      if (err instanceof InputError) return [];
      throw err;
    }
  };
  const web = runs.flatMap((r) =>
    r.stations.map((w) => {
      const all = Object.values(w.stations);
      return {
        concurrency: all.reduce((a, s) => a + s.count * s.meanDurationSec, 0) / w.durationSec,
        throughputPerSec: all.reduce((a, s) => a + s.count, 0) / w.durationSec,
      };
    }),
  );
  const poolFits = pools.flatMap((p) => {
    const queues = [...new Set(p.jobClasses.map((c) => JOB_CLASSES[c as JobClass]))].filter(Boolean);
    const points = runs.flatMap((r) =>
      r.samples.map((w) => {
        const mine = Object.entries(w.jobs).filter(([c]) => p.jobClasses.includes(c));
        return {
          concurrency: mine.reduce((a, [, j]) => a + j.durationSumSec, 0) / w.durationSec,
          throughputPerSec: mine.reduce((a, [, j]) => a + j.completions, 0) / w.durationSec,
        };
      }),
    );
    return fitted(`sidekiq-process:${queues.join('+')}`, points);
  });
  return [...poolFits, ...fitted('web', web)];
}

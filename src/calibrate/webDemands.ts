import { InputError } from '../shared/errors.js';
import { nonNegativeLeastSquares } from './nnls.js';
import type { CalibrationWindow } from './windows.js';

/**
 * Per web endpoint class (the k6 `station` tag, an EndpointClass of src/mastodon/classes.ts): Ruby CPU,
 * PostgreSQL CPU, wall and I/O wait per request, from k6's timings and the processes' CPU.
 */

/** One station in one window, from k6's points (the lead maps results' aggregates onto it). */
export interface StationWindowStats {
  /** Requests completed in the window. */
  count: number;
  /** Their mean `http_req_duration`, seconds. */
  meanDurationSec: number;
}

/** k6's side of one window: per station. `startMs` must be a window start of samplesToWindows's grid. */
export interface StationWindow {
  startMs: number;
  durationSec: number;
  stations: Record<string, StationWindowStats>;
}

/** Both sides of one window joined. */
export interface WebWindow extends StationWindow {
  /** CPU seconds per second of the web (Puma) processes. */
  webCpuSecPerSec: number;
  /** Of PostgreSQL's processes, when sampled. */
  postgresCpuSecPerSec?: number;
  /** Sidekiq job completions per second by class: PostgreSQL's CPU serves them too. */
  jobRatesPerSec: Record<string, number>;
}

export interface JoinOptions {
  /** Default: process names starting with `web` (the testbed's `web-0`, `web-1`, …) or `puma`. */
  isWebProcess?: (name: string) => boolean;
  /** Default: process names starting with `postgres`. */
  isPostgresProcess?: (name: string) => boolean;
}

/**
 * Pair k6's windows with the collector's by start time (both cut on the same grid: pass k6's first
 * window start as samplesToWindows's `originMs`). A k6 window whose samples window was dropped (a
 * gap) is left out.
 */
export function joinWebWindows(
  stationWindows: readonly StationWindow[],
  windows: readonly CalibrationWindow[],
  options: JoinOptions = {},
): WebWindow[] {
  const isWeb = options.isWebProcess ?? ((n: string) => n.startsWith('web') || n.startsWith('puma'));
  const isPostgres = options.isPostgresProcess ?? ((n: string) => n.startsWith('postgres'));
  const byStart = new Map(windows.map((w) => [w.startMs, w]));
  return stationWindows.flatMap((s) => {
    const w = byStart.get(s.startMs);
    if (!w) return [];
    const cpu = Object.entries(w.processCpuSecPerSec);
    const postgres = cpu.filter(([name]) => isPostgres(name));
    const jobRatesPerSec = Object.fromEntries(
      Object.entries(w.jobs).map(([j, x]) => [j, x.completionsPerSec]),
    );
    return [
      {
        ...s,
        webCpuSecPerSec: cpu.reduce((a, [name, rate]) => a + (isWeb(name) ? rate : 0), 0),
        ...(postgres.length > 0
          ? { postgresCpuSecPerSec: postgres.reduce((a, [, rate]) => a + rate, 0) }
          : {}),
        jobRatesPerSec,
      },
    ];
  });
}

export interface WebDemandEstimate {
  stations: string[];
  cpuSec: Record<string, number>;
  /** Count-weighted mean k6 duration over the low-load windows. */
  wallSec: Record<string, number>;
  /** wallSec − cpuSec, at least 0: database round trips, Redis, HTTP; the thread waits without the lock. */
  waitSec: Record<string, number>;
  /** PostgreSQL CPU per request, when PostgreSQL's CPU was sampled. */
  dbSec?: Record<string, number>;
  /** PostgreSQL CPU per Sidekiq job of each class, from the same regression. */
  jobDbSec?: Record<string, number>;
  requests: Record<string, number>;
  idleCpuSecPerSec: number;
  windows: number;
  wallWindows: number;
}

export interface WebDemandOptions {
  /** Number of web processes (for the low-load filter; default 1). */
  webProcesses?: number;
  /** Windows whose web CPU per process is at most this (default 0.3 cores) give the wall time. */
  maxProcessCpuForWall?: number;
}

/**
 * CPU per request of each station: NNLS (Lawson & Hanson 1974) of the web processes' CPU rate on the
 * stations' request rates with an idle intercept (the utilization law, Lazowska et al. 1984 §3.2).
 * PostgreSQL CPU per request the same way, on the stations' and the job classes' rates together
 * (the database serves both). Wall from k6 at low load, where Puma's queueing and the lock wait are
 * small; wait = wall − CPU (PostgreSQL's time is inside the wait, as the model's demand has it).
 */
export function estimateWebDemands(
  windows: readonly WebWindow[],
  options: WebDemandOptions = {},
): WebDemandEstimate {
  if (windows.length === 0) throw new InputError('calibration: no k6 windows overlap the samples');
  const stations = [...new Set(windows.flatMap((w) => Object.keys(w.stations)))].sort();
  const rate = (w: WebWindow, s: string) => (w.stations[s]?.count ?? 0) / w.durationSec;
  const cpu = nonNegativeLeastSquares(
    windows.map((w) => stations.map((s) => rate(w, s))),
    windows.map((w) => w.webCpuSecPerSec),
  );
  const maxCpu = (options.maxProcessCpuForWall ?? 0.3) * (options.webProcesses ?? 1);
  const lowLoad = windows.filter((w) => w.webCpuSecPerSec <= maxCpu);
  const wallFrom = lowLoad.length > 0 ? lowLoad : windows;
  const out: WebDemandEstimate = {
    stations,
    cpuSec: {},
    wallSec: {},
    waitSec: {},
    requests: {},
    idleCpuSecPerSec: cpu.intercept,
    windows: windows.length,
    wallWindows: lowLoad.length,
  };
  stations.forEach((s, i) => {
    out.cpuSec[s] = cpu.coefficients[i]!;
    out.requests[s] = windows.reduce((a, w) => a + (w.stations[s]?.count ?? 0), 0);
    const n = wallFrom.reduce((a, w) => a + (w.stations[s]?.count ?? 0), 0);
    const total = wallFrom.reduce(
      (a, w) => a + (w.stations[s]?.count ?? 0) * (w.stations[s]?.meanDurationSec ?? 0),
      0,
    );
    out.wallSec[s] = n > 0 ? total / n : Number.NaN;
    out.waitSec[s] = Math.max(0, out.wallSec[s]! - out.cpuSec[s]!);
  });
  const db = postgresPerRequest(windows, stations);
  if (db) Object.assign(out, db);
  return out;
}

function postgresPerRequest(windows: readonly WebWindow[], stations: string[]) {
  const sampled = windows.filter((w) => w.postgresCpuSecPerSec !== undefined);
  if (sampled.length === 0) return undefined;
  const jobs = [...new Set(sampled.flatMap((w) => Object.keys(w.jobRatesPerSec)))].sort();
  const fit = nonNegativeLeastSquares(
    sampled.map((w) => [
      ...stations.map((s) => (w.stations[s]?.count ?? 0) / w.durationSec),
      ...jobs.map((j) => w.jobRatesPerSec[j] ?? 0),
    ]),
    sampled.map((w) => w.postgresCpuSecPerSec!),
  );
  return {
    dbSec: Object.fromEntries(stations.map((s, i) => [s, fit.coefficients[i]!])),
    jobDbSec: Object.fromEntries(jobs.map((j, i) => [j, fit.coefficients[stations.length + i]!])),
  };
}

/** The web estimate as named numbers for the bootstrap: `cpuSec:STATION`, `waitSec:STATION`, `dbSec:…`. */
export function webDemandQuantities(e: WebDemandEstimate): Record<string, number> {
  const out: Record<string, number> = { idleCpuSecPerSec: e.idleCpuSecPerSec };
  for (const s of e.stations) {
    out[`cpuSec:${s}`] = e.cpuSec[s]!;
    out[`waitSec:${s}`] = e.waitSec[s]!;
    out[`wallSec:${s}`] = e.wallSec[s]!;
    if (e.dbSec) out[`dbSec:${s}`] = e.dbSec[s]!;
  }
  for (const [j, v] of Object.entries(e.jobDbSec ?? {})) out[`jobDbSec:${j}`] = v;
  return out;
}

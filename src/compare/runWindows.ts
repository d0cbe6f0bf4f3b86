/**
 * One run directory read for a comparison: per endpoint class (k6's `station` tag) and time window, the
 * requests, failures, 429s and the latencies as counted values; the collector's samples cut into the
 * same windows (calibration's windows) when the run has them. Windows, not requests, are what the
 * bootstrap resamples: requests of one run are not independent (a slow second slows all of them).
 */
import type { Sample } from '../collect/sample.js';
import { type CalibrationWindow, samplesToWindows } from '../calibrate/windows.js';
import { AGGREGATED_METRICS } from '../results/aggregate.js';
import { firstPointTimeMs, type K6PointLine, readK6JsonBatches } from '../results/k6Json.js';
import { BadLines, concatBatches } from '../results/records.js';
import { findRunFiles, type RunFiles } from '../results/runFiles.js';
import { readSamples } from '../results/samples.js';
import { timeMs } from '../results/time.js';
import { InputError } from '../shared/errors.js';

/** What one endpoint class did in one window. */
export interface StationWindow {
  startMs: number;
  /** The window's length, cut at the run's last point for the last one. */
  durationSec: number;
  requests: number;
  /** http_req_failed points and how many of them failed. */
  checked: number;
  failed: number;
  status429: number;
  /** http_req_duration in ms to 3 significant digits (HdrHistogram's precision) → how often. */
  latencyMs: Map<number, number>;
}

export interface RunWindows {
  files: RunFiles;
  windowSec: number;
  /** By station, every window of the run in time order. */
  stations: Map<string, StationWindow[]>;
  /** The collector's windows by position since the run's first point (undefined: a gap); null without samples. */
  server: (CalibrationWindow | undefined)[] | null;
}

export interface RunWindowOptions {
  windowSec: number;
  skipBadLines?: BadLines;
}

/** Read a run directory's k6 output (and samples) into windows; an InputError names the file at fault. */
export async function readRunWindows(dir: string, options: RunWindowOptions): Promise<RunWindows> {
  const files = await findRunFiles(dir);
  const read = options.skipBadLines ? { skipBadLines: options.skipBadLines } : {};
  const firsts = await Promise.all(
    files.k6.map((p) => firstPointTimeMs(p, { skipBadLines: new BadLines() })),
  );
  const known = firsts.filter((t): t is number => t !== null);
  if (known.length === 0) throw new InputError(`${files.k6.join(', ')}: no k6 points`);
  const originMs = Math.min(...known);
  const cells = new StationCells(originMs, options.windowSec * 1000);
  const k6 = (p: string) => readK6JsonBatches(p, { ...read, metrics: AGGREGATED_METRICS });
  for await (const batch of concatBatches(files.k6, k6))
    for (const line of batch) if (line.type === 'Point') cells.add(line);
  let server: (CalibrationWindow | undefined)[] | null = null;
  if (files.samples) {
    const samples: Sample[] = [];
    for await (const s of readSamples(files.samples, read)) samples.push(s);
    server = [];
    for (const w of samplesToWindows(samples, { windowSec: options.windowSec, originMs }).windows)
      server[Math.round((w.startMs - originMs) / (options.windowSec * 1000))] = w;
  }
  return { files, windowSec: options.windowSec, stations: cells.result(), server };
}

/** Accumulates k6 points into (station, window) cells. */
class StationCells {
  private readonly cells = new Map<string, Map<number, StationWindow>>();
  private lastMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly originMs: number,
    private readonly windowMs: number,
  ) {}

  add(point: K6PointLine): void {
    const tags = point.data.tags;
    const station = tags?.station;
    if (station === undefined || point.metric === 'iterations' || point.metric === 'dropped_iterations')
      return;
    const ms = timeMs(point.data.time);
    if (ms > this.lastMs) this.lastMs = ms;
    const cell = this.cellAt(station, Math.floor((ms - this.originMs) / this.windowMs));
    const value = point.data.value;
    if (point.metric === 'http_reqs') {
      cell.requests += value;
      if (tags?.status === '429') cell.status429 += value;
    } else if (point.metric === 'http_req_failed') {
      cell.checked++;
      if (value !== 0) cell.failed++;
    } else if (point.metric === 'http_req_duration') {
      const key = threeDigits(value);
      cell.latencyMs.set(key, (cell.latencyMs.get(key) ?? 0) + 1);
    }
  }

  private cellAt(station: string, index: number): StationWindow {
    let windows = this.cells.get(station);
    if (!windows) {
      windows = new Map();
      this.cells.set(station, windows);
    }
    let cell = windows.get(index);
    if (!cell) {
      const startMs = this.originMs + index * this.windowMs;
      cell = {
        startMs,
        durationSec: 0,
        requests: 0,
        checked: 0,
        failed: 0,
        status429: 0,
        latencyMs: new Map(),
      };
      windows.set(index, cell);
    }
    return cell;
  }

  /** Every station over every window of the run, empty ones included: a quiet window is a slow one too. */
  result(): Map<string, StationWindow[]> {
    const out = new Map<string, StationWindow[]>();
    const lastIndex = Math.floor((this.lastMs - this.originMs) / this.windowMs);
    for (const station of [...this.cells.keys()].sort()) {
      const windows: StationWindow[] = [];
      for (let index = 0; index <= lastIndex; index++) {
        const w = this.cellAt(station, index);
        // The last window ends with the run's last point (at least 1 s: a lone point is no rate).
        w.durationSec = Math.max(1000, Math.min(this.windowMs, this.lastMs - w.startMs)) / 1000;
        windows.push(w);
      }
      out.set(station, windows);
    }
    return out;
  }
}

const POWERS = Array.from({ length: 24 }, (_, i) => 10 ** (i - 12));

/** A duration rounded to 3 significant digits (0 for none), so that a window's latencies count in bins. */
export function threeDigits(ms: number): number {
  if (!(ms > 0)) return 0;
  const exponent = Math.floor(Math.log10(ms)) - 2;
  const step = POWERS[exponent + 12] ?? 10 ** exponent;
  return Math.round(ms / step) * step;
}

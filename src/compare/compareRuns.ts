/**
 * `fedicap compare`: two run directories → their windows → the same-load check → rows per endpoint
 * class and, where both runs have the collector's samples, per Sidekiq queue, job class (per-job CPU
 * through each run's calibration) and process → the regressions, worst first.
 */
import type { CalibrationWindow } from '../calibrate/windows.js';
import type { BadLines } from '../results/records.js';
import { InputError } from '../shared/errors.js';
import { clientRows } from './clientRows.js';
import type { Comparison, Row, RunSummary, Unpaired } from './comparison.js';
import { jobCpuRows } from './jobCpuRows.js';
import { readRunWindows, type RunWindows } from './runWindows.js';
import { checkSameLoad, type OfferedLoad, offeredLoad } from './sameLoad.js';
import { serverRows } from './serverRows.js';

/**
 * Fewer windows than this make the percentile intervals too narrow (the bootstrap's small-sample bias):
 * in A/A pairs of synthetic runs with second-to-second drift, 1-minute runs (6 windows) alarmed in 4 of
 * 20 pairs, 2-minute runs in 1 of 20 (test/src/compare/compareRuns.test.ts).
 */
export const MIN_WINDOWS = 12;

export interface CompareOptions {
  /** Relative change that matters (0.1 = 10 %). */
  threshold: number;
  alpha: number;
  /** Interval coverage (default 0.95). */
  level?: number;
  /** Window length (default 10 s). */
  windowSec?: number;
  resamples?: number;
  seed?: number;
  skipBadLines?: BadLines;
}

/** Compare a candidate run with a base run; an InputError when either is unreadable or the loads differ. */
export async function compareRuns(
  baseDir: string,
  candidateDir: string,
  options: CompareOptions,
): Promise<Comparison> {
  const windowSec = options.windowSec ?? 10;
  const read = { windowSec, ...(options.skipBadLines ? { skipBadLines: options.skipBadLines } : {}) };
  const base = await readRunWindows(baseDir, read);
  const candidate = await readRunWindows(candidateDir, read);
  const [baseLoad, candidateLoad] = [offeredLoad(base.files), offeredLoad(candidate.files)];
  checkSameLoad(baseLoad, candidateLoad);
  const settings = {
    threshold: options.threshold,
    alpha: options.alpha,
    level: options.level ?? 0.95,
    windowSec,
    resamples: options.resamples ?? 1000,
    seed: options.seed ?? 1,
  };
  const unpaired: Unpaired[] = [];
  const rows: Row[] = [];
  for (const station of [...new Set([...base.stations.keys(), ...candidate.stations.keys()])].sort()) {
    const [b, c] = [base.stations.get(station), candidate.stations.get(station)];
    if (b && c) rows.push(...clientRows(station, b, c, settings));
    else unpaired.push({ section: 'endpoint class', subject: station, onlyIn: b ? 'base' : 'candidate' });
  }
  const serverNote = serverNoteOf(base, candidate);
  if (serverNote === null) {
    rows.push(...serverRows(base.server!, candidate.server!, settings));
    const defined = (run: RunWindows) => run.server!.filter((w): w is CalibrationWindow => w !== undefined);
    rows.push(...jobCpuRows(defined(base), defined(candidate), settings));
  }
  if (rows.length === 0)
    throw new InputError(
      `compare: ${baseDir} and ${candidateDir} have no endpoint class in common (k6's station tag)`,
    );
  return {
    base: summaryOf(baseLoad, base),
    candidate: summaryOf(candidateLoad, candidate),
    settings,
    rows,
    unpaired,
    warnings: shortRunWarnings([base, candidate], windowSec),
    serverNote,
    regressions: rows.filter((r) => r.verdict === 'regressed').sort((a, b) => severity(b) - severity(a)),
  };
}

/** Why the server side cannot be compared, or null when it can. */
function serverNoteOf(base: RunWindows, candidate: RunWindows): string | null {
  const missing = [base, candidate].filter((r) => r.server === null).map((r) => r.files.dir);
  if (missing.length > 0)
    return `no collector samples in ${missing.join(' and ')} (run with \`fedicap run --collect\`)`;
  const short = [base, candidate].filter((r) => r.server!.filter(Boolean).length < 3).map((r) => r.files.dir);
  if (short.length > 0) return `fewer than 3 windows of samples without a gap in ${short.join(' and ')}`;
  return null;
}

function shortRunWarnings(runs: readonly RunWindows[], windowSec: number): string[] {
  const windows = Math.min(...runs.map((r) => Math.max(0, ...[...r.stations.values()].map((w) => w.length))));
  if (windows >= MIN_WINDOWS) return [];
  return [
    `the runs hold ${windows} windows of ${windowSec} s; with fewer than ${MIN_WINDOWS} the intervals are too ` +
      `narrow and noise can pass for a regression: run at least ${(MIN_WINDOWS * windowSec) / 60} minutes`,
  ];
}

/** How much worse a row got, relative: what orders the regressions. */
function severity(row: Row): number {
  return (row.change.ratio - 1) * (row.worse === 'higher' ? 1 : -1);
}

function summaryOf(load: OfferedLoad, run: RunWindows): RunSummary {
  return {
    dir: load.dir,
    scenario: load.scenario,
    startedAt: load.startedAt,
    durationSec: load.lengthSec,
    hasSamples: run.server !== null,
  };
}

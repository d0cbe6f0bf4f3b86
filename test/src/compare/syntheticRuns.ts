/**
 * Run directories as `fedicap run` leaves them, made up: k6 JSON lines as k6 writes them
 * (test/support/k6Lines.ts) and run.json through the project's own writer. Latencies are log-normal per
 * request around a level that wanders from second to second (AR(1), φ = 0.7), so requests of one run are not
 * independent, as on a real instance.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runRecord, writeRunRecord } from '../../../src/run/record.js';
import { seededRng, standardNormal } from '../../../src/shared/random.js';
import { tempDir } from '../../support/helpers.js';
import { metricLine, requestLines } from '../../support/k6Lines.js';

export interface StationLoad {
  ratePerSec: number;
  medianMs: number;
  /** Multiplies every latency of the station (1.4: 40 % slower). */
  slowdown?: number;
  /** Share of requests answered 500. */
  errorShare?: number;
}

export interface SyntheticRun {
  seed: number;
  durationSec?: number;
  stations?: Record<string, StationLoad>;
  scale?: number;
}

export const STATIONS: Record<string, StationLoad> = {
  'timelines/home': { ratePerSec: 20, medianMs: 80 },
  inbox: { ratePerSec: 10, medianMs: 40 },
};

const START_MS = Date.UTC(2026, 0, 5, 10, 0, 0);

/** Write a synthetic run directory; returns its path. */
export function writeSyntheticRun(run: SyntheticRun): string {
  const dir = tempDir('fedicap-compare-run-');
  const durationSec = run.durationSec ?? 60;
  const stations = run.stations ?? STATIONS;
  const rng = seededRng(run.seed);
  const lines = ['http_reqs', 'http_req_duration', 'http_req_failed', 'iterations'].map(metricLine);
  const levels = Object.fromEntries(Object.keys(stations).map((s) => [s, 0]));
  for (let second = 0; second < durationSec; second++) {
    for (const [station, load] of Object.entries(stations)) {
      // The level moves every second with AR(1) φ = 0.7: slow seconds come in runs of a few.
      levels[station] = 0.7 * levels[station]! + 0.08 * standardNormal(rng);
      for (let i = 0; i < load.ratePerSec; i++) {
        const ms = START_MS + second * 1000 + Math.floor((1000 * i) / load.ratePerSec);
        const latency =
          load.medianMs * (load.slowdown ?? 1) * Math.exp(levels[station]! + 0.5 * standardNormal(rng));
        const status = rng.next() < (load.errorShare ?? 0) ? '500' : '200';
        lines.push(...requestLines(ms, latency, { station, status, scenario: 'mixed' }));
      }
    }
  }
  writeFileSync(join(dir, 'k6.ndjson'), `${lines.join('\n')}\n`);
  writeRunRecord(
    dir,
    runRecord({
      scenarioPath: '/work/scenarios/mixed.ts',
      engine: 'local',
      env: { BASE_URL: 'http://127.0.0.1:3000', SCALE: String(run.scale ?? 1) },
      scale: run.scale ?? 1,
      duration: `${durationSec}s`,
      startedAt: new Date(START_MS - 500).toISOString(),
      endedAt: new Date(START_MS + durationSec * 1000).toISOString(),
      exitCode: 0,
    }),
  );
  return dir;
}

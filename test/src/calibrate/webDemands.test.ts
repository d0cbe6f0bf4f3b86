import { describe, expect, it } from 'vitest';
import { blockBootstrap } from '../../../src/calibrate/bootstrap.js';
import {
  estimateWebDemands,
  joinWebWindows,
  type WebWindow,
  webDemandQuantities,
} from '../../../src/calibrate/webDemands.js';
import type { CalibrationWindow } from '../../../src/calibrate/windows.js';
import { InputError } from '../../../src/shared/errors.js';
import { seededRng, standardNormal } from '../../../src/shared/random.js';
import { poisson } from '../../support/calibrationData.js';

const STATIONS = {
  'timelines/home': { cpuSec: 0.015, wallSec: 0.06, dbSec: 0.004 },
  'statuses/create': { cpuSec: 0.03, wallSec: 0.12, dbSec: 0.008 },
  inbox: { cpuSec: 0.005, wallSec: 0.015, dbSec: 0.001 },
};
const PROCESSING_DB_SEC = 0.006;
const IDLE_CPU = 0.01;

/** Eight steps of 30 ten-second windows; each station's rate (and the ingress job rate) varies on its own. */
function webWindows(seed: number): WebWindow[] {
  const rng = seededRng(seed);
  const steps = [
    [5, 1, 10, 3],
    [10, 1, 5, 6],
    [2, 3, 20, 2],
    [8, 2, 2, 8],
    [12, 0.5, 15, 1],
    [4, 4, 8, 5],
    [15, 2, 12, 4],
    [1, 1, 3, 1],
  ];
  const out: WebWindow[] = [];
  steps.forEach((rates, step) => {
    for (let k = 0; k < 30; k++) {
      const stations: WebWindow['stations'] = {};
      let cpu = IDLE_CPU * 10;
      let db = 0;
      Object.entries(STATIONS).forEach(([name, truth], i) => {
        const count = poisson(rng, rates[i]! * 10);
        cpu += count * truth.cpuSec * (1 + (0.3 * standardNormal(rng)) / Math.sqrt(Math.max(1, count)));
        db += count * truth.dbSec;
        const sd = (0.5 * truth.wallSec) / Math.sqrt(Math.max(1, count));
        if (count > 0) stations[name] = { count, meanDurationSec: truth.wallSec + sd * standardNormal(rng) };
      });
      const jobs = poisson(rng, rates[3]! * 10);
      db += jobs * PROCESSING_DB_SEC;
      out.push({
        startMs: (step * 30 + k) * 10_000,
        durationSec: 10,
        stations,
        webCpuSecPerSec: Math.max(0, cpu / 10 + 0.01 * standardNormal(rng)),
        postgresCpuSecPerSec: Math.max(0, db / 10 + 0.005 * standardNormal(rng)),
        jobRatesPerSec: { 'ActivityPub::ProcessingWorker': jobs / 10 },
      });
    }
  });
  return out;
}

describe('estimateWebDemands', () => {
  const windows = webWindows(31);

  it('recovers CPU, PostgreSQL CPU, wall and wait per request of each station', () => {
    const e = estimateWebDemands(windows, { webProcesses: 2 });
    expect(e.stations).toEqual(['inbox', 'statuses/create', 'timelines/home']);
    for (const [name, truth] of Object.entries(STATIONS)) {
      expect(Math.abs(e.cpuSec[name]! / truth.cpuSec - 1), name).toBeLessThan(0.15);
      expect(Math.abs(e.dbSec![name]! / truth.dbSec - 1), name).toBeLessThan(0.25);
      expect(Math.abs(e.wallSec[name]! / truth.wallSec - 1), name).toBeLessThan(0.03);
      expect(Math.abs(e.waitSec[name]! / (truth.wallSec - truth.cpuSec) - 1), name).toBeLessThan(0.1);
    }
    expect(Math.abs(e.jobDbSec!['ActivityPub::ProcessingWorker']! / PROCESSING_DB_SEC - 1)).toBeLessThan(
      0.15,
    );
    expect(e.requests.inbox).toBeGreaterThan(20_000);
    expect(e.windows).toBe(240);
  });

  it('bootstrap intervals over windows cover the truth', () => {
    const r = blockBootstrap(
      windows,
      (ws) => webDemandQuantities(estimateWebDemands(ws, { webProcesses: 2 })),
      {
        seed: 9,
        resamples: 300,
      },
    );
    for (const [name, truth] of Object.entries(STATIONS)) {
      for (const [key, value] of [
        [`cpuSec:${name}`, truth.cpuSec],
        [`dbSec:${name}`, truth.dbSec],
        [`waitSec:${name}`, truth.wallSec - truth.cpuSec],
      ] as const) {
        expect(r[key]!.low, key).toBeLessThanOrEqual(value);
        expect(r[key]!.high, key).toBeGreaterThanOrEqual(value);
      }
    }
  });

  it('reads the wall only from windows at low load when there are some', () => {
    const e = estimateWebDemands(windows, { webProcesses: 1, maxProcessCpuForWall: 0.2 });
    expect(e.wallWindows).toBeGreaterThan(0);
    expect(e.wallWindows).toBeLessThan(e.windows);
    expect(() => estimateWebDemands([])).toThrow(InputError);
  });
});

describe('joinWebWindows', () => {
  it('pairs k6 windows with the samples windows by start, summing web and PostgreSQL processes', () => {
    const sample = (startMs: number): CalibrationWindow => ({
      startMs,
      durationSec: 10,
      jobs: {
        LinkCrawlWorker: { completions: 20, completionsPerSec: 2, durationSumSec: 1, durationCount: 20 },
      },
      processCpuSecPerSec: { 'web-0': 0.2, 'web-1': 0.3, 'sidekiq-0': 0.9, postgres: 0.1 },
      queueLatencySec: {},
      queueCompletions: {},
      queueBacklog: {},
      queueWaitBuckets: {},
      queuePushBuckets: {},
    });
    const joined = joinWebWindows(
      [0, 10_000, 20_000].map((startMs) => ({
        startMs,
        durationSec: 10,
        stations: { inbox: { count: 50, meanDurationSec: 0.02 } },
      })),
      [sample(0), sample(20_000)], // the samples window at 10 s was dropped for a gap
    );
    expect(joined.map((w) => w.startMs)).toEqual([0, 20_000]);
    expect(joined[0]!.webCpuSecPerSec).toBeCloseTo(0.5, 12);
    expect(joined[0]!.postgresCpuSecPerSec).toBeCloseTo(0.1, 12);
    expect(joined[0]!.jobRatesPerSec).toEqual({ LinkCrawlWorker: 2 });
  });
});

import { describe, expect, it } from 'vitest';
import { samplesToWindows } from '../../../src/calibrate/windows.js';
import { jobCpuRows, changeOfEstimates } from '../../../src/compare/jobCpuRows.js';
import { type SyntheticRun, syntheticSamples } from '../../support/calibrationData.js';

const settings = { seed: 1, resamples: 400, level: 0.95, threshold: 0.1, alpha: 0.05 };

/** Three minutes of one steady load with Poisson completions, FeedInsertWorker at `feedCpuMs`. */
function windowsOf(seed: number, feedCpuMs: number) {
  const run: SyntheticRun = {
    seed,
    steps: [{ durationSec: 180, ratesPerSec: { DistributionWorker: 4, FeedInsertWorker: 40 } }],
    jobs: {
      DistributionWorker: { cpuSec: 0.004, wallSec: 0.01 },
      FeedInsertWorker: { cpuSec: feedCpuMs / 1000, wallSec: 0.004 },
    },
    frameworkCpuSec: 0.0005,
    idleCpuSecPerSec: 0.02,
    cpuNoiseSdPerSec: 0.005,
  };
  return samplesToWindows(syntheticSamples(run), { windowSec: 5 }).windows;
}

describe('per-job CPU rows', () => {
  it('the difference of two independent estimates, its interval the widest their intervals allow', () => {
    const c = changeOfEstimates({ value: 1, low: 0.8, high: 1.2 }, { value: 3, low: 2.7, high: 3.3 });
    expect(c.difference).toBe(2);
    expect(c.low).toBeCloseTo(2.7 - 1.2, 12);
    expect(c.high).toBeCloseTo(3.3 - 0.8, 12);
    expect(c.ratio).toBe(3);
    expect(c.relativeLow).toBeCloseTo(c.low, 12);
    // overlapping intervals: the change is inside the noise
    expect(
      changeOfEstimates({ value: 1, low: 0.5, high: 2 }, { value: 2, low: 1.5, high: 3 }).low,
    ).toBeLessThan(0);
  });

  it('finds FeedInsertWorker 2 ms slower and leaves DistributionWorker unchanged', () => {
    const rows = jobCpuRows(windowsOf(1, 1), windowsOf(2, 3), settings);
    const feed = rows.find((r) => r.subject === 'FeedInsertWorker')!;
    expect(feed.metric).toBe('CPU per job');
    expect(feed.verdict).toBe('regressed');
    // the truth: 1.5 → 3.5 ms with Sidekiq's 0.5 ms
    expect(feed.change.base).toBeGreaterThan(1.2);
    expect(feed.change.base).toBeLessThan(1.8);
    expect(feed.change.difference).toBeGreaterThan(1.6);
    expect(feed.change.difference).toBeLessThan(2.4);
    expect(feed.change.low).toBeGreaterThan(0);
    expect(rows.find((r) => r.subject === 'DistributionWorker')!.verdict).toBe('unchanged');
  });

  it('calls the same truth unchanged in A/A pairs', () => {
    let alarms = 0;
    for (let k = 0; k < 10; k++) {
      const rows = jobCpuRows(windowsOf(10 + 2 * k, 1), windowsOf(11 + 2 * k, 1), settings);
      expect(rows.map((r) => r.subject)).toEqual(['DistributionWorker', 'FeedInsertWorker']);
      alarms += rows.filter((r) => r.verdict === 'regressed').length;
    }
    process.stdout.write(`per-job CPU rows, 10 synthetic A/A pairs: ${alarms} of 20 rows regressed\n`);
    expect(alarms).toBeLessThanOrEqual(1);
  });

  it('compares nothing without the Sidekiq processes CPU', () => {
    const bare = windowsOf(3, 1).map((w) => ({ ...w, processCpuSecPerSec: {} }));
    expect(jobCpuRows(bare, bare, settings)).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { blockBootstrap } from '../../../src/calibrate/bootstrap.js';
import {
  estimateJobDemands,
  estimateRedisCpu,
  jobDemandQuantities,
  regressOnJobRates,
} from '../../../src/calibrate/cpuRegression.js';
import { samplesToWindows } from '../../../src/calibrate/windows.js';
import { InputError } from '../../../src/shared/errors.js';
import { type JobTruth, type SyntheticRun, syntheticSamples } from '../../support/calibrationData.js';

const JOBS: Record<string, JobTruth> = {
  FeedInsertWorker: { cpuSec: 0.002, wallSec: 0.006 },
  DistributionWorker: { cpuSec: 0.01, wallSec: 0.03 },
  'ActivityPub::DeliveryWorker': { cpuSec: 0.004, wallSec: 0.25, queue: 'push' },
  'ActivityPub::ProcessingWorker': { cpuSec: 0.02, wallSec: 0.08, queue: 'ingress' },
};

/** Six low-load steps of five minutes with different mixes, so that each class's rate varies on its own. */
const STEPS: SyntheticRun['steps'] = [
  {
    FeedInsertWorker: 20,
    DistributionWorker: 1,
    'ActivityPub::DeliveryWorker': 5,
    'ActivityPub::ProcessingWorker': 2,
  },
  {
    FeedInsertWorker: 60,
    DistributionWorker: 2,
    'ActivityPub::DeliveryWorker': 10,
    'ActivityPub::ProcessingWorker': 2,
  },
  {
    FeedInsertWorker: 20,
    DistributionWorker: 6,
    'ActivityPub::DeliveryWorker': 30,
    'ActivityPub::ProcessingWorker': 4,
  },
  {
    FeedInsertWorker: 40,
    DistributionWorker: 3,
    'ActivityPub::DeliveryWorker': 10,
    'ActivityPub::ProcessingWorker': 8,
  },
  {
    FeedInsertWorker: 10,
    DistributionWorker: 8,
    'ActivityPub::DeliveryWorker': 20,
    'ActivityPub::ProcessingWorker': 1,
  },
  {
    FeedInsertWorker: 80,
    DistributionWorker: 4,
    'ActivityPub::DeliveryWorker': 40,
    'ActivityPub::ProcessingWorker': 6,
  },
].map((ratesPerSec) => ({ durationSec: 300, ratesPerSec }));

const FRAMEWORK_CPU_SEC = 0.0003;

function run(seed: number, extra: Partial<SyntheticRun> = {}): SyntheticRun {
  return {
    seed,
    steps: STEPS,
    jobs: JOBS,
    frameworkCpuSec: FRAMEWORK_CPU_SEC,
    idleCpuSecPerSec: 0.02,
    cpuNoiseSdPerSec: 0.03,
    redis: { cpuSecPerJob: 0.00003, idleCpuSecPerSec: 0.002 },
    ...extra,
  };
}

describe('estimateJobDemands', () => {
  const windows = samplesToWindows(syntheticSamples(run(11))).windows;
  const fixed = { kind: 'fixed', cpuSec: FRAMEWORK_CPU_SEC } as const;

  it('recovers each class’s CPU per job, the idle CPU, the wall and the I/O wait', () => {
    const e = estimateJobDemands(windows, { framework: fixed });
    expect(e.windows).toBe(179);
    for (const [name, truth] of Object.entries(JOBS)) {
      expect(e.cpuSec[name]).toBeGreaterThan(truth.cpuSec * 0.9);
      expect(e.cpuSec[name]).toBeLessThan(truth.cpuSec * 1.1);
      expect(e.totalCpuSec[name]! - e.cpuSec[name]!).toBeCloseTo(FRAMEWORK_CPU_SEC, 12);
      expect(Math.abs(e.wallSec[name]! / truth.wallSec - 1)).toBeLessThan(0.02);
      // The wait is the wall minus the class's own CPU (the exporter does not time the framework's fetch).
      expect(e.waitSec[name]! / (truth.wallSec - truth.cpuSec)).toBeCloseTo(1, 1);
    }
    // The intercept extrapolates to no load, far from every step: known less well.
    expect(Math.abs(e.idleCpuSecPerSec - 0.02)).toBeLessThan(0.008);
    // At most 0.7 cores over two processes: every window is at low load.
    expect(e.wallWindows).toBe(e.windows);
  });

  it('takes the framework cost from a no-op class run in the same load', () => {
    const withNoop = run(12, {
      jobs: { ...JOBS, NoopWorker: { cpuSec: 0, wallSec: 0 } },
      steps: STEPS.map((s, i) => ({
        ...s,
        ratesPerSec: { ...s.ratesPerSec, NoopWorker: 10 + 15 * (i % 3) },
      })),
    });
    const w = samplesToWindows(syntheticSamples(withNoop)).windows;
    const e = estimateJobDemands(w, { framework: { kind: 'noop-class', jobClass: 'NoopWorker' } });
    expect(e.frameworkCpuSec).toBeGreaterThan(FRAMEWORK_CPU_SEC * 0.5);
    expect(e.frameworkCpuSec).toBeLessThan(FRAMEWORK_CPU_SEC * 1.5);
    expect(e.cpuSec['ActivityPub::ProcessingWorker']! / 0.02).toBeCloseTo(1, 1);
    expect(() =>
      estimateJobDemands(windows, { framework: { kind: 'noop-class', jobClass: 'NoopWorker' } }),
    ).toThrow(new InputError('calibration: the no-op class "NoopWorker" completed no job in these windows'));
  });

  it('bootstrap intervals over windows cover the truth and are narrow where the data are rich', () => {
    const intervals = blockBootstrap(
      windows,
      (ws) => jobDemandQuantities(estimateJobDemands(ws, { framework: fixed })),
      { seed: 5, resamples: 300 },
    );
    for (const [name, truth] of Object.entries(JOBS)) {
      const cpu = intervals[`cpuSec:${name}`]!;
      expect(cpu.low).toBeLessThanOrEqual(truth.cpuSec);
      expect(cpu.high).toBeGreaterThanOrEqual(truth.cpuSec);
      expect(cpu.resamples).toBe(300);
      const wait = intervals[`waitSec:${name}`]!;
      expect(wait.low).toBeLessThanOrEqual(truth.wallSec - truth.cpuSec);
      expect(wait.high).toBeGreaterThanOrEqual(truth.wallSec - truth.cpuSec);
    }
    // FeedInsertWorker, the most frequent class: its CPU known to within ±15 %.
    const feed = intervals['cpuSec:FeedInsertWorker']!;
    expect((feed.high - feed.low) / 0.002).toBeLessThan(0.3);
  });

  it('a class whose rate never changes apart from another is not separable: NNLS still answers ≥ 0', () => {
    // DistributionWorker always at 1/20 of FeedInsertWorker's rate: only their weighted sum is identified.
    const collinear = run(13, {
      steps: [10, 40, 80].map((feed) => ({
        durationSec: 300,
        ratesPerSec: { FeedInsertWorker: feed, DistributionWorker: feed / 20 },
      })),
    });
    const w = samplesToWindows(syntheticSamples(collinear)).windows;
    const fit = regressOnJobRates(w, ['FeedInsertWorker', 'DistributionWorker'], (x) =>
      Object.values(x.processCpuSecPerSec).reduce((a, b) => a + b, 0),
    );
    const combined = fit.perJobSec.FeedInsertWorker! + fit.perJobSec.DistributionWorker! / 20;
    expect(combined / (0.0023 + 0.0103 / 20)).toBeCloseTo(1, 1);
    expect(fit.perJobSec.FeedInsertWorker).toBeGreaterThanOrEqual(0);
    expect(fit.perJobSec.DistributionWorker).toBeGreaterThanOrEqual(0);
  });
});

describe('estimateRedisCpu', () => {
  it('recovers Redis CPU per job and its idle CPU, and per request when a request rate is given', () => {
    const windows = samplesToWindows(syntheticSamples(run(14))).windows;
    const e = estimateRedisCpu(windows);
    expect(e.cpuSecPerJob / 0.00003).toBeCloseTo(1, 1);
    expect(e.idleCpuSecPerSec).toBeCloseTo(0.002, 3);
    // A request rate unrelated to Redis's CPU gets (close to) nothing.
    const withRequests = estimateRedisCpu(windows, (w) => 5 + ((w.startMs / 10_000) % 7));
    expect(withRequests.cpuSecPerRequest).toBeLessThan(0.000005);
    expect(withRequests.cpuSecPerJob / 0.00003).toBeCloseTo(1, 1);
    expect(() => estimateRedisCpu(windows.map(({ redisCpuSecPerSec, ...w }) => w))).toThrow(InputError);
  });
});

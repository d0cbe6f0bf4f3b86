import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blockBootstrap } from '../../../src/calibrate/bootstrap.js';
import { applyCalibration, loadCalibration } from '../../../src/calibrate/calibrationFile.js';
import { calibrationDocument, type CalibrationParts } from '../../../src/calibrate/calibrationOutput.js';
import {
  estimateJobDemands,
  estimateRedisCpu,
  jobDemandQuantities,
} from '../../../src/calibrate/cpuRegression.js';
import { fitUslWithIntervals, throughputAtConcurrency } from '../../../src/calibrate/usl.js';
import { samplesToWindows } from '../../../src/calibrate/windows.js';
import { InputError } from '../../../src/shared/errors.js';
import { seededRng } from '../../../src/shared/random.js';
import { defaultProfile, tempDir } from '../../support/helpers.js';
import { syntheticSamples } from '../../support/calibrationData.js';

const TRUTH = {
  FeedInsertWorker: { cpuSec: 0.002, wallSec: 0.006 },
  'ActivityPub::DeliveryWorker': { cpuSec: 0.004, wallSec: 0.25, queue: 'push' },
  NoopWorker: { cpuSec: 0, wallSec: 0.0001 },
};
const FRAMEWORK = 0.0003;
const REDIS_PER_JOB = 0.00003;

const RUN = {
  id: 'steps-1',
  target: '127.0.0.1',
  scenario: 'mixed',
  startedAt: '2026-12-01T10:00:00Z',
  endedAt: '2026-12-01T10:30:00Z',
};
const TARGET = { kind: 'testbed', baseUrl: 'http://127.0.0.1:3000', version: '0.1.0' } as const;

/** From samples to the parts of a calibration, as `fedicap calibrate` will do. */
function estimatedParts(): CalibrationParts {
  const samples = syntheticSamples({
    seed: 41,
    steps: [
      [20, 5, 10],
      [60, 10, 30],
      [20, 30, 5],
      [80, 20, 40],
      [40, 40, 20],
    ].map(([feed, delivery, noop]) => ({
      durationSec: 240,
      ratesPerSec: { FeedInsertWorker: feed!, 'ActivityPub::DeliveryWorker': delivery!, NoopWorker: noop! },
    })),
    jobs: TRUTH,
    frameworkCpuSec: FRAMEWORK,
    idleCpuSecPerSec: 0.02,
    cpuNoiseSdPerSec: 0.02,
    redis: { cpuSecPerJob: REDIS_PER_JOB, idleCpuSecPerSec: 0.002 },
  });
  const { windows } = samplesToWindows(samples);
  const options = { framework: { kind: 'noop-class', jobClass: 'NoopWorker' } } as const;
  const jobs = estimateJobDemands(windows, options);
  const jobIntervals = blockBootstrap(windows, (w) => jobDemandQuantities(estimateJobDemands(w, options)), {
    seed: 1,
    resamples: 200,
  });
  const redis = blockBootstrap(windows, (w) => ({ perJob: estimateRedisCpu(w).cpuSecPerJob }), {
    seed: 2,
    resamples: 200,
  }).perJob!;
  const rng = seededRng(3);
  const points = [1, 2, 4, 8, 16, 24, 32, 48].map((n) => ({
    concurrency: n,
    throughputPerSec:
      throughputAtConcurrency({ sigma: 0.04, kappa: 0.0008, lambda: 30 }, n) *
      (1 + 0.02 * (rng.next() - 0.5)),
  }));
  return {
    target: TARGET,
    runs: [RUN],
    run: RUN.id,
    jobs: { estimate: jobs, intervals: jobIntervals },
    redis: { estimate: estimateRedisCpu(windows), interval: redis },
    usl: [{ component: 'sidekiq-queue:push', fit: fitUslWithIntervals(points, { seed: 4, resamples: 100 }) }],
  };
}

describe('calibrationDocument', () => {
  const parts = estimatedParts();
  const { document, skipped } = calibrationDocument(parts);

  it('writes every estimate with its interval, the target, and what it could not place', () => {
    expect(document.target).toEqual(TARGET);
    expect(skipped).toEqual(['job class NoopWorker (not in the model)']);
    const feed = document.jobs!.FeedInsertWorker as { cpuSec: { value: number; low: number; high: number } };
    expect(feed.cpuSec.low).toBeLessThanOrEqual(0.002);
    expect(feed.cpuSec.high).toBeGreaterThanOrEqual(0.002);
    expect(document.sidekiq).toMatchObject({ run: 'steps-1' });
    const framework = document.sidekiq!.frameworkCpuSec as { low: number; high: number };
    expect(framework.low).toBeLessThanOrEqual(FRAMEWORK);
    expect(framework.high).toBeGreaterThanOrEqual(FRAMEWORK);
    const redis = document.sidekiq!.redisCpuSecPerJob as { low: number; high: number };
    expect(redis.low).toBeLessThanOrEqual(REDIS_PER_JOB);
    expect(redis.high).toBeGreaterThanOrEqual(REDIS_PER_JOB);
    const usl = document.usl![0]!;
    expect(usl.component).toBe('sidekiq-queue:push');
    expect((usl.sigma as { low: number }).low).toBeLessThanOrEqual(0.04);
    expect((usl.sigma as { high: number }).high).toBeGreaterThanOrEqual(0.04);
    expect(usl.maxConcurrency!.value).toBeCloseTo(Math.sqrt(0.96 / 0.0008), -1);
  });

  it('round-trips through the file, and the forecast samples the measured ranges', () => {
    const file = join(tempDir('fedicap-cal-'), 'calibration.json');
    writeFileSync(file, JSON.stringify(document));
    const profile = applyCalibration(defaultProfile(), loadCalibration(file));
    const cpu = profile.serviceDemands.jobs.FeedInsertWorker.cpuSec;
    const written = document.jobs!.FeedInsertWorker as {
      cpuSec: { value: number; low: number; high: number };
    };
    expect(cpu).toEqual({
      ...written.cpuSec,
      source: expect.stringMatching(
        /^measured: run steps-1 \(\d+ samples\) on testbed http:\/\/127\.0\.0\.1:3000$/,
      ),
    });
    expect(cpu.low).toBeLessThan(cpu.high);
    expect(profile.serviceDemands.sidekiqFrameworkCpuSec.source).toMatch(/^measured: run steps-1/);
    expect(profile.serviceDemands.redisCpuSecPerJob.low).toBeLessThanOrEqual(REDIS_PER_JOB);
  });

  it('refuses a run whose target is not the calibration’s', () => {
    expect(() => calibrationDocument({ ...parts, runs: [{ ...RUN, target: 'mastodon.example' }] })).toThrow(
      InputError,
    );
    expect(() => calibrationDocument({ ...parts, runs: [{ ...RUN, target: 'mastodon.example' }] })).toThrow(
      /runs\.0\.target: run target "mastodon\.example" is not the calibration's target http:\/\/127\.0\.0\.1:3000/,
    );
  });
});

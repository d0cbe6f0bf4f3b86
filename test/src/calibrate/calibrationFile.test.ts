import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  applyCalibration,
  type Calibration,
  calibrationSchema,
  combineCalibrations,
  loadCalibration,
} from '../../../src/calibrate/calibrationFile.js';
import { InputError } from '../../../src/shared/errors.js';
import { drawProfile } from '../../../src/model/uncertainty.js';
import { seededRng } from '../../../src/shared/random.js';
import { forecastReport } from '../../../src/report/pipeline.js';
import { defaultProfile, tempDir } from '../../support/helpers.js';

const run = {
  id: 'r1',
  target: 'staging.example',
  scenario: 'mixed',
  startedAt: '2026-11-20T10:00:00Z',
  endedAt: '2026-11-20T11:00:00Z',
};

function writeCalibration(doc: unknown): string {
  const file = join(tempDir('fedicap-cal-'), 'calibration.json');
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

describe('calibration', () => {
  it("bytes stored per upload replace the profile's image size, their interval its range", () => {
    const cal = loadCalibration(
      writeCalibration({
        fedicapCalibration: 1,
        runs: [run],
        media: {
          localImageBytes: { value: 900_000, low: 700_000, high: 1_200_000 },
          run: 'r1',
          samples: 300,
        },
      }),
    );
    const image = applyCalibration(defaultProfile(), cal).media.localImageBytes;
    expect(image).toMatchObject({ value: 900_000, low: 700_000, high: 1_200_000 });
    expect(image.source).toContain('measured: run r1 (300 samples)');
  });

  it('measured demands replace assumptions and carry their run', () => {
    const cal = loadCalibration(
      writeCalibration({
        fedicapCalibration: 1,
        runs: [run],
        jobs: { 'ActivityPub::DeliveryWorker': { cpuSec: 0.01, waitSec: 0.5, run: 'r1', samples: 4000 } },
        postgres: { connectionHoldFactor: 2, run: 'r1' },
      }),
    );
    const profile = applyCalibration(defaultProfile(), cal);
    const delivery = profile.serviceDemands.jobs['ActivityPub::DeliveryWorker'];
    expect(delivery.waitSec).toEqual({
      value: 0.5,
      low: 0.5,
      high: 0.5,
      source: 'measured: run r1 (4000 samples)',
    });
    // dbSec was not measured: still the assumption.
    expect(delivery.dbSec.source).toBe('assumption');
    expect(profile.serviceDemands.postgresConnectionHoldFactor.value).toBe(2);
  });

  it('a component is calibrated once every demand it uses is measured', () => {
    const profile = defaultProfile();
    const web = Object.fromEntries(
      Object.keys(profile.serviceDemands.web).map((e) => [
        e,
        { cpuSec: 0.02, waitSec: 0.01, dbSec: 0.005, run: 'r1', samples: 100 },
      ]),
    );
    const cal = loadCalibration(writeCalibration({ fedicapCalibration: 1, runs: [run], web }));
    const report = forecastReport(applyCalibration(profile, cal), {
      months: 3,
      start: '2026-11',
      method: 'analytic',
      draws: 0,
      seed: 1,
    });
    expect(report.components.find((c) => c.id === 'web')!.calibrated).toBe(true);
    expect(report.uncalibrated).not.toContain('web');
    expect(report.uncalibrated).toContain('sidekiq-queue:push');
  });

  it('rejects an unknown job class, an unknown run and an empty measurement, by path', () => {
    const file = writeCalibration({
      fedicapCalibration: 1,
      runs: [run],
      jobs: {
        NotAWorker: { cpuSec: 1, run: 'r1', samples: 1 },
        LinkCrawlWorker: { run: 'r1', samples: 1 },
        FeedInsertWorker: { cpuSec: 0.001, run: 'r9', samples: 1 },
        DistributionWorker: { childCpuSec: 1, run: 'r1', samples: 1 },
      },
    });
    let message = '';
    try {
      loadCalibration(file);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(`calibration ${file}: invalid`);
    expect(message).toMatch(/jobs: Unrecognized key: "NotAWorker"/);
    expect(message).toMatch(/jobs\.LinkCrawlWorker: give at least one of cpuSec, waitSec, dbSec/);
    expect(message).toMatch(/jobs\.FeedInsertWorker\.run: unknown run "r9"/);
    expect(message).toMatch(
      /jobs\.DistributionWorker\.childCpuSec: only PostProcessMediaWorker runs a child process/,
    );
  });

  it("a Sidekiq pool is calibrated only when ffmpeg's transcode CPU is measured too", () => {
    const profile = defaultProfile();
    const all = (extra: Record<string, number>) =>
      Object.fromEntries(
        Object.keys(profile.serviceDemands.jobs).map((c) => [
          c,
          {
            cpuSec: 0.01,
            waitSec: 0.02,
            dbSec: 0.001,
            ...(c === 'PostProcessMediaWorker' ? extra : {}),
            run: 'r1',
            samples: 50,
          },
        ]),
      );
    const report = (jobs: unknown) =>
      forecastReport(
        applyCalibration(
          profile,
          loadCalibration(writeCalibration({ fedicapCalibration: 1, runs: [run], jobs })),
        ),
        {
          months: 3,
          start: '2026-11',
          method: 'analytic',
          draws: 0,
          seed: 1,
        },
      );
    const without = report(all({}));
    expect(without.components.find((c) => c.id === 'sidekiq-queue:default')!.calibrated).toBe(false);
    expect(without.components.find((c) => c.id === 'sidekiq-queue:push')!.calibrated).toBe(true);
    const withChild = report(all({ childCpuSec: 9.5 }));
    expect(withChild.components.find((c) => c.id === 'sidekiq-queue:default')!.calibrated).toBe(true);
    expect(withChild.assumptions.find((a) => a.path === 'serviceDemands.videoTranscodeCpuSec')).toMatchObject(
      { value: 9.5, source: 'measured: run r1 (50 samples)' },
    );
  });

  it('a value with its interval becomes the quantity’s range, and the Monte Carlo draws inside it', () => {
    const cal = loadCalibration(
      writeCalibration({
        fedicapCalibration: 1,
        target: { kind: 'testbed', baseUrl: 'http://staging.example:3000' },
        runs: [run],
        jobs: {
          FeedInsertWorker: {
            cpuSec: { value: 0.002, low: 0.0017, high: 0.0024 },
            waitSec: 0.004,
            run: 'r1',
            samples: 9,
          },
        },
        sidekiq: {
          frameworkCpuSec: { value: 0.0003, low: 0.0002, high: 0.0004 },
          redisCpuSecPerJob: 0.00003,
          run: 'r1',
          samples: 9,
        },
      }),
    );
    const profile = applyCalibration(defaultProfile(), cal);
    const cpu = profile.serviceDemands.jobs.FeedInsertWorker.cpuSec;
    expect(cpu).toEqual({
      value: 0.002,
      low: 0.0017,
      high: 0.0024,
      source: 'measured: run r1 (9 samples) on testbed http://staging.example:3000',
    });
    expect(profile.serviceDemands.jobs.FeedInsertWorker.waitSec.low).toBe(0.004);
    expect(profile.serviceDemands.sidekiqFrameworkCpuSec).toMatchObject({
      value: 0.0003,
      low: 0.0002,
      high: 0.0004,
    });
    expect(profile.serviceDemands.redisCpuSecPerJob.value).toBe(0.00003);
    const rng = seededRng(7);
    const draws = Array.from({ length: 200 }, () => drawProfile(profile, rng));
    const sampled = draws.map((d) => d.serviceDemands.jobs.FeedInsertWorker.cpuSec);
    expect(Math.min(...sampled)).toBeGreaterThanOrEqual(0.0017);
    expect(Math.max(...sampled)).toBeLessThanOrEqual(0.0024);
    expect(new Set(sampled).size).toBeGreaterThan(100);
  });

  it('rejects an interval that does not hold its value, and runs from two targets', () => {
    const bad = writeCalibration({
      fedicapCalibration: 1,
      runs: [run, { ...run, id: 'r2', target: 'mastodon.example' }],
      jobs: {
        FeedInsertWorker: { cpuSec: { value: 0.002, low: 0.003, high: 0.004 }, run: 'r1', samples: 1 },
      },
    });
    let message = '';
    try {
      loadCalibration(bad);
    } catch (err) {
      expect(err).toBeInstanceOf(InputError);
      message = (err as Error).message;
    }
    expect(message).toMatch(/jobs\.FeedInsertWorker\.cpuSec: need low ≤ value ≤ high/);
    expect(message).toMatch(/runs: runs measured different targets \(staging\.example, mastodon\.example\)/);
  });

  it('refuses to apply or combine calibrations of different targets', () => {
    const of = (target: string, kind: 'testbed' | 'mastodon'): Calibration =>
      calibrationSchema.parse({
        fedicapCalibration: 1,
        target: { kind, baseUrl: `https://${target}` },
        runs: [{ ...run, id: `${kind}-run`, target }],
        web: { inbox: { cpuSec: 0.003, run: `${kind}-run`, samples: 5 } },
      });
    const testbed = of('127.0.0.1', 'testbed');
    const mastodon = of('staging.example', 'mastodon');
    expect(() =>
      combineCalibrations([
        { path: 'a.json', calibration: testbed },
        { path: 'b.json', calibration: mastodon },
      ]),
    ).toThrow(
      new InputError(
        'calibration b.json measured mastodon https://staging.example, but a.json measured testbed https://127.0.0.1: calibrate each target apart',
      ),
    );
    const twoRuns = { ...testbed, runs: [...testbed.runs, { ...run, id: 'x', target: 'staging.example' }] };
    expect(() => applyCalibration(defaultProfile(), twoRuns)).toThrow(InputError);
    const later = of('127.0.0.1', 'testbed');
    later.web.inbox = { cpuSec: 0.004, run: 'testbed-run', samples: 7 };
    const combined = combineCalibrations([
      { path: 'a.json', calibration: testbed },
      { path: 'c.json', calibration: later },
    ]);
    expect(combined.web.inbox!.cpuSec).toBe(0.004);
    expect(combined.runs).toHaveLength(1);
  });
});

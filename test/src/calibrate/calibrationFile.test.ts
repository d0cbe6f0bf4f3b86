import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyCalibration, loadCalibration } from '../../../src/calibrate/calibrationFile.js';
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
});

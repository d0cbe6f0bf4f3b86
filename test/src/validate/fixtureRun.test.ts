import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { calibrateRuns } from '../../../src/calibrate/calibrateRuns.js';
import { findRunFiles } from '../../../src/results/runFiles.js';
import { analyseValidationRun, type StationUnderTest } from '../../../src/validate/index.js';
import { measureSteps } from '../../../src/validate/measure.js';
import { ROOT } from '../../support/paths.js';

const RUN = join(ROOT, 'fixtures/runs/testbed-mixed-step-2026-12-03');
const plan = JSON.parse(readFileSync(join(RUN, 'plan.json'), 'utf8'));
const pool = (queue: string): StationUnderTest => ({
  station: queue,
  kind: 'sidekiq-queue',
  processes: 1,
  threads: 5,
  processNames: [`sidekiq-${queue}-1`],
});
const STATIONS = [
  pool('ingress'),
  pool('push'),
  pool('default'),
  { station: 'web', kind: 'web', processes: 2, threads: 5, processNames: ['web-1', 'web-2'] } as const,
];

describe('the recorded testbed run (fixtures/runs/testbed-mixed-step-2026-12-03)', () => {
  it('reads back per step: the load climbs, the host saturates, the ingress backlog grows at the last step', async () => {
    const steps = await measureSteps(await findRunFiles(RUN), plan);
    expect(steps.map((s) => s.multiple)).toEqual([2, 9.6, 17.2, 24.8, 32.4, 40]);
    const ingress = steps.map((s) => s.queues.ingress!.processedPerSec);
    expect(ingress[1]! / ingress[0]!).toBeGreaterThan(3.5); // 4.8× the load
    expect(steps[4]!.hostBusyCores).toBeGreaterThan(1.8);
    expect(steps[5]!.queues.ingress!.backlogGrowthPerSec).toBeGreaterThan(1);
    expect(steps[5]!.web.droppedShare).toBeGreaterThan(0.05);
    for (const s of steps) expect(s.windows.length).toBeGreaterThanOrEqual(6);
  });

  it('calibrates the ingress job and the web requests, naming the testbed as the target', async () => {
    const { document } = await calibrateRuns([RUN], { targetKind: 'testbed' });
    expect(document.target).toEqual({ kind: 'testbed', baseUrl: 'http://127.0.0.1:43917' });
    const ingress = document.jobs?.['ActivityPub::ProcessingWorker'];
    const cpu = typeof ingress?.cpuSec === 'object' ? ingress.cpuSec : undefined;
    // The ingress process's CPU over its jobs: a few ms each, inside its bootstrap interval.
    expect(cpu?.value).toBeGreaterThan(0.001);
    expect(cpu?.value).toBeLessThan(0.02);
    expect(cpu!.low).toBeLessThanOrEqual(cpu!.value);
    expect(cpu!.high).toBeGreaterThanOrEqual(cpu!.value);
    expect(Object.keys(document.web ?? {})).toContain('timelines/home');
  });

  it('validates end to end: calibrated from the light steps, a prediction and a measurement per station', async () => {
    const result = await analyseValidationRun(join(RUN), {
      schedule: plan,
      hostCores: 2,
      stations: STATIONS,
    });
    expect(result.lightSteps).toEqual([0, 1, 2]);
    expect(result.rows.map((r) => r.station)).toEqual(['ingress', 'push', 'default', 'web']);
    for (const r of result.rows) expect(r.predictedSaturationPerSec).toBeGreaterThan(0);
    const ingress = result.rows[0]!;
    expect(ingress.measuredSaturationPerSec).toBeGreaterThan(30);
    expect(Number.isFinite(ingress.saturationError)).toBe(true);
    // The USL's cross-check: fitted to the steps alone, its ceiling holds what ingress measured.
    expect(ingress.usl!.maxThroughputPerSec.high).toBeGreaterThanOrEqual(ingress.measuredSaturationPerSec!);
  });
});

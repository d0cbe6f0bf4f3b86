import { describe, expect, it } from 'vitest';
import { type Calibration, calibrationSchema } from '../../../src/calibrate/calibrationFile.js';
import type { StepMeasure } from '../../../src/validate/measure.js';
import { predictStation, type StationUnderTest } from '../../../src/validate/predict.js';

/** One ingress job: 10 ms of CPU, 2 ms of waiting; no framework cost, to keep the arithmetic plain. */
const calibration: Calibration = calibrationSchema.parse({
  fedicapCalibration: 1,
  runs: [
    {
      id: 'r',
      target: 'testbed',
      scenario: 'mixed-step',
      startedAt: '2026-12-03T00:00:00Z',
      endedAt: '2026-12-03T00:10:00Z',
    },
  ],
  jobs: { 'ActivityPub::ProcessingWorker': { cpuSec: 0.01, waitSec: 0.002, run: 'r', samples: 100 } },
  sidekiq: { frameworkCpuSec: 0, run: 'r', samples: 100 },
});

const ingress: StationUnderTest = {
  station: 'ingress',
  kind: 'sidekiq-queue',
  processes: 1,
  threads: 5,
  processNames: ['sidekiq-ingress-1'],
};
const mix = new Map([['ActivityPub::ProcessingWorker', 100]]);

/**
 * A light step at multiple m: ingress at 2 jobs/s per multiple (2 % of a core each), the unnamed
 * background at 0.01 cores per multiple, and `hungry` processes each wanting `perProcess` cores per multiple.
 */
function step(m: number, hungry: number, perProcess: number): StepMeasure {
  const others = Object.fromEntries(
    Array.from({ length: hungry }, (_, i) => [`web-${i + 1}`, perProcess * m]),
  );
  const cpuCores = { 'sidekiq-ingress-1': 0.02 * m, ...others };
  const named = Object.values(cpuCores).reduce((a, c) => a + c, 0);
  return {
    step: m,
    multiple: m,
    fromMs: 0,
    toMs: 1,
    queues: {
      ingress: {
        processedPerSec: 2 * m,
        arrivalsPerSec: 2 * m,
        backlogGrowthPerSec: 0,
        inServiceMean: 0.024 * m,
        p50WaitSec: 0.001,
        p95WaitSec: 0.002,
      },
    },
    cpuCores,
    redisCores: 0,
    hostBusyCores: named + 0.01 * m,
    web: { requestsPerSec: 0, meanMs: null, p95Ms: null, droppedShare: null, byStation: {} },
    windows: [],
  };
}

const predict = (light: StepMeasure[], prioritized: string[] = []) =>
  predictStation(ingress, calibration, light, mix, { hostCores: 2, prioritized })!;
/** The host's CPU not sampled: the waits are not known to be on it and do not stretch (the scheduler alone). */
const unsampled = (steps: StepMeasure[]) => steps.map((s) => ({ ...s, hostBusyCores: null }));

describe('predictStation on a shared host', () => {
  it('alone on the host, the pool saturates at its interpreter lock: one core, 100 jobs/s', () => {
    const p = predict([step(1, 0, 0), step(2, 0, 0)]);
    // 0.01 cores of background per multiple take little; the lock binds at 1/10 ms
    expect(p.saturationPerSec).toBeGreaterThan(90);
    expect(p.saturationPerSec).toBeLessThanOrEqual(100.001);
  });

  it('among hungry processes, the scheduler holds it to an equal share of what is left', () => {
    // three processes each wanting 0.2 cores per multiple: at m = 20 they want 4 cores of the host's 2
    const p = predict(unsampled([step(1, 3, 0.2), step(2, 3, 0.2)]));
    // where ingress's 0.02·m cores reach the equal share s of the 2 cores (3·s + s = 2): m = 25, 50 jobs/s
    expect(p.saturationPerSec).toBeGreaterThan(40);
    expect(p.saturationPerSec).toBeLessThanOrEqual(50.001);
    expect(p.bottleneck).not.toBe('threads');
  });

  it('a station that wants less than an equal share keeps up on a saturated host', () => {
    // web-1's line would fill the host at m ≈ 3.8 (7.5 jobs/s of ingress), but one thread takes at most
    // one core: ingress keeps the other, up to its lock
    const p = predict(unsampled([step(1, 1, 0.5), step(2, 1, 0.5)]));
    expect(p.saturationPerSec).toBeGreaterThan(60);
  });

  it('prioritized processes (the load generator) take their cores first, whatever an equal share is', () => {
    const fair = predict([step(1, 1, 0.05), step(2, 1, 0.05)]);
    const behind = predict([step(1, 1, 0.05), step(2, 1, 0.05)], ['web-1']);
    // as a competitor web-1 is held to one core; ahead of ingress it takes 0.05·m, and more as m grows
    expect(behind.saturationPerSec).toBeLessThan(fair.saturationPerSec);
    // the host left to ingress at saturation: 2 − 0.06·m cores ≥ its demand 0.02·m·stretch
    expect(behind.saturationPerSec).toBeGreaterThan(40);
  });
});

describe('predictStation: waits on the same host stretch as it fills', () => {
  // ingress on 1 thread: 10 ms of CPU and 40 ms of waiting (PostgreSQL on this host), 20 jobs/s at most
  const slow: Calibration = calibrationSchema.parse({
    ...calibration,
    jobs: { 'ActivityPub::ProcessingWorker': { cpuSec: 0.01, waitSec: 0.04, run: 'r', samples: 100 } },
  });
  const oneThread = { ...ingress, threads: 1 };
  const at = (light: StepMeasure[]) =>
    predictStation(oneThread, slow, light, mix, { hostCores: 2, prioritized: [] })!;

  it('on an idle host the thread bound holds: 1/(10 ms + 40 ms) = 20 jobs/s', () => {
    // 0.4 jobs/s per multiple: the host stays nearly idle up to m = 50
    const light = [step(1, 0, 0), step(2, 0, 0)].map((s) => ({ ...s, hostBusyCores: 0.001 * s.multiple }));
    expect(at(light).saturationPerSec).toBeCloseTo(20, 0);
    expect(at(light).bottleneck).toBe('threads');
  });

  it('on a host filling with other work the waits lengthen (M/M/2: ×1/(1 − u²)) and the pool saturates sooner', () => {
    // the others take 0.15 cores per multiple: the host is full at m ≈ 13, where the pool would carry 26 jobs/s
    const light = [step(1, 3, 0.05), step(2, 3, 0.05)];
    const p = at(light);
    expect(p.saturationPerSec).toBeLessThan(20);
    // at the saturation found, the host's utilization (line through the light steps) is high but below 1
    expect(p.saturationMultiple).toBeLessThan(13);
  });
});

/**
 * `fedicap validate testbed`'s analysis: calibrate from the run's light steps only, predict each
 * station's saturation and its p95 queue wait at about 70 % of it with the model on the testbed's
 * topology, and hold both to what the heavier steps measured.
 */
import { calibrateRuns } from '../calibrate/calibrateRuns.js';
import { type Calibration, calibrationSchema } from '../calibrate/calibrationFile.js';
import type { CalibrationDocument } from '../calibrate/calibrationOutput.js';
import { findRunFiles } from '../results/runFiles.js';
import { InputError } from '../shared/errors.js';
import { fitUslWithIntervals, type UslFit } from '../calibrate/usl.js';
import { measureSteps, type StepMeasure, type StepSchedule } from './measure.js';
import {
  jobMixOf,
  type Prediction,
  predictedP95WaitSec,
  predictStation,
  type StationUnderTest,
} from './predict.js';

export type { StepSchedule } from './measure.js';
export type { StationUnderTest } from './predict.js';

export interface ValidationPlan {
  schedule: StepSchedule;
  hostCores: number;
  stations: readonly StationUnderTest[];
  /** Processes run ahead of the testbed's (the load generator): background, not competitors. */
  prioritized?: readonly string[];
}

export interface ValidationRow {
  station: string;
  predictedSaturationPerSec: number | null;
  bottleneck: string | null;
  /** Once its backlog grew (queues) or k6 fell behind (web) at some step, the most it served; null: not reached. */
  measuredSaturationPerSec: number | null;
  /** The most it processed at any step: a lower bound on its capacity when saturation was not reached. */
  measuredMaxPerSec: number;
  saturationError: number | null;
  /** At the step nearest 70 % of the predicted capacity, below saturation. */
  p95: {
    step: number;
    utilization: number;
    predictedSec: number;
    measuredSec: number | null;
    error: number | null;
  } | null;
  /** Universal Scalability Law fitted to the steps (concurrency by Little's law, throughput measured). */
  usl: UslFit | null;
}

export interface ValidationResult {
  steps: StepMeasure[];
  lightSteps: number[];
  calibration: CalibrationDocument;
  rows: ValidationRow[];
}

const relativeError = (predicted: number | null, measured: number | null) =>
  predicted === null || measured === null || measured <= 0 ? null : predicted / measured - 1;

/** A step where the station could not keep up: its backlog grew, or k6 fell behind. */
function saturatedAt(station: StationUnderTest, step: StepMeasure, first: StepMeasure): boolean {
  if (station.kind === 'web') {
    // Slower by far, and slow in absolute terms: the lightest step's p95 alone is too small a yardstick.
    const slow =
      step.web.p95Ms !== null &&
      first.web.p95Ms !== null &&
      step.web.p95Ms > Math.max(5 * first.web.p95Ms, 1000);
    return (step.web.droppedShare ?? 0) > 0.02 || slow;
  }
  const q = step.queues[station.station];
  return q !== undefined && q.backlogGrowthPerSec > Math.max(0.5, 0.05 * q.processedPerSec);
}

const servedAt = (station: StationUnderTest, s: StepMeasure) =>
  station.kind === 'web' ? s.web.requestsPerSec : (s.queues[station.station]?.processedPerSec ?? 0);

/**
 * The station's capacity as measured: once some step saturated it, the most it served at any step.
 * A step past the knee can serve less than the knee did (its host shared with more load, the load
 * generator starved); the capacity is the peak it showed, not what was left of it there.
 */
function measuredSaturation(station: StationUnderTest, steps: readonly StepMeasure[]): number | null {
  if (!steps.some((s) => saturatedAt(station, s, steps[0]!))) return null;
  return Math.max(...steps.map((s) => servedAt(station, s)));
}

/** The steps at or below half of the first saturated step's multiple (or of the last step's). */
function lightStepsOf(plan: ValidationPlan, steps: readonly StepMeasure[]): StepMeasure[] {
  const saturated = steps.filter((s) => plan.stations.some((st) => saturatedAt(st, s, steps[0]!)));
  const limit = 0.5 * (saturated[0] ?? steps[steps.length - 1]!).multiple;
  const light = steps.filter((s) => s.multiple <= limit + 1e-9);
  return light.length > 0 ? light : [steps[0]!];
}

function p95Row(
  station: StationUnderTest,
  prediction: Prediction,
  steps: readonly StepMeasure[],
): ValidationRow['p95'] {
  if (station.kind === 'web') return null;
  const candidates = steps
    .filter((s) => !saturatedAt(station, s, steps[0]!) && s.queues[station.station])
    .map((s) => ({ s, u: s.queues[station.station]!.arrivalsPerSec / prediction.saturationPerSec }))
    .filter(({ u }) => u > 0.3 && u < 0.9);
  if (candidates.length === 0) return null;
  const { s, u } = candidates.reduce((a, b) => (Math.abs(b.u - 0.7) < Math.abs(a.u - 0.7) ? b : a));
  const q = s.queues[station.station]!;
  const predictedSec = predictedP95WaitSec(prediction, s.multiple, q.arrivalsPerSec);
  return {
    step: s.step,
    utilization: u,
    predictedSec,
    measuredSec: q.p95WaitSec,
    error: relativeError(predictedSec, q.p95WaitSec),
  };
}

/** Analyse a validation run directory. */
export async function analyseValidationRun(runDir: string, plan: ValidationPlan): Promise<ValidationResult> {
  const files = await findRunFiles(runDir);
  const steps = await measureSteps(files, plan.schedule);
  const light = lightStepsOf(plan, steps);
  const { document } = await calibrateRuns([runDir], {
    targetKind: 'testbed',
    windowSec: plan.schedule.stepSec / 10,
    fromMs: light[0]!.fromMs,
    toMs: light[light.length - 1]!.toMs,
    // The testbed names its Sidekiq processes sidekiq-QUEUES-N: calibrate regresses each pool apart.
  });
  const calibration: Calibration = calibrationSchema.parse(document);
  const rows = plan.stations.map((station): ValidationRow => {
    const mix = station.kind === 'web' ? stationMix(light) : jobMixOf(station.station, light);
    const prediction = predictStation(station, calibration, light, mix, {
      hostCores: plan.hostCores,
      prioritized: plan.prioritized ?? [],
    });
    const measured = measuredSaturation(station, steps);
    return {
      station: station.station,
      predictedSaturationPerSec: prediction?.saturationPerSec ?? null,
      bottleneck: prediction?.bottleneck ?? null,
      measuredSaturationPerSec: measured,
      measuredMaxPerSec: Math.max(...steps.map((s) => servedAt(station, s))),
      saturationError: relativeError(prediction?.saturationPerSec ?? null, measured),
      p95: prediction ? p95Row(station, prediction, steps) : null,
      usl: uslOf(station, steps),
    };
  });
  return { steps, lightSteps: light.map((s) => s.step), calibration: document, rows };
}

/** Requests per endpoint class over the light steps. */
function stationMix(light: readonly StepMeasure[]): Map<string, number> {
  const mix = new Map<string, number>();
  for (const s of light)
    for (const [station, n] of Object.entries(s.web.byStation)) mix.set(station, (mix.get(station) ?? 0) + n);
  return mix;
}

/**
 * The USL's fit to the steps [Gunther 2007], a cross-check of the queueing model that needs no
 * demands: per step, the throughput and the concurrency it ran at (jobs in service; for the web,
 * requests × mean response time, Little's law). Null when fewer than three steps differ.
 */
function uslOf(station: StationUnderTest, steps: readonly StepMeasure[]): UslFit | null {
  const points = steps.flatMap((s) => {
    if (station.kind === 'web')
      return s.web.meanMs === null || s.web.requestsPerSec <= 0
        ? []
        : [
            {
              concurrency: (s.web.requestsPerSec * s.web.meanMs) / 1000,
              throughputPerSec: s.web.requestsPerSec,
            },
          ];
    const q = s.queues[station.station];
    return q && q.inServiceMean > 0 && q.processedPerSec > 0
      ? [{ concurrency: q.inServiceMean, throughputPerSec: q.processedPerSec }]
      : [];
  });
  if (new Set(points.map((p) => p.concurrency)).size < 3) return null;
  try {
    return fitUslWithIntervals(points, { seed: 1, resamples: 200 });
  } catch (err) {
    if (err instanceof InputError) return null;
    throw err;
  }
}

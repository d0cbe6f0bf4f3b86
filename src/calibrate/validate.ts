/**
 * `fedicap validate testbed`'s analysis: calibrate from the steps at or below about half of capacity,
 * predict each station's saturation throughput and p95 queue latency at the higher steps with the model on
 * the testbed's own infrastructure, measure them, and compare (issue 9, "Validation on the testbed").
 */
import type { ValidationWorldFacts } from './validationWorld.js';

/** The load steps the run climbed: mixed-step.ts's STEPS, STEP_DURATION, STEP_FROM, STEP_TO and SCALE. */
export interface ValidationStepPlan {
  steps: number;
  stepDurationSec: number;
  /** The first and last plateau's multiple of the profile's rates × scale. */
  stepFrom: number;
  stepTo: number;
  scale: number;
}

/** One station's prediction beside its measurement. */
export interface StationValidation {
  /** ingress, push, default (Sidekiq queues) or web. */
  station: string;
  quantity: 'saturationPerSec' | 'p95QueueLatencySec';
  predicted: number | null;
  measured: number | null;
  /** (predicted − measured) / measured; null when either is missing. */
  relativeError: number | null;
}

export interface ValidationResult {
  /** The run directory analysed (k6.ndjson, samples.ndjson, deliveries.ndjson, run.json). */
  runDir: string;
  stations: StationValidation[];
  /** What could not be done, in words. */
  notes: string[];
}

/**
 * TODO(lead): the analysis. A placeholder that reads nothing and compares nothing, so the command's
 * pipeline (world, run, analysis, report, stop) runs end to end meanwhile.
 */
export async function analyseValidationRun(
  runDir: string,
  _world: ValidationWorldFacts,
  _plan: ValidationStepPlan,
): Promise<ValidationResult> {
  return { runDir, stations: [], notes: ['analysis not implemented yet (src/calibrate/validate.ts)'] };
}

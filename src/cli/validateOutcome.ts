/** What `fedicap validate testbed` analyses and prints; the analysis itself is src/validate's. */
import type { CalibrationDocument } from '../calibrate/calibrationOutput.js';
import { analyseValidationRun, type StationUnderTest, type ValidationRow } from '../validate/index.js';
import type { ValidationWorldFacts } from '../validate/world.js';
import type { ValidationStepPlan } from './validateArgs.js';

/** The queues validation holds the model to, each on a pool of its own (issue 9). */
export const QUEUES_UNDER_TEST = ['ingress', 'push', 'default'] as const;

/**
 * The stations of the world's testbed as src/validate/predict.ts takes them: each queue under test served
 * by the Sidekiq processes that run it alone, and the web workers. A queue sharing its processes with
 * others (a --sidekiq layout without a pool of its own) is not a station here; it is named in `shared`.
 */
export function stationsUnderTest(world: ValidationWorldFacts): {
  stations: StationUnderTest[];
  shared: string[];
} {
  const stations: StationUnderTest[] = [];
  const shared: string[] = [];
  for (const queue of QUEUES_UNDER_TEST) {
    const own = world.processes.filter((p) => p.role === 'sidekiq' && p.queues?.join() === queue);
    if (own.length === 0) shared.push(queue);
    else stations.push(station(queue, 'sidekiq-queue', own));
  }
  const web = world.processes.filter((p) => p.role === 'web');
  if (web.length > 0) stations.push(station('web', 'web', web));
  return { stations, shared };
}

function station(
  name: string,
  kind: StationUnderTest['kind'],
  processes: ValidationWorldFacts['processes'],
): StationUnderTest {
  return {
    station: name,
    kind,
    processes: processes.length,
    // one unit per queue under test: every process has the same threads
    threads: processes[0]!.threads ?? 1,
    processNames: processes.map((p) => p.name),
  };
}

/** What the command prints: the analysis of src/validate and the stations it could not hold the model to. */
export interface ValidationOutcome {
  runDir: string;
  stations: StationUnderTest[];
  lightSteps: number[];
  steps: {
    step: number;
    multiple: number;
    queues: Record<string, unknown>;
    web: unknown;
    cpuCores: unknown;
  }[];
  rows: ValidationRow[];
  notes: string[];
}

/** The analysis and the calibration of the light steps it was predicted from. */
export interface AnalysedValidation {
  outcome: ValidationOutcome;
  calibration: CalibrationDocument;
}

/** Calibrate from the run's light steps, predict each station, and hold it to the heavier steps. */
export async function analyseValidation(
  runDir: string,
  world: ValidationWorldFacts,
  plan: ValidationStepPlan,
): Promise<AnalysedValidation> {
  const { stations, shared } = stationsUnderTest(world);
  const notes: string[] = [];
  if (shared.length > 0) notes.push(`no pool of its own, not validated: ${shared.join(', ')}`);
  const hostCores = world.infrastructure.hosts[0]?.cores;
  const result = await analyseValidationRun(runDir, {
    schedule: plan,
    hostCores: typeof hostCores === 'number' ? hostCores : 1,
    stations,
    prioritized: plan.prioritized ?? [],
  });
  const steps = result.steps.map(({ windows: _w, ...rest }) => rest);
  return {
    outcome: { runDir, stations, lightSteps: result.lightSteps, steps, rows: result.rows, notes },
    calibration: result.calibration,
  };
}

const pct = (e: number | null) => (e === null ? '—' : `${e >= 0 ? '+' : ''}${(e * 100).toFixed(1)} %`);
const rate = (x: number | null) => (x === null ? 'not reached' : `${x.toFixed(1)}/s`);
const ms = (x: number | null) => (x === null ? '—' : `${(x * 1000).toFixed(1)} ms`);

/** The outcome as the user reads it: predicted, measured and error per station. */
export function validationText(outcome: ValidationOutcome, format: 'md' | 'json'): string {
  if (format === 'json') return `${JSON.stringify(outcome, null, 2)}\n`;
  const rows = outcome.rows.map((r) => {
    const p = r.p95;
    const usl = r.usl?.maxThroughputPerSec;
    const uslText =
      usl && Number.isFinite(usl.value)
        ? `${usl.value.toFixed(1)}/s (${usl.low.toFixed(0)}–${Number.isFinite(usl.high) ? usl.high.toFixed(0) : '∞'})`
        : '—';
    return `| ${r.station} | ${rate(r.predictedSaturationPerSec)} (${r.bottleneck ?? '—'}) | ${r.measuredSaturationPerSec === null ? `not reached (≥ ${r.measuredMaxPerSec.toFixed(1)}/s)` : rate(r.measuredSaturationPerSec)} | ${pct(r.saturationError)} | ${uslText} | ${p ? `${p.step} (${(p.utilization * 100).toFixed(0)} %)` : '—'} | ${ms(p?.predictedSec ?? null)} | ${ms(p?.measuredSec ?? null)} | ${pct(p?.error ?? null)} |`;
  });
  const table = [
    '| station | predicted saturation | measured saturation | error | USL X_max (95 % CI) | p95 step (utilization) | predicted p95 wait | measured p95 wait | error |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ];
  const notes = [
    `calibrated from steps ${outcome.lightSteps.join(', ')} (at or below half the first saturated step's load); run: ${outcome.runDir}`,
    ...outcome.notes,
  ].map((n) => `- ${n}`);
  return `# Validation on the testbed\n\n${table.join('\n')}\n\n${notes.join('\n')}\n`;
}

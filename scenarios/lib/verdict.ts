/**
 * The verdict's pure parts (no k6 module, so the tests import them): the
 * effects a scenario can promise, their thresholds, the planned iterations
 * of a k6 scenario, and the verdict thresholds every scenario states.
 * effects.ts observes and records them in a run.
 */
import type { Scenario } from 'k6/options';
import { parseDuration } from './inputs.ts';

/** What each effect means, for thresholds and messages. */
export const EFFECTS = {
  timeline_statuses: 'statuses read back from the timelines',
  inbound_statuses_stored: "this run's inbound Creates stored and visible in the federated timeline",
  relayed_statuses_stored: "this run's relayed Creates stored and visible in the federated timeline",
  follows_established: 'Follows of local accounts by fleet actors accepted (Accepts the fleet verified)',
  deliveries_recorded: 'local posts delivered to the fleet (Creates the fleet verified)',
  cold_actors_fetched: "this run's cold actors fetched by the target",
  media_processed: 'uploaded images processed',
  media_posted: 'statuses posted with their image attached',
  streaming_events: 'streaming events received by the listeners',
} as const;
export type EffectName = keyof typeof EFFECTS;

/** Fewer planned iterations than this make a weak verdict (a warning, not a failure). */
export const MIN_SAMPLES = 30;

/** `effects{effect:NAME}: count>0` for each effect the scenario promises. */
export function effectThresholds(names: readonly EffectName[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const n of names) out[`effects{effect:${n}}`] = ['count>0'];
  return out;
}

const durationSecOf = (d: unknown) => (typeof d === 'string' ? parseDuration(d, 'duration') : 0);

/** Iterations a scenario plans: arrival rates × durations, or VUs × iterations. */
export function plannedIterations(s: Scenario): number {
  if (s.executor === 'constant-arrival-rate')
    return (s.rate * durationSecOf(s.duration)) / durationSecOf(s.timeUnit ?? '1s');
  if (s.executor === 'ramping-arrival-rate') {
    const unit = durationSecOf(s.timeUnit ?? '1s');
    let rate = s.startRate ?? 0;
    let total = 0;
    for (const stage of s.stages) {
      total += ((rate + stage.target) / 2) * durationSecOf(stage.duration);
      rate = stage.target;
    }
    return total / unit;
  }
  if (s.executor === 'per-vu-iterations') return (s.vus ?? 1) * (s.iterations ?? 1);
  if (s.executor === 'shared-iterations') return s.iterations ?? 1;
  return Number.POSITIVE_INFINITY;
}

/**
 * Whether a scenario will run at least one iteration, so that its effect can be promised: a
 * constant-arrival-rate scenario starts its first at once; others need one planned.
 */
export function willIterate(s: Scenario): boolean {
  return s.executor === 'constant-arrival-rate' || plannedIterations(s) >= 1;
}

export interface VerdictLimits {
  /** checks must pass above this rate (1: all of them). */
  minChecks: number;
  /** Unexpected 4xx below this share of non-429 responses. */
  max4xx: number;
  /** Dropped iterations at most this share of the planned ones. */
  maxDropped: number;
}

/** checks, unexpected 4xx and dropped iterations: the verdict thresholds of every scenario. */
export function verdictThresholdsFor(
  scenarios: Record<string, Scenario>,
  limits: VerdictLimits,
): Record<string, string[]> {
  let planned = 0;
  for (const s of Object.values(scenarios)) {
    const n = plannedIterations(s);
    if (Number.isFinite(n)) planned += n;
  }
  return {
    checks: [limits.minChecks >= 1 ? 'rate==1' : `rate>${limits.minChecks}`],
    unexpected_4xx: [`rate<${limits.max4xx}`],
    dropped_iterations: [`count<=${Math.floor(planned * limits.maxDropped)}`],
  };
}

/** One line per scenario whose verdict would rest on fewer than MIN_SAMPLES iterations. */
export function fewSampleWarnings(scenarios: Record<string, Scenario>): string[] {
  const out: string[] = [];
  for (const [name, s] of Object.entries(scenarios)) {
    const n = plannedIterations(s);
    if (n < MIN_SAMPLES)
      out.push(
        `scenario ${name}: about ${Math.round(n)} iteration(s) planned, fewer than ${MIN_SAMPLES}: its latency verdict rests on few samples (raise SCALE or DURATION)`,
      );
  }
  return out;
}

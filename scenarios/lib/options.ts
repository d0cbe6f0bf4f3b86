/**
 * Building k6 `options` from profile rates: constant-arrival-rate scenarios
 * (one per workload class, at the profile's rate × SCALE), ramping steps for
 * saturation runs, and thresholds that state the profile's SLOs. Pure: the
 * scenario files call these in the init context; the tests call them too.
 */
import type {
  ConstantArrivalRateScenario,
  PerVUIterationsScenario,
  RampingArrivalRateScenario,
  Scenario,
} from 'k6/options';
import { formatDuration } from './inputs.ts';
import { arrivalRate, commonTimeUnitSec, vusFor, type ProfileRates } from './rates.ts';

/**
 * A constant-arrival-rate scenario for `perSec` iterations per second over
 * `durationSec`, or undefined when the rate is zero. `iterationSec` is the
 * expected iteration time (VUs to pre-allocate).
 */
export function constantRate(
  exec: string,
  perSec: number,
  durationSec: number,
  opts: { iterationSec?: number; startTime?: string; tags?: Record<string, string>; maxVUs?: number } = {},
): ConstantArrivalRateScenario | undefined {
  if (!(perSec > 0)) return undefined;
  const { rate, timeUnit } = arrivalRate(perSec);
  const vus = vusFor(perSec, opts.iterationSec ?? 2);
  const maxVUs = opts.maxVUs ? Math.min(vus.maxVUs, Math.max(opts.maxVUs, 1)) : vus.maxVUs;
  return {
    executor: 'constant-arrival-rate',
    exec,
    rate,
    timeUnit,
    duration: formatDuration(durationSec),
    preAllocatedVUs: Math.min(vus.preAllocatedVUs, maxVUs),
    maxVUs,
    ...(opts.startTime ? { startTime: opts.startTime } : {}),
    ...(opts.tags ? { tags: opts.tags } : {}),
  };
}

/**
 * Saturation steps: the rate climbs from `fromMultiple` to `toMultiple`
 * times `perSec` in `steps` plateaus of `stepSec` (each reached by a short
 * ramp of a tenth of the step), so each plateau can be read on its own.
 */
export function rampingSteps(
  exec: string,
  perSec: number,
  stepSec: number,
  steps: number,
  fromMultiple: number,
  toMultiple: number,
  opts: { iterationSec?: number; tags?: Record<string, string> } = {},
): RampingArrivalRateScenario | undefined {
  if (!(perSec > 0) || steps < 1) return undefined;
  // One time unit for all stages, in which every plateau's rate is an integer within 1 %.
  const multiples = Array.from({ length: steps }, (_, k) =>
    steps === 1 ? toMultiple : fromMultiple + ((toMultiple - fromMultiple) * k) / (steps - 1),
  );
  const unitSec = commonTimeUnitSec([fromMultiple, ...multiples].map((m) => perSec * m));
  const timeUnit = unitSec === 1 ? '1s' : unitSec === 60 ? '1m' : '1h';
  const perUnit = (r: number) => Math.max(1, Math.round(r * unitSec));
  const stages: { target: number; duration: string }[] = [];
  const ramp = Math.max(0.1, stepSec / 10);
  for (const multiple of multiples) {
    const target = perUnit(perSec * multiple);
    stages.push({ target, duration: formatDuration(Number(ramp.toFixed(3))) });
    stages.push({ target, duration: formatDuration(Number((stepSec - ramp).toFixed(3))) });
  }
  const vus = vusFor(perSec * toMultiple, opts.iterationSec ?? 2);
  return {
    executor: 'ramping-arrival-rate',
    exec,
    startRate: perUnit(perSec * fromMultiple),
    timeUnit,
    preAllocatedVUs: vus.preAllocatedVUs,
    maxVUs: vus.maxVUs,
    stages,
    ...(opts.tags ? { tags: opts.tags } : {}),
  };
}

/** `vus` VUs running one iteration each (streaming listeners). */
export function oncePerVu(
  exec: string,
  vus: number,
  maxDurationSec: number,
  startTime?: string,
): PerVUIterationsScenario {
  return {
    executor: 'per-vu-iterations',
    exec,
    vus: Math.max(1, Math.floor(vus)),
    iterations: 1,
    maxDuration: formatDuration(Math.ceil(maxDurationSec)),
    ...(startTime ? { startTime } : {}),
  };
}

/** Drop undefined scenarios (zero rates). */
export function scenarios(entries: Record<string, Scenario | undefined>): Record<string, Scenario> {
  const out: Record<string, Scenario> = {};
  for (const [k, v] of Object.entries(entries)) if (v) out[k] = v;
  return out;
}

/**
 * Thresholds from the profile's SLOs: for each station, the response time
 * at slo.latencyPercentile under slo.webResponseSec; capacity_errors (5xx
 * and failed connections, 429 excluded) under `maxErrorRate`.
 */
export function sloThresholds(
  rates: ProfileRates,
  stations: readonly string[],
  maxErrorRate = 0.01,
): Record<string, string[]> {
  const pct = rates.slo.latencyPercentile;
  const ms = Math.round(rates.slo.webResponseSec * 1000);
  const out: Record<string, string[]> = { capacity_errors: [`rate<${maxErrorRate}`] };
  for (const s of stations) out[`http_req_duration{station:${s}}`] = [`p(${pct})<${ms}`];
  return out;
}

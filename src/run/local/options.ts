/**
 * The scenario's `options` as the local executor understands them: the
 * scenarios with their executors (constant-arrival-rate, ramping-arrival-rate,
 * per-vu-iterations, shared-iterations, constant-vus), the shortcuts k6 turns
 * into a scenario (vus/iterations/duration), and the few global options that
 * change how requests are made. Anything else is refused with its name, so a
 * scenario never silently runs differently than under k6.
 */
import { parseDurationMs } from '../duration.js';
import type { Tags } from './metrics.js';

export interface Stage {
  durationMs: number;
  target: number;
}

interface Base {
  name: string;
  startTimeMs: number;
  gracefulStopMs: number;
  exec: string;
  env: Record<string, string>;
  tags: Tags;
}

export type ScenarioConfig =
  | (Base & {
      executor: 'constant-arrival-rate';
      rate: number;
      timeUnitMs: number;
      durationMs: number;
      preAllocatedVUs: number;
      maxVUs: number;
    })
  | (Base & {
      executor: 'ramping-arrival-rate';
      startRate: number;
      timeUnitMs: number;
      stages: Stage[];
      preAllocatedVUs: number;
      maxVUs: number;
    })
  | (Base & { executor: 'per-vu-iterations'; vus: number; iterations: number; maxDurationMs: number })
  | (Base & { executor: 'shared-iterations'; vus: number; iterations: number; maxDurationMs: number })
  | (Base & { executor: 'constant-vus'; vus: number; durationMs: number });

export interface RunOptions {
  scenarios: ScenarioConfig[];
  tags: Tags;
  discardResponseBodies: boolean;
  maxRedirects: number;
  insecureSkipTLSVerify: boolean;
  noConnectionReuse: boolean;
  userAgent: string;
  setupTimeoutMs: number;
  teardownTimeoutMs: number;
  summaryTrendStats: string[];
}

export const SUPPORTED_EXECUTORS = [
  'constant-arrival-rate',
  'ramping-arrival-rate',
  'per-vu-iterations',
  'shared-iterations',
  'constant-vus',
];

const GLOBAL_KEYS = new Set([
  'scenarios',
  'thresholds',
  'vus',
  'iterations',
  'duration',
  'tags',
  'discardResponseBodies',
  'maxRedirects',
  'insecureSkipTLSVerify',
  'noConnectionReuse',
  'userAgent',
  'setupTimeout',
  'teardownTimeout',
  'summaryTrendStats',
  'summaryTimeUnit',
  'noVUConnectionReuse',
]);

const COMMON = ['executor', 'startTime', 'gracefulStop', 'exec', 'env', 'tags'];
const EXECUTOR_KEYS: Record<string, string[]> = {
  'constant-arrival-rate': ['rate', 'timeUnit', 'duration', 'preAllocatedVUs', 'maxVUs'],
  'ramping-arrival-rate': ['startRate', 'timeUnit', 'stages', 'preAllocatedVUs', 'maxVUs'],
  'per-vu-iterations': ['vus', 'iterations', 'maxDuration'],
  'shared-iterations': ['vus', 'iterations', 'maxDuration'],
  'constant-vus': ['vus', 'duration'],
};

function int(value: unknown, what: string, min: number, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min)
    throw new Error(`${what} must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  return value;
}

function strings(value: unknown, what: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw new Error(`${what} must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = String(v);
  return out;
}

function scenario(name: string, raw: Record<string, unknown>): ScenarioConfig {
  const where = `options.scenarios.${name}`;
  const executor = raw.executor;
  if (typeof executor !== 'string')
    throw new Error(`${where}.executor is required (${SUPPORTED_EXECUTORS.join(', ')})`);
  const keys = EXECUTOR_KEYS[executor];
  if (!keys)
    throw new Error(
      `${where}: executor "${executor}" is not supported by the local executor (it supports ${SUPPORTED_EXECUTORS.join(', ')}); run this scenario with k6 (--engine k6)`,
    );
  for (const key of Object.keys(raw)) {
    if (!COMMON.includes(key) && !keys.includes(key))
      throw new Error(
        `${where}.${key} is not an option of ${executor} the local executor knows (${[...COMMON, ...keys].join(', ')})`,
      );
  }
  const base: Base = {
    name,
    startTimeMs: raw.startTime === undefined ? 0 : parseDurationMs(raw.startTime, `${where}.startTime`),
    gracefulStopMs:
      raw.gracefulStop === undefined ? 30_000 : parseDurationMs(raw.gracefulStop, `${where}.gracefulStop`),
    exec: raw.exec === undefined ? 'default' : String(raw.exec),
    env: strings(raw.env, `${where}.env`),
    tags: strings(raw.tags, `${where}.tags`),
  };
  const timeUnitMs = () => {
    const t = raw.timeUnit === undefined ? 1000 : parseDurationMs(raw.timeUnit, `${where}.timeUnit`);
    if (t <= 0) throw new Error(`${where}.timeUnit must be positive`);
    return t;
  };
  const vuLimits = () => {
    const preAllocatedVUs = int(raw.preAllocatedVUs, `${where}.preAllocatedVUs`, 0);
    const maxVUs = int(raw.maxVUs, `${where}.maxVUs`, 0, preAllocatedVUs);
    if (maxVUs < preAllocatedVUs)
      throw new Error(`${where}.maxVUs (${maxVUs}) can't be less than preAllocatedVUs (${preAllocatedVUs})`);
    if (maxVUs === 0) throw new Error(`${where}: maxVUs must be at least 1`);
    return { preAllocatedVUs, maxVUs };
  };
  switch (executor) {
    case 'constant-arrival-rate': {
      const rate = raw.rate;
      if (typeof rate !== 'number' || !(rate > 0)) throw new Error(`${where}.rate must be a positive number`);
      if (raw.duration === undefined) throw new Error(`${where}.duration is required`);
      const durationMs = parseDurationMs(raw.duration, `${where}.duration`);
      return { ...base, executor, rate, timeUnitMs: timeUnitMs(), durationMs, ...vuLimits() };
    }
    case 'ramping-arrival-rate': {
      if (!Array.isArray(raw.stages) || raw.stages.length === 0)
        throw new Error(`${where}.stages must be a non-empty array of {duration, target}`);
      const stages = raw.stages.map((s: unknown, i: number) => {
        const st = (s ?? {}) as Record<string, unknown>;
        const target = st.target;
        if (typeof target !== 'number' || target < 0)
          throw new Error(`${where}.stages[${i}].target must be a non-negative number`);
        return { durationMs: parseDurationMs(st.duration, `${where}.stages[${i}].duration`), target };
      });
      const startRate = raw.startRate === undefined ? 0 : Number(raw.startRate);
      if (!(startRate >= 0)) throw new Error(`${where}.startRate must be a non-negative number`);
      return { ...base, executor, startRate, timeUnitMs: timeUnitMs(), stages, ...vuLimits() };
    }
    case 'per-vu-iterations':
    case 'shared-iterations': {
      const vus = int(raw.vus, `${where}.vus`, 1, 1);
      const iterations = int(raw.iterations, `${where}.iterations`, 1, 1);
      const maxDurationMs =
        raw.maxDuration === undefined ? 600_000 : parseDurationMs(raw.maxDuration, `${where}.maxDuration`);
      if (executor === 'shared-iterations' && iterations < vus)
        throw new Error(`${where}: iterations (${iterations}) must be at least vus (${vus})`);
      return { ...base, executor, vus, iterations, maxDurationMs };
    }
    default: {
      const vus = int(raw.vus, `${where}.vus`, 1, 1);
      if (raw.duration === undefined) throw new Error(`${where}.duration is required`);
      return {
        ...base,
        executor: 'constant-vus',
        vus,
        durationMs: parseDurationMs(raw.duration, `${where}.duration`),
      };
    }
  }
}

/** Validate `options`; throws with the offending key. */
export function parseOptions(raw: unknown): RunOptions {
  const o = (raw ?? {}) as Record<string, unknown>;
  if (typeof o !== 'object' || Array.isArray(o)) throw new Error('the exported options must be an object');
  for (const key of Object.keys(o)) {
    if (!GLOBAL_KEYS.has(key))
      throw new Error(
        `options.${key} is not supported by the local executor (it supports ${[...GLOBAL_KEYS].join(', ')}); run this scenario with k6 (--engine k6)`,
      );
  }
  let scenarios: ScenarioConfig[];
  if (o.scenarios !== undefined) {
    if (!o.scenarios || typeof o.scenarios !== 'object')
      throw new Error('options.scenarios must be an object of name → scenario');
    if (o.vus !== undefined || o.iterations !== undefined || o.duration !== undefined)
      throw new Error('options.scenarios cannot be combined with options.vus, iterations or duration');
    scenarios = Object.entries(o.scenarios as Record<string, unknown>).map(([name, s]) =>
      scenario(name, (s ?? {}) as Record<string, unknown>),
    );
    if (scenarios.length === 0) throw new Error('options.scenarios is empty');
  } else if (o.duration !== undefined && o.iterations === undefined) {
    scenarios = [scenario('default', { executor: 'constant-vus', vus: o.vus ?? 1, duration: o.duration })];
  } else {
    scenarios = [
      scenario('default', {
        executor: 'shared-iterations',
        vus: o.vus ?? 1,
        iterations: o.iterations ?? 1,
        ...(o.duration !== undefined ? { maxDuration: o.duration } : {}),
      }),
    ];
  }
  const trendStats =
    o.summaryTrendStats === undefined ? ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)'] : o.summaryTrendStats;
  if (
    !Array.isArray(trendStats) ||
    trendStats.some((s) => typeof s !== 'string' || !/^(avg|min|med|max|count|p\(\d+(\.\d+)?\))$/.test(s))
  ) {
    throw new Error('options.summaryTrendStats must be a list of avg, min, med, max, count, p(N)');
  }
  return {
    scenarios,
    tags: strings(o.tags, 'options.tags'),
    discardResponseBodies: o.discardResponseBodies === true,
    maxRedirects: int(o.maxRedirects, 'options.maxRedirects', 0, 10),
    insecureSkipTLSVerify: o.insecureSkipTLSVerify === true,
    noConnectionReuse: o.noConnectionReuse === true,
    userAgent:
      typeof o.userAgent === 'string'
        ? o.userAgent
        : 'fedicap-local-executor (k6-compatible; +https://k6.io/)',
    setupTimeoutMs:
      o.setupTimeout === undefined ? 60_000 : parseDurationMs(o.setupTimeout, 'options.setupTimeout'),
    teardownTimeoutMs:
      o.teardownTimeout === undefined
        ? 60_000
        : parseDurationMs(o.teardownTimeout, 'options.teardownTimeout'),
    summaryTrendStats: trendStats as string[],
  };
}

/** Time when the scenario stops starting iterations, relative to its start. */
export function scenarioDurationMs(s: ScenarioConfig): number {
  switch (s.executor) {
    case 'constant-arrival-rate':
    case 'constant-vus':
      return s.durationMs;
    case 'ramping-arrival-rate':
      return s.stages.reduce((a, st) => a + st.durationMs, 0);
    default:
      return s.maxDurationMs;
  }
}

/**
 * Start times (ms from the scenario start) of an arrival-rate scenario, as k6
 * schedules them: constant-arrival-rate starts iteration i at i × timeUnit/rate;
 * ramping-arrival-rate starts iteration n (1-based) when the area under the
 * piecewise-linear rate curve reaches n (k6's RampingArrivalRateConfig.cal).
 */
export function* arrivalTimes(s: ScenarioConfig): Generator<number> {
  if (s.executor === 'constant-arrival-rate') {
    const interval = s.timeUnitMs / s.rate;
    for (let i = 0; i * interval < s.durationMs; i++) yield i * interval;
    return;
  }
  if (s.executor !== 'ramping-arrival-rate') return;
  let stageStart = 0;
  let doneSoFar = 0;
  let from = s.startRate / s.timeUnitMs;
  let n = 1;
  for (const stage of s.stages) {
    const to = stage.target / s.timeUnitMs;
    const dur = stage.durationMs;
    const area = (dur * (from + to)) / 2;
    const endCount = doneSoFar + area;
    for (; n <= endCount + 1e-9; n++) {
      const need = n - doneSoFar;
      let x: number;
      if (Math.abs(to - from) < 1e-15) x = need / to;
      else {
        const slope = (to - from) / dur;
        x = (-from + Math.sqrt(Math.max(0, from * from + 2 * slope * need))) / slope;
      }
      yield stageStart + Math.min(dur, Math.max(0, x));
    }
    doneSoFar = endCount;
    from = to;
    stageStart += dur;
  }
}

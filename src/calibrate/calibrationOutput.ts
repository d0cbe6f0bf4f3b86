import type { z } from 'zod';
import { ENDPOINT_CLASSES, JOB_CLASS_NAMES } from '../mastodon/classes.js';
import { describeIssues } from '../profile/load.js';
import { InputError } from '../shared/errors.js';
import type { Interval } from './bootstrap.js';
import { calibrationSchema, type Calibration } from './calibrationFile.js';
import type { JobDemandEstimate, RedisCpuEstimate } from './cpuRegression.js';
import type { UslFit } from './usl.js';
import type { WebDemandEstimate } from './webDemands.js';

/** The calibration file as written (calibrationSchema's input). */
export type CalibrationDocument = z.input<typeof calibrationSchema>;

export interface CalibrationParts {
  target: NonNullable<Calibration['target']>;
  runs: Calibration['runs'];
  /** Id (in `runs`) of the run the estimates come from. */
  run: string;
  /** Intervals keyed as jobDemandQuantities / webDemandQuantities name them. */
  jobs?: { estimate: JobDemandEstimate; intervals?: Record<string, Interval> };
  web?: { estimate: WebDemandEstimate; intervals?: Record<string, Interval> };
  redis?: { estimate: RedisCpuEstimate; interval?: Interval };
  usl?: { component: string; fit: UslFit }[];
  /** Bytes stored per local upload and the uploads it was measured over. */
  media?: { bytesPerUpload: Interval; uploads: number };
}

export interface CalibrationOutput {
  document: CalibrationDocument;
  /** What was estimated but has no place in the model (job classes or stations it does not know). */
  skipped: string[];
}

type Value = number | { value: number; low: number; high: number };
interface MeasuredDocument {
  cpuSec?: Value;
  waitSec?: Value;
  dbSec?: Value;
  run: string;
  samples: number;
}

/** Six significant digits: the file stays readable and no estimate is that precise. */
function round(v: number): number {
  return Number(v.toPrecision(6));
}

/** A value with its interval, or bare when there is none; undefined when not estimable (NaN). */
function withInterval(value: number | undefined, interval?: Interval): Value | undefined {
  if (value === undefined || !Number.isFinite(value)) return undefined;
  const v = round(Math.max(0, value));
  if (!interval || !Number.isFinite(interval.low) || !Number.isFinite(interval.high)) return v;
  return {
    value: v,
    low: round(Math.max(0, Math.min(interval.low, value))),
    high: round(Math.max(interval.high, value)),
  };
}

function definedOnly<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function jobsSection(parts: CalibrationParts, skipped: string[]) {
  const out: Record<string, MeasuredDocument> = {};
  const e = parts.jobs?.estimate;
  if (!e) return out;
  const iv = parts.jobs?.intervals ?? {};
  const webIv = parts.web?.intervals ?? {};
  const jobDbSec = parts.web?.estimate.jobDbSec ?? {};
  for (const j of e.jobClasses) {
    if (!(JOB_CLASS_NAMES as string[]).includes(j)) {
      skipped.push(`job class ${j} (not in the model)`);
      continue;
    }
    const values = definedOnly({
      cpuSec: withInterval(e.cpuSec[j], iv[`cpuSec:${j}`]),
      waitSec: withInterval(e.waitSec[j], iv[`waitSec:${j}`]),
      dbSec: withInterval(jobDbSec[j], webIv[`jobDbSec:${j}`]),
    });
    const samples = Math.round(e.completions[j] ?? 0);
    if (Object.keys(values).length > 0 && samples >= 1) out[j] = { ...values, run: parts.run, samples };
  }
  return out;
}

function webSection(parts: CalibrationParts, skipped: string[]) {
  const out: Record<string, MeasuredDocument> = {};
  const e = parts.web?.estimate;
  if (!e) return out;
  const iv = parts.web?.intervals ?? {};
  for (const s of e.stations) {
    if (!(ENDPOINT_CLASSES as readonly string[]).includes(s)) {
      skipped.push(`station ${s} (not an endpoint class)`);
      continue;
    }
    const values = definedOnly({
      cpuSec: withInterval(e.cpuSec[s], iv[`cpuSec:${s}`]),
      waitSec: withInterval(e.waitSec[s], iv[`waitSec:${s}`]),
      dbSec: withInterval(e.dbSec?.[s], iv[`dbSec:${s}`]),
    });
    const samples = e.requests[s] ?? 0;
    if (Object.keys(values).length > 0 && samples >= 1) out[s] = { ...values, run: parts.run, samples };
  }
  return out;
}

function sidekiqSection(parts: CalibrationParts) {
  const jobs = parts.jobs;
  const framework = jobs?.estimate.frameworkMeasured
    ? withInterval(jobs.estimate.frameworkCpuSec, jobs.intervals?.frameworkCpuSec)
    : undefined;
  const redis = parts.redis
    ? withInterval(parts.redis.estimate.cpuSecPerJob, parts.redis.interval)
    : undefined;
  if (framework === undefined && redis === undefined) return undefined;
  const samples = Math.round(Object.values(jobs?.estimate.completions ?? {}).reduce((a, b) => a + b, 0));
  return {
    ...definedOnly({ frameworkCpuSec: framework, redisCpuSecPerJob: redis }),
    run: parts.run,
    samples: Math.max(1, samples),
  };
}

/** N* and X_max keep an infinite upper end as null; an infinite estimate is left out. */
function unbounded(i: Interval) {
  if (!Number.isFinite(i.value)) return undefined;
  return {
    value: round(i.value),
    low: round(Math.min(i.low, i.value)),
    high: Number.isFinite(i.high) ? round(Math.max(i.high, i.value)) : null,
  };
}

function mediaSection(parts: CalibrationParts) {
  const m = parts.media;
  const bytes = m && withInterval(m.bytesPerUpload.value, m.bytesPerUpload);
  return m && bytes !== undefined && m.uploads >= 1
    ? { media: { localImageBytes: bytes, run: parts.run, samples: Math.round(m.uploads) } }
    : {};
}

function uslSection(parts: CalibrationParts) {
  return (parts.usl ?? []).map(({ component, fit }) => ({
    component,
    sigma: withInterval(fit.sigma.value, fit.sigma)!,
    kappa: withInterval(fit.kappa.value, fit.kappa)!,
    lambda: withInterval(fit.lambda.value, fit.lambda)!,
    ...definedOnly({
      maxConcurrency: unbounded(fit.maxConcurrency),
      maxThroughputPerSec: unbounded(fit.maxThroughputPerSec),
    }),
    points: fit.points,
    run: parts.run,
  }));
}

/**
 * The calibration file from the estimates: each value with its bootstrap interval as `low`/`high`,
 * the target it was measured on, Sidekiq's framework CPU (only when measured from a no-op class, not
 * when it was fixed) and Redis CPU per job, and the USL fits. Checked against calibrationSchema; an
 * InputError when the parts contradict it (a run whose target is not the calibration's).
 */
export function calibrationDocument(parts: CalibrationParts): CalibrationOutput {
  const skipped: string[] = [];
  const sidekiq = sidekiqSection(parts);
  const document: CalibrationDocument = {
    fedicapCalibration: 1,
    target: parts.target,
    runs: parts.runs,
    jobs: jobsSection(parts, skipped),
    web: webSection(parts, skipped),
    ...(sidekiq ? { sidekiq } : {}),
    ...mediaSection(parts),
    usl: uslSection(parts),
  };
  const parsed = calibrationSchema.safeParse(document);
  if (!parsed.success) throw new InputError(describeIssues('calibration', parsed.error.issues));
  return { document, skipped };
}

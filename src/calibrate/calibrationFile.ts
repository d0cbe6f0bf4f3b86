import { z } from 'zod';
import { ENDPOINT_CLASSES, JOB_CLASS_NAMES } from '../mastodon/classes.js';
import { InputError } from '../shared/errors.js';
import { describeIssues, readJsonFile } from '../profile/load.js';
import type { Quantity } from '../shared/quantity.js';
import type { Profile } from '../profile/schema.js';

/**
 * A measured number: bare (no stated uncertainty) or with its bootstrap interval, which the Monte
 * Carlo then samples as the quantity's range.
 */
const measuredValue = (what: string) =>
  z
    .union([
      z.number().min(0),
      z
        .strictObject({
          value: z.number().min(0),
          low: z.number().min(0).describe('Lower end of the interval (bootstrap percentile).'),
          high: z.number().min(0).describe('Upper end of the interval.'),
        })
        .refine((v) => v.low <= v.value && v.value <= v.high, { message: 'need low ≤ value ≤ high' }),
    ])
    .describe(`${what} A number, or {value, low, high} with its confidence interval.`);
export type MeasuredValue = z.output<ReturnType<typeof measuredValue>>;

/**
 * Measured service demands, each with the run it came from. A later stage
 * produces this from load-test runs; until then it can be written by hand.
 * Calibrated values replace the profile's assumption ranges.
 */
const measured = z
  .strictObject({
    cpuSec: measuredValue('Measured Ruby CPU seconds per job or request.').optional(),
    waitSec: measuredValue('Measured I/O wait seconds per job or request.').optional(),
    dbSec: measuredValue('Measured PostgreSQL CPU seconds per job or request.').optional(),
    childCpuSec: measuredValue(
      'Measured CPU seconds of child processes per job (ffmpeg); PostProcessMediaWorker only, where it sets serviceDemands.videoTranscodeCpuSec.',
    ).optional(),
    run: z.string().min(1).describe('Id of the run (in `runs`) this was measured in.'),
    samples: z.number().int().min(1).describe('Jobs or requests the value is averaged over.'),
  })
  .refine(
    (m) =>
      m.cpuSec !== undefined ||
      m.waitSec !== undefined ||
      m.dbSec !== undefined ||
      m.childCpuSec !== undefined,
    {
      message: 'give at least one of cpuSec, waitSec, dbSec, childCpuSec',
    },
  );

const target = z
  .strictObject({
    kind: z
      .enum(['testbed', 'mastodon'])
      .describe("What was measured: fedicap's simulated testbed or a real Mastodon instance."),
    baseUrl: z.url().describe('Base URL the runs loaded.'),
    version: z
      .string()
      .min(1)
      .optional()
      .describe('Version the target reported (Mastodon 4.4.2, testbed 0.1.0).'),
  })
  .describe('The instance the runs measured: a calibration of the testbed never passes for a Mastodon one.');

/** A USL figure that may be unbounded (N* when κ = 0): `high` null when the interval has no upper end. */
const unboundedValue = z
  .strictObject({
    value: z.number().min(0),
    low: z.number().min(0),
    high: z.number().min(0).nullable().describe('null: no upper bound (κ may be 0).'),
  })
  .refine((v) => v.low <= v.value && (v.high === null || v.value <= v.high), {
    message: 'need low ≤ value ≤ high',
  });

const uslFit = z
  .strictObject({
    component: z.string().min(1).describe('What scaled: `web`, or a Sidekiq pool (`sidekiq-queue:push`).'),
    sigma: measuredValue('Contention σ (0…1).'),
    kappa: measuredValue('Coherency κ.'),
    lambda: measuredValue('Throughput at concurrency 1, per second.'),
    maxConcurrency: unboundedValue.optional().describe('N* = √((1 − σ)/κ); absent when κ = 0.'),
    maxThroughputPerSec: unboundedValue.optional().describe('X(N*); absent when unbounded.'),
    points: z.number().int().min(3).describe('(concurrency, throughput) points fitted.'),
    run: z.string().min(1).describe('Id of the step-load run (in `runs`).'),
  })
  .describe('A Universal Scalability Law fit (Gunther 2007) from a step-load run.');

export const calibrationSchema = z
  .strictObject({
    fedicapCalibration: z.literal(1).describe('Format version.'),
    target: target.optional(),
    runs: z
      .array(
        z.strictObject({
          id: z.string().min(1).describe('Run id, referenced by each value.'),
          target: z
            .string()
            .min(1)
            .describe(
              'Host name of the staging instance (the host of `target.baseUrl` when that is given); one for all runs.',
            ),
          scenario: z.string().min(1).describe('Scenario that produced the load.'),
          startedAt: z.iso.datetime().describe('Start of the run (ISO 8601).'),
          endedAt: z.iso.datetime().describe('End of the run (ISO 8601).'),
        }),
      )
      .min(1)
      .describe('Load-test runs the values come from.'),
    jobs: z
      .partialRecord(z.enum(JOB_CLASS_NAMES as [string, ...string[]]), measured)
      .default({})
      .describe('Per Sidekiq job class.'),
    web: z.partialRecord(z.enum(ENDPOINT_CLASSES), measured).default({}).describe('Per web endpoint class.'),
    postgres: z
      .strictObject({
        connectionHoldFactor: z
          .number()
          .min(1)
          .describe('Measured server connection holding time / PostgreSQL CPU time.'),
        run: z.string().min(1),
      })
      .optional()
      .describe('PostgreSQL connection behaviour.'),
    sidekiq: z
      .strictObject({
        frameworkCpuSec: measuredValue("Sidekiq's own Ruby CPU seconds per job.").optional(),
        redisCpuSecPerJob: measuredValue('Redis CPU seconds per Sidekiq job.').optional(),
        run: z.string().min(1).describe('Id of the run (in `runs`) these were measured in.'),
        samples: z.number().int().min(1).describe('Jobs the values are averaged over.'),
      })
      .refine((s) => s.frameworkCpuSec !== undefined || s.redisCpuSecPerJob !== undefined, {
        message: 'give at least one of frameworkCpuSec, redisCpuSecPerJob',
      })
      .optional()
      .describe("Sidekiq's costs per job of any class."),
    media: z
      .strictObject({
        localImageBytes: measuredValue(
          'Bytes stored per local media upload (original and derivatives), from the media store’s growth.',
        ),
        run: z.string().min(1).describe('Id of the run (in `runs`) this was measured in.'),
        samples: z.number().int().min(1).describe('Uploads the value is averaged over.'),
      })
      .optional()
      .describe('Media storage per upload.'),
    usl: z.array(uslFit).default([]).describe('Universal Scalability Law fits.'),
  })
  .superRefine((cal, ctx) => {
    const hosts = [...new Set(cal.runs.map((r) => r.target))];
    if (hosts.length > 1)
      ctx.addIssue({
        code: 'custom',
        path: ['runs'],
        message: `runs measured different targets (${hosts.join(', ')}): calibrate each instance apart`,
      });
    if (cal.target) {
      const url = new URL(cal.target.baseUrl);
      cal.runs.forEach((r, i) => {
        if (r.target !== url.hostname && r.target !== url.host)
          ctx.addIssue({
            code: 'custom',
            path: ['runs', i, 'target'],
            message: `run target "${r.target}" is not the calibration's target ${cal.target!.baseUrl}`,
          });
      });
    }
    const ids = new Set(cal.runs.map((r) => r.id));
    const check = (run: string, path: (string | number)[]) => {
      if (!ids.has(run))
        ctx.addIssue({
          code: 'custom',
          path,
          message: `unknown run "${run}" (runs: ${[...ids].join(', ')})`,
        });
    };
    for (const [name, m] of Object.entries(cal.jobs)) {
      if (m) check(m.run, ['jobs', name, 'run']);
      if (m?.childCpuSec !== undefined && name !== 'PostProcessMediaWorker') {
        ctx.addIssue({
          code: 'custom',
          path: ['jobs', name, 'childCpuSec'],
          message: 'only PostProcessMediaWorker runs a child process (ffmpeg)',
        });
      }
    }
    for (const [name, m] of Object.entries(cal.web)) {
      if (m) check(m.run, ['web', name, 'run']);
      if (m?.childCpuSec !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['web', name, 'childCpuSec'],
          message: 'web requests run no child process',
        });
    }
    if (cal.postgres) check(cal.postgres.run, ['postgres', 'run']);
    if (cal.sidekiq) check(cal.sidekiq.run, ['sidekiq', 'run']);
    cal.usl.forEach((u, i) => {
      check(u.run, ['usl', i, 'run']);
    });
  });

export type Calibration = z.output<typeof calibrationSchema>;

export function loadCalibration(path: string): Calibration {
  const result = calibrationSchema.safeParse(readJsonFile(path, 'calibration'));
  if (!result.success) throw new InputError(describeIssues(`calibration ${path}`, result.error.issues));
  return result.data;
}

/** The target a calibration describes, or an InputError when its runs name more than one. */
export function calibrationTarget(calibration: Calibration): string {
  const hosts = [...new Set(calibration.runs.map((r) => r.target))];
  if (hosts.length !== 1)
    throw new InputError(`calibration: runs measured different targets (${hosts.join(', ')})`);
  const t = calibration.target;
  return t ? `${t.kind} ${t.baseUrl}${t.version ? ` (${t.version})` : ''}` : hosts[0]!;
}

/**
 * Several calibration files as one, values of later files replacing earlier ones; an InputError
 * naming the files when they measured different targets (a testbed's calibration never passes
 * for a Mastodon instance's).
 */
export function combineCalibrations(
  files: readonly { path: string; calibration: Calibration }[],
): Calibration {
  if (files.length === 0) throw new InputError('calibration: no file given');
  const first = files[0]!;
  const firstTarget = calibrationTarget(first.calibration);
  for (const f of files.slice(1)) {
    const t = calibrationTarget(f.calibration);
    if (t !== firstTarget)
      throw new InputError(
        `calibration ${f.path} measured ${t}, but ${first.path} measured ${firstTarget}: calibrate each target apart`,
      );
  }
  const runs = new Map(files.flatMap((f) => f.calibration.runs.map((r) => [r.id, r] as const)));
  const merged: Calibration = {
    fedicapCalibration: 1,
    ...(first.calibration.target ? { target: first.calibration.target } : {}),
    runs: [...runs.values()],
    jobs: Object.assign({}, ...files.map((f) => f.calibration.jobs)),
    web: Object.assign({}, ...files.map((f) => f.calibration.web)),
    usl: files.flatMap((f) => f.calibration.usl),
  };
  for (const f of files) {
    if (f.calibration.postgres) merged.postgres = f.calibration.postgres;
    if (f.calibration.sidekiq) merged.sidekiq = f.calibration.sidekiq;
  }
  return merged;
}

/** A measured value as a quantity: its interval (when given) is the range the Monte Carlo samples. */
function measuredQuantity(v: MeasuredValue, source: string): Quantity {
  return typeof v === 'number' ? { value: v, low: v, high: v, source } : { ...v, source };
}

/** A copy of the profile whose measured service demands replace its assumptions. */
export function applyCalibration(profile: Profile, calibration: Calibration): Profile {
  calibrationTarget(calibration);
  const out = structuredClone(profile);
  const on = calibration.target ? ` on ${calibration.target.kind} ${calibration.target.baseUrl}` : '';
  const source = (run: string, samples?: number) =>
    `measured: run ${run}${samples ? ` (${samples} samples)` : ''}${on}`;
  const apply = (
    target: Profile['serviceDemands']['jobs'][keyof Profile['serviceDemands']['jobs']],
    m: z.output<typeof measured>,
  ) => {
    if (m.cpuSec !== undefined) target.cpuSec = measuredQuantity(m.cpuSec, source(m.run, m.samples));
    if (m.waitSec !== undefined) target.waitSec = measuredQuantity(m.waitSec, source(m.run, m.samples));
    if (m.dbSec !== undefined) target.dbSec = measuredQuantity(m.dbSec, source(m.run, m.samples));
  };
  for (const [name, m] of Object.entries(calibration.jobs)) {
    if (m) apply(out.serviceDemands.jobs[name as keyof typeof out.serviceDemands.jobs], m);
    if (m?.childCpuSec !== undefined)
      out.serviceDemands.videoTranscodeCpuSec = measuredQuantity(m.childCpuSec, source(m.run, m.samples));
  }
  for (const [name, m] of Object.entries(calibration.web)) {
    if (m) apply(out.serviceDemands.web[name as keyof typeof out.serviceDemands.web], m);
  }
  const sidekiq = calibration.sidekiq;
  if (sidekiq?.frameworkCpuSec !== undefined)
    out.serviceDemands.sidekiqFrameworkCpuSec = measuredQuantity(
      sidekiq.frameworkCpuSec,
      source(sidekiq.run, sidekiq.samples),
    );
  if (sidekiq?.redisCpuSecPerJob !== undefined)
    out.serviceDemands.redisCpuSecPerJob = measuredQuantity(
      sidekiq.redisCpuSecPerJob,
      source(sidekiq.run, sidekiq.samples),
    );
  if (calibration.media)
    out.media.localImageBytes = measuredQuantity(
      calibration.media.localImageBytes,
      source(calibration.media.run, calibration.media.samples),
    );
  if (calibration.postgres) {
    out.serviceDemands.postgresConnectionHoldFactor = measuredQuantity(
      calibration.postgres.connectionHoldFactor,
      source(calibration.postgres.run),
    );
  }
  return out;
}

import { z } from 'zod';
import { ENDPOINT_CLASSES, JOB_CLASS_NAMES } from '../mastodon/classes.js';
import { InputError } from '../shared/errors.js';
import { describeIssues, readJsonFile } from '../profile/load.js';
import { exact } from '../shared/quantity.js';
import type { Profile } from '../profile/schema.js';

/**
 * Measured service demands, each with the run it came from. A later stage
 * produces this from load-test runs; until then it can be written by hand.
 * Calibrated values replace the profile's assumption ranges.
 */
const measured = z
  .strictObject({
    cpuSec: z.number().min(0).optional().describe('Measured Ruby CPU seconds per job or request.'),
    waitSec: z.number().min(0).optional().describe('Measured I/O wait seconds per job or request.'),
    dbSec: z.number().min(0).optional().describe('Measured PostgreSQL CPU seconds per job or request.'),
    childCpuSec: z
      .number()
      .min(0)
      .optional()
      .describe(
        'Measured CPU seconds of child processes per job (ffmpeg); PostProcessMediaWorker only, where it sets serviceDemands.videoTranscodeCpuSec.',
      ),
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

export const calibrationSchema = z
  .strictObject({
    fedicapCalibration: z.literal(1).describe('Format version.'),
    runs: z
      .array(
        z.strictObject({
          id: z.string().min(1).describe('Run id, referenced by each value.'),
          target: z.string().min(1).describe('Host name of the staging instance.'),
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
  })
  .superRefine((cal, ctx) => {
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
  });

export type Calibration = z.output<typeof calibrationSchema>;

export function loadCalibration(path: string): Calibration {
  const result = calibrationSchema.safeParse(readJsonFile(path, 'calibration'));
  if (!result.success) throw new InputError(describeIssues(`calibration ${path}`, result.error.issues));
  return result.data;
}

/** A copy of the profile whose measured service demands replace its assumptions. */
export function applyCalibration(profile: Profile, calibration: Calibration): Profile {
  const out = structuredClone(profile);
  const source = (run: string, samples?: number) =>
    `measured: run ${run}${samples ? ` (${samples} samples)` : ''}`;
  const apply = (
    target: Profile['serviceDemands']['jobs'][keyof Profile['serviceDemands']['jobs']],
    m: z.output<typeof measured>,
  ) => {
    if (m.cpuSec !== undefined) target.cpuSec = exact(m.cpuSec, source(m.run, m.samples));
    if (m.waitSec !== undefined) target.waitSec = exact(m.waitSec, source(m.run, m.samples));
    if (m.dbSec !== undefined) target.dbSec = exact(m.dbSec, source(m.run, m.samples));
  };
  for (const [name, m] of Object.entries(calibration.jobs)) {
    if (m) apply(out.serviceDemands.jobs[name as keyof typeof out.serviceDemands.jobs], m);
    if (m?.childCpuSec !== undefined)
      out.serviceDemands.videoTranscodeCpuSec = exact(m.childCpuSec, source(m.run, m.samples));
  }
  for (const [name, m] of Object.entries(calibration.web)) {
    if (m) apply(out.serviceDemands.web[name as keyof typeof out.serviceDemands.web], m);
  }
  if (calibration.postgres) {
    out.serviceDemands.postgresConnectionHoldFactor = exact(
      calibration.postgres.connectionHoldFactor,
      source(calibration.postgres.run),
    );
  }
  return out;
}

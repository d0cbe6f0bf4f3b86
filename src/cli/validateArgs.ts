/**
 * `fedicap validate testbed`'s flags: defaults, and every check made before anything is started, each
 * failure an InputError naming its flag.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { StepSchedule } from '../validate/index.js';
import { parseDurationMs } from '../run/duration.js';
import { errnoText, InputError } from '../shared/errors.js';
import { makeOutputDirectory } from '../shared/files.js';
import { maskPassword } from '../shared/urlSecrets.js';

export interface ValidateArgs {
  'database-url'?: string;
  'redis-url': string;
  sidekiq?: string[];
  steps: number;
  'step-duration': string;
  'step-from': number;
  'step-to': number;
  scale: number;
  out?: string;
}

/** The load steps mixed-step.ts climbs (STEPS, STEP_DURATION, STEP_FROM, STEP_TO) and SCALE on them all. */
export interface ValidationStepPlan extends StepSchedule {
  scale: number;
  /**
   * The processes run ahead of the testbed's (the load generator, at a lower nice value): on a host of
   * their own in a real test, here they take their cores off the top. Absent: none was.
   */
  prioritized?: string[];
}

/** Where a validation writes: the run (k6.ndjson.gz, summary.json, run.json, deliveries, samples) and the world. */
export interface ValidationDirs {
  out: string;
  runDir: string;
  /** tokens.json and fleet-manifest.json (mode 0600), the testbed's media. */
  worldDir: string;
}

/** "20250314-093000" (UTC): names that sort by time, for the default --out and database. */
export function timestampName(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** A fresh database per validation by default: the testbed creates it; it is kept for inspection. */
export function defaultDatabaseUrl(now: Date): string {
  return `postgres://postgres@127.0.0.1:5432/fedicap_validate_${timestampName(now).replace('-', '_')}`;
}

function positive(flag: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0))
    throw new InputError(`--${flag} must be a number > 0, got ${value}`);
  return value;
}

/** The load steps, checked: mixed-step.ts would otherwise clamp or misread them silently. */
export function stepPlanOf(args: ValidateArgs): ValidationStepPlan {
  if (!(Number.isInteger(args.steps) && args.steps >= 1))
    throw new InputError(`--steps must be an integer >= 1, got ${args.steps}`);
  let stepMs: number;
  try {
    stepMs = parseDurationMs(args['step-duration'], '--step-duration');
  } catch (err) {
    throw new InputError((err as Error).message);
  }
  if (!(stepMs >= 1000))
    throw new InputError(`--step-duration must be at least 1s, got "${args['step-duration']}"`);
  const fromMultiple = positive('step-from', args['step-from']);
  const toMultiple = positive('step-to', args['step-to']);
  if (toMultiple < fromMultiple)
    throw new InputError(`--step-to (${toMultiple}) must be at least --step-from (${fromMultiple})`);
  return {
    steps: args.steps,
    stepSec: stepMs / 1000,
    fromMultiple,
    toMultiple,
    scale: positive('scale', args.scale),
  };
}

function checkUrl(flag: string, value: string, protocols: string[]): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InputError(`--${flag} ${maskPassword(value)}: not a URL`);
  }
  if (!protocols.includes(url.protocol))
    throw new InputError(`--${flag} ${maskPassword(value)}: expected a ${protocols[0]}// URL`);
}

/** The stores' URLs: a PostgreSQL database and a Redis URL naming its database index. */
export function checkStoreUrls(databaseUrl: string, redisUrl: string): void {
  checkUrl('database-url', databaseUrl, ['postgres:', 'postgresql:']);
  checkUrl('redis-url', redisUrl, ['redis:']);
  if (!/^\/\d+$/.test(new URL(redisUrl).pathname))
    throw new InputError(
      `--redis-url ${maskPassword(redisUrl)}: name a database index of its own, e.g. redis://127.0.0.1:6379/9`,
    );
}

/** Where a validation with `--out outFlag` writes; nothing is created yet. */
export function validationDirsOf(outFlag: string): ValidationDirs {
  const out = resolve(outFlag);
  return { out, runDir: join(out, 'run'), worldDir: join(out, 'world') };
}

/** Create --out, its run/ and world/ directories; refuse a directory that already holds a run. */
export function makeValidationDirs(dirs: ValidationDirs, outFlag: string): void {
  // A run of this release (k6.ndjson.gz) or of an earlier one (k6.ndjson).
  const held = ['k6.ndjson.gz', 'k6.ndjson'].find((name) => existsSync(join(dirs.runDir, name)));
  if (held) throw new InputError(`--out ${outFlag}: already holds a run (run/${held}); give a new directory`);
  for (const dir of [dirs.out, dirs.runDir, dirs.worldDir]) makeOutputDirectory(dir, '--out', outFlag);
  try {
    accessSync(dirs.out, constants.W_OK | constants.R_OK | constants.X_OK);
  } catch (err) {
    throw new InputError(`--out ${outFlag}: cannot read and write the directory (${errnoText(err)})`);
  }
}

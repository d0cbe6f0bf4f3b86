/**
 * run.json: what was run, against what, with which engine, when, and how it
 * ended. Env values are recorded only for keys that are not secrets; the
 * other keys are recorded with a null value, so a run's inputs are known
 * without its tokens.
 */
import { resolve } from 'node:path';
import { writeFileAtomic } from '../shared/files.js';
import type { EngineName } from './engine.js';

/** Env keys whose values are not secrets: run.json records their values, the rest by key only. */
export const PUBLIC_ENV: ReadonlySet<string> = new Set([
  'BASE_URL',
  'SCALE',
  'DURATION',
  'PROFILE',
  'IMAGES',
]);

/** run.json, field for field in the order it is written. */
export interface RunRecord {
  /** Absolute path of the scenario file. */
  scenario: string;
  /** The target's base URL (the scenario's __ENV.BASE_URL). */
  target: string;
  engine: EngineName;
  /** ISO 8601 times. */
  startedAt: string;
  endedAt: string;
  /** Every env key the scenario got, sorted; values only for PUBLIC_ENV keys. */
  env: Record<string, string | null>;
  /** __ENV.PROFILE (an absolute path) or null. */
  profile: string | null;
  scale: number | null;
  duration: string | null;
  exitCode: number;
}

export interface RunFacts {
  scenarioPath: string;
  engine: EngineName;
  /** The scenario's env; BASE_URL is always in it. */
  env: Record<string, string>;
  scale: number | undefined;
  duration: string | undefined;
  startedAt: string;
  endedAt: string;
  exitCode: number;
}

export function runRecord(run: RunFacts): RunRecord {
  const env = run.env;
  return {
    scenario: run.scenarioPath,
    target: env.BASE_URL!,
    engine: run.engine,
    startedAt: run.startedAt,
    endedAt: run.endedAt,
    env: Object.fromEntries(
      Object.keys(env)
        .sort()
        .map((k) => [k, PUBLIC_ENV.has(k) ? env[k]! : null]),
    ),
    profile: env.PROFILE ?? null,
    scale: run.scale ?? null,
    duration: run.duration ?? null,
    exitCode: run.exitCode,
  };
}

/** Write `outDir/run.json` (atomically); returns its path. */
export function writeRunRecord(outDir: string, record: RunRecord): string {
  const path = resolve(outDir, 'run.json');
  writeFileAtomic(path, `${JSON.stringify(record, null, 2)}\n`);
  return path;
}

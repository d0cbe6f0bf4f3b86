/**
 * Two runs compare only when they offered the same load: the same scenario, profile, scale, duration and
 * scenario settings (run.json, and the step plan when both have one), and about as long a run. Anything
 * else is refused, naming what differs: a verdict on different loads would be about the loads.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isObject } from '../results/json.js';
import type { RunFiles } from '../results/runFiles.js';
import type { ImageManifest } from '../run/imageManifest.js';
import { errnoText, InputError } from '../shared/errors.js';

/** How far apart the two runs' lengths may be, relative to the longer… */
export const RUN_LENGTH_TOLERANCE = 0.1;
/**
 * …or in seconds, whichever is more: setup() and teardown() (the effects awaited) take a few seconds
 * that vary with the instance; in the 30 s runs of the testbed proof they made 35 s vs 40 s.
 */
export const RUN_LENGTH_TOLERANCE_SEC = 10;

/** What a run offered, as its run.json (and plan.json) say. */
export interface OfferedLoad {
  dir: string;
  scenario: string;
  profile: string | null;
  scale: number | null;
  duration: string | null;
  /** The scenario's env: values for the public keys (BASE_URL left out: staging may move), null for the rest. */
  env: Record<string, string | null>;
  plan: string | null;
  startedAt: string;
  lengthSec: number;
}

/** Read a run's offered load; a run without run.json cannot say what it offered (InputError). */
export function offeredLoad(files: RunFiles): OfferedLoad {
  const path = files.records[0];
  if (!path || files.startMs === null || files.endMs === null)
    throw new InputError(
      `${files.dir}: no run.json (the record \`fedicap run\` writes): cannot tell what load it offered`,
    );
  const doc = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  if (!isObject(doc) || typeof doc.scenario !== 'string')
    throw new InputError(`${path}: no "scenario" string`);
  const env = isObject(doc.env) ? { ...doc.env } : {};
  delete env.BASE_URL;
  if (typeof env.IMAGES === 'string') env.IMAGES = imageSetOf(env.IMAGES);
  return {
    dir: files.dir,
    scenario: basename(doc.scenario),
    profile: typeof doc.profile === 'string' ? basename(doc.profile) : null,
    scale: typeof doc.scale === 'number' ? doc.scale : null,
    duration: typeof doc.duration === 'string' ? doc.duration : null,
    env: env as Record<string, string | null>,
    plan: readPlan(files.dir),
    startedAt: new Date(files.startMs).toISOString(),
    lengthSec: (files.endMs - files.startMs) / 1000,
  };
}

/**
 * The images a run uploaded, by what they are (each file's bytes and share of the uploads), not where:
 * `fedicap run --out-dir before` and `--out-dir after` each write the same set into a directory of their
 * own. The path itself when its manifest cannot be read.
 */
function imageSetOf(dir: string): string {
  try {
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ImageManifest;
    return manifest.files.map((f) => `${f.bytes} B × ${f.share}`).join(', ');
  } catch {
    return dir;
  }
}

/** plan.json (the step schedule `fedicap validate` writes) as canonical JSON, or null. */
function readPlan(dir: string): string | null {
  let text: string;
  try {
    text = readFileSync(join(dir, 'plan.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new InputError(`${join(dir, 'plan.json')}: cannot read (${errnoText(err)})`);
  }
  try {
    const plan = JSON.parse(text) as unknown;
    return JSON.stringify(isObject(plan) ? Object.fromEntries(Object.entries(plan).sort()) : plan);
  } catch {
    throw new InputError(`${join(dir, 'plan.json')}: not JSON`);
  }
}

/** What differs between two offered loads, in words (empty: the same load). */
export function loadDifferences(base: OfferedLoad, candidate: OfferedLoad): string[] {
  const out: string[] = [];
  const show = (v: unknown) => (v === null || v === undefined ? 'unset' : String(v));
  const field = (name: string, a: unknown, b: unknown) => {
    if (a !== b) out.push(`${name} ${show(a)} vs ${show(b)}`);
  };
  field('scenario', base.scenario, candidate.scenario);
  field('profile', base.profile, candidate.profile);
  field('scale', base.scale, candidate.scale);
  field('duration', base.duration, candidate.duration);
  const keys = [...new Set([...Object.keys(base.env), ...Object.keys(candidate.env)])].sort();
  for (const key of keys) {
    const [inBase, inCandidate] = [key in base.env, key in candidate.env];
    if (inBase !== inCandidate) out.push(`env ${key} set in the ${inBase ? 'base' : 'candidate'} run only`);
    else field(`env ${key}`, base.env[key], candidate.env[key]);
  }
  if (base.plan !== null && candidate.plan !== null) field('plan.json', base.plan, candidate.plan);
  const longer = Math.max(base.lengthSec, candidate.lengthSec);
  if (
    Math.abs(base.lengthSec - candidate.lengthSec) >
    Math.max(RUN_LENGTH_TOLERANCE * longer, RUN_LENGTH_TOLERANCE_SEC)
  ) {
    out.push(
      `run length ${base.lengthSec.toFixed(0)} s vs ${candidate.lengthSec.toFixed(0)} s ` +
        `(more than ${RUN_LENGTH_TOLERANCE * 100} % and ${RUN_LENGTH_TOLERANCE_SEC} s apart)`,
    );
  }
  return out;
}

/** Refuse (InputError) two runs that did not offer the same load, saying what differs. */
export function checkSameLoad(base: OfferedLoad, candidate: OfferedLoad): void {
  const differences = loadDifferences(base, candidate);
  if (differences.length > 0) {
    throw new InputError(
      `compare: ${base.dir} and ${candidate.dir} did not offer the same load (${differences.join('; ')}); ` +
        'compare runs of one scenario at one load',
    );
  }
}

/**
 * The files of one run directory, found and checked to belong together.
 * `fedicap run` writes k6.ndjson, summary.json and run.json; a run split
 * across load generators (k6 execution segments) brings one set per
 * generator, numbered from 0: k6-0.ndjson.gz, k6-1.ndjson…, summary-0.json…,
 * run-0.json…. The collector adds samples.ndjson, the fleet its deliveries.
 */
import { readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SAMPLES_FILE } from '../collect/sample.js';
import { errnoText, InputError } from '../shared/errors.js';
import { DELIVERIES_FILES } from './deliveries.js';
import { isObject } from './json.js';
import { firstPointTimeMs } from './k6Json.js';
import { BadLines } from './records.js';

export interface RunFiles {
  dir: string;
  /** k6 output, in segment order (one file when the run was not split). */
  k6: string[];
  /** summary.json or summary-N.json, when written. */
  summaries: string[];
  /** run.json or run-N.json, when written. */
  records: string[];
  samples: string | null;
  deliveries: string | null;
  /** From the run records: the target, the earliest start and the latest end (ms); null without records. */
  target: string | null;
  startMs: number | null;
  endMs: number | null;
}

/** How far a segment's first k6 point may lie outside its run record's span before it is called clock skew. */
export const CLOCK_SKEW_TOLERANCE_MS = 5_000;

const K6_FILE = /^k6(?:-(\d+))?\.ndjson(?:\.gz)?$/;
const SUMMARY_FILE = /^summary(?:-(\d+))?\.json$/;
const RECORD_FILE = /^run(?:-(\d+))?\.json$/;

interface RunRecordTimes {
  path: string;
  target: string;
  startMs: number;
  endMs: number;
}

/** Find a run directory's files and check they are one run's; an InputError names the file and the fault. */
export async function findRunFiles(dir: string): Promise<RunFiles> {
  const names = listDirectory(dir);
  const k6 = numbered(dir, names, K6_FILE, 'k6 output');
  if (k6.length === 0) {
    throw new InputError(
      `${dir}: no k6 output (k6.ndjson or k6.ndjson.gz, or k6-0.ndjson… for a run split across load generators)`,
    );
  }
  for (const path of k6)
    if (statSync(path).size === 0) throw new InputError(`${path}: empty (k6 wrote nothing)`);
  const summaries = numbered(dir, names, SUMMARY_FILE, 'k6 summary');
  const recordPaths = numbered(dir, names, RECORD_FILE, 'run record');
  if (recordPaths.length > 1 && recordPaths.length !== k6.length) {
    throw new InputError(`${dir}: ${recordPaths.length} run records for ${k6.length} k6 output files`);
  }
  const records = await Promise.all(recordPaths.map(readRunTimes));
  const target = sameTarget(dir, records);
  await checkClocks(k6, records);
  const deliveries = DELIVERIES_FILES.find((n) => names.includes(n));
  // Recorded runs may keep the collector's file gzipped (the readers tell by its magic bytes).
  const samples = [SAMPLES_FILE, `${SAMPLES_FILE}.gz`].find((n) => names.includes(n));
  return {
    dir,
    k6,
    summaries,
    records: recordPaths,
    samples: samples ? join(dir, samples) : null,
    deliveries: deliveries ? join(dir, deliveries) : null,
    target,
    startMs: records.length > 0 ? Math.min(...records.map((r) => r.startMs)) : null,
    endMs: records.length > 0 ? Math.max(...records.map((r) => r.endMs)) : null,
  };
}

function listDirectory(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch (err) {
    throw new InputError(`${dir}: cannot read the run directory (${errnoText(err)})`);
  }
}

/**
 * The files matching `pattern`: the unnumbered one alone, or numbered 0..n-1 with none missing and none
 * twice (k6-1.ndjson beside k6-1.ndjson.gz), in number order.
 */
function numbered(dir: string, names: readonly string[], pattern: RegExp, what: string): string[] {
  const found = names.filter((n) => pattern.test(n));
  const plain = found.filter((n) => pattern.exec(n)![1] === undefined);
  const bySegment = new Map<number, string>();
  for (const n of found) {
    const index = pattern.exec(n)![1];
    if (index === undefined) continue;
    const seen = bySegment.get(Number(index));
    if (seen) throw new InputError(`${dir}: ${seen} and ${n} are the same segment's ${what}; keep one`);
    bySegment.set(Number(index), n);
  }
  if (plain.length > 1) throw new InputError(`${dir}: ${plain.join(' and ')} are the same ${what}; keep one`);
  if (plain.length === 1 && bySegment.size > 0) {
    throw new InputError(
      `${dir}: ${plain[0]} beside numbered ${what} files: one run, split or not, not both`,
    );
  }
  if (plain.length === 1) return [join(dir, plain[0]!)];
  const out: string[] = [];
  for (let i = 0; i < bySegment.size; i++) {
    const n = bySegment.get(i);
    if (!n)
      throw new InputError(
        `${dir}: the ${what} of segment ${i} is missing (found ${[...bySegment.values()].join(', ')})`,
      );
    out.push(join(dir, n));
  }
  return out;
}

async function readRunTimes(path: string): Promise<RunRecordTimes> {
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new InputError(
      `${path}: not a readable run record (${err instanceof SyntaxError ? 'not JSON' : errnoText(err)})`,
    );
  }
  if (!isObject(doc) || typeof doc.target !== 'string') throw new InputError(`${path}: no "target" string`);
  const startMs = Date.parse(String(doc.startedAt));
  const endMs = Date.parse(String(doc.endedAt));
  if (Number.isNaN(startMs) || Number.isNaN(endMs) || endMs < startMs) {
    throw new InputError(`${path}: "startedAt" and "endedAt" are not ISO 8601 times in order`);
  }
  return { path, target: doc.target, startMs, endMs };
}

/** The one target all records name; runs against two targets are not one run. */
function sameTarget(dir: string, records: readonly RunRecordTimes[]): string | null {
  const first = records[0];
  if (!first) return null;
  const other = records.find((r) => r.target !== first.target);
  if (other) {
    throw new InputError(
      `${dir}: ${first.path} and ${other.path} name two targets (${first.target}, ${other.target}): not one run`,
    );
  }
  return first.target;
}

/** Each k6 file's first point must fall within its run record's span (or the only record's), give or take. */
async function checkClocks(k6: readonly string[], records: readonly RunRecordTimes[]): Promise<void> {
  if (records.length === 0) return;
  for (const [i, path] of k6.entries()) {
    const record = records[records.length === 1 ? 0 : i]!;
    const first = await firstPointTimeMs(path, { skipBadLines: new BadLines() });
    if (first === null) continue;
    if (first < record.startMs - CLOCK_SKEW_TOLERANCE_MS || first > record.endMs + CLOCK_SKEW_TOLERANCE_MS) {
      throw new InputError(
        `${path}: its first point (${new Date(first).toISOString()}) lies outside the run in ${record.path} ` +
          `(${new Date(record.startMs).toISOString()} to ${new Date(record.endMs).toISOString()}): ` +
          'clock skew between the load generator and the record, or files of another run',
      );
    }
  }
}

/**
 * The collector's samples.ndjson (one Sample a line, src/collect/sample.ts),
 * streamed and checked line by line.
 */
import { SAMPLE_SOURCES, type Sample } from '../collect/sample.js';
import { InputError } from '../shared/errors.js';
import { isStringRecord, parseJsonObject } from './json.js';
import { type ReadOptions, readRecordBatches, readRecords } from './records.js';
import { RFC3339 } from './time.js';

const SOURCES: readonly string[] = SAMPLE_SOURCES;

/** One line of samples.ndjson, checked; `where` (`file:line`) prefixes every error. */
export function parseSampleLine(text: string, where: string): Sample {
  const line = parseJsonObject(text, where);
  const fault = sampleFault(line);
  if (fault) throw new InputError(`${where}: a sample ${fault}`);
  return line as unknown as Sample;
}

function sampleFault(s: Record<string, unknown>): string | null {
  if (typeof s.time !== 'string' || !RFC3339.test(s.time)) return 'without an RFC 3339 time';
  if (!SOURCES.includes(s.source as string)) return `whose source is not one of ${SOURCES.join(', ')}`;
  if (typeof s.metric !== 'string' || s.metric === '') return 'without a metric name';
  if (typeof s.value !== 'number') return 'without a numeric value';
  if (!isStringRecord(s.labels)) return 'whose labels are not an object of strings';
  return null;
}

/** The samples of a file (plain or gzip), in file order; a bad line is an InputError naming `path:line`. */
export function readSamples(path: string, options: ReadOptions = {}): AsyncIterable<Sample> {
  return readRecords(path, parseSampleLine, options);
}

/** readSamples a batch at a time. */
export function readSampleBatches(path: string, options: ReadOptions = {}): AsyncIterable<Sample[]> {
  return readRecordBatches(path, parseSampleLine, options);
}

/**
 * NDJSON records of a file, parsed and checked line by line, in batches; the
 * one place where a bad line either stops the read (InputError naming
 * `file:line`) or, with `skipBadLines`, is counted and passed over.
 */
import { InputError } from '../shared/errors.js';
import { readLineBatches, TruncatedGzipError } from './lines.js';

/** Bad lines passed over by a read with `skipBadLines`: how many, and the first few messages. */
export class BadLines {
  count = 0;
  readonly examples: string[] = [];

  constructor(readonly maxExamples = 5) {}

  /** Count one bad line, keeping its message if it is among the first few. */
  add(message: string): void {
    this.count++;
    if (this.examples.length < this.maxExamples) this.examples.push(message);
  }
}

export interface ReadOptions {
  /** Pass over bad lines (a truncated gzip ends the file there), counting them in this tally; default: throw. */
  skipBadLines?: BadLines;
}

/**
 * Turns one non-blank line into a record, throwing an InputError prefixed with `where` (`file:line`);
 * undefined passes a line over (one the reader was asked not to return).
 */
export type LineParser<T> = (text: string, where: string) => T | undefined;

/** The records of a file, a batch per chunk, blank lines skipped; see ReadOptions for bad lines. */
export async function* readRecordBatches<T>(
  path: string,
  parse: LineParser<T>,
  options: ReadOptions = {},
): AsyncIterable<T[]> {
  const bad = options.skipBadLines;
  try {
    for await (const { firstLine, lines } of readLineBatches(path)) {
      const records: T[] = [];
      for (let i = 0; i < lines.length; i++) {
        const text = lines[i]!;
        if (isBlank(text)) continue;
        try {
          const record = parse(text, `${path}:${firstLine + i}`);
          if (record !== undefined) records.push(record);
        } catch (err) {
          if (!(bad && err instanceof InputError)) throw err;
          bad.add(err.message);
        }
      }
      if (records.length > 0) yield records;
    }
  } catch (err) {
    if (!(bad && err instanceof TruncatedGzipError)) throw err;
    bad.add(err.message);
  }
}

/** The records of a file one at a time (readRecordBatches, flattened). */
export async function* readRecords<T>(
  path: string,
  parse: LineParser<T>,
  options: ReadOptions = {},
): AsyncIterable<T> {
  for await (const batch of readRecordBatches(path, parse, options)) yield* batch;
}

/** Several files read one after the other as one stream of batches (a run split across load generators). */
export async function* concatBatches<T>(
  paths: readonly string[],
  read: (path: string) => AsyncIterable<T[]>,
): AsyncIterable<T[]> {
  for (const path of paths) yield* read(path);
}

function isBlank(text: string): boolean {
  // Most lines start with '{': test that before scanning for white space.
  return text.length === 0 || (text.charCodeAt(0) !== 123 && text.trim() === '');
}

import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { errnoText, InputError } from './errors.js';

/** A temporary name beside `path`, renamed into place only when the file is complete. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Write a whole file through a temporary name and a rename, so that a reader
 * (or a failed run) never sees half a file. `mode` applies from the first byte:
 * a secret is never readable by others, not even while it is being written.
 */
export function writeFileAtomic(path: string, content: string, mode?: number): void {
  const temp = tempPathFor(path);
  try {
    writeFileSync(temp, content, mode === undefined ? {} : { mode });
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}

/** Create an output directory named by a flag (`--out DIR`); a failure is the user's to fix. */
export function makeOutputDirectory(dir: string, flag: string, shownAs = dir): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new InputError(`${flag} ${shownAs}: cannot create directory (${errnoText(err)})`);
  }
}

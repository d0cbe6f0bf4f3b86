import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
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

/**
 * Check, before any work whose result it will hold, that a file named by a flag can be written the way
 * writeFileAtomic writes it (a temporary file beside it, then a rename): a failure is the user's to fix.
 */
export function checkWritableFile(path: string, flag: string): void {
  let isDirectory = false;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    // absent: it is created
  }
  if (isDirectory) throw new InputError(`${flag} ${path}: is a directory, expected a file name`);
  const temp = tempPathFor(path);
  try {
    writeFileSync(temp, '', { mode: 0o600 });
  } catch (err) {
    throw new InputError(`${flag} ${path}: cannot write there (${errnoText(err)})`);
  } finally {
    rmSync(temp, { force: true });
  }
}

/**
 * Check, without creating anything, that a directory named by a flag can be created or used: neither
 * it nor the nearest existing directory above it may be a file.
 */
export function checkOutputDirectory(dir: string, flag: string, shownAs = dir): void {
  let path = resolve(dir);
  for (;;) {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(path).isDirectory();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(path) === path)
        throw new InputError(`${flag} ${shownAs}: cannot use (${errnoText(err)})`);
      path = dirname(path);
      continue;
    }
    if (isDirectory) return;
    const which = path === resolve(dir) ? 'is a file' : `lies under ${path}, a file`;
    throw new InputError(`${flag} ${shownAs}: ${which}, not a directory`);
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

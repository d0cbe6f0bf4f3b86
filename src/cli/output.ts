import { join } from 'node:path';
import { errnoText, InputError } from '../shared/errors.js';
import { makeOutputDirectory, writeFileAtomic } from '../shared/files.js';

/**
 * Write the report to stdout, or to DIR/NAME through a temporary file and a
 * rename, so a failed run never leaves a half-written report behind.
 */
export function emit(content: string, outDir: string | undefined, fileName: string): void {
  if (outDir === undefined) {
    process.stdout.write(content.endsWith('\n') ? content : `${content}\n`);
    return;
  }
  makeOutputDirectory(outDir, '--out');
  const target = join(outDir, fileName);
  try {
    writeFileAtomic(target, content);
  } catch (err) {
    throw new InputError(`--out ${outDir}: cannot write ${fileName} (${errnoText(err)})`);
  }
  process.stderr.write(`wrote ${target}\n`);
}

/**
 * Write a file only its owner can read (tokens, keys), through a temporary name and a rename; `flag`
 * names where the path came from in the message.
 */
export function writeSecretFile(path: string, content: string, flag?: string): void {
  try {
    writeFileAtomic(path, content, 0o600);
  } catch (err) {
    throw new InputError(`${flag ? `${flag} ` : ''}${path}: cannot write (${errnoText(err)})`);
  }
}

/** Today's calendar month, "YYYY-MM" (UTC): the CLI owns the clock, the model does not. */
export function currentMonth(now = new Date()): string {
  return `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
}
